//! The symmetric eigendecomposition on the device: cuSOLVER's `dsyevd` in f64 (LAPACK's on the
//! emulated device), with the host path of `hagcn_autodiff` as the policy's other choice and as
//! the fallback whenever the device path fails.
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

use std::os::raw::c_int;
use std::sync::{Arc, OnceLock};

use cudarc::cusolver::{DnHandle, sys as solver_sys};
use cudarc::driver::{CudaSlice, DevicePtr, DevicePtrMut};
use hagcn_autodiff::{Backend, CpuBackend, CpuTensor};

use super::{AdResult, Arg, CudaBackend, KernelDevice, Tensor, flat, int, rows_grid};
use crate::{Device, Error, Result};

/// One call of the symmetric eigensolver [`KernelDevice::dsyevd`], as `cusolverDnDsyevd` and
/// LAPACK `dsyevd` take it: the column-major `n × n` matrix `A` with leading dimension `lda`,
/// of which the solver reads one triangle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Syevd {
    /// `jobz`: compute the eigenvectors (`CUSOLVER_EIG_MODE_VECTOR`, LAPACK `'V'`), or only the
    /// eigenvalues.
    pub vectors: bool,
    /// `uplo`: read the lower triangle (`CUBLAS_FILL_MODE_LOWER`, LAPACK `'L'`), or the upper.
    pub lower: bool,
    /// The order of `A`.
    pub n: usize,
    /// The leading dimension of `A` (`≥ max(1, n)`).
    pub lda: usize,
}

/// An `f64` buffer of the [`super::EmulatedDevice`].
#[derive(Debug, Clone, PartialEq)]
pub struct EmuF64Buffer(pub Vec<f64>);

/// Where [`CudaBackend`] computes the symmetric eigendecomposition
/// ([`Backend::symmetric_eigen`]).
///
/// The choice is by speed alone: both paths solve in f64 and pack with the same sign
/// convention, and the device path falls back to the host whenever it fails. The default is
/// [`EigenPolicy::Host`] until a GPU benchmark (the device against the host at n = 128, 1024 and
/// 4096, through [`CudaBackend::symmetric_eigen_with`]) says from which size the device is
/// faster. `HAGCN_CUDA_EIGEN=host|device|auto:<n>` overrides the default for a backend whose
/// policy was not set with [`CudaBackend::with_eigen_policy`].
///
/// ```
/// use hagcn_cuda::backend::EigenPolicy;
///
/// let auto: EigenPolicy = "auto:512".parse()?;
/// assert_eq!(auto, EigenPolicy::Auto { min_device_n: 512 });
/// assert!(!auto.uses_device(128) && auto.uses_device(1024));
/// assert_eq!(auto.to_string(), "auto:512");
/// assert!("gpu".parse::<EigenPolicy>().is_err());
/// # Ok::<(), hagcn_cuda::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EigenPolicy {
    /// Download, `hagcn_linalg::symmetric_eigen` (LAPACK `dsyevd` in f64), upload: the CPU
    /// backend's computation.
    Host,
    /// The device eigensolver (cuSOLVER `dsyevd` in f64) at every size.
    Device,
    /// The device for matrices of order `min_device_n` or more, the host below.
    Auto {
        /// The smallest order solved on the device.
        min_device_n: usize,
    },
}

impl EigenPolicy {
    /// The policy of a backend that was given none, when `HAGCN_CUDA_EIGEN` is unset: the host,
    /// until a GPU measurement says otherwise.
    pub const DEFAULT: EigenPolicy = EigenPolicy::Host;
    /// The environment variable that overrides [`EigenPolicy::DEFAULT`]: `host`, `device` or
    /// `auto:<n>`.
    pub const ENV: &'static str = "HAGCN_CUDA_EIGEN";

    /// The policy `HAGCN_CUDA_EIGEN` names, or `None` when it is unset or empty.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when it names no policy.
    pub fn from_env() -> Result<Option<EigenPolicy>> {
        match std::env::var(Self::ENV) {
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(v)) => {
                Err(Error::InvalidArgument(format!("{}={v:?}: expected host, device or auto:<n>", Self::ENV)))
            }
            Ok(v) if v.trim().is_empty() => Ok(None),
            Ok(v) => v.parse().map(Some).map_err(|e| Error::InvalidArgument(format!("{}: {e}", Self::ENV))),
        }
    }

    /// Whether a matrix of order `n` is solved on the device.
    pub fn uses_device(self, n: usize) -> bool {
        match self {
            EigenPolicy::Host => false,
            EigenPolicy::Device => true,
            EigenPolicy::Auto { min_device_n } => n >= min_device_n,
        }
    }
}

impl std::str::FromStr for EigenPolicy {
    type Err = Error;

    /// `host`, `device` or `auto:<n>` (surrounding spaces ignored).
    fn from_str(s: &str) -> Result<EigenPolicy> {
        let bad = || Error::InvalidArgument(format!("eigen policy {s:?}: expected host, device or auto:<n>"));
        match s.trim() {
            "host" => Ok(EigenPolicy::Host),
            "device" => Ok(EigenPolicy::Device),
            other => {
                let n = other.strip_prefix("auto:").ok_or_else(bad)?;
                Ok(EigenPolicy::Auto { min_device_n: n.trim().parse().map_err(|_| bad())? })
            }
        }
    }
}

impl std::fmt::Display for EigenPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EigenPolicy::Host => f.write_str("host"),
            EigenPolicy::Device => f.write_str("device"),
            EigenPolicy::Auto { min_device_n } => write!(f, "auto:{min_device_n}"),
        }
    }
}

/// Which path produced an eigendecomposition of [`CudaBackend::symmetric_eigen_with`].
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

impl<D: KernelDevice> CudaBackend<D> {
    /// The backend with `policy` for the eigendecomposition, whatever `HAGCN_CUDA_EIGEN` says.
    pub fn with_eigen_policy(mut self, policy: EigenPolicy) -> Self {
        self.eigen = Some(policy);
        self
    }

    /// The policy [`Backend::symmetric_eigen`] follows: the one set with
    /// [`CudaBackend::with_eigen_policy`], else the one `HAGCN_CUDA_EIGEN` names (read at each
    /// call), else [`EigenPolicy::DEFAULT`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when no policy was set and `HAGCN_CUDA_EIGEN` names none.
    pub fn eigen_policy(&self) -> Result<EigenPolicy> {
        match self.eigen {
            Some(policy) => Ok(policy),
            None => Ok(EigenPolicy::from_env()?.unwrap_or(EigenPolicy::DEFAULT)),
        }
    }

    /// [`Backend::symmetric_eigen`] under `policy`, and the path that produced it.
    ///
    /// The result is the packed `(n + 1) × n` decomposition of `(A + Aᵀ)/2` (eigenvectors as
    /// columns, then the eigenvalues, ascending; each eigenvector's first largest-magnitude
    /// entry positive), whichever path computed it. When the policy picks the device and the
    /// device path fails, the host computes it and the reason comes back in
    /// [`EigenSolver::HostFallback`]; an error therefore means that the host failed too (a
    /// NaN in the input, a matrix that is not square), with the CPU backend's error.
    ///
    /// For benchmarks: time `EigenPolicy::Device` against `EigenPolicy::Host` at each size
    /// (n = 128, 1024, 4096), check that the device run returned [`EigenSolver::Device`] (a
    /// fallback times the host), and synchronise the device's stream inside the timed closure
    /// (the device path has read back its status by the time it returns, but the host path's
    /// final upload may still be in flight).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use hagcn_autodiff::Backend;
    /// use hagcn_cuda::backend::{CudaBackend, EigenPolicy, EigenSolver, EmulatedDevice};
    /// use hagcn_openblas as _;
    ///
    /// let be = CudaBackend::new(Arc::new(EmulatedDevice));
    /// let a = be.upload(ndarray::array![[2.0f32, 1.0], [1.0, 2.0]].view())?;
    /// let (packed, solver) = be.symmetric_eigen_with(EigenPolicy::Device, &a)?;
    /// assert_eq!(solver, EigenSolver::Device);
    /// let (host, _) = be.symmetric_eigen_with(EigenPolicy::Host, &a)?;
    /// assert_eq!(be.download(&packed)?, be.download(&host)?);
    /// let packed = be.download(&packed)?; // eigenvalues 1 and 3 in the last row
    /// assert!((packed[[2, 0]] - 1.0).abs() < 1e-6 && (packed[[2, 1]] - 3.0).abs() < 1e-6);
    /// # Ok::<(), hagcn_autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The host path's errors (`hagcn_autodiff::Error::Linalg` for a non-square or non-finite
    /// input), and device errors of the host path's download and upload.
    pub fn symmetric_eigen_with(&self, policy: EigenPolicy, a: &Tensor<D>) -> AdResult<(Tensor<D>, EigenSolver)> {
        let (rows, cols) = a.shape();
        if rows != cols || rows == 0 || !policy.uses_device(rows) {
            return Ok((self.host_symmetric_eigen(a)?, EigenSolver::Host));
        }
        match self.device_symmetric_eigen(a) {
            Ok(packed) => Ok((packed, EigenSolver::Device)),
            Err(reason) => Ok((self.host_symmetric_eigen(a)?, EigenSolver::HostFallback(reason))),
        }
    }

    /// The trait's default: download, `CpuBackend` (hagcn_linalg in f64), upload.
    fn host_symmetric_eigen(&self, a: &Tensor<D>) -> AdResult<Tensor<D>> {
        let cpu = CpuBackend::<f32>::new();
        let packed = cpu.symmetric_eigen(&CpuTensor::new(self.download(a)?))?;
        self.upload(cpu.download(&packed)?.view())
    }

    /// The device path for a square `a` of order `n ≥ 1`, or why it failed.
    fn device_symmetric_eigen(&self, a: &Tensor<D>) -> std::result::Result<Tensor<D>, String> {
        let dev = &*self.device;
        let n = a.rows;
        let len = n * n;
        let text = |e: Error| e.to_string();
        let n_i = int(n, "eigendecomposition order").map_err(text)?;

        // S = (A + Aᵀ)/2 in f64, and whether A holds a NaN or an infinity.
        let mut s = dev.alloc_zeros_f64(len).map_err(text)?;
        let mut bad = dev.upload_i32(&[0]).map_err(text)?;
        let mut args = [Arg::In(&*a.buf), Arg::OutF64(&mut s), Arg::OutI32(&mut bad), Arg::I32(n_i)];
        // SAFETY: a and s hold n × n entries, bad one.
        unsafe { self.run(len, "eigen", "eigen_symmetrize_f32", flat(len), &mut args) }.map_err(text)?;
        if dev.download_i32(&bad).map_err(text)?.first() != Some(&0) {
            return Err("the input holds a NaN or an infinity".into());
        }

        let mut w = dev.alloc_zeros_f64(n).map_err(text)?;
        let mut info = dev.upload_i32(&[0]).map_err(text)?;
        dev.dsyevd(Syevd { vectors: true, lower: true, n, lda: n }, &mut s, &mut w, &mut info).map_err(text)?;

        // Signs and packing; `bad` is still 0 and now flags a non-finite eigenpair.
        let mut packed = dev.alloc_zeros((n + 1) * n).map_err(text)?;
        let mut args = [Arg::InF64(&s), Arg::InF64(&w), Arg::Out(&mut packed), Arg::OutI32(&mut bad), Arg::I32(n_i)];
        // SAFETY: s holds n × n entries, w n, packed (n + 1) × n, bad one.
        unsafe { self.run(n, "eigen", "eigen_pack_f32", rows_grid(n, n), &mut args) }.map_err(text)?;

        match dev.download_i32(&info).map_err(text)?.first().copied() {
            Some(0) => {}
            Some(i) if i > 0 => return Err(format!("the device eigensolver did not converge (dsyevd info = {i})")),
            Some(i) => return Err(format!("the device eigensolver rejected argument {} (dsyevd info = {i})", -i)),
            None => return Err("the device eigensolver returned no info".into()),
        }
        if dev.download_i32(&bad).map_err(text)?.first() != Some(&0) {
            return Err("the device eigensolver returned a NaN or an infinity".into());
        }
        Ok(Self::tensor(n + 1, n, packed))
    }
}

/// Checks a call against the buffers it names (lengths in elements).
fn check_syevd(call: Syevd, a_len: usize, w_len: usize, info_len: usize) -> Result<(c_int, c_int)> {
    let Syevd { n, lda, .. } = call;
    let fits = |v: usize, what: &str| {
        c_int::try_from(v).map_err(|_| Error::InvalidArgument(format!("dsyevd: {what} = {v} does not fit an int")))
    };
    let (n_c, lda_c) = (fits(n, "n")?, fits(lda, "lda")?);
    if lda < n.max(1) {
        return Err(Error::InvalidArgument(format!("dsyevd: lda = {lda} is less than max(1, n = {n})")));
    }
    let a_need = lda.checked_mul(n).ok_or_else(|| Error::InvalidArgument("dsyevd: lda × n overflows".to_string()))?;
    if a_len < a_need || w_len < n || info_len < 1 {
        return Err(Error::InvalidArgument(format!(
            "dsyevd: buffers of {a_len}, {w_len} and {info_len} entries for A ({lda} × {n}), w ({n}) and info (1)"
        )));
    }
    Ok((n_c, lda_c))
}

/// The emulated device's eigensolver: LAPACK `dsyevd` on the host
/// ([`hagcn_linalg::eigh::lapack_dsyevd`]), `info` written to `info[0]` as cuSOLVER writes its
/// `devInfo`.
pub(super) fn lapack_dsyevd(call: Syevd, a: &mut [f64], w: &mut [f64], info: &mut [i32]) -> Result<()> {
    check_syevd(call, a.len(), w.len(), info.len())?;
    info[0] = hagcn_linalg::eigh::lapack_dsyevd(call.vectors, call.lower, call.n, a, call.lda, w)
        .map_err(Error::InvalidArgument)?;
    Ok(())
}

/// Whether `libcusolver` can be loaded (cudarc panics on the first call otherwise).
fn cusolver_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    // SAFETY: only tries to dlopen the library names cudarc knows.
    *AVAILABLE.get_or_init(|| unsafe { solver_sys::is_culib_present() })
}

/// The device's cuSOLVER dense handle on its stream, created on first use.
fn solver(device: &Device) -> Result<&DnHandle> {
    if let Some(h) = device.solver.get() {
        return Ok(h);
    }
    if !cusolver_available() {
        return Err(Error::Cuda(
            "cuSOLVER not found (no libcusolver.so loadable): the device eigensolver needs CUDA 13's cuSOLVER on \
             the library path"
                .into(),
        ));
    }
    let handle = DnHandle::new(Arc::clone(device.stream())).map_err(Error::cuda)?;
    Ok(device.solver.get_or_init(|| handle))
}

/// The GPU's eigensolver: `cusolverDnDsyevd_bufferSize`, a workspace of that size, then
/// `cusolverDnDsyevd` on the device's stream (asynchronous: `info` is read by the caller).
pub(super) fn cusolver_dsyevd(
    device: &Device,
    call: Syevd,
    a: &mut CudaSlice<f64>,
    w: &mut CudaSlice<f64>,
    info: &mut CudaSlice<i32>,
) -> Result<()> {
    use solver_sys::{cublasFillMode_t as Fill, cusolverEigMode_t as Mode};
    let (n, lda) = check_syevd(call, a.len(), w.len(), info.len())?;
    let handle = solver(device)?;
    let stream = device.stream();
    let jobz = if call.vectors { Mode::CUSOLVER_EIG_MODE_VECTOR } else { Mode::CUSOLVER_EIG_MODE_NOVECTOR };
    let uplo = if call.lower { Fill::CUBLAS_FILL_MODE_LOWER } else { Fill::CUBLAS_FILL_MODE_UPPER };
    let mut lwork: c_int = 0;
    {
        let (a_ptr, _a_read) = a.device_ptr(stream);
        let (w_ptr, _w_read) = w.device_ptr(stream);
        // SAFETY: a live handle; a and w hold lda × n and n entries (checked); the query writes
        // only lwork.
        unsafe {
            solver_sys::cusolverDnDsyevd_bufferSize(
                handle.cu(),
                jobz,
                uplo,
                n,
                a_ptr as *const f64,
                lda,
                w_ptr as *const f64,
                &mut lwork,
            )
        }
        .result()
        .map_err(Error::cuda)?;
    }
    let work_len = usize::try_from(lwork)
        .map_err(|_| Error::Cuda(format!("cusolverDnDsyevd_bufferSize returned lwork = {lwork}").into()))?;
    let mut work = stream.alloc_zeros::<f64>(work_len.max(1)).map_err(Error::cuda)?;
    let (a_ptr, _a_write) = a.device_ptr_mut(stream);
    let (w_ptr, _w_write) = w.device_ptr_mut(stream);
    let (work_ptr, _work_write) = work.device_ptr_mut(stream);
    let (info_ptr, _info_write) = info.device_ptr_mut(stream);
    // SAFETY: a live handle bound to `stream`; a, w and info hold lda × n, n and 1 entries
    // (checked) and work the lwork entries cuSOLVER asked for. The buffers outlive the call's
    // scheduling (the guards record it), and `work` is freed on the same stream after it.
    unsafe {
        solver_sys::cusolverDnDsyevd(
            handle.cu(),
            jobz,
            uplo,
            n,
            a_ptr as *mut f64,
            lda,
            w_ptr as *mut f64,
            work_ptr as *mut f64,
            lwork,
            info_ptr as *mut c_int,
        )
    }
    .result()
    .map_err(Error::cuda)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_and_print() {
        for (text, policy) in [
            ("host", EigenPolicy::Host),
            ("device", EigenPolicy::Device),
            ("auto:1024", EigenPolicy::Auto { min_device_n: 1024 }),
            (" auto: 7 ", EigenPolicy::Auto { min_device_n: 7 }),
        ] {
            assert_eq!(text.parse::<EigenPolicy>().unwrap(), policy, "{text}");
            assert_eq!(policy.to_string().parse::<EigenPolicy>().unwrap(), policy);
        }
        for text in ["", "gpu", "Host", "auto", "auto:", "auto:-1", "auto:x"] {
            let err = text.parse::<EigenPolicy>().unwrap_err().to_string();
            assert!(err.contains("expected host, device or auto:<n>") && !err.contains('\n'), "{err}");
        }
        assert_eq!(EigenPolicy::DEFAULT, EigenPolicy::Host);
    }

    #[test]
    fn auto_uses_the_device_from_its_threshold_on() {
        let auto = EigenPolicy::Auto { min_device_n: 256 };
        assert!(!auto.uses_device(255) && auto.uses_device(256) && auto.uses_device(4096));
        assert!(EigenPolicy::Device.uses_device(1) && !EigenPolicy::Host.uses_device(4096));
    }

    #[test]
    fn calls_that_do_not_fit_their_buffers_are_errors() {
        let call = Syevd { vectors: true, lower: true, n: 3, lda: 3 };
        assert!(check_syevd(call, 9, 3, 1).is_ok());
        for (call, a, w, info) in [
            (call, 8, 3, 1),
            (call, 9, 2, 1),
            (call, 9, 3, 0),
            (Syevd { lda: 2, ..call }, 9, 3, 1),
            (Syevd { n: 0, lda: 0, ..call }, 0, 0, 1),
            (Syevd { n: usize::MAX, lda: usize::MAX, ..call }, 0, 0, 1),
        ] {
            let err = check_syevd(call, a, w, info).unwrap_err();
            assert!(matches!(err, Error::InvalidArgument(_)), "{call:?}: {err}");
        }
        assert!(check_syevd(Syevd { n: 0, lda: 1, ..call }, 0, 0, 1).is_ok());
    }
}
