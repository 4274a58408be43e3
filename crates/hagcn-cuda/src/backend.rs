//! The CUDA backend's host code, written against a small device trait so that it runs
//! unchanged on a GPU ([`crate::Device`]) or on the CPU ([`EmulatedDevice`]: host memory, the
//! emulated kernels, and a column-major SGEMM through BLAS in place of cuBLAS).
//!
//! [`CudaBackend`] implements [`hagcn_autodiff::Backend`] for `f32`: every basic kernel, and
//! layer norm, Adam, the tridiagonal assembly, the normalised adjacency with its gradient and
//! the B-spline basis with its gradient as fused kernels of its own; the eigendecomposition runs
//! on the host through the trait's default (a download, `hagcn_linalg`, an upload), and so does
//! a B-spline basis of more than [`BSPLINE_MAX_KNOTS`] knots.
//!
//! Inputs the kernels flag rather than reject (a degree ≤ 0 or not finite in the adjacency, a
//! point that is not finite in the B-spline basis) cost one 4-byte download of the flag; on a
//! flag the input is rerun through `CpuBackend`, so the error is the host's, word for word.
//!
//! [`KernelDevice`] passes the kernels `f32` tensors, `int` flags and indices, `u64` packed
//! codes and `u32` ranking results ([`Arg`]), which is also what [`crate::hamming`] uses.
//!
//! The symmetric eigendecomposition runs where its [`EigenPolicy`] says: on the host (the
//! default, until a GPU measurement says otherwise) or on the device, in f64 through
//! [`KernelDevice::dsyevd`] (cuSOLVER `dsyevd` on a GPU, LAPACK `dsyevd` on the emulated device)
//! between a conversion kernel and a packing kernel that applies `hagcn_linalg`'s sign
//! convention (`kernels/eigen.cu`). A device path that fails (no convergence, a non-finite
//! eigenpair, no cuSOLVER, any device error) falls back to the host, so it never fails where the
//! CPU backend succeeds; [`CudaBackend::symmetric_eigen_with`] runs either path and says which
//! one produced the result, for tests and benchmarks. `HAGCN_CUDA_EIGEN=host|device|auto:<n>`
//! chooses the policy of a backend that was given none.
//!
//! Row-major products on a column-major BLAS: a row-major `C (m × n) = op(A) op(B)` is the
//! column-major `Cᵀ = op(B)ᵀ op(A)ᵀ`, so the host code calls SGEMM with the operands swapped
//! and `m`, `n` exchanged (as candle's `gemm_config`).

use std::sync::Arc;

use cudarc::cublas::{CudaBlas, Gemm, GemmConfig, sys::cublasOperation_t};
use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};
use hagcn_autodiff::{AdamUpdate, Backend, CpuBackend, CpuTensor, LayerNormGrads, LayerNormOutput};
use ndarray::{Array2, ArrayView2, ShapeBuilder, linalg::general_mat_mul};

use crate::emu::{self, Dim3, RawArg};
use crate::{Device, Error, Result};

mod eigen;

pub use eigen::{EigenPolicy, EigenSolver, EmuF64Buffer, Syevd};

/// One kernel argument of a [`KernelDevice`] `D`: a buffer read, a buffer written, or a scalar.
///
/// Each variant is one C parameter type of the kernels; [`KernelDevice::launch`] passes them in
/// order, and the emulated device checks each against the kernel's signature.
pub enum Arg<'a, D: KernelDevice + ?Sized> {
    /// A `const float*` parameter.
    In(&'a D::Buffer),
    /// A `float*` parameter.
    Out(&'a mut D::Buffer),
    /// A `const int*` parameter (indices a kernel reads, such as the B-spline extremes).
    InI32(&'a D::IntBuffer),
    /// An `int*` parameter (flags and indices a kernel writes).
    OutI32(&'a mut D::IntBuffer),
    /// A `const unsigned long long*` parameter (packed binary codes).
    InU64(&'a D::U64Buffer),
    /// An `unsigned int*` parameter (Hamming distances and database indices).
    OutU32(&'a mut D::U32Buffer),
    /// A `const double*` parameter.
    InF64(&'a D::F64Buffer),
    /// A `double*` parameter.
    OutF64(&'a mut D::F64Buffer),
    /// An `int` parameter.
    I32(i32),
    /// A `float` parameter.
    F32(f32),
}

impl<D: KernelDevice + ?Sized> Arg<'_, D> {
    /// The same argument typed for another device with the same buffers: what a device that
    /// wraps another (to record or alter its launches, in tests) passes on.
    pub fn rebind<E>(&mut self) -> Arg<'_, E>
    where
        E: KernelDevice<
                Buffer = D::Buffer,
                IntBuffer = D::IntBuffer,
                U64Buffer = D::U64Buffer,
                U32Buffer = D::U32Buffer,
                F64Buffer = D::F64Buffer,
            > + ?Sized,
    {
        match self {
            Arg::In(b) => Arg::In(&**b),
            Arg::Out(b) => Arg::Out(&mut **b),
            Arg::InI32(b) => Arg::InI32(&**b),
            Arg::OutI32(b) => Arg::OutI32(&mut **b),
            Arg::InU64(b) => Arg::InU64(&**b),
            Arg::OutU32(b) => Arg::OutU32(&mut **b),
            Arg::InF64(b) => Arg::InF64(&**b),
            Arg::OutF64(b) => Arg::OutF64(&mut **b),
            Arg::I32(v) => Arg::I32(*v),
            Arg::F32(v) => Arg::F32(*v),
        }
    }
}

impl<D: KernelDevice + ?Sized> std::fmt::Debug for Arg<'_, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Arg::In(_) => f.write_str("In(const float*)"),
            Arg::Out(_) => f.write_str("Out(float*)"),
            Arg::InI32(_) => f.write_str("InI32(const int*)"),
            Arg::OutI32(_) => f.write_str("OutI32(int*)"),
            Arg::InU64(_) => f.write_str("InU64(const unsigned long long*)"),
            Arg::OutU32(_) => f.write_str("OutU32(unsigned int*)"),
            Arg::InF64(_) => f.write_str("InF64(const double*)"),
            Arg::OutF64(_) => f.write_str("OutF64(double*)"),
            Arg::I32(v) => write!(f, "I32({v})"),
            Arg::F32(v) => write!(f, "F32({v})"),
        }
    }
}

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

/// Memory and kernel launches of a device, as the backend's host code and
/// [`crate::hamming::HammingIndex`] use them: `f32` tensors, `i32` flags and indices, `u64`
/// packed codes and `u32` ranking results, and `f64` buffers with a symmetric eigensolver for
/// the eigendecomposition.
pub trait KernelDevice: Send + Sync + 'static {
    /// A device buffer of `f32`.
    type Buffer: Send + Sync;
    /// A device buffer of `i32` (flags and indices that kernels report through).
    type IntBuffer: Send + Sync;
    /// A device buffer of `u64` (packed binary codes).
    type U64Buffer: Send + Sync;
    /// A device buffer of `u32` (Hamming distances and database indices).
    type U32Buffer: Send + Sync;

    /// A short description of the device, for [`hagcn_autodiff::Backend::name`].
    fn describe(&self) -> String;

    /// `len` zeros.
    ///
    /// # Errors
    ///
    /// When the device cannot allocate.
    fn alloc_zeros(&self, len: usize) -> Result<Self::Buffer>;
    /// A copy of `data` on the device.
    ///
    /// # Errors
    ///
    /// When the device cannot allocate or copy.
    fn upload(&self, data: &[f32]) -> Result<Self::Buffer>;
    /// A copy of `buf` on the host.
    ///
    /// # Errors
    ///
    /// When the device cannot copy.
    fn download(&self, buf: &Self::Buffer) -> Result<Vec<f32>>;
    /// A copy of `data` on the device, as `i32`.
    ///
    /// # Errors
    ///
    /// When the device cannot allocate or copy.
    fn upload_i32(&self, data: &[i32]) -> Result<Self::IntBuffer>;
    /// A copy of the `i32` buffer `buf` on the host.
    ///
    /// # Errors
    ///
    /// When the device cannot copy.
    fn download_i32(&self, buf: &Self::IntBuffer) -> Result<Vec<i32>>;
    /// A copy of `data` on the device, as `u64`.
    ///
    /// # Errors
    ///
    /// When the device cannot allocate or copy.
    fn upload_u64(&self, data: &[u64]) -> Result<Self::U64Buffer>;
    /// A copy of the `u64` buffer `buf` on the host.
    ///
    /// # Errors
    ///
    /// When the device cannot copy.
    fn download_u64(&self, buf: &Self::U64Buffer) -> Result<Vec<u64>>;
    /// `len` zeros, as `u32`.
    ///
    /// # Errors
    ///
    /// When the device cannot allocate.
    fn alloc_zeros_u32(&self, len: usize) -> Result<Self::U32Buffer>;
    /// A copy of the `u32` buffer `buf` on the host.
    ///
    /// # Errors
    ///
    /// When the device cannot copy.
    fn download_u32(&self, buf: &Self::U32Buffer) -> Result<Vec<u32>>;
    /// A device copy of `buf`.
    ///
    /// # Errors
    ///
    /// When the device cannot allocate or copy.
    fn duplicate(&self, buf: &Self::Buffer) -> Result<Self::Buffer>;
    /// Runs `kernel` of `kernels/<file>.cu` over `grid` × `block` threads.
    ///
    /// # Safety
    ///
    /// The arguments must match the kernel's signature and the buffers must be large enough
    /// for everything the kernel reads and writes with these sizes.
    ///
    /// # Errors
    ///
    /// When the kernel cannot be found or launched.
    unsafe fn launch(
        &self,
        file: &'static str,
        kernel: &'static str,
        grid: Dim3,
        block: Dim3,
        args: &mut [Arg<'_, Self>],
    ) -> Result<()>;
    /// Column-major SGEMM with leading dimensions `lda`, `ldb`, `ldc` equal to the stored
    /// rows of `A`, `B` and `C` (`m` or `k`, `k` or `n`, `m`).
    ///
    /// # Errors
    ///
    /// When the buffers are too short, or the BLAS library fails.
    fn sgemm(&self, gemm: Sgemm, a: &Self::Buffer, b: &Self::Buffer, c: &mut Self::Buffer) -> Result<()>;

    /// A device buffer of `f64` (the eigensolver's precision).
    type F64Buffer: Send + Sync;
    /// `len` zeros, as `f64`.
    ///
    /// # Errors
    ///
    /// When the device cannot allocate.
    fn alloc_zeros_f64(&self, len: usize) -> Result<Self::F64Buffer>;
    /// A copy of `data` on the device, as `f64`.
    ///
    /// # Errors
    ///
    /// When the device cannot allocate or copy.
    fn upload_f64(&self, data: &[f64]) -> Result<Self::F64Buffer>;
    /// A copy of the `f64` buffer `buf` on the host.
    ///
    /// # Errors
    ///
    /// When the device cannot copy.
    fn download_f64(&self, buf: &Self::F64Buffer) -> Result<Vec<f64>>;
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
        a: &mut Self::F64Buffer,
        w: &mut Self::F64Buffer,
        info: &mut Self::IntBuffer,
    ) -> Result<()>;
}

// ---------------------------------------------------------------------------------------------
// The emulated device.

/// Host memory, the kernels run by the CPU emulator ([`crate::emu`]), and BLAS for SGEMM.
#[derive(Debug, Default, Clone, Copy)]
pub struct EmulatedDevice;

/// A buffer of the [`EmulatedDevice`].
#[derive(Debug, Clone, PartialEq)]
pub struct EmuBuffer(pub Vec<f32>);

/// An `i32` buffer of the [`EmulatedDevice`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmuIntBuffer(pub Vec<i32>);

/// A `u64` buffer of the [`EmulatedDevice`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmuU64Buffer(pub Vec<u64>);

/// A `u32` buffer of the [`EmulatedDevice`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmuU32Buffer(pub Vec<u32>);

impl KernelDevice for EmulatedDevice {
    type Buffer = EmuBuffer;
    type IntBuffer = EmuIntBuffer;
    type U64Buffer = EmuU64Buffer;
    type U32Buffer = EmuU32Buffer;
    type F64Buffer = EmuF64Buffer;

    fn describe(&self) -> String {
        "cuda (emulated on the CPU)".into()
    }

    fn alloc_zeros(&self, len: usize) -> Result<EmuBuffer> {
        Ok(EmuBuffer(vec![0.0; len]))
    }

    fn upload(&self, data: &[f32]) -> Result<EmuBuffer> {
        Ok(EmuBuffer(data.to_vec()))
    }

    fn download(&self, buf: &EmuBuffer) -> Result<Vec<f32>> {
        Ok(buf.0.clone())
    }

    fn upload_i32(&self, data: &[i32]) -> Result<EmuIntBuffer> {
        Ok(EmuIntBuffer(data.to_vec()))
    }

    fn download_i32(&self, buf: &EmuIntBuffer) -> Result<Vec<i32>> {
        Ok(buf.0.clone())
    }

    fn upload_u64(&self, data: &[u64]) -> Result<EmuU64Buffer> {
        Ok(EmuU64Buffer(data.to_vec()))
    }

    fn download_u64(&self, buf: &EmuU64Buffer) -> Result<Vec<u64>> {
        Ok(buf.0.clone())
    }

    fn alloc_zeros_u32(&self, len: usize) -> Result<EmuU32Buffer> {
        Ok(EmuU32Buffer(vec![0; len]))
    }

    fn download_u32(&self, buf: &EmuU32Buffer) -> Result<Vec<u32>> {
        Ok(buf.0.clone())
    }

    fn duplicate(&self, buf: &EmuBuffer) -> Result<EmuBuffer> {
        Ok(buf.clone())
    }

    unsafe fn launch(
        &self,
        _file: &'static str,
        kernel: &'static str,
        grid: Dim3,
        block: Dim3,
        args: &mut [Arg<'_, EmulatedDevice>],
    ) -> Result<()> {
        let raw: Vec<RawArg> = args
            .iter_mut()
            .map(|a| match a {
                Arg::In(b) => RawArg::ConstF32(b.0.as_ptr()),
                Arg::Out(b) => RawArg::MutF32(b.0.as_mut_ptr()),
                Arg::InI32(b) => RawArg::ConstI32(b.0.as_ptr()),
                Arg::OutI32(b) => RawArg::MutI32(b.0.as_mut_ptr()),
                Arg::InU64(b) => RawArg::ConstU64(b.0.as_ptr()),
                Arg::OutU32(b) => RawArg::MutU32(b.0.as_mut_ptr()),
                Arg::InF64(b) => RawArg::ConstF64(b.0.as_ptr()),
                Arg::OutF64(b) => RawArg::MutF64(b.0.as_mut_ptr()),
                Arg::I32(v) => RawArg::I32(*v),
                Arg::F32(v) => RawArg::F32(*v),
            })
            .collect();
        // SAFETY: forwarded to the caller.
        unsafe { emu::launch_by_name(kernel, grid, block, &raw) }
    }

    fn sgemm(&self, g: Sgemm, a: &EmuBuffer, b: &EmuBuffer, c: &mut EmuBuffer) -> Result<()> {
        let shape = |rows: usize, cols: usize, t: bool| if t { (cols, rows) } else { (rows, cols) };
        let (a_rows, a_cols) = shape(g.m, g.k, g.transa);
        let (b_rows, b_cols) = shape(g.k, g.n, g.transb);
        let a = col_major(a, a_rows, a_cols)?;
        let b = col_major(b, b_rows, b_cols)?;
        let (a, b) = (if g.transa { a.reversed_axes() } else { a }, if g.transb { b.reversed_axes() } else { b });
        let c_len = g.m * g.n;
        let c_data =
            c.0.get_mut(..c_len)
                .ok_or_else(|| Error::InvalidArgument(format!("sgemm: C is shorter than {} × {}", g.m, g.n)))?;
        let mut c = ndarray::ArrayViewMut2::from_shape((g.m, g.n).f(), c_data)
            .map_err(|e| Error::InvalidArgument(format!("sgemm: {e}")))?;
        general_mat_mul(g.alpha, &a, &b, g.beta, &mut c);
        Ok(())
    }

    fn alloc_zeros_f64(&self, len: usize) -> Result<EmuF64Buffer> {
        Ok(EmuF64Buffer(vec![0.0; len]))
    }

    fn upload_f64(&self, data: &[f64]) -> Result<EmuF64Buffer> {
        Ok(EmuF64Buffer(data.to_vec()))
    }

    fn download_f64(&self, buf: &EmuF64Buffer) -> Result<Vec<f64>> {
        Ok(buf.0.clone())
    }

    fn dsyevd(&self, call: Syevd, a: &mut EmuF64Buffer, w: &mut EmuF64Buffer, info: &mut EmuIntBuffer) -> Result<()> {
        eigen::lapack_dsyevd(call, &mut a.0, &mut w.0, &mut info.0)
    }
}

fn col_major(buf: &EmuBuffer, rows: usize, cols: usize) -> Result<ArrayView2<'_, f32>> {
    let data = buf
        .0
        .get(..rows * cols)
        .ok_or_else(|| Error::InvalidArgument(format!("sgemm: a buffer is shorter than {rows} × {cols}")))?;
    ArrayView2::from_shape((rows, cols).f(), data).map_err(|e| Error::InvalidArgument(format!("sgemm: {e}")))
}

// ---------------------------------------------------------------------------------------------
// The GPU.

fn blas(device: &Device) -> Result<&CudaBlas> {
    static NO_BLAS: &str = "cuBLAS not found (libcublas.so.13 not loadable)";
    if let Some(b) = device.blas.get() {
        return Ok(b);
    }
    // SAFETY: only tries to dlopen the library names cudarc knows.
    if !unsafe { cudarc::cublas::sys::is_culib_present() } {
        return Err(Error::Cuda(NO_BLAS.into()));
    }
    let b = CudaBlas::new(Arc::clone(device.stream())).map_err(Error::cuda)?;
    Ok(device.blas.get_or_init(|| b))
}

impl KernelDevice for Device {
    type Buffer = CudaSlice<f32>;
    type IntBuffer = CudaSlice<i32>;
    type U64Buffer = CudaSlice<u64>;
    type U32Buffer = CudaSlice<u32>;
    type F64Buffer = CudaSlice<f64>;

    fn describe(&self) -> String {
        match self.name() {
            Ok(name) => format!("cuda ({name})"),
            Err(_) => "cuda".into(),
        }
    }

    fn alloc_zeros(&self, len: usize) -> Result<CudaSlice<f32>> {
        self.stream().alloc_zeros::<f32>(len).map_err(Error::cuda)
    }

    fn upload(&self, data: &[f32]) -> Result<CudaSlice<f32>> {
        self.stream().clone_htod(data).map_err(Error::cuda)
    }

    fn download(&self, buf: &CudaSlice<f32>) -> Result<Vec<f32>> {
        self.stream().clone_dtoh(buf).map_err(Error::cuda)
    }

    fn upload_i32(&self, data: &[i32]) -> Result<CudaSlice<i32>> {
        self.stream().clone_htod(data).map_err(Error::cuda)
    }

    fn download_i32(&self, buf: &CudaSlice<i32>) -> Result<Vec<i32>> {
        self.stream().clone_dtoh(buf).map_err(Error::cuda)
    }

    fn upload_u64(&self, data: &[u64]) -> Result<CudaSlice<u64>> {
        self.stream().clone_htod(data).map_err(Error::cuda)
    }

    fn download_u64(&self, buf: &CudaSlice<u64>) -> Result<Vec<u64>> {
        self.stream().clone_dtoh(buf).map_err(Error::cuda)
    }

    fn alloc_zeros_u32(&self, len: usize) -> Result<CudaSlice<u32>> {
        self.stream().alloc_zeros::<u32>(len).map_err(Error::cuda)
    }

    fn download_u32(&self, buf: &CudaSlice<u32>) -> Result<Vec<u32>> {
        self.stream().clone_dtoh(buf).map_err(Error::cuda)
    }

    fn duplicate(&self, buf: &CudaSlice<f32>) -> Result<CudaSlice<f32>> {
        self.stream().clone_dtod(buf).map_err(Error::cuda)
    }

    unsafe fn launch(
        &self,
        file: &'static str,
        kernel: &'static str,
        grid: Dim3,
        block: Dim3,
        args: &mut [Arg<'_, Device>],
    ) -> Result<()> {
        let func = self.function(file, kernel)?;
        let stream = self.stream();
        let mut builder = stream.launch_builder(&func);
        for a in args.iter_mut() {
            match a {
                Arg::In(b) => builder.arg(*b),
                Arg::Out(b) => builder.arg(&mut **b),
                Arg::InI32(b) => builder.arg(*b),
                Arg::OutI32(b) => builder.arg(&mut **b),
                Arg::InU64(b) => builder.arg(*b),
                Arg::OutU32(b) => builder.arg(&mut **b),
                Arg::InF64(b) => builder.arg(*b),
                Arg::OutF64(b) => builder.arg(&mut **b),
                Arg::I32(v) => builder.arg(&*v),
                Arg::F32(v) => builder.arg(&*v),
            };
        }
        let cfg = LaunchConfig {
            grid_dim: (grid.x, grid.y, grid.z),
            block_dim: (block.x, block.y, block.z),
            shared_mem_bytes: 0,
        };
        // SAFETY: forwarded to the caller.
        unsafe { builder.launch(cfg) }.map_err(Error::cuda)?;
        Ok(())
    }

    fn sgemm(&self, g: Sgemm, a: &CudaSlice<f32>, b: &CudaSlice<f32>, c: &mut CudaSlice<f32>) -> Result<()> {
        let op = |t: bool| if t { cublasOperation_t::CUBLAS_OP_T } else { cublasOperation_t::CUBLAS_OP_N };
        let int = |v: usize| i32::try_from(v).map_err(|_| Error::Cuda(format!("sgemm: size {v} over i32").into()));
        let (m, n, k) = (int(g.m)?, int(g.n)?, int(g.k)?);
        let cfg = GemmConfig {
            transa: op(g.transa),
            transb: op(g.transb),
            m,
            n,
            k,
            alpha: g.alpha,
            lda: if g.transa { k } else { m },
            ldb: if g.transb { n } else { k },
            beta: g.beta,
            ldc: m,
        };
        if a.len() < g.m * g.k || b.len() < g.k * g.n || c.len() < g.m * g.n {
            return Err(Error::Cuda("sgemm: a buffer is shorter than its matrix".into()));
        }
        // SAFETY: the buffers hold the matrices the configuration describes (checked above).
        unsafe { blas(self)?.gemm(cfg, a, b, c) }.map_err(Error::cuda)
    }

    fn alloc_zeros_f64(&self, len: usize) -> Result<CudaSlice<f64>> {
        self.stream().alloc_zeros::<f64>(len).map_err(Error::cuda)
    }

    fn upload_f64(&self, data: &[f64]) -> Result<CudaSlice<f64>> {
        self.stream().clone_htod(data).map_err(Error::cuda)
    }

    fn download_f64(&self, buf: &CudaSlice<f64>) -> Result<Vec<f64>> {
        self.stream().clone_dtoh(buf).map_err(Error::cuda)
    }

    fn dsyevd(
        &self,
        call: Syevd,
        a: &mut CudaSlice<f64>,
        w: &mut CudaSlice<f64>,
        info: &mut CudaSlice<i32>,
    ) -> Result<()> {
        eigen::cusolver_dsyevd(self, call, a, w, info)
    }
}

// The backend.

/// A row-major `rows × cols` f32 matrix on a [`KernelDevice`]; clones share the buffer.
#[derive(Debug)]
pub struct DeviceTensor<B> {
    rows: usize,
    cols: usize,
    buf: Arc<B>,
}

impl<B> Clone for DeviceTensor<B> {
    fn clone(&self) -> Self {
        DeviceTensor { rows: self.rows, cols: self.cols, buf: Arc::clone(&self.buf) }
    }
}

impl<B> DeviceTensor<B> {
    /// `(rows, cols)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    fn len(&self) -> usize {
        self.rows * self.cols
    }
}

/// Most threads per block of elementwise kernels, and of row reductions.
const BLOCK_1D: u32 = 256;
const BLOCK_ROWS: u32 = 128;
/// The most blocks a launch uses (grid-stride loops do the rest).
const MAX_BLOCKS: usize = 1024;

/// Whole warps, as few as cover `n` items, at most `max` threads: small tensors get small
/// blocks (a GPU wastes fewer idle lanes, and the emulator starts one thread per lane).
fn block_for(n: usize, max: u32) -> u32 {
    (n.div_ceil(32) * 32).clamp(32, max as usize) as u32
}

/// A 1-D launch over `n` items (grid-stride loops cover any excess).
fn flat(n: usize) -> (Dim3, Dim3) {
    let block = block_for(n, BLOCK_1D);
    (Dim3::x(n.div_ceil(block as usize).clamp(1, MAX_BLOCKS) as u32), Dim3::x(block))
}

/// One block per row (grid-stride over rows), threads for `cols` columns.
fn rows_grid(rows: usize, cols: usize) -> (Dim3, Dim3) {
    (Dim3::x(rows.clamp(1, MAX_BLOCKS) as u32), Dim3::x(block_for(cols, BLOCK_ROWS)))
}

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
    knots: D::Buffer,
    dlo: D::Buffer,
    dhi: D::Buffer,
    extremes: D::IntBuffer,
}

fn int(v: usize, what: &str) -> Result<i32> {
    i32::try_from(v).map_err(|_| Error::InvalidArgument(format!("{what} = {v} does not fit the kernels' int sizes")))
}

impl From<Error> for hagcn_autodiff::Error {
    fn from(e: Error) -> Self {
        hagcn_autodiff::Error::Backend(Box::new(e))
    }
}

fn check_shape<B>(op: &'static str, a: &DeviceTensor<B>, want: (usize, usize)) -> AdResult<()> {
    if a.shape() != want {
        return Err(hagcn_autodiff::Error::Shape { op, left: a.shape(), right: want });
    }
    Ok(())
}

type AdResult<T> = hagcn_autodiff::Result<T>;

/// The CUDA backend's host code on any [`KernelDevice`] (f32): it implements
/// [`hagcn_autodiff::Backend`] with one kernel of `kernels/*.cu` (or a few, or an SGEMM) per
/// basic op, and its own kernels for layer norm, Adam, the tridiagonal assembly, the
/// normalised adjacency with its gradient and the B-spline basis with its gradient (up to
/// [`BSPLINE_MAX_KNOTS`] knots; more run on the host); the eigendecomposition on the device or
/// the host as its [`EigenPolicy`] says ([`CudaBackend::with_eigen_policy`]); its backward uses
/// the trait's host fallback.
///
/// ```
/// use std::sync::Arc;
/// use hagcn_autodiff::Backend;
/// use hagcn_cuda::backend::{CudaBackend, EmulatedDevice};
/// use hagcn_openblas as _;
///
/// let be = CudaBackend::new(Arc::new(EmulatedDevice));
/// let x = be.upload(ndarray::array![[1.0f32, -2.0], [3.0, 4.0]].view())?;
/// let s = be.sum(&be.mul(&x, &x)?)?;
/// assert_eq!(be.scalar(&s)?, 30.0);
/// # Ok::<(), hagcn_autodiff::Error>(())
/// ```
#[derive(Debug)]
pub struct CudaBackend<D> {
    device: Arc<D>,
    /// Set by [`CudaBackend::with_eigen_policy`]; `None`: `HAGCN_CUDA_EIGEN`, else the default.
    eigen: Option<EigenPolicy>,
}

impl<D> Clone for CudaBackend<D> {
    fn clone(&self) -> Self {
        CudaBackend { device: Arc::clone(&self.device), eigen: self.eigen }
    }
}

type Tensor<D> = DeviceTensor<<D as KernelDevice>::Buffer>;

impl<D: KernelDevice> CudaBackend<D> {
    /// The backend on `device`.
    pub fn new(device: Arc<D>) -> Self {
        CudaBackend { device, eigen: None }
    }

    /// The device the backend runs on.
    pub fn device(&self) -> &Arc<D> {
        &self.device
    }

    fn tensor(rows: usize, cols: usize, buf: D::Buffer) -> Tensor<D> {
        DeviceTensor { rows, cols, buf: Arc::new(buf) }
    }

    fn zeros(&self, rows: usize, cols: usize) -> Result<Tensor<D>> {
        Ok(Self::tensor(rows, cols, self.device.alloc_zeros(rows * cols)?))
    }

    /// Runs a kernel unless it has no work (`n == 0`: an empty grid is invalid).
    ///
    /// # Safety
    ///
    /// As [`KernelDevice::launch`].
    unsafe fn run(
        &self,
        n: usize,
        file: &'static str,
        kernel: &'static str,
        (grid, block): (Dim3, Dim3),
        args: &mut [Arg<'_, D>],
    ) -> Result<()> {
        if n == 0 {
            return Ok(());
        }
        // SAFETY: forwarded to the caller.
        unsafe { self.device.launch(file, kernel, grid, block, args) }
    }

    /// `out = kernel(x)` elementwise, for kernels `(const T* x, T* out, int n)`.
    fn unary(&self, file: &'static str, kernel: &'static str, x: &Tensor<D>) -> Result<Tensor<D>> {
        let mut out = self.device.alloc_zeros(x.len())?;
        let n = int(x.len(), "entries")?;
        // SAFETY: `x` and `out` hold n entries, the kernel reads and writes n.
        unsafe {
            self.run(x.len(), file, kernel, flat(x.len()), &mut [Arg::In(&*x.buf), Arg::Out(&mut out), Arg::I32(n)])
        }?;
        Ok(Self::tensor(x.rows, x.cols, out))
    }

    /// `out = kernel(a, b)` elementwise, for kernels `(const T* a, const T* b, T* out, int n)`.
    fn binary(&self, file: &'static str, kernel: &'static str, a: &Tensor<D>, b: &Tensor<D>) -> AdResult<Tensor<D>> {
        check_shape(kernel, b, a.shape())?;
        let mut out = self.device.alloc_zeros(a.len())?;
        let n = int(a.len(), "entries")?;
        // SAFETY: all three hold n entries.
        unsafe {
            self.run(
                a.len(),
                file,
                kernel,
                flat(a.len()),
                &mut [Arg::In(&*a.buf), Arg::In(&*b.buf), Arg::Out(&mut out), Arg::I32(n)],
            )
        }?;
        Ok(Self::tensor(a.rows, a.cols, out))
    }

    /// `c ← op(a) · op(b) + beta · c` for row-major tensors: one column-major SGEMM with the
    /// operands swapped (row-major `C (m × n)` is the column-major `Cᵀ = op(B)ᵀ op(A)ᵀ`, and a
    /// row-major `X` is the column-major `Xᵀ`, so the flags stay as they are).
    fn gemm_into(
        &self,
        c: &mut Tensor<D>,
        a: &Tensor<D>,
        transpose_a: bool,
        b: &Tensor<D>,
        transpose_b: bool,
        beta: f32,
    ) -> AdResult<()> {
        let (m, ka) = if transpose_a { (a.cols, a.rows) } else { (a.rows, a.cols) };
        let (kb, n) = if transpose_b { (b.cols, b.rows) } else { (b.rows, b.cols) };
        if ka != kb {
            return Err(hagcn_autodiff::Error::Shape { op: "matmul", left: (m, ka), right: (kb, n) });
        }
        check_shape("matmul (accumulator)", c, (m, n))?;
        if m == 0 || n == 0 {
            return Ok(());
        }
        let gemm = Sgemm { transa: transpose_b, transb: transpose_a, m: n, n: m, k: ka, alpha: 1.0, beta };
        let c_buf = self.unique(c)?;
        self.device.sgemm(gemm, &b.buf, &a.buf, c_buf)?;
        Ok(())
    }

    /// Copies the `rows × cols` block at column `src_col` of `src` (row length `src_ld`) to
    /// column `dst_col` of `dst` (row length `dst_ld`); kernel `copy_block_f32`.
    fn copy_block(
        &self,
        src: &D::Buffer,
        dst: &mut D::Buffer,
        (rows, cols): (usize, usize),
        (src_ld, src_col): (usize, usize),
        (dst_ld, dst_col): (usize, usize),
    ) -> Result<()> {
        let n = rows * cols;
        let mut args = [
            Arg::In(src),
            Arg::Out(dst),
            Arg::I32(int(rows, "rows")?),
            Arg::I32(int(cols, "cols")?),
            Arg::I32(int(src_ld, "row length")?),
            Arg::I32(int(src_col, "offset")?),
            Arg::I32(int(dst_ld, "row length")?),
            Arg::I32(int(dst_col, "offset")?),
        ];
        // SAFETY: the callers pass blocks inside both matrices (the graph checked the shapes).
        unsafe { self.run(n, "elementwise", "copy_block_f32", flat(n), &mut args) }
    }

    /// The host's error for an adjacency the device rejected (not square, or a degree ≤ 0 or not
    /// finite): the input is downloaded and run through `CpuBackend`, so the error names the
    /// same node and degree as on the CPU.
    fn host_adjacency_error(&self, a: &Tensor<D>) -> hagcn_autodiff::Error {
        let host = match self.download(a) {
            Ok(host) => host,
            Err(e) => return e,
        };
        let cpu = CpuBackend::<f32>::new();
        match cpu.normalized_adjacency(&CpuTensor::new(host)) {
            Err(e) => e,
            Ok(_) => {
                Error::InvalidArgument("normalized_adjacency: the device flagged a degree the host accepts".into())
                    .into()
            }
        }
    }

    /// The knots of the spline filter's basis on the device (kernel `bspline_knots_f32`) for
    /// the points of `x` (`1 × m`, checked by the caller), or `None` when the call is for the
    /// host: sizes the kernels do not take (`n_basis ≤ degree`, no points, more than
    /// [`BSPLINE_MAX_KNOTS`] knots, sizes over `int`) or a point that is not finite (the
    /// kernel's flag, one 4-byte download). The host then returns the same result or error as
    /// `CpuBackend`.
    fn bspline_knots(&self, x: &Tensor<D>, n_basis: usize, degree: usize) -> AdResult<Option<SplineKnots<D>>> {
        let m = x.cols;
        let n_knots = n_basis + degree + 1;
        if m == 0 || n_basis <= degree || n_knots > BSPLINE_MAX_KNOTS {
            return Ok(None);
        }
        let (Ok(m_i), Ok(n_basis_i), Ok(degree_i)) = (int(m, "points"), int(n_basis, "n_basis"), int(degree, "degree"))
        else {
            return Ok(None);
        };
        let mut knots = SplineKnots {
            m: m_i,
            n_basis: n_basis_i,
            degree: degree_i,
            knots: self.device.alloc_zeros(n_knots)?,
            dlo: self.device.alloc_zeros(n_knots)?,
            dhi: self.device.alloc_zeros(n_knots)?,
            extremes: self.device.upload_i32(&[0, 0])?,
        };
        let mut bad = self.device.upload_i32(&[0])?;
        let mut args = [
            Arg::In(&*x.buf),
            Arg::I32(m_i),
            Arg::I32(n_basis_i),
            Arg::I32(degree_i),
            Arg::Out(&mut knots.knots),
            Arg::Out(&mut knots.dlo),
            Arg::Out(&mut knots.dhi),
            Arg::OutI32(&mut knots.extremes),
            Arg::OutI32(&mut bad),
        ];
        // SAFETY: x holds m entries, the knot buffers n_basis + degree + 1 ≤ 64 (the kernel's
        // private arrays), extremes two, bad one; one block, as the kernel needs.
        unsafe {
            self.run(1, "bspline", "bspline_knots_f32", (Dim3::x(1), Dim3::x(block_for(n_knots, 64))), &mut args)
        }?;
        if self.device.download_i32(&bad)?.first() != Some(&0) {
            return Ok(None);
        }
        Ok(Some(knots))
    }

    /// `CpuBackend::bspline_basis` on the downloaded points: the trait's host fallback.
    fn host_bspline_basis(&self, x: &Tensor<D>, n_basis: usize, degree: usize) -> AdResult<Tensor<D>> {
        let cpu = CpuBackend::<f32>::new();
        let out = cpu.bspline_basis(&CpuTensor::new(self.download(x)?), n_basis, degree)?;
        self.upload(cpu.download(&out)?.view())
    }

    /// `CpuBackend::bspline_basis_backward` on the downloaded points and gradient.
    fn host_bspline_basis_backward(
        &self,
        x: &Tensor<D>,
        n_basis: usize,
        degree: usize,
        g: &Tensor<D>,
    ) -> AdResult<Tensor<D>> {
        let cpu = CpuBackend::<f32>::new();
        let (x, g) = (CpuTensor::new(self.download(x)?), CpuTensor::new(self.download(g)?));
        let out = cpu.bspline_basis_backward(&x, n_basis, degree, &g)?;
        self.upload(cpu.download(&out)?.view())
    }

    /// The tensor's buffer for writing, copied first if another tensor shares it.
    fn unique<'t>(&self, t: &'t mut Tensor<D>) -> Result<&'t mut D::Buffer> {
        if Arc::get_mut(&mut t.buf).is_none() {
            t.buf = Arc::new(self.device.duplicate(&t.buf)?);
        }
        Ok(Arc::get_mut(&mut t.buf).expect("unique after the copy"))
    }
}

impl<D: KernelDevice> Backend for CudaBackend<D> {
    type Elem = f32;
    type Tensor = DeviceTensor<D::Buffer>;

    fn name(&self) -> String {
        self.device.describe()
    }

    fn shape(&self, t: &Tensor<D>) -> (usize, usize) {
        t.shape()
    }

    fn upload(&self, a: ArrayView2<f32>) -> AdResult<Tensor<D>> {
        let data = a.as_standard_layout();
        let buf = self.device.upload(data.as_slice().expect("standard layout"))?;
        Ok(Self::tensor(a.nrows(), a.ncols(), buf))
    }

    fn download(&self, t: &Tensor<D>) -> AdResult<Array2<f32>> {
        let mut data = self.device.download(&t.buf)?;
        data.truncate(t.len());
        Ok(Array2::from_shape_vec((t.rows, t.cols), data)
            .map_err(|e| Error::InvalidArgument(format!("download: {e}")))?)
    }

    fn full(&self, rows: usize, cols: usize, value: f32) -> AdResult<Tensor<D>> {
        let mut out = self.device.alloc_zeros(rows * cols)?;
        let n = rows * cols;
        let mut args = [Arg::Out(&mut out), Arg::I32(int(n, "entries")?), Arg::F32(value)];
        // SAFETY: out holds n entries.
        unsafe { self.run(n, "elementwise", "fill_f32", flat(n), &mut args) }?;
        Ok(Self::tensor(rows, cols, out))
    }

    fn matmul(&self, a: &Tensor<D>, transpose_a: bool, b: &Tensor<D>, transpose_b: bool) -> AdResult<Tensor<D>> {
        let m = if transpose_a { a.cols } else { a.rows };
        let n = if transpose_b { b.rows } else { b.cols };
        let mut c = self.zeros(m, n)?;
        self.gemm_into(&mut c, a, transpose_a, b, transpose_b, 0.0)?;
        Ok(c)
    }

    fn matmul_acc(
        &self,
        acc: &mut Tensor<D>,
        a: &Tensor<D>,
        transpose_a: bool,
        b: &Tensor<D>,
        transpose_b: bool,
    ) -> AdResult<()> {
        self.gemm_into(acc, a, transpose_a, b, transpose_b, 1.0)
    }

    fn linear(&self, x: &Tensor<D>, w: &Tensor<D>, b: &Tensor<D>) -> AdResult<Tensor<D>> {
        // C = the bias broadcast over rows, then C = x wᵀ + 1 · C: one GEMM, as CpuBackend.
        check_shape("linear (bias)", b, (1, w.rows))?;
        let (rows, cols) = (x.rows, w.rows);
        let mut c = self.device.alloc_zeros(rows * cols)?;
        let n = rows * cols;
        let mut args = [Arg::In(&*b.buf), Arg::Out(&mut c), Arg::I32(int(rows, "rows")?), Arg::I32(int(cols, "cols")?)];
        // SAFETY: b holds cols entries, c rows × cols.
        unsafe { self.run(n, "elementwise", "broadcast_row_f32", flat(n), &mut args) }?;
        let mut c = Self::tensor(rows, cols, c);
        self.gemm_into(&mut c, x, false, w, true, 1.0)?;
        Ok(c)
    }

    fn add(&self, a: &Tensor<D>, b: &Tensor<D>) -> AdResult<Tensor<D>> {
        self.binary("elementwise", "add_f32", a, b)
    }

    fn sub(&self, a: &Tensor<D>, b: &Tensor<D>) -> AdResult<Tensor<D>> {
        self.binary("elementwise", "sub_f32", a, b)
    }

    fn mul(&self, a: &Tensor<D>, b: &Tensor<D>) -> AdResult<Tensor<D>> {
        self.binary("elementwise", "mul_f32", a, b)
    }

    fn affine(&self, a: &Tensor<D>, scale: f32, shift: f32) -> AdResult<Tensor<D>> {
        let mut out = self.device.alloc_zeros(a.len())?;
        let n = a.len();
        let mut args =
            [Arg::In(&*a.buf), Arg::Out(&mut out), Arg::I32(int(n, "entries")?), Arg::F32(scale), Arg::F32(shift)];
        // SAFETY: a and out hold n entries.
        unsafe { self.run(n, "elementwise", "affine_f32", flat(n), &mut args) }?;
        Ok(Self::tensor(a.rows, a.cols, out))
    }

    fn add_row(&self, a: &Tensor<D>, row: &Tensor<D>) -> AdResult<Tensor<D>> {
        check_shape("add_row", row, (1, a.cols))?;
        let mut out = self.device.alloc_zeros(a.len())?;
        let n = a.len();
        let mut args = [
            Arg::In(&*a.buf),
            Arg::In(&*row.buf),
            Arg::Out(&mut out),
            Arg::I32(int(a.rows, "rows")?),
            Arg::I32(int(a.cols, "cols")?),
        ];
        // SAFETY: a and out hold rows × cols entries, row cols.
        unsafe { self.run(n, "elementwise", "add_row_f32", flat(n), &mut args) }?;
        Ok(Self::tensor(a.rows, a.cols, out))
    }

    fn sum_rows(&self, a: &Tensor<D>) -> AdResult<Tensor<D>> {
        let mut out = self.device.alloc_zeros(a.cols)?;
        let mut args =
            [Arg::In(&*a.buf), Arg::Out(&mut out), Arg::I32(int(a.rows, "rows")?), Arg::I32(int(a.cols, "cols")?)];
        // SAFETY: a holds rows × cols entries, out cols.
        unsafe { self.run(a.cols, "elementwise", "sum_rows_f32", flat(a.cols), &mut args) }?;
        Ok(Self::tensor(1, a.cols, out))
    }

    fn sum(&self, a: &Tensor<D>) -> AdResult<Tensor<D>> {
        // Two deterministic stages: one partial sum per block, then one block adds them in order.
        let n = a.len();
        let (grid, block) = flat(n);
        let n_partial = grid.x as usize;
        let mut partial = self.device.alloc_zeros(n_partial)?;
        let mut out = self.device.alloc_zeros(1)?;
        if n == 0 {
            return Ok(Self::tensor(1, 1, out));
        }
        let mut args = [Arg::In(&*a.buf), Arg::Out(&mut partial), Arg::I32(int(n, "entries")?)];
        // SAFETY: a holds n entries, partial one per block.
        unsafe { self.run(n, "loss", "sum_partial_f32", (grid, block), &mut args) }?;
        let mut args = [Arg::In(&partial), Arg::Out(&mut out), Arg::I32(int(n_partial, "blocks")?), Arg::F32(1.0)];
        // SAFETY: partial holds n_partial entries, out one.
        unsafe {
            self.run(1, "loss", "sum_scale_f32", (Dim3::x(1), Dim3::x(block_for(n_partial, BLOCK_1D))), &mut args)
        }?;
        Ok(Self::tensor(1, 1, out))
    }

    fn broadcast_scalar(&self, s: &Tensor<D>, rows: usize, cols: usize, scale: f32) -> AdResult<Tensor<D>> {
        check_shape("broadcast_scalar", s, (1, 1))?;
        let n = rows * cols;
        let mut out = self.device.alloc_zeros(n)?;
        let mut args = [Arg::In(&*s.buf), Arg::Out(&mut out), Arg::I32(int(n, "entries")?), Arg::F32(scale)];
        // SAFETY: s holds one entry, out n.
        unsafe { self.run(n, "elementwise", "broadcast_scalar_f32", flat(n), &mut args) }?;
        Ok(Self::tensor(rows, cols, out))
    }

    fn scale_by(&self, a: &Tensor<D>, s: &Tensor<D>) -> AdResult<Tensor<D>> {
        check_shape("scale_by", s, (1, 1))?;
        let n = a.len();
        let mut out = self.device.alloc_zeros(n)?;
        let mut args = [Arg::In(&*a.buf), Arg::In(&*s.buf), Arg::Out(&mut out), Arg::I32(int(n, "entries")?)];
        // SAFETY: a and out hold n entries, s one.
        unsafe { self.run(n, "elementwise", "scale_by_f32", flat(n), &mut args) }?;
        Ok(Self::tensor(a.rows, a.cols, out))
    }

    fn sqrt(&self, a: &Tensor<D>) -> AdResult<Tensor<D>> {
        Ok(self.unary("elementwise", "sqrt_f32", a)?)
    }

    fn recip(&self, a: &Tensor<D>) -> AdResult<Tensor<D>> {
        Ok(self.unary("elementwise", "recip_f32", a)?)
    }

    fn slice_cols(&self, a: &Tensor<D>, start: usize, len: usize) -> AdResult<Tensor<D>> {
        if start + len > a.cols {
            return Err(hagcn_autodiff::Error::Shape {
                op: "slice_cols",
                left: a.shape(),
                right: (a.rows, start + len),
            });
        }
        let mut out = self.device.alloc_zeros(a.rows * len)?;
        self.copy_block(&a.buf, &mut out, (a.rows, len), (a.cols, start), (len, 0))?;
        Ok(Self::tensor(a.rows, len, out))
    }

    fn embed_cols(&self, a: &Tensor<D>, total: usize, start: usize) -> AdResult<Tensor<D>> {
        if start + a.cols > total {
            return Err(hagcn_autodiff::Error::Shape { op: "embed_cols", left: a.shape(), right: (a.rows, total) });
        }
        let mut out = self.device.alloc_zeros(a.rows * total)?;
        self.copy_block(&a.buf, &mut out, a.shape(), (a.cols, 0), (total, start))?;
        Ok(Self::tensor(a.rows, total, out))
    }

    fn concat_cols(&self, parts: &[&Tensor<D>]) -> AdResult<Tensor<D>> {
        let rows = parts.first().map_or(0, |p| p.rows);
        let total = parts.iter().map(|p| p.cols).sum();
        let mut out = self.device.alloc_zeros(rows * total)?;
        let mut start = 0;
        for p in parts {
            check_shape("concat_cols", p, (rows, p.cols))?;
            self.copy_block(&p.buf, &mut out, p.shape(), (p.cols, 0), (total, start))?;
            start += p.cols;
        }
        Ok(Self::tensor(rows, total, out))
    }

    fn slice_rows(&self, a: &Tensor<D>, start: usize, len: usize) -> AdResult<Tensor<D>> {
        if start + len > a.rows {
            return Err(hagcn_autodiff::Error::Shape {
                op: "slice_rows",
                left: a.shape(),
                right: (start + len, a.cols),
            });
        }
        let mut out = self.device.alloc_zeros(len * a.cols)?;
        self.copy_block(&a.buf, &mut out, (len, a.cols), (a.cols, start * a.cols), (a.cols, 0))?;
        Ok(Self::tensor(len, a.cols, out))
    }

    fn concat_rows(&self, parts: &[&Tensor<D>]) -> AdResult<Tensor<D>> {
        let cols = parts.first().map_or(0, |p| p.cols);
        let total = parts.iter().map(|p| p.rows).sum();
        let mut out = self.device.alloc_zeros(total * cols)?;
        let mut start = 0;
        for p in parts {
            check_shape("concat_rows", p, (p.rows, cols))?;
            self.copy_block(&p.buf, &mut out, p.shape(), (cols, 0), (cols, start * cols))?;
            start += p.rows;
        }
        Ok(Self::tensor(total, cols, out))
    }

    fn bspline_basis(&self, x: &Tensor<D>, n_basis: usize, degree: usize) -> AdResult<Tensor<D>> {
        check_shape("bspline_basis", x, (1, x.cols))?;
        let Some(k) = self.bspline_knots(x, n_basis, degree)? else {
            return self.host_bspline_basis(x, n_basis, degree);
        };
        let m = x.cols;
        let mut out = self.device.alloc_zeros(m * n_basis)?;
        let mut args = [
            Arg::In(&*x.buf),
            Arg::In(&k.knots),
            Arg::Out(&mut out),
            Arg::I32(k.m),
            Arg::I32(k.n_basis),
            Arg::I32(k.degree),
        ];
        // SAFETY: x holds m entries, knots n_basis + degree + 1 ≤ 64, out m × n_basis.
        unsafe { self.run(m, "bspline", "bspline_basis_f32", flat(m), &mut args) }?;
        Ok(Self::tensor(m, n_basis, out))
    }

    fn bspline_basis_backward(
        &self,
        x: &Tensor<D>,
        n_basis: usize,
        degree: usize,
        g: &Tensor<D>,
    ) -> AdResult<Tensor<D>> {
        check_shape("bspline_basis_backward", x, (1, x.cols))?;
        if g.shape() != (x.cols, n_basis) {
            return self.host_bspline_basis_backward(x, n_basis, degree, g);
        }
        let Some(k) = self.bspline_knots(x, n_basis, degree)? else {
            return self.host_bspline_basis_backward(x, n_basis, degree, g);
        };
        let m = x.cols;
        let (mut gx, mut glo, mut ghi) =
            (self.device.alloc_zeros(m)?, self.device.alloc_zeros(m)?, self.device.alloc_zeros(m)?);
        let mut args = [
            Arg::In(&*x.buf),
            Arg::In(&k.knots),
            Arg::In(&k.dlo),
            Arg::In(&k.dhi),
            Arg::In(&*g.buf),
            Arg::Out(&mut gx),
            Arg::Out(&mut glo),
            Arg::Out(&mut ghi),
            Arg::I32(k.m),
            Arg::I32(k.n_basis),
            Arg::I32(k.degree),
        ];
        // SAFETY: x, gx, glo and ghi hold m entries, the knot buffers n_basis + degree + 1 ≤ 64,
        // g m × n_basis (checked above).
        unsafe { self.run(m, "bspline", "bspline_bwd_f32", flat(m), &mut args) }?;
        let mut args = [Arg::Out(&mut gx), Arg::In(&glo), Arg::In(&ghi), Arg::InI32(&k.extremes), Arg::I32(k.m)];
        // SAFETY: gx, glo and ghi hold m entries, extremes two indices below m; one block of
        // whole warps, as the kernel's block sum needs.
        unsafe {
            self.run(m, "bspline", "bspline_bwd_finish_f32", (Dim3::x(1), Dim3::x(block_for(m, BLOCK_1D))), &mut args)
        }?;
        Ok(Self::tensor(1, m, gx))
    }

    fn gelu(&self, x: &Tensor<D>) -> AdResult<Tensor<D>> {
        Ok(self.unary("activations", "gelu_fwd_f32", x)?)
    }

    fn gelu_backward(&self, x: &Tensor<D>, g: &Tensor<D>) -> AdResult<Tensor<D>> {
        self.binary("activations", "gelu_bwd_f32", x, g)
    }

    fn sigmoid(&self, x: &Tensor<D>) -> AdResult<Tensor<D>> {
        Ok(self.unary("activations", "sigmoid_fwd_f32", x)?)
    }

    fn sigmoid_backward(&self, y: &Tensor<D>, g: &Tensor<D>) -> AdResult<Tensor<D>> {
        self.binary("activations", "sigmoid_bwd_f32", y, g)
    }

    fn tridiagonal(&self, alpha: &Tensor<D>, beta: &Tensor<D>) -> AdResult<Tensor<D>> {
        let m = alpha.cols;
        check_shape("tridiagonal (alpha)", alpha, (1, m))?;
        check_shape("tridiagonal (beta)", beta, (1, m.saturating_sub(1)))?;
        let mut out = self.device.alloc_zeros(m * m)?;
        let mut args = [Arg::In(&*alpha.buf), Arg::In(&*beta.buf), Arg::Out(&mut out), Arg::I32(int(m, "size")?)];
        // SAFETY: alpha holds m entries, beta m − 1 (read only below the last row), out m × m.
        unsafe { self.run(m * m, "lanczos", "tridiagonal_fwd_f32", flat(m * m), &mut args) }?;
        Ok(Self::tensor(m, m, out))
    }

    fn tridiagonal_backward(&self, g: &Tensor<D>) -> AdResult<(Tensor<D>, Tensor<D>)> {
        let m = g.rows;
        check_shape("tridiagonal_backward", g, (m, m))?;
        let (mut galpha, mut gbeta) = (self.device.alloc_zeros(m)?, self.device.alloc_zeros(m.saturating_sub(1))?);
        let mut args = [Arg::In(&*g.buf), Arg::Out(&mut galpha), Arg::Out(&mut gbeta), Arg::I32(int(m, "size")?)];
        // SAFETY: g holds m × m entries, galpha m, gbeta m − 1 (written for i + 1 < m only).
        unsafe { self.run(m, "lanczos", "tridiagonal_bwd_f32", flat(m), &mut args) }?;
        Ok((Self::tensor(1, m, galpha), Self::tensor(1, m.saturating_sub(1), gbeta)))
    }

    fn symmetric_eigen(&self, a: &Tensor<D>) -> AdResult<Tensor<D>> {
        // The device or the host, as the policy says (eigen.rs); the host after any device failure.
        Ok(self.symmetric_eigen_with(self.eigen_policy()?, a)?.0)
    }

    fn layer_norm(
        &self,
        x: &Tensor<D>,
        weight: &Tensor<D>,
        bias: &Tensor<D>,
        eps: f32,
    ) -> AdResult<LayerNormOutput<Tensor<D>>> {
        check_shape("layer_norm (weight)", weight, (1, x.cols))?;
        check_shape("layer_norm (bias)", bias, (1, x.cols))?;
        let (mut y, mut mean, mut rstd) =
            (self.device.alloc_zeros(x.len())?, self.device.alloc_zeros(x.rows)?, self.device.alloc_zeros(x.rows)?);
        let mut args = [
            Arg::In(&*x.buf),
            Arg::In(&*weight.buf),
            Arg::In(&*bias.buf),
            Arg::Out(&mut y),
            Arg::Out(&mut mean),
            Arg::Out(&mut rstd),
            Arg::I32(int(x.rows, "rows")?),
            Arg::I32(int(x.cols, "cols")?),
            Arg::F32(eps),
        ];
        // SAFETY: x and y hold rows × cols entries, weight and bias cols, mean and rstd rows.
        unsafe { self.run(x.rows, "layer_norm", "layer_norm_fwd_f32", rows_grid(x.rows, x.cols), &mut args) }?;
        Ok(LayerNormOutput {
            y: Self::tensor(x.rows, x.cols, y),
            mean: Self::tensor(x.rows, 1, mean),
            rstd: Self::tensor(x.rows, 1, rstd),
        })
    }

    fn layer_norm_backward(
        &self,
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
        let mut gx = self.device.alloc_zeros(x.len())?;
        let mut args = [
            Arg::In(&*x.buf),
            Arg::In(&*weight.buf),
            Arg::In(&*saved.mean.buf),
            Arg::In(&*saved.rstd.buf),
            Arg::In(&*g.buf),
            Arg::Out(&mut gx),
            Arg::I32(rows),
            Arg::I32(cols),
        ];
        // SAFETY: x, g and gx hold rows × cols entries, weight cols, mean and rstd rows.
        unsafe { self.run(x.rows, "layer_norm", "layer_norm_bwd_f32", rows_grid(x.rows, x.cols), &mut args) }?;
        let (mut gw, mut gb) = (self.device.alloc_zeros(x.cols)?, self.device.alloc_zeros(x.cols)?);
        let mut args = [
            Arg::In(&*x.buf),
            Arg::In(&*saved.mean.buf),
            Arg::In(&*saved.rstd.buf),
            Arg::In(&*g.buf),
            Arg::Out(&mut gw),
            Arg::Out(&mut gb),
            Arg::I32(rows),
            Arg::I32(cols),
        ];
        // SAFETY: x and g hold rows × cols entries, mean and rstd rows, gw and gb cols.
        unsafe { self.run(x.cols, "layer_norm", "layer_norm_bwd_params_f32", flat(x.cols), &mut args) }?;
        Ok(LayerNormGrads {
            x: Self::tensor(x.rows, x.cols, gx),
            weight: Self::tensor(1, x.cols, gw),
            bias: Self::tensor(1, x.cols, gb),
        })
    }

    fn normalized_adjacency(&self, a: &Tensor<D>) -> AdResult<(Tensor<D>, Tensor<D>)> {
        let n = a.rows;
        if a.cols != n {
            return Err(self.host_adjacency_error(a));
        }
        let n_i = int(n, "nodes")?;
        let mut d = self.device.alloc_zeros(n)?;
        let mut bad = self.device.upload_i32(&[n_i])?;
        let mut args = [Arg::In(&*a.buf), Arg::Out(&mut d), Arg::OutI32(&mut bad), Arg::I32(n_i)];
        // SAFETY: a holds n × n entries, d n, bad one.
        unsafe { self.run(n, "adjacency", "adjacency_degree_f32", rows_grid(n, n), &mut args) }?;
        // One 4-byte download: the kernel flags the first row whose degree is ≤ 0 or not finite.
        if self.device.download_i32(&bad)?.first() != Some(&n_i) {
            return Err(self.host_adjacency_error(a));
        }
        let mut a_hat = self.device.alloc_zeros(n * n)?;
        let mut args = [Arg::In(&*a.buf), Arg::In(&d), Arg::Out(&mut a_hat), Arg::I32(n_i)];
        // SAFETY: a and a_hat hold n × n entries, d n.
        unsafe { self.run(n * n, "adjacency", "adjacency_scale_f32", flat(n * n), &mut args) }?;
        Ok((Self::tensor(n, n, a_hat), Self::tensor(n, 1, d)))
    }

    fn normalized_adjacency_backward(&self, a_hat: &Tensor<D>, d: &Tensor<D>, g: &Tensor<D>) -> AdResult<Tensor<D>> {
        let n = a_hat.rows;
        check_shape("normalized_adjacency_backward (Â)", a_hat, (n, n))?;
        check_shape("normalized_adjacency_backward (d)", d, (n, 1))?;
        check_shape("normalized_adjacency_backward (gradient)", g, (n, n))?;
        let n_i = int(n, "nodes")?;
        let mut gdeg = self.device.alloc_zeros(n)?;
        let mut args = [Arg::In(&*a_hat.buf), Arg::In(&*d.buf), Arg::In(&*g.buf), Arg::Out(&mut gdeg), Arg::I32(n_i)];
        // SAFETY: Â and g hold n × n entries, d and gdeg n.
        unsafe { self.run(n, "adjacency", "adjacency_bwd_degree_f32", rows_grid(n, n), &mut args) }?;
        let mut ga = self.device.alloc_zeros(n * n)?;
        let mut args = [Arg::In(&*g.buf), Arg::In(&*d.buf), Arg::In(&gdeg), Arg::Out(&mut ga), Arg::I32(n_i)];
        // SAFETY: g and ga hold n × n entries, d and gdeg n.
        unsafe { self.run(n * n, "adjacency", "adjacency_bwd_f32", flat(n * n), &mut args) }?;
        Ok(Self::tensor(n, n, ga))
    }

    fn adam_update(
        &self,
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
        let p = self.unique(param)?;
        let m_buf = self.unique(m)?;
        let v_buf = self.unique(v)?;
        let mut args = [
            Arg::Out(p),
            Arg::In(&*grad.buf),
            Arg::Out(m_buf),
            Arg::Out(v_buf),
            Arg::I32(n),
            Arg::F32(u.lr),
            Arg::F32(u.beta1),
            Arg::F32(u.beta2),
            Arg::F32(u.eps),
            Arg::F32(u.bias_correction1),
            Arg::F32(u.bias_correction2),
        ];
        // SAFETY: all four hold n entries; param, m and v are unique, so writing them in place
        // changes no other tensor.
        unsafe { self.run(len, "adam", "adam_update_f32", flat(len), &mut args) }?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bspline_knot_limit_matches_the_kernel_source() {
        let src = crate::nvrtc::kernel_file("bspline").unwrap().source;
        assert!(src.contains(&format!("#define HAGCN_BSPLINE_MAX_KNOTS {BSPLINE_MAX_KNOTS}\n")));
    }
}
