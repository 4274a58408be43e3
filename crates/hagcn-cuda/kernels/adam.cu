// One Adam update in place (PyTorch's torch.optim.Adam, no weight decay, no AMSGrad).
//
// Reference: host::adam_update (crates/hagcn-autodiff/src/host.rs), with the hyper-parameters
// of hagcn_autodiff::AdamUpdate (bias corrections bc1 = 1 − β₁ᵗ, bc2 = 1 − β₂ᵗ already folded):
//   m ← β₁ m + (1 − β₁) g,   v ← β₂ v + (1 − β₂) g²,
//   p ← p − (lr/bc1) · m / (√v / √bc2 + ε)
// Any 1-D grid.

template <typename T>
__device__ void adam_update(T* __restrict__ param, const T* __restrict__ grad, T* __restrict__ m, T* __restrict__ v,
                            int n, T lr, T beta1, T beta2, T eps, T bias_correction1, T bias_correction2) {
    const T step = lr / bias_correction1;
    const T sqrt_bc2 = hagcn_sqrt(bias_correction2);
    const T one_b1 = T(1) - beta1, one_b2 = T(1) - beta2;
    for (long long i = hagcn_global_id(); i < n; i += hagcn_grid_threads()) {
        const T g = grad[i];
        const T mi = beta1 * m[i] + one_b1 * g;
        const T vi = beta2 * v[i] + one_b2 * g * g;
        m[i] = mi;
        v[i] = vi;
        param[i] = param[i] - step * mi / (hagcn_sqrt(vi) / sqrt_bc2 + eps);
    }
}

extern "C" __global__ void adam_update_f32(float* __restrict__ param, const float* __restrict__ grad, float* __restrict__ m, float* __restrict__ v, int n, float lr, float beta1, float beta2, float eps, float bias_correction1, float bias_correction2) { adam_update(param, grad, m, v, n, lr, beta1, beta2, eps, bias_correction1, bias_correction2); }
