//! The reproducible fully connected layer (`kernels/linear.cu`): `x wᵀ + b` with every output
//! summed in f64 in increasing `k` from zero by fused multiply-adds, the bias added in f64, and
//! one rounding to f32, which is `hagcn_autodiff::reproducible::linear` bit for bit. Encoding uses
//! it, so a checkpoint gives the same codes on the CPU and on the GPU.

use super::{flat, int, run};
use crate::device::KernelDevice;
use crate::kernels::linear as k;
use crate::tensor::{self, AdResult, DeviceTensor, Tensor, check_shape};

/// `x wᵀ + b` (`x`: `n × d`, `w`: `out × d`, `b`: `1 × out`) in the fixed order of
/// `hagcn_autodiff::reproducible`, one thread per output.
pub(crate) fn linear_reproducible<D: KernelDevice>(
    dev: &D,
    x: &Tensor<D>,
    w: &Tensor<D>,
    b: &Tensor<D>,
) -> AdResult<Tensor<D>> {
    let (n, d, out) = (x.rows, x.cols, w.rows);
    check_shape("linear_reproducible (weight)", w, (out, d))?;
    check_shape("linear_reproducible (bias)", b, (1, out))?;
    let total = n * out;
    let mut y = tensor::alloc(dev, total)?;
    let args = (&*x.buf, &*w.buf, &*b.buf, &mut y, int(n, "rows")?, int(d, "inputs")?, int(out, "outputs")?);
    // SAFETY: x holds n × d entries, w out × d, b out, y n × out.
    unsafe { run(dev, total, &k::LINEAR_REPRODUCIBLE_F32, flat(total), args) }?;
    Ok(DeviceTensor::new(n, out, y))
}
