//! Test devices shared by the test files.

// Each test binary compiles this module and uses a part of it.
#![allow(dead_code)]

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use hagcn_cuda::Error;
use hagcn_cuda::backend::{Arg, EmulatedDevice, KernelDevice, Sgemm};
use hagcn_cuda::emu::Dim3;

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

/// The emulated device, recording the name of every kernel it launches and counting the values
/// that cross between host and device and its eigensolver calls: shows which fused ops ran on
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
    type Buffer = <EmulatedDevice as KernelDevice>::Buffer;
    type IntBuffer = <EmulatedDevice as KernelDevice>::IntBuffer;
    type U64Buffer = <EmulatedDevice as KernelDevice>::U64Buffer;
    type U32Buffer = <EmulatedDevice as KernelDevice>::U32Buffer;
    type F64Buffer = <EmulatedDevice as KernelDevice>::F64Buffer;

    fn describe(&self) -> String {
        EmulatedDevice.describe()
    }
    fn alloc_zeros(&self, len: usize) -> hagcn_cuda::Result<Self::Buffer> {
        EmulatedDevice.alloc_zeros(len)
    }
    fn upload(&self, data: &[f32]) -> hagcn_cuda::Result<Self::Buffer> {
        self.up(data.len());
        EmulatedDevice.upload(data)
    }
    fn download(&self, buf: &Self::Buffer) -> hagcn_cuda::Result<Vec<f32>> {
        let out = EmulatedDevice.download(buf)?;
        self.down(out.len());
        Ok(out)
    }
    fn upload_i32(&self, data: &[i32]) -> hagcn_cuda::Result<Self::IntBuffer> {
        self.up(data.len());
        EmulatedDevice.upload_i32(data)
    }
    fn download_i32(&self, buf: &Self::IntBuffer) -> hagcn_cuda::Result<Vec<i32>> {
        let out = EmulatedDevice.download_i32(buf)?;
        self.down(out.len());
        Ok(out)
    }
    fn upload_u64(&self, data: &[u64]) -> hagcn_cuda::Result<Self::U64Buffer> {
        self.up(data.len());
        EmulatedDevice.upload_u64(data)
    }
    fn download_u64(&self, buf: &Self::U64Buffer) -> hagcn_cuda::Result<Vec<u64>> {
        let out = EmulatedDevice.download_u64(buf)?;
        self.down(out.len());
        Ok(out)
    }
    fn alloc_zeros_u32(&self, len: usize) -> hagcn_cuda::Result<Self::U32Buffer> {
        EmulatedDevice.alloc_zeros_u32(len)
    }
    fn download_u32(&self, buf: &Self::U32Buffer) -> hagcn_cuda::Result<Vec<u32>> {
        let out = EmulatedDevice.download_u32(buf)?;
        self.down(out.len());
        Ok(out)
    }
    fn duplicate(&self, buf: &Self::Buffer) -> hagcn_cuda::Result<Self::Buffer> {
        EmulatedDevice.duplicate(buf)
    }
    fn alloc_zeros_f64(&self, len: usize) -> hagcn_cuda::Result<Self::F64Buffer> {
        EmulatedDevice.alloc_zeros_f64(len)
    }
    fn upload_f64(&self, data: &[f64]) -> hagcn_cuda::Result<Self::F64Buffer> {
        self.up(data.len());
        EmulatedDevice.upload_f64(data)
    }
    fn download_f64(&self, buf: &Self::F64Buffer) -> hagcn_cuda::Result<Vec<f64>> {
        let out = EmulatedDevice.download_f64(buf)?;
        self.down(out.len());
        Ok(out)
    }
    fn dsyevd(
        &self,
        call: hagcn_cuda::backend::Syevd,
        a: &mut Self::F64Buffer,
        w: &mut Self::F64Buffer,
        info: &mut Self::IntBuffer,
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
    unsafe fn launch(
        &self,
        file: &'static str,
        kernel: &'static str,
        grid: Dim3,
        block: Dim3,
        args: &mut [Arg<'_, Self>],
    ) -> hagcn_cuda::Result<()> {
        self.launches.lock().unwrap().push(kernel);
        let mut args: Vec<Arg<'_, EmulatedDevice>> = args.iter_mut().map(Arg::rebind).collect();
        // SAFETY: forwarded to the caller.
        unsafe { EmulatedDevice.launch(file, kernel, grid, block, &mut args) }
    }
    fn sgemm(&self, gemm: Sgemm, a: &Self::Buffer, b: &Self::Buffer, c: &mut Self::Buffer) -> hagcn_cuda::Result<()> {
        self.traffic.lock().unwrap().gemms += 1;
        EmulatedDevice.sgemm(gemm, a, b, c)
    }
}
