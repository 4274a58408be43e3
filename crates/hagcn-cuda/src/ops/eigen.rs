//! The symmetric eigendecomposition on the device: cuSOLVER's `dsyevd` in f64 (LAPACK's on the
//! emulated device), with the host path of `hagcn_autodiff` as the policy's other choice and as
//! the fallback whenever the device path fails (`kernels/eigen.cu` around the solver).
//!
//! The device path computes what `hagcn_linalg::symmetric_eigen` computes on the host:
//!
//! ```text
//! S = (A + Aᵀ)/2                in f64, from the f32 A     kernel eigen_symmetrize_f32
//! (λ, V) = dsyevd(S, lower)     λ ascending, V column-major  KernelDevice::dsyevd
//! U = f32(V), each column negated when its first largest-magnitude entry (as f32) is negative
//! packed = [U; λᵀ]              (n + 1) × n, row-major       kernel eigen_pack_f32
//! ```
//!
//! so that, given the same solver output, the packed result equals the host's bit for bit (on
//! the emulated device the solver is the same LAPACK call, so the whole result does). The f64
//! input is made on the device by a conversion kernel rather than uploaded from a host copy:
//! that keeps the path free of `n²`-sized transfers (the f64 upload would move twice the bytes
//! of the f32 download before it), at the cost of one kernel of `n²` threads.
//!
//! Host round trips: one 4-byte read of the input's non-finite flag before the solver (a NaN
//! or infinity goes to the host path, which reports the same error as the CPU backend), and
//! one read each of the solver's `info` and the output's non-finite flag after the pack kernel.
//! A non-zero `info`, a non-finite eigenpair, a missing cuSOLVER or any device error sends the
//! input through the host path instead, so the device policy never fails where the CPU path
//! succeeds (PyTorch's GPU `eigh` fails to converge on batch graphs from n = 1024 on).

use hagcn_autodiff::{Backend, CpuBackend, CpuTensor};

use super::{flat, int, rows_grid, run};
use crate::device::{KernelDevice, Syevd};
use crate::eigen_policy::EigenPolicy;
use crate::error::Error;
use crate::kernels::eigen as k;
use crate::tensor::{self, AdResult, DeviceTensor, Tensor};

/// Which path produced an eigendecomposition of [`crate::CudaBackend::symmetric_eigen_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EigenSolver {
    /// The host, as the policy chose (or for a matrix that is empty or not square).
    Host,
    /// The device eigensolver.
    Device,
    /// The host, after the device path failed for the reason given (the input held a NaN or
    /// an infinity, the solver did not converge, an eigenpair was not finite, cuSOLVER is
    /// missing, or a device error).
    HostFallback(String),
}

/// The packed `(n + 1) × n` decomposition of `(A + Aᵀ)/2` under `policy`, and the path that
/// produced it (see `CudaBackend::symmetric_eigen_with`).
pub(crate) fn symmetric_eigen_with<D: KernelDevice>(
    dev: &D,
    policy: EigenPolicy,
    a: &Tensor<D>,
) -> AdResult<(Tensor<D>, EigenSolver)> {
    let (rows, cols) = a.shape();
    if rows != cols || rows == 0 || !policy.uses_device(rows) {
        return Ok((host_symmetric_eigen(dev, a)?, EigenSolver::Host));
    }
    match device_symmetric_eigen(dev, a) {
        Ok(packed) => Ok((packed, EigenSolver::Device)),
        Err(reason) => Ok((host_symmetric_eigen(dev, a)?, EigenSolver::HostFallback(reason))),
    }
}

/// The trait's default: download, `CpuBackend` (hagcn_linalg in f64), upload.
fn host_symmetric_eigen<D: KernelDevice>(dev: &D, a: &Tensor<D>) -> AdResult<Tensor<D>> {
    let cpu = CpuBackend::<f32>::new();
    let packed = cpu.symmetric_eigen(&CpuTensor::new(tensor::download(dev, a)?))?;
    tensor::upload(dev, cpu.download(&packed)?.view())
}

/// The device path for a square `a` of order `n ≥ 1`, or why it failed.
fn device_symmetric_eigen<D: KernelDevice>(dev: &D, a: &Tensor<D>) -> Result<Tensor<D>, String> {
    let n = a.rows;
    let len = n * n;
    let text = |e: Error| e.to_string();
    let n_i = int(n, "eigendecomposition order").map_err(text)?;

    // S = (A + Aᵀ)/2 in f64, and whether A holds a NaN or an infinity.
    let mut s = dev.alloc_zeros::<f64>(len).map_err(text)?;
    let mut bad = dev.upload(&[0i32]).map_err(text)?;
    // SAFETY: a and s hold n × n entries, bad one.
    unsafe { run(dev, len, &k::EIGEN_SYMMETRIZE_F32, flat(len), (&*a.buf, &mut s, &mut bad, n_i)) }.map_err(text)?;
    if dev.download(&bad).map_err(text)?.first() != Some(&0) {
        return Err("the input holds a NaN or an infinity".into());
    }

    let mut w = dev.alloc_zeros::<f64>(n).map_err(text)?;
    let mut info = dev.upload(&[0i32]).map_err(text)?;
    dev.dsyevd(Syevd { vectors: true, lower: true, n, lda: n }, &mut s, &mut w, &mut info).map_err(text)?;

    // Signs and packing; `bad` is still 0 and now flags a non-finite eigenpair.
    let mut packed = tensor::alloc(dev, (n + 1) * n).map_err(text)?;
    // SAFETY: s holds n × n entries, w n, packed (n + 1) × n, bad one.
    unsafe { run(dev, n, &k::EIGEN_PACK_F32, rows_grid(n, n), (&s, &w, &mut packed, &mut bad, n_i)) }.map_err(text)?;

    match dev.download(&info).map_err(text)?.first().copied() {
        Some(0) => {}
        Some(i) if i > 0 => return Err(format!("the device eigensolver did not converge (dsyevd info = {i})")),
        Some(i) => return Err(format!("the device eigensolver rejected argument {} (dsyevd info = {i})", -i)),
        None => return Err("the device eigensolver returned no info".into()),
    }
    if dev.download(&bad).map_err(text)?.first() != Some(&0) {
        return Err("the device eigensolver returned a NaN or an infinity".into());
    }
    Ok(DeviceTensor::new(n + 1, n, packed))
}
