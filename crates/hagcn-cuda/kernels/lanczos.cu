// The vector parts of one Lanczos step (spec §5.3); the product w = Â v_i is a cuBLAS GEMV.
//
// Reference: hagcn_linalg::lanczos (crates/hagcn-linalg/src/lanczos.rs), step i:
//   α_i = v_i · w                                   (dot, before any orthogonalisation)
//   w  ← w + (−α_i) v_i, then w ← w + (−β_(i−1)) v_(i−1) if i > 0      (lanczos_update)
//   twice: c = V_i w, w ← w + (−1) V_iᵀ c           (reorth_dots, reorth_axpy)
//   β_i = ‖w‖ = √(w · w)                            (norm)
//   v_(i+1) = w / β_i                               (div_scalar)
// The basis V is stored as the host stores it: one Lanczos vector per row (m × n, row-major).
// Scalars (α, β) stay on the device: kernels read them through pointers. The breakdown test
// (β_i against the running ‖A v_j‖) is the host's decision, on the downloaded β.
//
// And the tridiagonal T of the Lanczos filter and its gradient (reference:
// hagcn_autodiff's host::tridiagonal{,_backward}, the defaults of `Backend::tridiagonal`):
//   T_ii = α_i, T_(i,i+1) = T_(i+1,i) = β_i, else 0;   ∂α_i = G_ii, ∂β_i = G_(i,i+1) + G_(i+1,i)
//
// Launch: dot and norm with one block (deterministic order), reorth_dots one block per basis
// vector; blockDim.x a multiple of 32. The others any 1-D grid.

template <typename T>
__device__ void dot(const T* __restrict__ x, const T* __restrict__ y, T* __restrict__ out, int n) {
    __shared__ T scratch[HAGCN_MAX_WARPS];
    T s = T(0);
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += x[i] * y[i];
    s = hagcn_block_sum(s, scratch);
    if (threadIdx.x == 0) out[0] = s;
}

template <typename T>
__device__ void norm(const T* __restrict__ x, T* __restrict__ out, int n) {
    __shared__ T scratch[HAGCN_MAX_WARPS];
    T s = T(0);
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += x[i] * x[i];
    s = hagcn_block_sum(s, scratch);
    if (threadIdx.x == 0) out[0] = hagcn_sqrt(s);
}

// w ← w − α v − β v_prev (v_prev and beta_prev ignored when has_prev == 0).
template <typename T>
__device__ void lanczos_update(T* __restrict__ w, const T* __restrict__ v, const T* __restrict__ v_prev,
                               const T* __restrict__ alpha, const T* __restrict__ beta_prev, int n, int has_prev) {
    const T a = -alpha[0];
    const T b = has_prev ? -beta_prev[0] : T(0);
    for (long long i = hagcn_global_id(); i < n; i += hagcn_grid_threads()) {
        T wi = w[i] + a * v[i];
        if (has_prev) wi = wi + b * v_prev[i];
        w[i] = wi;
    }
}

// c_k = V_k · w for k < m (one block per k, grid-stride over k).
template <typename T>
__device__ void reorth_dots(const T* __restrict__ basis, const T* __restrict__ w, T* __restrict__ c, int m, int n) {
    __shared__ T scratch[HAGCN_MAX_WARPS];
    for (int k = blockIdx.x; k < m; k += gridDim.x) {
        const T* vk = basis + (long long)k * n;
        T s = T(0);
        for (int i = threadIdx.x; i < n; i += blockDim.x) s += vk[i] * w[i];
        s = hagcn_block_sum(s, scratch);
        if (threadIdx.x == 0) c[k] = s;
    }
}

// w_i ← w_i + (−1) · Σ_k V_ki c_k.
template <typename T>
__device__ void reorth_axpy(const T* __restrict__ basis, const T* __restrict__ c, T* __restrict__ w, int m, int n) {
    for (long long i = hagcn_global_id(); i < n; i += hagcn_grid_threads()) {
        T t = T(0);
        for (int k = 0; k < m; ++k) t += basis[(long long)k * n + i] * c[k];
        w[i] = w[i] + (-t);
    }
}

// out = x / s[0].
template <typename T>
__device__ void div_scalar(const T* __restrict__ x, const T* __restrict__ s, T* __restrict__ out, int n) {
    const T d = s[0];
    for (long long i = hagcn_global_id(); i < n; i += hagcn_grid_threads()) out[i] = x[i] / d;
}

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

extern "C" __global__ void dot_f32(const float* __restrict__ x, const float* __restrict__ y, float* __restrict__ out, int n) { dot(x, y, out, n); }
extern "C" __global__ void dot_f64(const double* __restrict__ x, const double* __restrict__ y, double* __restrict__ out, int n) { dot(x, y, out, n); }
extern "C" __global__ void norm_f32(const float* __restrict__ x, float* __restrict__ out, int n) { norm(x, out, n); }
extern "C" __global__ void norm_f64(const double* __restrict__ x, double* __restrict__ out, int n) { norm(x, out, n); }
extern "C" __global__ void lanczos_update_f32(float* __restrict__ w, const float* __restrict__ v, const float* __restrict__ v_prev, const float* __restrict__ alpha, const float* __restrict__ beta_prev, int n, int has_prev) { lanczos_update(w, v, v_prev, alpha, beta_prev, n, has_prev); }
extern "C" __global__ void lanczos_update_f64(double* __restrict__ w, const double* __restrict__ v, const double* __restrict__ v_prev, const double* __restrict__ alpha, const double* __restrict__ beta_prev, int n, int has_prev) { lanczos_update(w, v, v_prev, alpha, beta_prev, n, has_prev); }
extern "C" __global__ void reorth_dots_f32(const float* __restrict__ basis, const float* __restrict__ w, float* __restrict__ c, int m, int n) { reorth_dots(basis, w, c, m, n); }
extern "C" __global__ void reorth_dots_f64(const double* __restrict__ basis, const double* __restrict__ w, double* __restrict__ c, int m, int n) { reorth_dots(basis, w, c, m, n); }
extern "C" __global__ void reorth_axpy_f32(const float* __restrict__ basis, const float* __restrict__ c, float* __restrict__ w, int m, int n) { reorth_axpy(basis, c, w, m, n); }
extern "C" __global__ void reorth_axpy_f64(const double* __restrict__ basis, const double* __restrict__ c, double* __restrict__ w, int m, int n) { reorth_axpy(basis, c, w, m, n); }
extern "C" __global__ void div_scalar_f32(const float* __restrict__ x, const float* __restrict__ s, float* __restrict__ out, int n) { div_scalar(x, s, out, n); }
extern "C" __global__ void div_scalar_f64(const double* __restrict__ x, const double* __restrict__ s, double* __restrict__ out, int n) { div_scalar(x, s, out, n); }
extern "C" __global__ void tridiagonal_fwd_f32(const float* __restrict__ alpha, const float* __restrict__ beta, float* __restrict__ out, int m) { tridiagonal_fwd(alpha, beta, out, m); }
extern "C" __global__ void tridiagonal_fwd_f64(const double* __restrict__ alpha, const double* __restrict__ beta, double* __restrict__ out, int m) { tridiagonal_fwd(alpha, beta, out, m); }
extern "C" __global__ void tridiagonal_bwd_f32(const float* __restrict__ g, float* __restrict__ galpha, float* __restrict__ gbeta, int m) { tridiagonal_bwd(g, galpha, gbeta, m); }
extern "C" __global__ void tridiagonal_bwd_f64(const double* __restrict__ g, double* __restrict__ galpha, double* __restrict__ gbeta, int m) { tridiagonal_bwd(g, galpha, gbeta, m); }
