//! The normalised adjacency `Â = D^-1/2 A D^-1/2` and its gradient (`kernels/adjacency.cu`).
//!
//! The degree kernel flags the first row whose degree is ≤ 0 or not finite; the forward pass
//! downloads that one `int`, and on a flag reruns the input through `CpuBackend`, so that the
//! error names the same node and degree as on the CPU.

use hagcn_autodiff::{Backend, CpuBackend, CpuTensor};

use super::{flat, int, rows_grid, run};
use crate::device::KernelDevice;
use crate::error::Error;
use crate::kernels::adjacency as k;
use crate::tensor::{self, AdResult, DeviceTensor, Tensor, check_shape};

/// `(Â, d)` with `d_i = 1/√deg_i` (`n × 1`).
pub(crate) fn normalized_adjacency<D: KernelDevice>(dev: &D, a: &Tensor<D>) -> AdResult<(Tensor<D>, Tensor<D>)> {
    let n = a.rows;
    if a.cols != n {
        return Err(host_error(dev, a));
    }
    let n_i = int(n, "nodes")?;
    let mut d = tensor::alloc(dev, n)?;
    let mut bad = dev.upload(&[n_i])?;
    // SAFETY: a holds n × n entries, d n, bad one.
    unsafe { run(dev, n, &k::ADJACENCY_DEGREE_F32, rows_grid(n, n), (&*a.buf, &mut d, &mut bad, n_i)) }?;
    // One 4-byte download: the kernel flags the first row whose degree is ≤ 0 or not finite.
    if dev.download(&bad)?.first() != Some(&n_i) {
        return Err(host_error(dev, a));
    }
    let mut a_hat = tensor::alloc(dev, n * n)?;
    // SAFETY: a and a_hat hold n × n entries, d n.
    unsafe { run(dev, n * n, &k::ADJACENCY_SCALE_F32, flat(n * n), (&*a.buf, &d, &mut a_hat, n_i)) }?;
    Ok((DeviceTensor::new(n, n, a_hat), DeviceTensor::new(n, 1, d)))
}

/// The gradient with respect to `A` from `Â`, `d` and the gradient `g` of `Â`.
pub(crate) fn normalized_adjacency_backward<D: KernelDevice>(
    dev: &D,
    a_hat: &Tensor<D>,
    d: &Tensor<D>,
    g: &Tensor<D>,
) -> AdResult<Tensor<D>> {
    let n = a_hat.rows;
    check_shape("normalized_adjacency_backward (Â)", a_hat, (n, n))?;
    check_shape("normalized_adjacency_backward (d)", d, (n, 1))?;
    check_shape("normalized_adjacency_backward (gradient)", g, (n, n))?;
    let n_i = int(n, "nodes")?;
    let mut gdeg = tensor::alloc(dev, n)?;
    let args = (&*a_hat.buf, &*d.buf, &*g.buf, &mut gdeg, n_i);
    // SAFETY: Â and g hold n × n entries, d and gdeg n.
    unsafe { run(dev, n, &k::ADJACENCY_BWD_DEGREE_F32, rows_grid(n, n), args) }?;
    let mut ga = tensor::alloc(dev, n * n)?;
    // SAFETY: g and ga hold n × n entries, d and gdeg n.
    unsafe { run(dev, n * n, &k::ADJACENCY_BWD_F32, flat(n * n), (&*g.buf, &*d.buf, &gdeg, &mut ga, n_i)) }?;
    Ok(DeviceTensor::new(n, n, ga))
}

/// The host's error for an adjacency the device rejected (not square, or a degree ≤ 0 or not
/// finite): the input is downloaded and run through `CpuBackend`, so the error names the same
/// node and degree as on the CPU.
fn host_error<D: KernelDevice>(dev: &D, a: &Tensor<D>) -> hagcn_autodiff::Error {
    let host = match tensor::download(dev, a) {
        Ok(host) => host,
        Err(e) => return e,
    };
    match CpuBackend::<f32>::new().normalized_adjacency(&CpuTensor::new(host)) {
        Err(e) => e,
        Ok(_) => {
            Error::InvalidArgument("normalized_adjacency: the device flagged a degree the host accepts".into()).into()
        }
    }
}
