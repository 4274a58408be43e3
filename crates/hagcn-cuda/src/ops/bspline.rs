//! The cubic B-spline basis of the spline filter and its gradient (`kernels/bspline.cu`).
//!
//! The knots come from one kernel (with their derivatives with respect to the extremes and the
//! extremes' indices), which flags a point that is not finite: one 4-byte download. On a flag,
//! and for sizes the kernels do not take (more than [`BSPLINE_MAX_KNOTS`] knots,
//! `n_basis ≤ degree`, no points, a gradient of the wrong shape), the op runs through
//! `CpuBackend` on the host, so results and errors are the host's.

use hagcn_autodiff::{Backend, CpuBackend, CpuTensor};

use super::{BLOCK_1D, flat, int, one_block, run};
use crate::device::{Buffer, KernelDevice};
use crate::kernels::bspline as k;
use crate::tensor::{self, AdResult, DeviceTensor, Tensor, check_shape};

/// `HAGCN_BSPLINE_MAX_KNOTS` of `kernels/bspline.cu`: the size of the kernels' per-thread knot
/// arrays, so the most knots (`n_basis + degree + 1`) a device B-spline takes. Larger bases run
/// on the host.
pub const BSPLINE_MAX_KNOTS: usize = 64;

/// The knots of a B-spline basis on the device, with their derivatives with respect to the
/// extremes and the extremes' indices (outputs of `bspline_knots_f32`), and the sizes as the
/// kernels take them.
struct SplineKnots<D: KernelDevice> {
    m: i32,
    n_basis: i32,
    degree: i32,
    knots: Buffer<D, f32>,
    dlo: Buffer<D, f32>,
    dhi: Buffer<D, f32>,
    extremes: Buffer<D, i32>,
}

/// The basis (`m × n_basis`) at the points of `x` (`1 × m`).
pub(crate) fn bspline_basis<D: KernelDevice>(
    dev: &D,
    x: &Tensor<D>,
    n_basis: usize,
    degree: usize,
) -> AdResult<Tensor<D>> {
    check_shape("bspline_basis", x, (1, x.cols))?;
    let Some(spline) = knots(dev, x, n_basis, degree)? else {
        return host_basis(dev, x, n_basis, degree);
    };
    let m = x.cols;
    let mut out = tensor::alloc(dev, m * n_basis)?;
    let args = (&*x.buf, &spline.knots, &mut out, spline.m, spline.n_basis, spline.degree);
    // SAFETY: x holds m entries, knots n_basis + degree + 1 ≤ 64, out m × n_basis.
    unsafe { run(dev, m, &k::BSPLINE_BASIS_F32, flat(m), args) }?;
    Ok(DeviceTensor::new(m, n_basis, out))
}

/// The gradient with respect to the points (`1 × m`) from the gradient `g` of the basis.
pub(crate) fn bspline_basis_backward<D: KernelDevice>(
    dev: &D,
    x: &Tensor<D>,
    n_basis: usize,
    degree: usize,
    g: &Tensor<D>,
) -> AdResult<Tensor<D>> {
    check_shape("bspline_basis_backward", x, (1, x.cols))?;
    if g.shape() != (x.cols, n_basis) {
        return host_basis_backward(dev, x, n_basis, degree, g);
    }
    let Some(spline) = knots(dev, x, n_basis, degree)? else {
        return host_basis_backward(dev, x, n_basis, degree, g);
    };
    let m = x.cols;
    let (mut gx, mut glo, mut ghi) = (tensor::alloc(dev, m)?, tensor::alloc(dev, m)?, tensor::alloc(dev, m)?);
    let args = (
        &*x.buf,
        &spline.knots,
        &spline.dlo,
        &spline.dhi,
        &*g.buf,
        &mut gx,
        &mut glo,
        &mut ghi,
        spline.m,
        spline.n_basis,
        spline.degree,
    );
    // SAFETY: x, gx, glo and ghi hold m entries, the knot buffers n_basis + degree + 1 ≤ 64,
    // g m × n_basis (checked above).
    unsafe { run(dev, m, &k::BSPLINE_BWD_F32, flat(m), args) }?;
    let args = (&mut gx, &glo, &ghi, &spline.extremes, spline.m);
    // SAFETY: gx, glo and ghi hold m entries, extremes two indices below m; one block of whole
    // warps, as the kernel's block sum needs.
    unsafe { run(dev, m, &k::BSPLINE_BWD_FINISH_F32, one_block(m, BLOCK_1D), args) }?;
    Ok(DeviceTensor::new(1, m, gx))
}

/// The knots of the basis on the device for the points of `x` (`1 × m`, checked by the
/// caller), or `None` when the call is for the host: sizes the kernels do not take
/// (`n_basis ≤ degree`, no points, more than [`BSPLINE_MAX_KNOTS`] knots, sizes over `int`) or
/// a point that is not finite (the kernel's flag, one 4-byte download).
fn knots<D: KernelDevice>(dev: &D, x: &Tensor<D>, n_basis: usize, degree: usize) -> AdResult<Option<SplineKnots<D>>> {
    let m = x.cols;
    let n_knots = n_basis + degree + 1;
    if m == 0 || n_basis <= degree || n_knots > BSPLINE_MAX_KNOTS {
        return Ok(None);
    }
    let (Ok(m_i), Ok(n_basis_i), Ok(degree_i)) = (int(m, "points"), int(n_basis, "n_basis"), int(degree, "degree"))
    else {
        return Ok(None);
    };
    let mut knots = SplineKnots::<D> {
        m: m_i,
        n_basis: n_basis_i,
        degree: degree_i,
        knots: tensor::alloc(dev, n_knots)?,
        dlo: tensor::alloc(dev, n_knots)?,
        dhi: tensor::alloc(dev, n_knots)?,
        extremes: dev.upload(&[0i32, 0])?,
    };
    let mut bad = dev.upload(&[0i32])?;
    let args = (
        &*x.buf,
        m_i,
        n_basis_i,
        degree_i,
        &mut knots.knots,
        &mut knots.dlo,
        &mut knots.dhi,
        &mut knots.extremes,
        &mut bad,
    );
    // SAFETY: x holds m entries, the knot buffers n_basis + degree + 1 ≤ 64 (the kernel's private
    // arrays), extremes two, bad one; one block, as the kernel needs.
    unsafe { run(dev, 1, &k::BSPLINE_KNOTS_F32, one_block(n_knots, 64), args) }?;
    if dev.download(&bad)?.first() != Some(&0) {
        return Ok(None);
    }
    Ok(Some(knots))
}

/// `CpuBackend::bspline_basis` on the downloaded points.
fn host_basis<D: KernelDevice>(dev: &D, x: &Tensor<D>, n_basis: usize, degree: usize) -> AdResult<Tensor<D>> {
    let cpu = CpuBackend::<f32>::new();
    let out = cpu.bspline_basis(&CpuTensor::new(tensor::download(dev, x)?), n_basis, degree)?;
    tensor::upload(dev, cpu.download(&out)?.view())
}

/// `CpuBackend::bspline_basis_backward` on the downloaded points and gradient.
fn host_basis_backward<D: KernelDevice>(
    dev: &D,
    x: &Tensor<D>,
    n_basis: usize,
    degree: usize,
    g: &Tensor<D>,
) -> AdResult<Tensor<D>> {
    let cpu = CpuBackend::<f32>::new();
    let (x, g) = (CpuTensor::new(tensor::download(dev, x)?), CpuTensor::new(tensor::download(dev, g)?));
    let out = cpu.bspline_basis_backward(&x, n_basis, degree, &g)?;
    tensor::upload(dev, cpu.download(&out)?.view())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knot_limit_matches_the_kernel_source() {
        let src = k::FILE.source;
        assert!(src.contains(&format!("#define HAGCN_BSPLINE_MAX_KNOTS {BSPLINE_MAX_KNOTS}\n")));
    }
}
