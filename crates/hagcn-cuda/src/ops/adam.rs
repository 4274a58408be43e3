//! The Adam update in place (`kernels/adam.cu`), exactly as `CpuBackend`.

use hagcn_autodiff::AdamUpdate;

use super::{flat, int, run};
use crate::device::KernelDevice;
use crate::kernels::adam as k;
use crate::tensor::{self, AdResult, Tensor, check_shape};

/// One Adam step on `param` with moments `m` and `v`, in place; a buffer that another tensor
/// shares is copied first, so no other tensor changes.
pub(crate) fn adam_update<D: KernelDevice>(
    dev: &D,
    param: &mut Tensor<D>,
    grad: &Tensor<D>,
    m: &mut Tensor<D>,
    v: &mut Tensor<D>,
    u: &AdamUpdate<f32>,
) -> AdResult<()> {
    let shape = param.shape();
    check_shape("adam_update (gradient)", grad, shape)?;
    check_shape("adam_update (first moment)", m, shape)?;
    check_shape("adam_update (second moment)", v, shape)?;
    let len = param.len();
    let n = int(len, "entries")?;
    let p = tensor::unique(dev, param)?;
    let m = tensor::unique(dev, m)?;
    let v = tensor::unique(dev, v)?;
    let args = (p, &*grad.buf, m, v, n, u.lr, u.beta1, u.beta2, u.eps, u.bias_correction1, u.bias_correction2);
    // SAFETY: all four hold n entries; param, m and v are unique, so writing them in place
    // changes no other tensor.
    unsafe { run(dev, len, &k::ADAM_UPDATE_F32, flat(len), args) }?;
    Ok(())
}
