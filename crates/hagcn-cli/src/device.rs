//! The device the CLI's models train and encode on, chosen in this one place from `--device`
//! (`cpu`, `cuda` or `cuda:N`). Today every model runs on the CPU backend in f32 (ndarray +
//! OpenBLAS); a device backend is selected here, and nowhere else, when one exists.

use std::fmt;
use std::str::FromStr;

use anyhow::{Result, bail};
use hagcn_autodiff::CpuBackend;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The backend of every model the CLI builds (`experiment`, `train`, `encode`).
pub type DeviceBackend = CpuBackend<f32>;

/// Where models run, as written on the command line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Device {
    /// The CPU backend (ndarray + OpenBLAS), f32.
    #[default]
    Cpu,
    /// CUDA device number `N` (`cuda` is `cuda:0`).
    Cuda(usize),
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

impl FromStr for Device {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda(0)),
            other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
                Some(Ok(n)) => Ok(Device::Cuda(n)),
                _ => bail!("unknown device {s:?}; expected cpu, cuda or cuda:N"),
            },
        }
    }
}

impl Serialize for Device {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Device {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(|e: anyhow::Error| serde::de::Error::custom(e))
    }
}

/// A handle to the requested device.
///
/// # Errors
///
/// `cuda:N` is an error with one line saying why: this build has no CUDA backend.
pub fn device(requested: Device) -> Result<DeviceBackend> {
    match requested {
        Device::Cpu => Ok(CpuBackend::new()),
        Device::Cuda(n) => bail!(
            "--device cuda:{n}: this hagcn has no CUDA training backend yet (crates/hagcn-cuda holds its kernels); \
             use --device cpu"
        ),
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
        assert_eq!(Device::Cuda(3).to_string(), "cuda:3");
        for bad in ["gpu", "cuda:", "cuda:x", "cuda:-1"] {
            assert!(bad.parse::<Device>().unwrap_err().to_string().contains("expected cpu, cuda or cuda:N"));
        }
        assert!(device(Device::Cuda(0)).unwrap_err().to_string().contains("--device cuda:0"));
    }
}
