//! Where kernels run: the [`KernelDevice`] trait (memory, transfers, kernel launches, SGEMM and
//! the symmetric eigensolver), implemented by the GPU ([`gpu::Device`]: cudarc, cuBLAS,
//! cuSOLVER) and by the CPU ([`emulated::EmulatedDevice`]: host memory, the emulated kernels,
//! BLAS and LAPACK).
//!
//! Transfers are generic over the element type ([`DeviceElem`]: `f32` tensors, `f64` for the
//! eigensolver, `i32` flags and indices, `u64` packed codes, `u32` ranking results), and launches
//! take a typed kernel handle of [`crate::kernels`] with a tuple of matching arguments.
//!
//! ```
//! use hagcn_cuda::{EmulatedDevice, device::KernelDevice};
//!
//! let dev = EmulatedDevice;
//! let codes = dev.upload(&[1u64, u64::MAX])?;
//! assert_eq!(dev.download(&codes)?, [1, u64::MAX]);
//! assert_eq!(dev.download(&dev.alloc_zeros::<i32>(3)?)?, [0; 3]);
//! # Ok::<(), hagcn_cuda::Error>(())
//! ```

pub mod emulated;
pub mod gpu;

use std::os::raw::c_int;

use crate::emu::Dim3;
use crate::error::{Error, Result};
use crate::kernels::{DeviceElem, Kernel, Memory, Params};

/// A buffer of `T` on the device `D`.
pub type Buffer<D, T> = <<D as KernelDevice>::Memory as Memory>::Buffer<T>;

/// A column-major `C = α op(A) op(B) + β C`, as `cublasSgemm`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sgemm {
    /// `op(A) = Aᵀ`.
    pub transa: bool,
    /// `op(B) = Bᵀ`.
    pub transb: bool,
    /// Rows of `op(A)` and `C`.
    pub m: usize,
    /// Columns of `op(B)` and `C`.
    pub n: usize,
    /// Columns of `op(A)`, rows of `op(B)`.
    pub k: usize,
    /// α.
    pub alpha: f32,
    /// β.
    pub beta: f32,
}

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

impl Syevd {
    /// `(n, lda)` as C ints, after checking the call against its buffers (lengths in elements).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when `n` or `lda` does not fit an int, `lda < max(1, n)`, or a
    /// buffer is shorter than the call needs.
    pub(crate) fn check(self, a_len: usize, w_len: usize, info_len: usize) -> Result<(c_int, c_int)> {
        let Syevd { n, lda, .. } = self;
        let fits = |v: usize, what: &str| {
            c_int::try_from(v).map_err(|_| Error::InvalidArgument(format!("dsyevd: {what} = {v} does not fit an int")))
        };
        let (n_c, lda_c) = (fits(n, "n")?, fits(lda, "lda")?);
        if lda < n.max(1) {
            return Err(Error::InvalidArgument(format!("dsyevd: lda = {lda} is less than max(1, n = {n})")));
        }
        let a_need =
            lda.checked_mul(n).ok_or_else(|| Error::InvalidArgument("dsyevd: lda × n overflows".to_string()))?;
        if a_len < a_need || w_len < n || info_len < 1 {
            return Err(Error::InvalidArgument(format!(
                "dsyevd: buffers of {a_len}, {w_len} and {info_len} entries for A ({lda} × {n}), w ({n}) and info (1)"
            )));
        }
        Ok((n_c, lda_c))
    }
}

/// Memory and kernel launches of a device, as the backend's host code and
/// [`crate::HammingIndex`] use them.
pub trait KernelDevice: Send + Sync + Sized + 'static {
    /// Where the device keeps its buffers ([`Buffer<Self, T>`]).
    type Memory: Memory;

    /// A short description of the device, for [`hagcn_autodiff::Backend::name`].
    fn describe(&self) -> String;

    /// `len` zeros.
    ///
    /// # Errors
    ///
    /// When the device cannot allocate.
    fn alloc_zeros<T: DeviceElem>(&self, len: usize) -> Result<Buffer<Self, T>>;
    /// A copy of `data` on the device.
    ///
    /// # Errors
    ///
    /// When the device cannot allocate or copy.
    fn upload<T: DeviceElem>(&self, data: &[T]) -> Result<Buffer<Self, T>>;
    /// A copy of `buf` on the host.
    ///
    /// # Errors
    ///
    /// When the device cannot copy.
    fn download<T: DeviceElem>(&self, buf: &Buffer<Self, T>) -> Result<Vec<T>>;
    /// A device copy of `buf`.
    ///
    /// # Errors
    ///
    /// When the device cannot allocate or copy.
    fn duplicate<T: DeviceElem>(&self, buf: &Buffer<Self, T>) -> Result<Buffer<Self, T>>;
    /// Runs `kernel` over `grid` × `block` threads with `args`, whose types the handle fixes.
    ///
    /// # Safety
    ///
    /// The buffers must be large enough for everything the kernel reads and writes with these
    /// sizes (see its source), and the launch configuration what the kernel's comment asks for.
    ///
    /// # Errors
    ///
    /// When the kernel cannot be loaded or launched.
    unsafe fn launch<P: Params>(
        &self,
        kernel: &Kernel<P>,
        grid: Dim3,
        block: Dim3,
        args: P::Args<'_, Self::Memory>,
    ) -> Result<()>;
    /// Column-major SGEMM with leading dimensions `lda`, `ldb`, `ldc` equal to the stored
    /// rows of `A`, `B` and `C` (`m` or `k`, `k` or `n`, `m`).
    ///
    /// # Errors
    ///
    /// When the buffers are too short, or the BLAS library fails.
    fn sgemm(&self, gemm: Sgemm, a: &Buffer<Self, f32>, b: &Buffer<Self, f32>, c: &mut Buffer<Self, f32>)
    -> Result<()>;
    /// The symmetric eigensolver `cusolverDnDsyevd` (LAPACK `dsyevd`): on return `a` holds the
    /// eigenvectors (column-major, columns in the order of `w`) when `call.vectors`, `w` the
    /// eigenvalues in ascending order and `info[0]` LAPACK's status (0: converged; `i > 0`: did
    /// not converge; `i < 0`: argument `−i` was invalid). Signs are as the solver leaves them.
    /// The call may return before the device has finished; reading `info` waits for it.
    ///
    /// # Errors
    ///
    /// When a buffer is shorter than `call` needs, or the library is missing or fails (a
    /// non-zero `info` is not an error here: the caller reads it).
    fn dsyevd(
        &self,
        call: Syevd,
        a: &mut Buffer<Self, f64>,
        w: &mut Buffer<Self, f64>,
        info: &mut Buffer<Self, i32>,
    ) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_that_do_not_fit_their_buffers_are_errors() {
        let call = Syevd { vectors: true, lower: true, n: 3, lda: 3 };
        assert!(call.check(9, 3, 1).is_ok());
        for (call, a, w, info) in [
            (call, 8, 3, 1),
            (call, 9, 2, 1),
            (call, 9, 3, 0),
            (Syevd { lda: 2, ..call }, 9, 3, 1),
            (Syevd { n: 0, lda: 0, ..call }, 0, 0, 1),
            (Syevd { n: usize::MAX, lda: usize::MAX, ..call }, 0, 0, 1),
        ] {
            let err = call.check(a, w, info).unwrap_err();
            assert!(matches!(err, Error::InvalidArgument(_)), "{call:?}: {err}");
        }
        assert!(Syevd { n: 0, lda: 1, ..call }.check(0, 0, 1).is_ok());
    }
}
