//! The device the CLI's models train and encode on, chosen in this one place: the CPU
//! backend in f32 (ndarray + OpenBLAS). A device backend is selected here, and nowhere else,
//! when one exists.

use hagcn_autodiff::CpuBackend;

/// The backend of every model the CLI builds (`experiment`, `train`, `encode`).
pub type DeviceBackend = CpuBackend<f32>;

/// A handle to the device.
pub fn device() -> DeviceBackend {
    CpuBackend::new()
}
