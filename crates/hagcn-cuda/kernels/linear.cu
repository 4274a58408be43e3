// The fully connected layer of encoding, y = x wᵀ + b, with every output computed in one fixed
// order, so that it has the same bits on every device (Backend::linear_reproducible).
//
// Reference: hagcn_autodiff::reproducible::linear (crates/hagcn-autodiff/src/reproducible.rs):
//   acc = 0 (f64);  for k = 0, 1, …, d − 1:  acc = fma((f64) x_ik, (f64) w_jk, acc)
//   y_ij = (f32) (acc + (f64) b_j)          (one rounding to nearest, ties to even)
// `fma` is the correctly rounded f64 fused multiply-add on both sides (the GPU's DFMA, the C
// library's fma on the emulator, Rust's f64::mul_add on the host); an f32 product is exact in
// f64, so the kernel reproduces the host bit for bit.
//
// x is n × d, w is out × d (a PyTorch Linear's weight), b is 1 × out, y is n × out, all
// row-major. One thread per output (grid-stride over n · out): any 1-D grid.

extern "C" __global__ void linear_reproducible_f32(const float* __restrict__ x, const float* __restrict__ w,
                                                   const float* __restrict__ b, float* __restrict__ y, int n, int d,
                                                   int out) {
    const long long total = (long long)n * out;
    for (long long idx = hagcn_global_id(); idx < total; idx += hagcn_grid_threads()) {
        const long long i = idx / out, j = idx % out;
        const float* xi = x + i * d;
        const float* wj = w + j * d;
        double acc = 0.0;
        for (int k = 0; k < d; ++k) acc = fma((double)xi[k], (double)wj[k], acc);
        y[idx] = __double2float_rn(acc + (double)b[j]);
    }
}
