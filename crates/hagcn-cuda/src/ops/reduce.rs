//! The sum of every entry (`kernels/reduce.cu`) in two deterministic stages: one partial sum per
//! block, then one block adds the partials in order.

use super::{BLOCK_1D, flat, int, one_block, run};
use crate::device::KernelDevice;
use crate::kernels::reduce as k;
use crate::tensor::{self, AdResult, DeviceTensor, Tensor};

/// `Σ a` as a `1 × 1` tensor (0 for an empty `a`).
pub(crate) fn sum<D: KernelDevice>(dev: &D, a: &Tensor<D>) -> AdResult<Tensor<D>> {
    let n = a.len();
    let mut out = tensor::alloc(dev, 1)?;
    if n == 0 {
        return Ok(DeviceTensor::new(1, 1, out));
    }
    let (grid, block) = flat(n);
    let n_partial = grid.x as usize;
    let mut partial = tensor::alloc(dev, n_partial)?;
    // SAFETY: a holds n entries, partial one per block.
    unsafe { run(dev, n, &k::SUM_PARTIAL_F32, (grid, block), (&*a.buf, &mut partial, int(n, "entries")?)) }?;
    let args = (&partial, &mut out, int(n_partial, "blocks")?, 1.0f32);
    // SAFETY: partial holds n_partial entries, out one; one block of whole warps.
    unsafe { run(dev, 1, &k::SUM_SCALE_F32, one_block(n_partial, BLOCK_1D), args) }?;
    Ok(DeviceTensor::new(1, 1, out))
}
