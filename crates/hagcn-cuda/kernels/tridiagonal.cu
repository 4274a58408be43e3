// The tridiagonal T of the Lanczos filter and its gradient.
//
// Reference: hagcn_autodiff's host::tridiagonal{,_backward}, the defaults of
// `Backend::tridiagonal` (crates/hagcn-autodiff/src/host.rs):
//   T_ii = α_i, T_(i,i+1) = T_(i+1,i) = β_i, else 0;   ∂α_i = G_ii, ∂β_i = G_(i,i+1) + G_(i+1,i)
//
// Launch: any 1-D grid.

template <typename T>
__device__ void tridiagonal_fwd(const T* __restrict__ alpha, const T* __restrict__ beta, T* __restrict__ out, int m) {
    const long long total = (long long)m * m;
    for (long long idx = hagcn_global_id(); idx < total; idx += hagcn_grid_threads()) {
        const long long i = idx / m, j = idx % m;
        out[idx] = i == j ? alpha[i] : (j == i + 1 ? beta[i] : (i == j + 1 ? beta[j] : T(0)));
    }
}

template <typename T>
__device__ void tridiagonal_bwd(const T* __restrict__ g, T* __restrict__ galpha, T* __restrict__ gbeta, int m) {
    for (long long i = hagcn_global_id(); i < m; i += hagcn_grid_threads()) {
        galpha[i] = g[i * m + i];
        if (i + 1 < m) gbeta[i] = g[i * m + i + 1] + g[(i + 1) * m + i];
    }
}

extern "C" __global__ void tridiagonal_fwd_f32(const float* __restrict__ alpha, const float* __restrict__ beta, float* __restrict__ out, int m) { tridiagonal_fwd(alpha, beta, out, m); }
extern "C" __global__ void tridiagonal_bwd_f32(const float* __restrict__ g, float* __restrict__ galpha, float* __restrict__ gbeta, int m) { tridiagonal_bwd(g, galpha, gbeta, m); }
