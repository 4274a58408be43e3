//! Test devices shared by the test files.

// Each test binary compiles this module and uses a part of it.
#![allow(dead_code)]

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use hagcn_cuda::device::emulated::EmuBuffer;
use hagcn_cuda::device::{Sgemm, Syevd};
use hagcn_cuda::emu::Dim3;
use hagcn_cuda::kernels::{DeviceElem, Kernel, Params};
use hagcn_cuda::{Buffer, EmulatedDevice, Error, KernelDevice};

/// How the test device's eigensolver (`dsyevd`) fails.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Fault {
    /// It does not.
    #[default]
    None,
    /// The solver reports this `info`.
    Info(i32),
    /// An eigenvalue comes back NaN.
    NanValue,
    /// An eigenvector entry comes back infinite.
    InfVector,
    /// The library call itself fails.
    Error,
}

/// The emulated device (its memory, so buffers and arguments pass through unchanged), recording
/// the name of every kernel it launches and counting the values that cross between host and
/// device and its eigensolver calls: shows which fused ops ran on
/// the device, which fell back to the host, and what a training step moves. Its eigensolver can
/// be made to fail ([`Recording::with_eigen_fault`]).
#[derive(Debug, Default)]
pub struct Recording {
    launches: Mutex<Vec<&'static str>>,
    traffic: Mutex<Traffic>,
    fault: Fault,
    eigen_calls: AtomicUsize,
}

/// Values copied each way, and SGEMM calls.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Traffic {
    /// Values copied host → device (any element type).
    pub uploaded: usize,
    /// Values copied device → host.
    pub downloaded: usize,
    /// SGEMMs run.
    pub gemms: usize,
}

impl Recording {
    /// A device whose eigensolver fails as `fault` says.
    pub fn with_eigen_fault(fault: Fault) -> Recording {
        Recording { fault, ..Recording::default() }
    }

    /// How many times `dsyevd` was called.
    pub fn eigen_calls(&self) -> usize {
        self.eigen_calls.load(Ordering::SeqCst)
    }

    /// The kernels launched since the last call, in order.
    pub fn take(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.launches.lock().unwrap())
    }

    /// The traffic since the last call.
    pub fn take_traffic(&self) -> Traffic {
        std::mem::take(&mut *self.traffic.lock().unwrap())
    }

    fn up(&self, n: usize) {
        self.traffic.lock().unwrap().uploaded += n;
    }

    fn down(&self, n: usize) {
        self.traffic.lock().unwrap().downloaded += n;
    }
}

impl KernelDevice for Recording {
    type Memory = EmulatedDevice;

    fn describe(&self) -> String {
        EmulatedDevice.describe()
    }
    fn alloc_zeros<T: DeviceElem>(&self, len: usize) -> hagcn_cuda::Result<Buffer<Self, T>> {
        EmulatedDevice.alloc_zeros(len)
    }
    fn upload<T: DeviceElem>(&self, data: &[T]) -> hagcn_cuda::Result<Buffer<Self, T>> {
        self.up(data.len());
        EmulatedDevice.upload(data)
    }
    fn download<T: DeviceElem>(&self, buf: &Buffer<Self, T>) -> hagcn_cuda::Result<Vec<T>> {
        let out = EmulatedDevice.download(buf)?;
        self.down(out.len());
        Ok(out)
    }
    fn duplicate<T: DeviceElem>(&self, buf: &Buffer<Self, T>) -> hagcn_cuda::Result<Buffer<Self, T>> {
        EmulatedDevice.duplicate(buf)
    }
    unsafe fn launch<P: Params>(
        &self,
        kernel: &Kernel<P>,
        grid: Dim3,
        block: Dim3,
        args: P::Args<'_, EmulatedDevice>,
    ) -> hagcn_cuda::Result<()> {
        self.launches.lock().unwrap().push(kernel.name());
        // SAFETY: forwarded to the caller.
        unsafe { EmulatedDevice.launch(kernel, grid, block, args) }
    }
    fn sgemm(
        &self,
        gemm: Sgemm,
        a: &EmuBuffer<f32>,
        b: &EmuBuffer<f32>,
        c: &mut EmuBuffer<f32>,
    ) -> hagcn_cuda::Result<()> {
        self.traffic.lock().unwrap().gemms += 1;
        EmulatedDevice.sgemm(gemm, a, b, c)
    }
    fn dsyevd(
        &self,
        call: Syevd,
        a: &mut EmuBuffer<f64>,
        w: &mut EmuBuffer<f64>,
        info: &mut EmuBuffer<i32>,
    ) -> hagcn_cuda::Result<()> {
        self.eigen_calls.fetch_add(1, Ordering::SeqCst);
        if self.fault == Fault::Error {
            return Err(Error::Cuda("injected: CUSOLVER_STATUS_INTERNAL_ERROR".into()));
        }
        EmulatedDevice.dsyevd(call, a, w, info)?;
        match self.fault {
            Fault::Info(i) => info.0[0] = i,
            Fault::NanValue => w.0[call.n / 2] = f64::NAN,
            Fault::InfVector => a.0[call.lda * (call.n - 1)] = f64::INFINITY,
            Fault::None | Fault::Error => {}
        }
        Ok(())
    }
}
