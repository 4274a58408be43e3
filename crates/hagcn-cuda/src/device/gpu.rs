//! A CUDA device: context, stream, the kernel modules loaded on it, and its [`KernelDevice`]
//! implementation (cudarc launches and copies, cuBLAS SGEMM, cuSOLVER `dsyevd`).
//!
//! [`Device::open`] checks that `libcuda` can be loaded before it calls into the driver, so a
//! machine without an NVIDIA driver gets [`Error::NoDriver`] rather than cudarc's panic; cuBLAS
//! and cuSOLVER are probed the same way before their first use. Modules are compiled by
//! [`crate::nvrtc`] once per process and loaded once per device.

use std::collections::HashMap;
use std::os::raw::c_int;
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::cublas::{CudaBlas, Gemm, GemmConfig, sys::cublasOperation_t};
use cudarc::cusolver::{DnHandle, sys as solver_sys};
use cudarc::driver::{
    CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, DevicePtr, DevicePtrMut, LaunchArgs, LaunchConfig,
    PushKernelArg,
};

use super::{KernelDevice, Sgemm, Syevd};
use crate::emu::Dim3;
use crate::error::{Error, Result};
use crate::kernels::{ArgSink, DeviceElem, Kernel, Memory, Params};
use crate::nvrtc;

/// Whether the CUDA driver library (`libcuda.so`) can be loaded.
pub fn driver_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    // SAFETY: only tries to dlopen the library names cudarc knows.
    *AVAILABLE.get_or_init(|| unsafe { cudarc::driver::sys::is_culib_present() })
}

/// The number of CUDA devices the driver reports.
///
/// # Errors
///
/// [`Error::NoDriver`] without a driver; [`Error::Cuda`] when the driver fails to initialise
/// (for example `CUDA_ERROR_NO_DEVICE`).
pub fn device_count() -> Result<usize> {
    if !driver_available() {
        return Err(Error::NoDriver);
    }
    let count = CudaContext::device_count().map_err(Error::cuda)?;
    Ok(usize::try_from(count).unwrap_or(0))
}

/// Makes the device's stream-ordered memory pool keep what is freed. Its default release
/// threshold, 0, hands freed memory back at every synchronisation, so each training step would
/// allocate its tensors afresh from the driver; with the threshold at its maximum, a step's
/// buffers come from the memory the previous step freed. A device without memory pools keeps
/// cudarc's synchronous allocations.
fn keep_freed_memory(ctx: &CudaContext) -> Result<()> {
    use cudarc::driver::{result, sys};
    // SAFETY: the device handle is the opened context's; the attribute is a u64, as passed.
    let set = unsafe {
        result::device::get_default_mem_pool(ctx.cu_device()).and_then(|pool| {
            let mut threshold = u64::MAX;
            result::mem_pool::set_attribute(
                pool,
                sys::CUmemPool_attribute::CU_MEMPOOL_ATTR_RELEASE_THRESHOLD,
                (&raw mut threshold).cast(),
            )
        })
    };
    match set {
        Err(e) if e.0 != sys::cudaError_enum::CUDA_ERROR_NOT_SUPPORTED => Err(Error::cuda(e)),
        _ => Ok(()),
    }
}

/// An opened CUDA device with its default stream.
pub struct Device {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    modules: Mutex<HashMap<&'static str, Arc<CudaModule>>>,
    /// The cuBLAS handle, created on the first GEMM.
    blas: OnceLock<CudaBlas>,
    /// The cuSOLVER dense handle, created on the first eigendecomposition.
    solver: OnceLock<DnHandle>,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device").field("ordinal", &self.ctx.ordinal()).finish_non_exhaustive()
    }
}

impl Device {
    /// Opens device `ordinal`.
    ///
    /// # Errors
    ///
    /// [`Error::NoDriver`] when `libcuda.so` cannot be loaded, [`Error::NoDevice`] when there is
    /// no such device, [`Error::Cuda`] when the driver fails.
    pub fn open(ordinal: usize) -> Result<Device> {
        let count = device_count()?;
        if ordinal >= count {
            return Err(Error::NoDevice { ordinal, count });
        }
        let ctx = CudaContext::new(ordinal).map_err(Error::cuda)?;
        keep_freed_memory(&ctx)?;
        let stream = ctx.default_stream();
        Ok(Device { ctx, stream, modules: Mutex::new(HashMap::new()), blas: OnceLock::new(), solver: OnceLock::new() })
    }

    /// The device's name, for example `NVIDIA H100 80GB HBM3`.
    ///
    /// # Errors
    ///
    /// [`Error::Cuda`] when the driver fails.
    pub fn name(&self) -> Result<String> {
        self.ctx.name().map_err(Error::cuda)
    }

    /// The compute capability `(major, minor)`.
    ///
    /// # Errors
    ///
    /// [`Error::Cuda`] when the driver fails.
    pub fn compute_capability(&self) -> Result<(i32, i32)> {
        self.ctx.compute_capability().map_err(Error::cuda)
    }

    /// The driver context.
    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    /// The stream every kernel of this device runs on.
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// The function of `kernel`, compiling its file (once per process) and loading it (once per
    /// device) when needed.
    ///
    /// # Errors
    ///
    /// As [`nvrtc::ptx`], and [`Error::Cuda`] when the driver cannot load the module or has no
    /// such function.
    pub fn function<P>(&self, kernel: &Kernel<P>) -> Result<CudaFunction> {
        let file = kernel.file();
        let module = {
            let mut modules = self.modules.lock().unwrap_or_else(|e| e.into_inner());
            match modules.get(file.name) {
                Some(m) => Arc::clone(m),
                None => {
                    let ptx = nvrtc::ptx(file.name)?;
                    let m = self.ctx.load_module((*ptx).clone()).map_err(Error::cuda)?;
                    modules.insert(file.name, Arc::clone(&m));
                    m
                }
            }
        };
        module.load_function(kernel.name()).map_err(Error::cuda)
    }

    /// The cuBLAS handle on the device's stream, created on first use.
    fn blas(&self) -> Result<&CudaBlas> {
        if let Some(b) = self.blas.get() {
            return Ok(b);
        }
        // SAFETY: only tries to dlopen the library names cudarc knows.
        if !unsafe { cudarc::cublas::sys::is_culib_present() } {
            return Err(Error::Cuda("cuBLAS not found (libcublas.so.13 not loadable)".into()));
        }
        let b = CudaBlas::new(Arc::clone(&self.stream)).map_err(Error::cuda)?;
        Ok(self.blas.get_or_init(|| b))
    }

    /// The cuSOLVER dense handle on the device's stream, created on first use.
    fn solver(&self) -> Result<&DnHandle> {
        static AVAILABLE: OnceLock<bool> = OnceLock::new();
        if let Some(h) = self.solver.get() {
            return Ok(h);
        }
        // SAFETY: only tries to dlopen the library names cudarc knows (cudarc panics on the first
        // call otherwise).
        if !*AVAILABLE.get_or_init(|| unsafe { solver_sys::is_culib_present() }) {
            return Err(Error::Cuda(
                "cuSOLVER not found (no libcusolver.so loadable): the device eigensolver needs CUDA 13's cuSOLVER \
                 on the library path"
                    .into(),
            ));
        }
        let handle = DnHandle::new(Arc::clone(&self.stream)).map_err(Error::cuda)?;
        Ok(self.solver.get_or_init(|| handle))
    }
}

impl Memory for Device {
    type Buffer<T: DeviceElem> = CudaSlice<T>;
}

/// A launch's arguments pushed onto cudarc's argument list.
struct GpuArgs<'s, 'a>(&'s mut LaunchArgs<'a>);

impl<'a> ArgSink<'a, Device> for GpuArgs<'_, 'a> {
    fn buffer<T: DeviceElem>(&mut self, buf: &'a CudaSlice<T>) {
        self.0.arg(buf);
    }

    fn buffer_mut<T: DeviceElem>(&mut self, buf: &'a mut CudaSlice<T>) {
        self.0.arg(buf);
    }

    fn scalar<T: DeviceElem>(&mut self, value: &'a T) {
        self.0.arg(value);
    }
}

impl KernelDevice for Device {
    type Memory = Device;

    fn describe(&self) -> String {
        match self.name() {
            Ok(name) => format!("cuda ({name})"),
            Err(_) => "cuda".into(),
        }
    }

    fn alloc_zeros<T: DeviceElem>(&self, len: usize) -> Result<CudaSlice<T>> {
        self.stream.alloc_zeros::<T>(len).map_err(Error::cuda)
    }

    fn upload<T: DeviceElem>(&self, data: &[T]) -> Result<CudaSlice<T>> {
        self.stream.clone_htod(data).map_err(Error::cuda)
    }

    fn download<T: DeviceElem>(&self, buf: &CudaSlice<T>) -> Result<Vec<T>> {
        self.stream.clone_dtoh(buf).map_err(Error::cuda)
    }

    fn duplicate<T: DeviceElem>(&self, buf: &CudaSlice<T>) -> Result<CudaSlice<T>> {
        self.stream.clone_dtod(buf).map_err(Error::cuda)
    }

    unsafe fn launch<P: Params>(
        &self,
        kernel: &Kernel<P>,
        grid: Dim3,
        block: Dim3,
        mut args: P::Args<'_, Device>,
    ) -> Result<()> {
        let func = self.function(kernel)?;
        let mut builder = self.stream.launch_builder(&func);
        P::push_all(&mut args, &mut GpuArgs(&mut builder));
        let cfg = LaunchConfig {
            grid_dim: (grid.x, grid.y, grid.z),
            block_dim: (block.x, block.y, block.z),
            shared_mem_bytes: 0,
        };
        // SAFETY: the arguments have the kernel's types (the handle's); sizes are the caller's.
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
        unsafe { self.blas()?.gemm(cfg, a, b, c) }.map_err(Error::cuda)
    }

    /// `cusolverDnDsyevd_bufferSize`, a workspace of that size, then `cusolverDnDsyevd` on the
    /// device's stream (asynchronous: `info` is read by the caller).
    fn dsyevd(
        &self,
        call: Syevd,
        a: &mut CudaSlice<f64>,
        w: &mut CudaSlice<f64>,
        info: &mut CudaSlice<i32>,
    ) -> Result<()> {
        use solver_sys::{cublasFillMode_t as Fill, cusolverEigMode_t as Mode};
        let (n, lda) = call.check(a.len(), w.len(), info.len())?;
        let handle = self.solver()?;
        let stream = &self.stream;
        let jobz = if call.vectors { Mode::CUSOLVER_EIG_MODE_VECTOR } else { Mode::CUSOLVER_EIG_MODE_NOVECTOR };
        let uplo = if call.lower { Fill::CUBLAS_FILL_MODE_LOWER } else { Fill::CUBLAS_FILL_MODE_UPPER };
        let mut lwork: c_int = 0;
        {
            let (a_ptr, _a_read) = a.device_ptr(stream);
            let (w_ptr, _w_read) = w.device_ptr(stream);
            // SAFETY: a live handle; a and w hold lda × n and n entries (checked); the query
            // writes only lwork.
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_without_a_driver_is_a_one_line_error() {
        match Device::open(0) {
            Ok(dev) => assert!(dev.compute_capability().is_ok()),
            Err(e) => {
                let msg = e.to_string();
                assert!(!msg.contains('\n'), "{msg}");
                if !driver_available() {
                    assert!(matches!(e, Error::NoDriver));
                    assert_eq!(
                        msg,
                        "no CUDA driver found (libcuda.so not loadable): --device cuda needs an NVIDIA GPU and driver"
                    );
                }
            }
        }
    }

    #[test]
    fn an_ordinal_past_the_last_device_is_an_error() {
        match Device::open(usize::MAX) {
            Ok(_) => panic!("device usize::MAX opened"),
            Err(Error::NoDevice { ordinal, .. }) => assert_eq!(ordinal, usize::MAX),
            Err(e) => assert!(!driver_available() || matches!(e, Error::Cuda(_)), "{e}"),
        }
    }
}
