//! Layer norm over each row, forward and backward (`kernels/layer_norm.cu`): one block per row,
//! with block-tree sums (so a few ulps of the row's magnitude from `CpuBackend`), and the
//! parameter gradients one thread per column (rows added in order).

use hagcn_autodiff::{LayerNormGrads, LayerNormOutput};

use super::{flat, int, rows_grid, run};
use crate::device::KernelDevice;
use crate::kernels::layer_norm as k;
use crate::tensor::{self, AdResult, DeviceTensor, Tensor, check_shape};

/// `(x − μ) / √(var + eps) · weight + bias` per row, with the saved `μ` and `1/√(var + eps)`.
pub(crate) fn layer_norm<D: KernelDevice>(
    dev: &D,
    x: &Tensor<D>,
    weight: &Tensor<D>,
    bias: &Tensor<D>,
    eps: f32,
) -> AdResult<LayerNormOutput<Tensor<D>>> {
    check_shape("layer_norm (weight)", weight, (1, x.cols))?;
    check_shape("layer_norm (bias)", bias, (1, x.cols))?;
    let (mut y, mut mean, mut rstd) =
        (tensor::alloc(dev, x.len())?, tensor::alloc(dev, x.rows)?, tensor::alloc(dev, x.rows)?);
    let args = (
        &*x.buf,
        &*weight.buf,
        &*bias.buf,
        &mut y,
        &mut mean,
        &mut rstd,
        int(x.rows, "rows")?,
        int(x.cols, "cols")?,
        eps,
    );
    // SAFETY: x and y hold rows × cols entries, weight and bias cols, mean and rstd rows.
    unsafe { run(dev, x.rows, &k::LAYER_NORM_FWD_F32, rows_grid(x.rows, x.cols), args) }?;
    Ok(LayerNormOutput {
        y: DeviceTensor::new(x.rows, x.cols, y),
        mean: DeviceTensor::new(x.rows, 1, mean),
        rstd: DeviceTensor::new(x.rows, 1, rstd),
    })
}

/// The gradients with respect to `x`, `weight` and `bias` from the saved statistics.
pub(crate) fn layer_norm_backward<D: KernelDevice>(
    dev: &D,
    x: &Tensor<D>,
    weight: &Tensor<D>,
    saved: &LayerNormOutput<Tensor<D>>,
    g: &Tensor<D>,
) -> AdResult<LayerNormGrads<Tensor<D>>> {
    check_shape("layer_norm_backward (weight)", weight, (1, x.cols))?;
    check_shape("layer_norm_backward (gradient)", g, x.shape())?;
    check_shape("layer_norm_backward (mean)", &saved.mean, (x.rows, 1))?;
    check_shape("layer_norm_backward (rstd)", &saved.rstd, (x.rows, 1))?;
    let (rows, cols) = (int(x.rows, "rows")?, int(x.cols, "cols")?);
    let mut gx = tensor::alloc(dev, x.len())?;
    let args = (&*x.buf, &*weight.buf, &*saved.mean.buf, &*saved.rstd.buf, &*g.buf, &mut gx, rows, cols);
    // SAFETY: x, g and gx hold rows × cols entries, weight cols, mean and rstd rows.
    unsafe { run(dev, x.rows, &k::LAYER_NORM_BWD_F32, rows_grid(x.rows, x.cols), args) }?;
    let (mut gw, mut gb) = (tensor::alloc(dev, x.cols)?, tensor::alloc(dev, x.cols)?);
    let args = (&*x.buf, &*saved.mean.buf, &*saved.rstd.buf, &*g.buf, &mut gw, &mut gb, rows, cols);
    // SAFETY: x and g hold rows × cols entries, mean and rstd rows, gw and gb cols.
    unsafe { run(dev, x.cols, &k::LAYER_NORM_BWD_PARAMS_F32, flat(x.cols), args) }?;
    Ok(LayerNormGrads {
        x: DeviceTensor::new(x.rows, x.cols, gx),
        weight: DeviceTensor::new(1, x.cols, gw),
        bias: DeviceTensor::new(1, x.cols, gb),
    })
}
