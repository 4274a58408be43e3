// Reductions and the loss terms: sums, mse = mean((a − b)²) and its gradient.
//
// Reference: `Graph::mse` (crates/hagcn-autodiff/src/graph.rs) = mean(square(a − b)), recorded as
// sub, mul(d, d), sum, affine(· 1/len); its backward through those rules
// (crates/hagcn-autodiff/src/backward.rs): t = g · scale, ∂a = t·d + t·d (the square's two
// inputs accumulate), ∂b = −∂a. HAGCN's loss is mse(R, X) + γ · mse(C Cᵀ, b S): both terms are
// this kernel pair.
//
// A sum is deterministic: `*_partial` kernels write one partial sum per block, and
// `sum_scale` (one block) adds the partials in a fixed order. Launch: blockDim.x a multiple of
// 32; `partial` has gridDim.x entries; `sum_scale` with one block.

template <typename T>
__device__ void sum_partial(const T* __restrict__ a, T* __restrict__ partial, int n) {
    __shared__ T scratch[HAGCN_MAX_WARPS];
    T s = T(0);
    for (long long i = hagcn_global_id(); i < n; i += hagcn_grid_threads()) s += a[i];
    s = hagcn_block_sum(s, scratch);
    if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

template <typename T>
__device__ void sq_diff_partial(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ partial, int n) {
    __shared__ T scratch[HAGCN_MAX_WARPS];
    T s = T(0);
    for (long long i = hagcn_global_id(); i < n; i += hagcn_grid_threads()) {
        const T d = a[i] - b[i];
        s += d * d;
    }
    s = hagcn_block_sum(s, scratch);
    if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

// out[0] = (Σ partial) · scale, one block.
template <typename T>
__device__ void sum_scale(const T* __restrict__ partial, T* __restrict__ out, int n_partial, T scale) {
    __shared__ T scratch[HAGCN_MAX_WARPS];
    T s = T(0);
    for (int i = threadIdx.x; i < n_partial; i += blockDim.x) s += partial[i];
    s = hagcn_block_sum(s, scratch);
    if (threadIdx.x == 0) out[0] = s * scale;
}

template <typename T>
__device__ void mse_bwd(const T* __restrict__ a, const T* __restrict__ b, const T* __restrict__ g, T* __restrict__ ga,
                        T* __restrict__ gb, int n, T scale) {
    const T t = g[0] * scale;
    for (long long i = hagcn_global_id(); i < n; i += hagcn_grid_threads()) {
        const T v = t * (a[i] - b[i]);
        const T grad = v + v;
        ga[i] = grad;
        gb[i] = -grad;
    }
}

extern "C" __global__ void sum_partial_f32(const float* __restrict__ a, float* __restrict__ partial, int n) { sum_partial(a, partial, n); }
extern "C" __global__ void sum_partial_f64(const double* __restrict__ a, double* __restrict__ partial, int n) { sum_partial(a, partial, n); }
extern "C" __global__ void sq_diff_partial_f32(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ partial, int n) { sq_diff_partial(a, b, partial, n); }
extern "C" __global__ void sq_diff_partial_f64(const double* __restrict__ a, const double* __restrict__ b, double* __restrict__ partial, int n) { sq_diff_partial(a, b, partial, n); }
extern "C" __global__ void sum_scale_f32(const float* __restrict__ partial, float* __restrict__ out, int n_partial, float scale) { sum_scale(partial, out, n_partial, scale); }
extern "C" __global__ void sum_scale_f64(const double* __restrict__ partial, double* __restrict__ out, int n_partial, double scale) { sum_scale(partial, out, n_partial, scale); }
extern "C" __global__ void mse_bwd_f32(const float* __restrict__ a, const float* __restrict__ b, const float* __restrict__ g, float* __restrict__ ga, float* __restrict__ gb, int n, float scale) { mse_bwd(a, b, g, ga, gb, n, scale); }
extern "C" __global__ void mse_bwd_f64(const double* __restrict__ a, const double* __restrict__ b, const double* __restrict__ g, double* __restrict__ ga, double* __restrict__ gb, int n, double scale) { mse_bwd(a, b, g, ga, gb, n, scale); }
