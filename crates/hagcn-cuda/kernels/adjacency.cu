// The normalised adjacency Â = D^-1/2 A D^-1/2 of a square n × n matrix, and its gradient.
//
// Reference: hagcn_linalg::normalized_adjacency{,_backward} (crates/hagcn-linalg/src/adjacency.rs):
//   deg_i = Σ_j A_ij,  d_i = 1/√deg_i,  Â_ij = A_ij d_i d_j
//   g_i   = −(d_i²/2) · (Σ_l G_il Â_il + Σ_k G_ki Â_ki),   ∂A_ij = G_ij d_i d_j + g_i
// A degree that is ≤ 0 or not finite is an error on the host; here the smallest such row
// index is recorded with atomicMin in `bad_node` (which the host initialises to n).
//
// Launch: the *_degree kernels one block per row (grid-stride over rows), blockDim.x a multiple
// of 32; the elementwise kernels any 1-D grid.

template <typename T>
__device__ void adjacency_degree(const T* __restrict__ a, T* __restrict__ d, int* __restrict__ bad_node, int n) {
    __shared__ T scratch[HAGCN_MAX_WARPS];
    for (int row = blockIdx.x; row < n; row += gridDim.x) {
        T s = T(0);
        for (int j = threadIdx.x; j < n; j += blockDim.x) s += a[(long long)row * n + j];
        s = hagcn_block_sum(s, scratch);
        if (threadIdx.x == 0) {
            if (!(s > T(0) && hagcn_is_finite(s))) atomicMin(bad_node, row);
            d[row] = T(1) / hagcn_sqrt(s);
        }
    }
}

template <typename T>
__device__ void adjacency_scale(const T* __restrict__ a, const T* __restrict__ d, T* __restrict__ a_hat, int n) {
    const long long total = (long long)n * n;
    for (long long idx = hagcn_global_id(); idx < total; idx += hagcn_grid_threads()) {
        const long long i = idx / n, j = idx % n;
        a_hat[idx] = a[idx] * d[i] * d[j];
    }
}

// gdeg_i = −(d_i²/2) (row_i + col_i) with row_i = Σ_l G_il Â_il and col_i = Σ_k G_ki Â_ki.
template <typename T>
__device__ void adjacency_bwd_degree(const T* __restrict__ a_hat, const T* __restrict__ d, const T* __restrict__ g,
                                     T* __restrict__ gdeg, int n) {
    __shared__ T scratch[HAGCN_MAX_WARPS];
    for (int i = blockIdx.x; i < n; i += gridDim.x) {
        T row = T(0), col = T(0);
        for (int j = threadIdx.x; j < n; j += blockDim.x) {
            const long long ij = (long long)i * n + j, ji = (long long)j * n + i;
            row += g[ij] * a_hat[ij];
            col += g[ji] * a_hat[ji];
        }
        row = hagcn_block_sum(row, scratch);
        col = hagcn_block_sum(col, scratch);
        if (threadIdx.x == 0) gdeg[i] = -T(0.5) * d[i] * d[i] * (row + col);
    }
}

template <typename T>
__device__ void adjacency_bwd(const T* __restrict__ g, const T* __restrict__ d, const T* __restrict__ gdeg,
                              T* __restrict__ ga, int n) {
    const long long total = (long long)n * n;
    for (long long idx = hagcn_global_id(); idx < total; idx += hagcn_grid_threads()) {
        const long long i = idx / n, j = idx % n;
        ga[idx] = g[idx] * d[i] * d[j] + gdeg[i];
    }
}

extern "C" __global__ void adjacency_degree_f32(const float* __restrict__ a, float* __restrict__ d, int* __restrict__ bad_node, int n) { adjacency_degree(a, d, bad_node, n); }
extern "C" __global__ void adjacency_scale_f32(const float* __restrict__ a, const float* __restrict__ d, float* __restrict__ a_hat, int n) { adjacency_scale(a, d, a_hat, n); }
extern "C" __global__ void adjacency_bwd_degree_f32(const float* __restrict__ a_hat, const float* __restrict__ d, const float* __restrict__ g, float* __restrict__ gdeg, int n) { adjacency_bwd_degree(a_hat, d, g, gdeg, n); }
extern "C" __global__ void adjacency_bwd_f32(const float* __restrict__ g, const float* __restrict__ d, const float* __restrict__ gdeg, float* __restrict__ ga, int n) { adjacency_bwd(g, d, gdeg, ga, n); }
