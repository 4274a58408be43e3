// Elementwise arithmetic and row broadcasts on row-major matrices (grid-stride loops).
//
// Reference: `CpuBackend::{add, sub, mul, affine, add_row, sum_rows}` and the bias broadcast
// of `CpuBackend::linear` (crates/hagcn-autodiff/src/cpu.rs):
//   add: a + b    sub: a − b    mul: a ⊙ b    affine: a · scale + shift
//   add_row: out_ij = a_ij + row_j (a bias)    broadcast_row: out_ij = row_j (the C of
//   `linear`'s GEMM with β = 1)    sum_rows: out_j = Σ_i a_ij, rows added in order (the bias
//   gradient; one thread per column, so the order is ndarray's `sum_axis(Axis(0))`).

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

extern "C" __global__ void add_f32(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ out, int n) { add(a, b, out, n); }
extern "C" __global__ void add_f64(const double* __restrict__ a, const double* __restrict__ b, double* __restrict__ out, int n) { add(a, b, out, n); }
extern "C" __global__ void sub_f32(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ out, int n) { sub(a, b, out, n); }
extern "C" __global__ void sub_f64(const double* __restrict__ a, const double* __restrict__ b, double* __restrict__ out, int n) { sub(a, b, out, n); }
extern "C" __global__ void mul_f32(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ out, int n) { mul(a, b, out, n); }
extern "C" __global__ void mul_f64(const double* __restrict__ a, const double* __restrict__ b, double* __restrict__ out, int n) { mul(a, b, out, n); }
extern "C" __global__ void affine_f32(const float* __restrict__ a, float* __restrict__ out, int n, float scale, float shift) { affine(a, out, n, scale, shift); }
extern "C" __global__ void affine_f64(const double* __restrict__ a, double* __restrict__ out, int n, double scale, double shift) { affine(a, out, n, scale, shift); }
extern "C" __global__ void add_row_f32(const float* __restrict__ a, const float* __restrict__ row, float* __restrict__ out, int rows, int cols) { add_row(a, row, out, rows, cols); }
extern "C" __global__ void add_row_f64(const double* __restrict__ a, const double* __restrict__ row, double* __restrict__ out, int rows, int cols) { add_row(a, row, out, rows, cols); }
extern "C" __global__ void broadcast_row_f32(const float* __restrict__ row, float* __restrict__ out, int rows, int cols) { broadcast_row(row, out, rows, cols); }
extern "C" __global__ void broadcast_row_f64(const double* __restrict__ row, double* __restrict__ out, int rows, int cols) { broadcast_row(row, out, rows, cols); }
extern "C" __global__ void sum_rows_f32(const float* __restrict__ a, float* __restrict__ out, int rows, int cols) { sum_rows(a, out, rows, cols); }
extern "C" __global__ void sum_rows_f64(const double* __restrict__ a, double* __restrict__ out, int rows, int cols) { sum_rows(a, out, rows, cols); }
