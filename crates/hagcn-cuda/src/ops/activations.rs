//! GELU and the logistic sigmoid with their derivatives (`kernels/activations.cu`): one
//! elementwise kernel each, rounding exactly as `CpuBackend`.

use super::{binary, unary};
use crate::device::KernelDevice;
use crate::kernels::activations as k;
use crate::tensor::{AdResult, Tensor};

/// `GELU(x)`, exact erf form (PyTorch `gelu(approximate='none')`).
pub(crate) fn gelu<D: KernelDevice>(dev: &D, x: &Tensor<D>) -> AdResult<Tensor<D>> {
    unary(dev, &k::GELU_FWD_F32, x)
}

/// `g ⊙ GELU'(x)`.
pub(crate) fn gelu_backward<D: KernelDevice>(dev: &D, x: &Tensor<D>, g: &Tensor<D>) -> AdResult<Tensor<D>> {
    binary(dev, &k::GELU_BWD_F32, x, g)
}

/// `σ(x) = 1 / (1 + e^(−x))`.
pub(crate) fn sigmoid<D: KernelDevice>(dev: &D, x: &Tensor<D>) -> AdResult<Tensor<D>> {
    unary(dev, &k::SIGMOID_FWD_F32, x)
}

/// `g ⊙ y (1 − y)` for `y = σ(x)`.
pub(crate) fn sigmoid_backward<D: KernelDevice>(dev: &D, y: &Tensor<D>, g: &Tensor<D>) -> AdResult<Tensor<D>> {
    binary(dev, &k::SIGMOID_BWD_F32, y, g)
}
