//! The device the CLI's models train and encode on, chosen in this one place from `--device`
//! (`cpu`, `cuda`, `cuda:N`, or `cuda-emulated`).
//!
//! [`open`] turns the choice into a [`Backend`], and [`with_backend!`] runs a generic body on
//! it: the body is compiled once per backend, so the model, the training loop and the encoder
//! stay device-agnostic. The CUDA backends exist when the binary is built with
//! `--features cuda`; without it, or without a GPU and driver, `--device cuda` is a one-line
//! error.

use std::fmt;
use std::str::FromStr;

use anyhow::{Result, bail};
use hagcn_autodiff::{Backend, CpuBackend};
use serde_with::{DeserializeFromStr, SerializeDisplay};

/// Where models run, as written on the command line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, SerializeDisplay, DeserializeFromStr)]
pub enum Device {
    /// The CPU backend (ndarray + OpenBLAS), f32.
    #[default]
    Cpu,
    /// CUDA device number `N` (`cuda` is `cuda:0`).
    Cuda(usize),
    /// The CUDA backend's host code on the CPU emulation of its kernels (hagcn-cuda's
    /// `EmulatedDevice`): for testing the CUDA path without a GPU; very slow.
    CudaEmulated,
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(n) => write!(f, "cuda:{n}"),
            Device::CudaEmulated => f.write_str("cuda-emulated"),
        }
    }
}

impl FromStr for Device {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda(0)),
            "cuda-emulated" => Ok(Device::CudaEmulated),
            other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
                Some(Ok(n)) => Ok(Device::Cuda(n)),
                _ => bail!("unknown device {s:?}; expected cpu, cuda, cuda:N or cuda-emulated"),
            },
        }
    }
}

/// Where a CUDA backend runs the symmetric eigendecomposition: `host` (LAPACK, between a
/// download and an upload), `device` (cuSOLVER), or `auto:N` (the device from `N × N` up).
/// The CPU backend ignores it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, SerializeDisplay, DeserializeFromStr)]
pub enum EigenSolver {
    /// LAPACK on the host (the default until a GPU measurement says otherwise).
    #[default]
    Host,
    /// cuSOLVER on the device, falling back to the host where it fails.
    Device,
    /// The device for matrices of at least `min_n` rows, the host below.
    Auto {
        /// The smallest size solved on the device.
        min_n: usize,
    },
}

impl fmt::Display for EigenSolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EigenSolver::Host => f.write_str("host"),
            EigenSolver::Device => f.write_str("device"),
            EigenSolver::Auto { min_n } => write!(f, "auto:{min_n}"),
        }
    }
}

impl FromStr for EigenSolver {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "host" => Ok(EigenSolver::Host),
            "device" => Ok(EigenSolver::Device),
            other => match other.strip_prefix("auto:").map(str::parse::<usize>) {
                Some(Ok(min_n)) => Ok(EigenSolver::Auto { min_n }),
                _ => bail!("unknown eigensolver placement {s:?}; expected host, device or auto:N"),
            },
        }
    }
}

/// The CUDA backend on a GPU.
#[cfg(feature = "cuda")]
pub type GpuBackend = hagcn_cuda::CudaBackend<hagcn_cuda::Device>;
/// The CUDA backend on the CPU emulation of its kernels.
#[cfg(feature = "cuda")]
pub type EmulatedBackend = hagcn_cuda::CudaBackend<hagcn_cuda::EmulatedDevice>;

/// An opened device: the backend every model of a command is built on.
#[derive(Clone)]
pub enum Opened {
    /// [`Device::Cpu`].
    Cpu(CpuBackend<f32>),
    /// [`Device::Cuda`].
    #[cfg(feature = "cuda")]
    Cuda(GpuBackend),
    /// [`Device::CudaEmulated`].
    #[cfg(feature = "cuda")]
    Emulated(EmulatedBackend),
}

/// Runs `$body` with `$b` bound to the backend of the [`Opened`] device `$opened`; the body
/// is compiled once per backend.
macro_rules! with_backend {
    ($opened:expr, |$b:ident| $body:expr) => {{
        match $opened {
            $crate::device::Opened::Cpu($b) => $body,
            #[cfg(feature = "cuda")]
            $crate::device::Opened::Cuda($b) => $body,
            #[cfg(feature = "cuda")]
            $crate::device::Opened::Emulated($b) => $body,
        }
    }};
}
pub(crate) use with_backend;

impl Opened {
    /// The backend's description (for example `cpu (OpenBLAS Zen)`).
    pub fn name(&self) -> String {
        with_backend!(self, |b| b.name())
    }
}

/// Opens the requested device, with the eigensolver placed by `eigen` (CUDA backends only).
///
/// # Errors
///
/// One line saying why `cuda` cannot be used: this binary was built without the `cuda`
/// feature, there is no NVIDIA driver, or no such device.
pub fn open(requested: Device, eigen: EigenSolver) -> Result<Opened> {
    #[cfg(not(feature = "cuda"))]
    let _ = eigen; // only CUDA backends place their eigensolver
    match requested {
        Device::Cpu => Ok(Opened::Cpu(CpuBackend::new())),
        #[cfg(feature = "cuda")]
        Device::Cuda(n) => {
            let device = hagcn_cuda::Device::open(n).map_err(|e| anyhow::anyhow!("--device cuda:{n}: {e}"))?;
            Ok(Opened::Cuda(GpuBackend::new(std::sync::Arc::new(device)).with_eigen_policy(eigen.policy())))
        }
        #[cfg(feature = "cuda")]
        Device::CudaEmulated => Ok(Opened::Emulated(
            EmulatedBackend::new(std::sync::Arc::new(hagcn_cuda::EmulatedDevice)).with_eigen_policy(eigen.policy()),
        )),
        #[cfg(not(feature = "cuda"))]
        Device::Cuda(_) | Device::CudaEmulated => bail!(
            "--device {requested}: this hagcn was built without CUDA support; rebuild with \
             `cargo build --release --features cuda` (or use --device cpu)"
        ),
    }
}

#[cfg(feature = "cuda")]
impl EigenSolver {
    /// The CUDA backend's policy for this placement.
    fn policy(self) -> hagcn_cuda::EigenPolicy {
        use hagcn_cuda::EigenPolicy;
        match self {
            EigenSolver::Host => EigenPolicy::Host,
            EigenSolver::Device => EigenPolicy::Device,
            EigenSolver::Auto { min_n } => EigenPolicy::Auto { min_device_n: min_n },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_devices() {
        assert_eq!("cpu".parse::<Device>().unwrap(), Device::Cpu);
        assert_eq!("CUDA".parse::<Device>().unwrap(), Device::Cuda(0));
        assert_eq!("cuda:3".parse::<Device>().unwrap(), Device::Cuda(3));
        assert_eq!("cuda-emulated".parse::<Device>().unwrap(), Device::CudaEmulated);
        assert_eq!(Device::Cuda(3).to_string(), "cuda:3");
        assert_eq!(Device::CudaEmulated.to_string(), "cuda-emulated");
        for bad in ["gpu", "cuda:", "cuda:x", "cuda:-1"] {
            assert!(
                bad.parse::<Device>().unwrap_err().to_string().contains("expected cpu, cuda, cuda:N or cuda-emulated")
            );
        }
    }

    #[test]
    fn parses_and_prints_eigensolver_placements() {
        for (text, value) in [
            ("host", EigenSolver::Host),
            ("device", EigenSolver::Device),
            ("auto:512", EigenSolver::Auto { min_n: 512 }),
        ] {
            assert_eq!(text.parse::<EigenSolver>().unwrap(), value);
            assert_eq!(value.to_string(), text);
        }
        for bad in ["gpu", "auto", "auto:x"] {
            assert!(bad.parse::<EigenSolver>().unwrap_err().to_string().contains("host, device or auto:N"));
        }
    }

    #[test]
    fn cuda_without_a_gpu_is_a_one_line_error() {
        match open(Device::Cuda(0), EigenSolver::Host) {
            Ok(opened) => assert!(opened.name().contains("cuda")),
            Err(e) => {
                let msg = format!("{e:#}");
                assert!(msg.starts_with("--device cuda:0: "), "{msg}");
                assert!(!msg.contains('\n'), "{msg}");
            }
        }
    }

    #[cfg(feature = "cuda")]
    #[test]
    fn the_emulated_device_opens_everywhere() {
        assert!(open(Device::CudaEmulated, EigenSolver::Device).unwrap().name().contains("emulated"));
    }
}
