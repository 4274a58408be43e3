//! The Lanczos filter's tridiagonal `T` and its gradient (`kernels/tridiagonal.cu`): copies and
//! one addition per entry, exactly as `CpuBackend`.

use super::{flat, int, run};
use crate::device::KernelDevice;
use crate::kernels::tridiagonal as k;
use crate::tensor::{self, AdResult, DeviceTensor, Tensor, check_shape};

/// `T` (`m × m`) from `α` (`1 × m`) on the diagonal and `β` (`1 × (m − 1)`) beside it.
pub(crate) fn tridiagonal<D: KernelDevice>(dev: &D, alpha: &Tensor<D>, beta: &Tensor<D>) -> AdResult<Tensor<D>> {
    let m = alpha.cols;
    check_shape("tridiagonal (alpha)", alpha, (1, m))?;
    check_shape("tridiagonal (beta)", beta, (1, m.saturating_sub(1)))?;
    let mut out = tensor::alloc(dev, m * m)?;
    let args = (&*alpha.buf, &*beta.buf, &mut out, int(m, "size")?);
    // SAFETY: alpha holds m entries, beta m − 1 (read only below the last row), out m × m.
    unsafe { run(dev, m * m, &k::TRIDIAGONAL_FWD_F32, flat(m * m), args) }?;
    Ok(DeviceTensor::new(m, m, out))
}

/// `(∂α, ∂β)` from the gradient `G` of `T`: `∂α_i = G_ii`, `∂β_i = G_(i,i+1) + G_(i+1,i)`.
pub(crate) fn tridiagonal_backward<D: KernelDevice>(dev: &D, g: &Tensor<D>) -> AdResult<(Tensor<D>, Tensor<D>)> {
    let m = g.rows;
    check_shape("tridiagonal_backward", g, (m, m))?;
    let (mut galpha, mut gbeta) = (tensor::alloc(dev, m)?, tensor::alloc(dev, m.saturating_sub(1))?);
    let args = (&*g.buf, &mut galpha, &mut gbeta, int(m, "size")?);
    // SAFETY: g holds m × m entries, galpha m, gbeta m − 1 (written for i + 1 < m only).
    unsafe { run(dev, m, &k::TRIDIAGONAL_BWD_F32, flat(m), args) }?;
    Ok((DeviceTensor::new(1, m, galpha), DeviceTensor::new(1, m.saturating_sub(1), gbeta)))
}
