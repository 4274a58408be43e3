//! CUDA kernels for hagcn, and the means to check them without a GPU.
//!
//! * [`nvrtc`]: the kernel sources of `kernels/*.cu` (one shared `prelude.cuh`, no standard
//!   headers), compiled to PTX for `compute_90` with NVRTC once per process.
//! * [`Device`]: a CUDA device that loads those modules; opening one on a machine without the
//!   driver is an [`Error`], not a panic.
//! * [`emu`]: the same kernel sources compiled with g++ against a C++20 emulation of the CUDA
//!   built-ins and run on CPU threads, which is how the kernels are tested against the Rust
//!   references (`tests/kernels_on_cpu.rs`).
//! * [`kernels`]: one typed handle per kernel, generated from the kernels' signatures
//!   (`kernels::activations::GELU_FWD_F32`), so a misspelt kernel or an argument of the wrong
//!   kind is a compile error.
//! * [`device`]: the [`KernelDevice`] trait (memory, transfers generic over the element type,
//!   launches by handle, SGEMM, `dsyevd`) and its two implementations, [`Device`] (a GPU, through
//!   cudarc, cuBLAS and cuSOLVER) and [`EmulatedDevice`] (host memory, the emulated kernels, BLAS
//!   and LAPACK).
//! * [`CudaBackend`]: the backend's host code (an `hagcn_autodiff::Backend`) on either device,
//!   one module per kernel file: every basic op and most fused ops (layer norm, Adam, the
//!   normalised adjacency, the tridiagonal assembly, the B-spline basis and its gradient, the
//!   reproducible linear layer) run as kernels; the eigendecomposition runs on the host or, in
//!   f64 through cuSOLVER `dsyevd`, on the device, as its [`EigenPolicy`] says.
//! * [`hamming`]: Hamming top-K ranking against a database of binary codes kept on the device
//!   ([`HammingIndex`]), on the same two devices.
//!
//! No CUDA installation is needed to build, lint or test this crate: cudarc is loaded
//! dynamically and every entry point probes for its library first.
//!
//! ```
//! use hagcn_cuda::{Device, Error, emu::{self, Dim3}};
//!
//! // The sigmoid kernel, executed on the CPU.
//! let x = [0.0f32, 2.0];
//! let mut y = [0.0f32; 2];
//! // SAFETY: both buffers hold the 2 entries the kernel touches.
//! unsafe { emu::kernels::sigmoid_fwd_f32(Dim3::x(1), Dim3::x(32), x.as_ptr(), y.as_mut_ptr(), 2) }?;
//! assert_eq!(y[0], 0.5);
//!
//! // On a machine without an NVIDIA driver, opening a device is a plain error.
//! match Device::open(0) {
//!     Ok(device) => println!("running on {}", device.name()?),
//!     Err(Error::NoDriver) => println!("no GPU here"),
//!     Err(e) => println!("{e}"),
//! }
//! # Ok::<(), Error>(())
//! ```
#![warn(missing_docs)]

mod backend;
pub mod device;
mod eigen_policy;
pub mod emu;
mod error;
pub mod kernels;
pub mod nvrtc;
mod ops;
mod tensor;

pub use backend::CudaBackend;
pub use device::emulated::EmulatedDevice;
pub use device::gpu::{Device, device_count, driver_available};
pub use device::{Buffer, KernelDevice};
pub use eigen_policy::EigenPolicy;
pub use error::{Error, Result};
pub use ops::bspline::BSPLINE_MAX_KNOTS;
pub use ops::eigen::EigenSolver;
pub use ops::hamming;
pub use ops::hamming::HammingIndex;
pub use tensor::DeviceTensor;
