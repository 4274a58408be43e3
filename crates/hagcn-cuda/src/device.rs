//! A CUDA device: context, stream and the kernel modules loaded on it.
//!
//! [`Device::open`] checks that `libcuda` can be loaded before it calls into the driver, so a
//! machine without an NVIDIA driver gets [`Error::NoDriver`] rather than cudarc's panic.
//! Modules are compiled by [`crate::nvrtc`] once per process and loaded once per device.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::{CudaContext, CudaFunction, CudaModule, CudaStream};

use crate::{Error, Result, nvrtc};

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
    /// The cuBLAS handle, created on the first GEMM (crate::backend).
    pub(crate) blas: OnceLock<cudarc::cublas::CudaBlas>,
    /// The cuSOLVER dense handle, created on the first eigendecomposition (crate::backend).
    pub(crate) solver: OnceLock<cudarc::cusolver::DnHandle>,
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

    /// The kernel `kernel` of `kernels/<file>.cu`, compiling the file (once per process) and
    /// loading it (once per device) when needed.
    ///
    /// # Errors
    ///
    /// As [`nvrtc::ptx`], and [`Error::Cuda`] when the driver cannot load the module or has no
    /// such function.
    pub fn function(&self, file: &str, kernel: &str) -> Result<CudaFunction> {
        let module = {
            let file = nvrtc::kernel_file(file)?;
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
        module.load_function(kernel).map_err(Error::cuda)
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
