//! The crate's error type.

/// Everything that can go wrong in hagcn-cuda.
///
/// A missing driver, device or NVRTC library is an error, never a panic: cudarc panics when it
/// cannot load a CUDA library, so every entry point probes for the library first.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `libcuda.so` cannot be loaded.
    #[error("no CUDA driver found (libcuda.so not loadable): --device cuda needs an NVIDIA GPU and driver")]
    NoDriver,
    /// The driver loaded, but there is no device with this ordinal.
    #[error("no CUDA device {ordinal}: the driver reports {count} device(s)")]
    NoDevice {
        /// The ordinal asked for.
        ordinal: usize,
        /// The devices the driver reports.
        count: usize,
    },
    /// `libnvrtc.so.13` cannot be loaded.
    #[error(
        "NVRTC not found (libnvrtc.so.13 not loadable): install CUDA 13's NVRTC, or put the folder holding \
         libnvrtc.so.13 on LD_LIBRARY_PATH (`cargo xtask cuda-kernels` does this with the PyPI wheel)"
    )]
    NoNvrtc,
    /// No file `kernels/<name>.cu` is embedded in the crate.
    #[error("no kernel file {name:?} in crates/hagcn-cuda/kernels (known: {known})")]
    UnknownKernelFile {
        /// The name asked for.
        name: String,
        /// The embedded file names, comma-separated.
        known: String,
    },
    /// NVRTC rejected a kernel file.
    #[error("NVRTC failed to compile kernels/{file}.cu ({status}):\n{log}")]
    Compile {
        /// The kernel file.
        file: &'static str,
        /// NVRTC's status.
        status: String,
        /// NVRTC's log.
        log: String,
    },
    /// Arguments the backend cannot use (shapes that differ, sizes over the kernels' `int`).
    #[error("{0}")]
    InvalidArgument(String),
    /// The CPU emulator refused a launch (an invalid grid or block).
    #[error("CUDA emulator: {0}")]
    Emulator(String),
    /// An error reported by the CUDA driver, cuBLAS or cuSOLVER.
    #[error(transparent)]
    Cuda(Box<dyn std::error::Error + Send + Sync>),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Boxes a CUDA library error.
    pub(crate) fn cuda(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Cuda(Box::new(err))
    }
}

/// Device errors of the backend's ops are `hagcn_autodiff::Error::Backend`.
impl From<Error> for hagcn_autodiff::Error {
    fn from(e: Error) -> Self {
        hagcn_autodiff::Error::Backend(Box::new(e))
    }
}
