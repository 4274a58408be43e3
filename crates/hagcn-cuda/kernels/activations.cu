// GELU (exact erf form) and the logistic sigmoid, forward and backward, elementwise over n
// entries (grid-stride loops: any grid works).
//
// Reference: hagcn_autodiff's `Element` (crates/hagcn-autodiff/src/element.rs) and
// `CpuBackend::{gelu, gelu_backward, sigmoid, sigmoid_backward}`:
//   GELU(x)  = x/2 · (1 + erf(x/√2))            (PyTorch: gelu(approximate='none'))
//   GELU'(x) = Φ(x) + x φ(x),  φ(x) = e^(-x²/2)/√(2π)
//   σ(x)     = 1 / (1 + e^(-x)),   ∂x = g · y (1 − y)
// The same branch-free erf (Eigen/XLA's rational minimax) and exp (Cody–Waite) as the host's f32
// path, step for step.

__device__ __forceinline__ float hagcn_clamp(float x, float lo, float hi) {
    // Rust's f32::clamp: a NaN stays NaN.
    return x < lo ? lo : (x > hi ? hi : x);
}

__device__ __forceinline__ float hagcn_erf_f32(float x) {
    x = hagcn_clamp(x, -4.0f, 4.0f);
    const float x2 = x * x;
    float p = fmaf(x2, -2.7261423e-10f, 2.7706814e-8f);
    p = fmaf(x2, p, -2.101024e-6f);
    p = fmaf(x2, p, -5.6925064e-5f);
    p = fmaf(x2, p, -7.3499063e-4f);
    p = fmaf(x2, p, -2.9546001e-3f);
    p = fmaf(x2, p, -1.6096033e-2f);
    float q = fmaf(x2, -1.4566072e-5f, -2.1337406e-4f);
    q = fmaf(x2, q, -1.682827e-3f);
    q = fmaf(x2, q, -7.3733292e-3f);
    q = fmaf(x2, q, -1.426474e-2f);
    return x * p / q;
}

__device__ __forceinline__ float hagcn_exp_f32(float x) {
    x = hagcn_clamp(x, -87.0f, 88.0f);
    const float k = floorf(x * 1.44269504088896341f + 0.5f);
    float r = fmaf(k, -0.69314575f, x);
    r = fmaf(k, -1.4286068e-6f, r);
    float p = fmaf(r, 1.0f / 5040.0f, 1.0f / 720.0f);
    p = fmaf(r, p, 1.0f / 120.0f);
    p = fmaf(r, p, 1.0f / 24.0f);
    p = fmaf(r, p, 1.0f / 6.0f);
    p = fmaf(r, p, 0.5f);
    p = fmaf(r, p, 1.0f);
    p = fmaf(r, p, 1.0f);
    return p * __uint_as_float(((unsigned int)((int)k + 127)) << 23);
}

#define HAGCN_FRAC_1_SQRT_2 0.707106781186547524400844362104849039
#define HAGCN_FRAC_1_SQRT_2PI 0.3989422804014327

__device__ __forceinline__ float hagcn_gelu(float x) {
    return 0.5f * x * (1.0f + hagcn_erf_f32(x * (float)HAGCN_FRAC_1_SQRT_2));
}
__device__ __forceinline__ float hagcn_gelu_grad(float x) {
    const float cdf = 0.5f * (1.0f + hagcn_erf_f32(x * (float)HAGCN_FRAC_1_SQRT_2));
    return cdf + x * (float)HAGCN_FRAC_1_SQRT_2PI * hagcn_exp_f32(-0.5f * x * x);
}

template <typename T>
__device__ void gelu_fwd(const T* __restrict__ x, T* __restrict__ y, int n) {
    for (long long i = hagcn_global_id(); i < n; i += hagcn_grid_threads()) y[i] = hagcn_gelu(x[i]);
}

template <typename T>
__device__ void gelu_bwd(const T* __restrict__ x, const T* __restrict__ g, T* __restrict__ gx, int n) {
    for (long long i = hagcn_global_id(); i < n; i += hagcn_grid_threads()) gx[i] = g[i] * hagcn_gelu_grad(x[i]);
}

template <typename T>
__device__ void sigmoid_fwd(const T* __restrict__ x, T* __restrict__ y, int n) {
    for (long long i = hagcn_global_id(); i < n; i += hagcn_grid_threads()) y[i] = T(1) / (T(1) + hagcn_exp(-x[i]));
}

template <typename T>
__device__ void sigmoid_bwd(const T* __restrict__ y, const T* __restrict__ g, T* __restrict__ gx, int n) {
    for (long long i = hagcn_global_id(); i < n; i += hagcn_grid_threads()) gx[i] = g[i] * y[i] * (T(1) - y[i]);
}

extern "C" __global__ void gelu_fwd_f32(const float* __restrict__ x, float* __restrict__ y, int n) { gelu_fwd(x, y, n); }
extern "C" __global__ void gelu_bwd_f32(const float* __restrict__ x, const float* __restrict__ g, float* __restrict__ gx, int n) { gelu_bwd(x, g, gx, n); }
extern "C" __global__ void sigmoid_fwd_f32(const float* __restrict__ x, float* __restrict__ y, int n) { sigmoid_fwd(x, y, n); }
extern "C" __global__ void sigmoid_bwd_f32(const float* __restrict__ y, const float* __restrict__ g, float* __restrict__ gx, int n) { sigmoid_bwd(y, g, gx, n); }
