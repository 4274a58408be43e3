// Layer norm over each row of a rows × cols matrix (biased variance, as PyTorch's
// torch.nn.LayerNorm), then · weight + bias; and its backward.
//
// Reference: host::layer_norm{,_backward} in crates/hagcn-autodiff/src/host.rs:
//   μ = Σx/cols, var = Σ(x − μ)²/cols (two passes), r = 1/√(var + eps),
//   y = (x − μ) r · w + b
//   x̂ = (x − μ) r, ĝ = g ⊙ w:  ∂x = r (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂)),
//   ∂w = Σ_rows g ⊙ x̂,  ∂b = Σ_rows g  (rows added in order, one thread per column)
// "/cols" is a product with the reciprocal 1/cols rounded to T, as on the host.
//
// Launch: layer_norm_fwd/bwd one block per row (grid-stride over rows), blockDim.x a multiple
// of 32; layer_norm_bwd_params any 1-D grid over the columns.

template <typename T>
__device__ void layer_norm_fwd(const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ b,
                               T* __restrict__ y, T* __restrict__ mean, T* __restrict__ rstd, int rows, int cols,
                               T eps) {
    __shared__ T scratch[HAGCN_MAX_WARPS];
    const T inv_cols = (T)(1.0 / (double)cols);
    for (int row = blockIdx.x; row < rows; row += gridDim.x) {
        const T* xr = x + (long long)row * cols;
        T s = T(0);
        for (int j = threadIdx.x; j < cols; j += blockDim.x) s += xr[j];
        const T mu = hagcn_block_sum(s, scratch) * inv_cols;
        T q = T(0);
        for (int j = threadIdx.x; j < cols; j += blockDim.x) q += (xr[j] - mu) * (xr[j] - mu);
        const T var = hagcn_block_sum(q, scratch) * inv_cols;
        const T r = T(1) / hagcn_sqrt(var + eps);
        T* yr = y + (long long)row * cols;
        for (int j = threadIdx.x; j < cols; j += blockDim.x) yr[j] = (xr[j] - mu) * r * w[j] + b[j];
        if (threadIdx.x == 0) {
            mean[row] = mu;
            rstd[row] = r;
        }
    }
}

template <typename T>
__device__ void layer_norm_bwd(const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ mean,
                               const T* __restrict__ rstd, const T* __restrict__ g, T* __restrict__ gx, int rows,
                               int cols) {
    __shared__ T scratch[HAGCN_MAX_WARPS];
    const T inv_cols = (T)(1.0 / (double)cols);
    for (int row = blockIdx.x; row < rows; row += gridDim.x) {
        const long long base = (long long)row * cols;
        const T mu = mean[row], r = rstd[row];
        T sg = T(0), sgx = T(0);
        for (int j = threadIdx.x; j < cols; j += blockDim.x) {
            const T xh = (x[base + j] - mu) * r;
            const T gh = g[base + j] * w[j];
            sg += gh;
            sgx += gh * xh;
        }
        const T mean_g = hagcn_block_sum(sg, scratch) * inv_cols;
        const T mean_gx = hagcn_block_sum(sgx, scratch) * inv_cols;
        for (int j = threadIdx.x; j < cols; j += blockDim.x) {
            const T xh = (x[base + j] - mu) * r;
            const T gh = g[base + j] * w[j];
            gx[base + j] = r * (gh - mean_g - xh * mean_gx);
        }
    }
}

template <typename T>
__device__ void layer_norm_bwd_params(const T* __restrict__ x, const T* __restrict__ mean, const T* __restrict__ rstd,
                                      const T* __restrict__ g, T* __restrict__ gw, T* __restrict__ gb, int rows,
                                      int cols) {
    for (long long j = hagcn_global_id(); j < cols; j += hagcn_grid_threads()) {
        T acc_w = T(0), acc_b = T(0);
        for (int i = 0; i < rows; ++i) {
            const long long ij = (long long)i * cols + j;
            const T xh = (x[ij] - mean[i]) * rstd[i];
            acc_w = acc_w + g[ij] * xh;
            acc_b = acc_b + g[ij];
        }
        gw[j] = acc_w;
        gb[j] = acc_b;
    }
}

extern "C" __global__ void layer_norm_fwd_f32(const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ b, float* __restrict__ y, float* __restrict__ mean, float* __restrict__ rstd, int rows, int cols, float eps) { layer_norm_fwd(x, w, b, y, mean, rstd, rows, cols, eps); }
extern "C" __global__ void layer_norm_bwd_f32(const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ mean, const float* __restrict__ rstd, const float* __restrict__ g, float* __restrict__ gx, int rows, int cols) { layer_norm_bwd(x, w, mean, rstd, g, gx, rows, cols); }
extern "C" __global__ void layer_norm_bwd_params_f32(const float* __restrict__ x, const float* __restrict__ mean, const float* __restrict__ rstd, const float* __restrict__ g, float* __restrict__ gw, float* __restrict__ gb, int rows, int cols) { layer_norm_bwd_params(x, mean, rstd, g, gw, gb, rows, cols); }
