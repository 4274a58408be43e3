// The elementwise half of one Chebyshev step on the n × h block (spec §2 step 5):
//   Y_j = 2 Â Y_(j−1) − Y_(j−2),  F += Y_j
// The product `ay = Â Y_(j−1)` is a cuBLAS GEMM; this kernel overwrites `y_prev` (Y_(j−2)) with
// Y_j in place, as hagcn_linalg's recurrence does (`prev ← 2 A cur − prev`, then swap), and
// adds it to the running filter sum `acc`. Reference: hagcn_linalg::chebyshev_apply
// (crates/hagcn-linalg/src/chebyshev.rs). Any 1-D grid.

template <typename T>
__device__ void cheby_step(const T* __restrict__ ay, T* __restrict__ y_prev, T* __restrict__ acc, int n) {
    for (long long i = hagcn_global_id(); i < n; i += hagcn_grid_threads()) {
        const T y = T(2) * ay[i] - y_prev[i];
        y_prev[i] = y;
        acc[i] = acc[i] + y;
    }
}

extern "C" __global__ void cheby_step_f32(const float* __restrict__ ay, float* __restrict__ y_prev, float* __restrict__ acc, int n) { cheby_step(ay, y_prev, acc, n); }
extern "C" __global__ void cheby_step_f64(const double* __restrict__ ay, double* __restrict__ y_prev, double* __restrict__ acc, int n) { cheby_step(ay, y_prev, acc, n); }
