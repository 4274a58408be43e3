// Deterministic sums: Backend::sum in two stages.
//
// Reference: `CpuBackend::sum` (crates/hagcn-autodiff/src/cpu.rs), the sum of every entry. The
// order differs from ndarray's (a block tree instead of its pairwise sum), so results agree to
// rounding, but for a given launch configuration they are reproducible: `sum_partial` writes one
// partial sum per block, and `sum_scale` (one block) adds the partials in a fixed order and
// scales the total.
//
// Launch: blockDim.x a multiple of 32; `partial` has gridDim.x entries; `sum_scale` with one
// block.

template <typename T>
__device__ void sum_partial(const T* __restrict__ a, T* __restrict__ partial, int n) {
    __shared__ T scratch[HAGCN_MAX_WARPS];
    T s = T(0);
    for (long long i = hagcn_global_id(); i < n; i += hagcn_grid_threads()) s += a[i];
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

extern "C" __global__ void sum_partial_f32(const float* __restrict__ a, float* __restrict__ partial, int n) { sum_partial(a, partial, n); }
extern "C" __global__ void sum_scale_f32(const float* __restrict__ partial, float* __restrict__ out, int n_partial, float scale) { sum_scale(partial, out, n_partial, scale); }
