//! The start of the CUDA backend's host code, written against a small device trait so that it
//! runs unchanged on a GPU ([`crate::Device`]) or on the CPU ([`EmulatedDevice`]: host memory,
//! the emulated kernels, and a column-major SGEMM through BLAS in place of cuBLAS).
//!
//! [`CudaBackend`] covers a handful of ops so far (upload/download, GEMM with transpose flags,
//! GELU, sigmoid, layer norm, Adam); it does not implement `hagcn_autodiff::Backend` yet.
//!
//! Row-major products on a column-major BLAS: a row-major `C (m × n) = op(A) op(B)` is the
//! column-major `Cᵀ = op(B)ᵀ op(A)ᵀ`, so the host code calls SGEMM with the operands swapped
//! and `m`, `n` exchanged (as candle's `gemm_config`).

use std::sync::Arc;

use cudarc::cublas::{CudaBlas, Gemm, GemmConfig, sys::cublasOperation_t};
use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};
use hagcn_autodiff::{AdamUpdate, LayerNormOutput};
use ndarray::{Array2, ArrayView2, ShapeBuilder, linalg::general_mat_mul};

use crate::emu::{self, Dim3, RawArg};
use crate::{Device, Error, Result};

/// One kernel argument: a buffer read, a buffer written, or a scalar.
#[derive(Debug)]
pub enum Arg<'a, B> {
    /// A `const float*` parameter.
    In(&'a B),
    /// A `float*` parameter.
    Out(&'a mut B),
    /// An `int` parameter.
    I32(i32),
    /// A `float` parameter.
    F32(f32),
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

/// Memory and kernel launches of a device, as the backend's host code uses them (f32 only).
pub trait KernelDevice: Send + Sync + 'static {
    /// A device buffer of `f32`.
    type Buffer: Send + Sync;

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
        args: &mut [Arg<'_, Self::Buffer>],
    ) -> Result<()>;
    /// Column-major SGEMM with leading dimensions `lda`, `ldb`, `ldc` equal to the stored
    /// rows of `A`, `B` and `C` (`m` or `k`, `k` or `n`, `m`).
    ///
    /// # Errors
    ///
    /// When the buffers are too short, or the BLAS library fails.
    fn sgemm(&self, gemm: Sgemm, a: &Self::Buffer, b: &Self::Buffer, c: &mut Self::Buffer) -> Result<()>;
}

// ---------------------------------------------------------------------------------------------
// The emulated device.

/// Host memory, the kernels run by the CPU emulator ([`crate::emu`]), and BLAS for SGEMM.
#[derive(Debug, Default, Clone, Copy)]
pub struct EmulatedDevice;

/// A buffer of the [`EmulatedDevice`].
#[derive(Debug, Clone, PartialEq)]
pub struct EmuBuffer(pub Vec<f32>);

impl KernelDevice for EmulatedDevice {
    type Buffer = EmuBuffer;

    fn alloc_zeros(&self, len: usize) -> Result<EmuBuffer> {
        Ok(EmuBuffer(vec![0.0; len]))
    }

    fn upload(&self, data: &[f32]) -> Result<EmuBuffer> {
        Ok(EmuBuffer(data.to_vec()))
    }

    fn download(&self, buf: &EmuBuffer) -> Result<Vec<f32>> {
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
        args: &mut [Arg<'_, EmuBuffer>],
    ) -> Result<()> {
        let raw: Vec<RawArg> = args
            .iter_mut()
            .map(|a| match a {
                Arg::In(b) => RawArg::ConstF32(b.0.as_ptr()),
                Arg::Out(b) => RawArg::MutF32(b.0.as_mut_ptr()),
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

    fn alloc_zeros(&self, len: usize) -> Result<CudaSlice<f32>> {
        self.stream().alloc_zeros::<f32>(len).map_err(Error::cuda)
    }

    fn upload(&self, data: &[f32]) -> Result<CudaSlice<f32>> {
        self.stream().clone_htod(data).map_err(Error::cuda)
    }

    fn download(&self, buf: &CudaSlice<f32>) -> Result<Vec<f32>> {
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
        args: &mut [Arg<'_, CudaSlice<f32>>],
    ) -> Result<()> {
        let func = self.function(file, kernel)?;
        let stream = self.stream();
        let mut builder = stream.launch_builder(&func);
        for a in args.iter_mut() {
            match a {
                Arg::In(b) => builder.arg(*b),
                Arg::Out(b) => builder.arg(&mut **b),
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
}

// ---------------------------------------------------------------------------------------------
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

/// Threads per block of elementwise kernels and of row reductions.
const BLOCK_1D: u32 = 256;
const BLOCK_ROWS: u32 = 128;
/// The most blocks a launch uses (grid-stride loops do the rest).
const MAX_BLOCKS: usize = 1024;

fn flat(n: usize) -> (Dim3, Dim3) {
    (Dim3::x(n.div_ceil(BLOCK_1D as usize).clamp(1, MAX_BLOCKS) as u32), Dim3::x(BLOCK_1D))
}

fn rows_grid(rows: usize) -> (Dim3, Dim3) {
    (Dim3::x(rows.clamp(1, MAX_BLOCKS) as u32), Dim3::x(BLOCK_ROWS))
}

fn int(v: usize, what: &str) -> Result<i32> {
    i32::try_from(v).map_err(|_| Error::InvalidArgument(format!("{what} = {v} does not fit the kernels' int sizes")))
}

/// The CUDA backend's host code on any [`KernelDevice`] (f32).
#[derive(Debug)]
pub struct CudaBackend<D> {
    device: Arc<D>,
}

impl<D> Clone for CudaBackend<D> {
    fn clone(&self) -> Self {
        CudaBackend { device: Arc::clone(&self.device) }
    }
}

impl<D: KernelDevice> CudaBackend<D> {
    /// The backend on `device`.
    pub fn new(device: Arc<D>) -> Self {
        CudaBackend { device }
    }

    /// Copies a host matrix to the device.
    ///
    /// # Errors
    ///
    /// When the device cannot allocate or copy.
    pub fn upload(&self, a: ArrayView2<f32>) -> Result<DeviceTensor<D::Buffer>> {
        let data = a.as_standard_layout();
        let buf = self.device.upload(data.as_slice().expect("standard layout"))?;
        Ok(DeviceTensor { rows: a.nrows(), cols: a.ncols(), buf: Arc::new(buf) })
    }

    /// Copies a device matrix to the host.
    ///
    /// # Errors
    ///
    /// When the device cannot copy.
    pub fn download(&self, t: &DeviceTensor<D::Buffer>) -> Result<Array2<f32>> {
        let data = self.device.download(&t.buf)?;
        Array2::from_shape_vec((t.rows, t.cols), data).map_err(|e| Error::InvalidArgument(format!("download: {e}")))
    }

    fn zeros(&self, rows: usize, cols: usize) -> Result<DeviceTensor<D::Buffer>> {
        Ok(DeviceTensor { rows, cols, buf: Arc::new(self.device.alloc_zeros(rows * cols)?) })
    }

    fn unary(&self, kernel: &'static str, x: &DeviceTensor<D::Buffer>) -> Result<DeviceTensor<D::Buffer>> {
        let mut out = self.device.alloc_zeros(x.len())?;
        let (grid, block) = flat(x.len());
        let n = int(x.len(), "entries")?;
        // SAFETY: `x` and `out` hold n entries, the kernel reads and writes n.
        unsafe {
            self.device.launch(
                "activations",
                kernel,
                grid,
                block,
                &mut [Arg::In(&x.buf), Arg::Out(&mut out), Arg::I32(n)],
            )
        }?;
        Ok(DeviceTensor { rows: x.rows, cols: x.cols, buf: Arc::new(out) })
    }

    fn binary(
        &self,
        kernel: &'static str,
        x: &DeviceTensor<D::Buffer>,
        g: &DeviceTensor<D::Buffer>,
    ) -> Result<DeviceTensor<D::Buffer>> {
        check_same("backward", x, g)?;
        let mut out = self.device.alloc_zeros(x.len())?;
        let (grid, block) = flat(x.len());
        let n = int(x.len(), "entries")?;
        // SAFETY: all three hold n entries.
        unsafe {
            self.device.launch(
                "activations",
                kernel,
                grid,
                block,
                &mut [Arg::In(&x.buf), Arg::In(&g.buf), Arg::Out(&mut out), Arg::I32(n)],
            )
        }?;
        Ok(DeviceTensor { rows: x.rows, cols: x.cols, buf: Arc::new(out) })
    }

    /// GELU, exact form (kernel `gelu_fwd_f32`).
    ///
    /// # Errors
    ///
    /// When the device fails.
    pub fn gelu(&self, x: &DeviceTensor<D::Buffer>) -> Result<DeviceTensor<D::Buffer>> {
        self.unary("gelu_fwd_f32", x)
    }

    /// `g ⊙ GELU'(x)` (kernel `gelu_bwd_f32`).
    ///
    /// # Errors
    ///
    /// When the shapes differ or the device fails.
    pub fn gelu_backward(
        &self,
        x: &DeviceTensor<D::Buffer>,
        g: &DeviceTensor<D::Buffer>,
    ) -> Result<DeviceTensor<D::Buffer>> {
        self.binary("gelu_bwd_f32", x, g)
    }

    /// Logistic sigmoid (kernel `sigmoid_fwd_f32`).
    ///
    /// # Errors
    ///
    /// When the device fails.
    pub fn sigmoid(&self, x: &DeviceTensor<D::Buffer>) -> Result<DeviceTensor<D::Buffer>> {
        self.unary("sigmoid_fwd_f32", x)
    }

    /// `op(a) · op(b)` for row-major tensors (one column-major SGEMM with the operands swapped).
    ///
    /// # Errors
    ///
    /// When the inner dimensions differ or the device fails.
    pub fn matmul(
        &self,
        a: &DeviceTensor<D::Buffer>,
        transpose_a: bool,
        b: &DeviceTensor<D::Buffer>,
        transpose_b: bool,
    ) -> Result<DeviceTensor<D::Buffer>> {
        let (m, ka) = if transpose_a { (a.cols, a.rows) } else { (a.rows, a.cols) };
        let (kb, n) = if transpose_b { (b.cols, b.rows) } else { (b.rows, b.cols) };
        if ka != kb {
            return Err(Error::InvalidArgument(format!("matmul: inner dimensions {ka} and {kb} differ")));
        }
        let mut c = self.zeros(m, n)?;
        // Row-major C (m × n) = column-major Cᵀ (n × m) = op(B)ᵀ op(A)ᵀ, and a row-major X is
        // the column-major Xᵀ: so the column-major product of B and A with the same flags.
        let gemm = Sgemm { transa: transpose_b, transb: transpose_a, m: n, n: m, k: ka, alpha: 1.0, beta: 0.0 };
        let c_buf = Arc::get_mut(&mut c.buf).expect("a fresh buffer is unique");
        self.device.sgemm(gemm, &b.buf, &a.buf, c_buf)?;
        Ok(c)
    }

    /// Layer norm over each row (kernel `layer_norm_fwd_f32`), with the saved mean and rstd.
    ///
    /// # Errors
    ///
    /// When `weight` or `bias` is not `1 × cols`, or the device fails.
    pub fn layer_norm(
        &self,
        x: &DeviceTensor<D::Buffer>,
        weight: &DeviceTensor<D::Buffer>,
        bias: &DeviceTensor<D::Buffer>,
        eps: f32,
    ) -> Result<LayerNormOutput<DeviceTensor<D::Buffer>>> {
        for (what, t) in [("weight", weight), ("bias", bias)] {
            if t.shape() != (1, x.cols) {
                return Err(Error::InvalidArgument(format!(
                    "layer_norm: {what} is {:?}, expected (1, {})",
                    t.shape(),
                    x.cols
                )));
            }
        }
        let (mut y, mut mean, mut rstd) =
            (self.device.alloc_zeros(x.len())?, self.device.alloc_zeros(x.rows)?, self.device.alloc_zeros(x.rows)?);
        let (grid, block) = rows_grid(x.rows);
        let (rows, cols) = (int(x.rows, "rows")?, int(x.cols, "cols")?);
        // SAFETY: x and y hold rows × cols entries, weight and bias cols, mean and rstd rows.
        unsafe {
            self.device.launch(
                "layer_norm",
                "layer_norm_fwd_f32",
                grid,
                block,
                &mut [
                    Arg::In(&x.buf),
                    Arg::In(&weight.buf),
                    Arg::In(&bias.buf),
                    Arg::Out(&mut y),
                    Arg::Out(&mut mean),
                    Arg::Out(&mut rstd),
                    Arg::I32(rows),
                    Arg::I32(cols),
                    Arg::F32(eps),
                ],
            )
        }?;
        let t = |rows, cols, buf| DeviceTensor { rows, cols, buf: Arc::new(buf) };
        Ok(LayerNormOutput { y: t(x.rows, x.cols, y), mean: t(x.rows, 1, mean), rstd: t(x.rows, 1, rstd) })
    }

    /// One Adam update in place (kernel `adam_update_f32`); a parameter or moment whose buffer
    /// is shared with another tensor is copied first.
    ///
    /// # Errors
    ///
    /// When the shapes differ or the device fails.
    pub fn adam_update(
        &self,
        param: &mut DeviceTensor<D::Buffer>,
        grad: &DeviceTensor<D::Buffer>,
        m: &mut DeviceTensor<D::Buffer>,
        v: &mut DeviceTensor<D::Buffer>,
        u: &AdamUpdate<f32>,
    ) -> Result<()> {
        for (what, t) in [("gradient", grad), ("first moment", &*m), ("second moment", &*v)] {
            check_same(what, param, t)?;
        }
        let n = int(param.len(), "entries")?;
        let (grid, block) = flat(param.len());
        let p = self.unique(param)?;
        let m_buf = self.unique(m)?;
        let v_buf = self.unique(v)?;
        // SAFETY: all four hold n entries.
        unsafe {
            self.device.launch(
                "adam",
                "adam_update_f32",
                grid,
                block,
                &mut [
                    Arg::Out(p),
                    Arg::In(&grad.buf),
                    Arg::Out(m_buf),
                    Arg::Out(v_buf),
                    Arg::I32(n),
                    Arg::F32(u.lr),
                    Arg::F32(u.beta1),
                    Arg::F32(u.beta2),
                    Arg::F32(u.eps),
                    Arg::F32(u.bias_correction1),
                    Arg::F32(u.bias_correction2),
                ],
            )
        }
    }

    /// The tensor's buffer for writing, copied first if another tensor shares it.
    fn unique<'t>(&self, t: &'t mut DeviceTensor<D::Buffer>) -> Result<&'t mut D::Buffer> {
        if Arc::get_mut(&mut t.buf).is_none() {
            t.buf = Arc::new(self.device.duplicate(&t.buf)?);
        }
        Ok(Arc::get_mut(&mut t.buf).expect("unique after the copy"))
    }
}

fn check_same<B>(what: &str, a: &DeviceTensor<B>, b: &DeviceTensor<B>) -> Result<()> {
    if a.shape() != b.shape() {
        return Err(Error::InvalidArgument(format!("{what}: shapes {:?} and {:?} differ", a.shape(), b.shape())));
    }
    Ok(())
}
