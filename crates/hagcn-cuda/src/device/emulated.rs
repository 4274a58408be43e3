//! The emulated device: host memory, the kernels run by the CPU emulator ([`crate::emu`]), BLAS
//! for SGEMM (in place of cuBLAS) and LAPACK `dsyevd` (in place of cuSOLVER), so that the
//! backend's host code runs, and is tested, without a GPU.

use ndarray::{ArrayView2, ShapeBuilder, linalg::general_mat_mul};

use super::{KernelDevice, Sgemm, Syevd};
use crate::emu::{Dim3, RawArg};
use crate::error::{Error, Result};
use crate::kernels::{ArgSink, DeviceElem, Kernel, Memory, Params};

/// Host memory, the kernels run by the CPU emulator, BLAS for SGEMM and LAPACK for `dsyevd`.
#[derive(Debug, Default, Clone, Copy)]
pub struct EmulatedDevice;

/// A buffer of the [`EmulatedDevice`]: a vector in host memory.
#[derive(Debug, Clone, PartialEq)]
pub struct EmuBuffer<T>(pub Vec<T>);

impl Memory for EmulatedDevice {
    type Buffer<T: DeviceElem> = EmuBuffer<T>;
}

/// A launch's arguments as the emulator's raw pointers and scalars.
struct RawArgs(Vec<RawArg>);

impl<'a> ArgSink<'a, EmulatedDevice> for RawArgs {
    fn buffer<T: DeviceElem>(&mut self, buf: &'a EmuBuffer<T>) {
        self.0.push(T::raw_const(buf.0.as_ptr()));
    }

    fn buffer_mut<T: DeviceElem>(&mut self, buf: &'a mut EmuBuffer<T>) {
        self.0.push(T::raw_mut(buf.0.as_mut_ptr()));
    }

    fn scalar<T: DeviceElem>(&mut self, value: &'a T) {
        self.0.push(value.raw_value());
    }
}

impl KernelDevice for EmulatedDevice {
    type Memory = EmulatedDevice;

    fn describe(&self) -> String {
        "cuda (emulated on the CPU)".into()
    }

    fn alloc_zeros<T: DeviceElem>(&self, len: usize) -> Result<EmuBuffer<T>> {
        Ok(EmuBuffer(vec![T::default(); len]))
    }

    fn upload<T: DeviceElem>(&self, data: &[T]) -> Result<EmuBuffer<T>> {
        Ok(EmuBuffer(data.to_vec()))
    }

    fn download<T: DeviceElem>(&self, buf: &EmuBuffer<T>) -> Result<Vec<T>> {
        Ok(buf.0.clone())
    }

    fn duplicate<T: DeviceElem>(&self, buf: &EmuBuffer<T>) -> Result<EmuBuffer<T>> {
        Ok(buf.clone())
    }

    unsafe fn launch<P: Params>(
        &self,
        kernel: &Kernel<P>,
        grid: Dim3,
        block: Dim3,
        mut args: P::Args<'_, EmulatedDevice>,
    ) -> Result<()> {
        let mut raw = RawArgs(Vec::new());
        P::push_all(&mut args, &mut raw);
        // SAFETY: the pointers come from buffers borrowed for the launch (shared ones read, unique
        // ones written); sizes are the caller's.
        unsafe { kernel.launch_emulated(grid, block, &raw.0) }
    }

    fn sgemm(&self, g: Sgemm, a: &EmuBuffer<f32>, b: &EmuBuffer<f32>, c: &mut EmuBuffer<f32>) -> Result<()> {
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

    /// LAPACK `dsyevd` on the host ([`hagcn_linalg::eigh::lapack_dsyevd`]), `info` written to
    /// `info[0]` as cuSOLVER writes its `devInfo`.
    fn dsyevd(
        &self,
        call: Syevd,
        a: &mut EmuBuffer<f64>,
        w: &mut EmuBuffer<f64>,
        info: &mut EmuBuffer<i32>,
    ) -> Result<()> {
        call.check(a.0.len(), w.0.len(), info.0.len())?;
        info.0[0] = hagcn_linalg::eigh::lapack_dsyevd(call.vectors, call.lower, call.n, &mut a.0, call.lda, &mut w.0)
            .map_err(Error::InvalidArgument)?;
        Ok(())
    }
}

fn col_major(buf: &EmuBuffer<f32>, rows: usize, cols: usize) -> Result<ArrayView2<'_, f32>> {
    let data = buf
        .0
        .get(..rows * cols)
        .ok_or_else(|| Error::InvalidArgument(format!("sgemm: a buffer is shorter than {rows} × {cols}")))?;
    ArrayView2::from_shape((rows, cols).f(), data).map_err(|e| Error::InvalidArgument(format!("sgemm: {e}")))
}
