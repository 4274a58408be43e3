// Elementwise arithmetic and row broadcasts on row-major matrices (grid-stride loops).
//
// Reference: `CpuBackend::{add, sub, mul, affine, add_row, sum_rows}` and the bias broadcast
// of `CpuBackend::linear` (crates/hagcn-autodiff/src/cpu.rs):
//   add: a + b    sub: a − b    mul: a ⊙ b    affine: a · scale + shift
//   add_row: out_ij = a_ij + row_j (a bias)    broadcast_row: out_ij = row_j (the C of
//   `linear`'s GEMM with β = 1)    sum_rows: out_j = Σ_i a_ij, rows added in order (the bias
//   gradient; one thread per column, so the order is ndarray's `sum_axis(Axis(0))`).
// And `CpuBackend::{full, broadcast_scalar, scale_by, sqrt, recip}` and the slicing and
// concatenation ops (`slice_cols`, `embed_cols`, `concat_cols`, `slice_rows`, `concat_rows`):
//   fill: out_i = value    broadcast_scalar: out_i = s_0 · scale    scale_by: out_i = a_i · s_0
//   sqrt: out_i = √a_i (correctly rounded)    recip: out_i = 1 / a_i
//   copy_block: dst[r·dst_ld + dst_col + c] = src[r·src_ld + src_col + c] for r < rows, c < cols
//   (a rows × cols block between two row-major matrices with leading dimensions src_ld, dst_ld:
//   every slice and concatenation is one or a few of these).

template <typename T>
__device__ void add(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ out, int n) {
    for (long long i = hagcn_global_id(); i < n; i += hagcn_grid_threads()) out[i] = a[i] + b[i];
}
template <typename T>
__device__ void sub(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ out, int n) {
    for (long long i = hagcn_global_id(); i < n; i += hagcn_grid_threads()) out[i] = a[i] - b[i];
}
template <typename T>
__device__ void mul(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ out, int n) {
    for (long long i = hagcn_global_id(); i < n; i += hagcn_grid_threads()) out[i] = a[i] * b[i];
}
template <typename T>
__device__ void affine(const T* __restrict__ a, T* __restrict__ out, int n, T scale, T shift) {
    for (long long i = hagcn_global_id(); i < n; i += hagcn_grid_threads()) out[i] = a[i] * scale + shift;
}
template <typename T>
__device__ void add_row(const T* __restrict__ a, const T* __restrict__ row, T* __restrict__ out, int rows, int cols) {
    const long long total = (long long)rows * cols;
    for (long long i = hagcn_global_id(); i < total; i += hagcn_grid_threads()) out[i] = a[i] + row[i % cols];
}
template <typename T>
__device__ void broadcast_row(const T* __restrict__ row, T* __restrict__ out, int rows, int cols) {
    const long long total = (long long)rows * cols;
    for (long long i = hagcn_global_id(); i < total; i += hagcn_grid_threads()) out[i] = row[i % cols];
}
template <typename T>
__device__ void sum_rows(const T* __restrict__ a, T* __restrict__ out, int rows, int cols) {
    for (long long j = hagcn_global_id(); j < cols; j += hagcn_grid_threads()) {
        T acc = T(0);
        for (int i = 0; i < rows; ++i) acc = acc + a[(long long)i * cols + j];
        out[j] = acc;
    }
}
template <typename T>
__device__ void fill(T* __restrict__ out, int n, T value) {
    for (long long i = hagcn_global_id(); i < n; i += hagcn_grid_threads()) out[i] = value;
}
template <typename T>
__device__ void broadcast_scalar(const T* __restrict__ s, T* __restrict__ out, int n, T scale) {
    const T v = s[0] * scale;
    for (long long i = hagcn_global_id(); i < n; i += hagcn_grid_threads()) out[i] = v;
}
template <typename T>
__device__ void scale_by(const T* __restrict__ a, const T* __restrict__ s, T* __restrict__ out, int n) {
    const T v = s[0];
    for (long long i = hagcn_global_id(); i < n; i += hagcn_grid_threads()) out[i] = a[i] * v;
}
template <typename T>
__device__ void elem_sqrt(const T* __restrict__ a, T* __restrict__ out, int n) {
    for (long long i = hagcn_global_id(); i < n; i += hagcn_grid_threads()) out[i] = hagcn_sqrt(a[i]);
}
template <typename T>
__device__ void recip(const T* __restrict__ a, T* __restrict__ out, int n) {
    for (long long i = hagcn_global_id(); i < n; i += hagcn_grid_threads()) out[i] = T(1) / a[i];
}
template <typename T>
__device__ void copy_block(const T* __restrict__ src, T* __restrict__ dst, int rows, int cols, int src_ld, int src_col,
                           int dst_ld, int dst_col) {
    const long long total = (long long)rows * cols;
    for (long long i = hagcn_global_id(); i < total; i += hagcn_grid_threads()) {
        const long long r = i / cols, c = i % cols;
        dst[r * dst_ld + dst_col + c] = src[r * src_ld + src_col + c];
    }
}

extern "C" __global__ void add_f32(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ out, int n) { add(a, b, out, n); }
extern "C" __global__ void sub_f32(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ out, int n) { sub(a, b, out, n); }
extern "C" __global__ void mul_f32(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ out, int n) { mul(a, b, out, n); }
extern "C" __global__ void affine_f32(const float* __restrict__ a, float* __restrict__ out, int n, float scale, float shift) { affine(a, out, n, scale, shift); }
extern "C" __global__ void add_row_f32(const float* __restrict__ a, const float* __restrict__ row, float* __restrict__ out, int rows, int cols) { add_row(a, row, out, rows, cols); }
extern "C" __global__ void broadcast_row_f32(const float* __restrict__ row, float* __restrict__ out, int rows, int cols) { broadcast_row(row, out, rows, cols); }
extern "C" __global__ void sum_rows_f32(const float* __restrict__ a, float* __restrict__ out, int rows, int cols) { sum_rows(a, out, rows, cols); }
extern "C" __global__ void fill_f32(float* __restrict__ out, int n, float value) { fill(out, n, value); }
extern "C" __global__ void broadcast_scalar_f32(const float* __restrict__ s, float* __restrict__ out, int n, float scale) { broadcast_scalar(s, out, n, scale); }
extern "C" __global__ void scale_by_f32(const float* __restrict__ a, const float* __restrict__ s, float* __restrict__ out, int n) { scale_by(a, s, out, n); }
extern "C" __global__ void sqrt_f32(const float* __restrict__ a, float* __restrict__ out, int n) { elem_sqrt(a, out, n); }
extern "C" __global__ void recip_f32(const float* __restrict__ a, float* __restrict__ out, int n) { recip(a, out, n); }
extern "C" __global__ void copy_block_f32(const float* __restrict__ src, float* __restrict__ dst, int rows, int cols, int src_ld, int src_col, int dst_ld, int dst_col) { copy_block(src, dst, rows, cols, src_ld, src_col, dst_ld, dst_col); }
