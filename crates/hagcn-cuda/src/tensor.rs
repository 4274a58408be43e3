//! The CUDA backend's tensors: row-major `f32` matrices in a device buffer, shared by clones,
//! and the few things every op does with them (make one, copy it to and from the host, check its
//! shape, get it for writing).

use std::sync::Arc;

use ndarray::{Array2, ArrayView2};

use crate::device::{Buffer, KernelDevice};
use crate::error::{Error, Result};

/// A row-major `rows × cols` f32 matrix on a [`KernelDevice`]; clones share the buffer.
#[derive(Debug)]
pub struct DeviceTensor<B> {
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) buf: Arc<B>,
}

impl<B> Clone for DeviceTensor<B> {
    fn clone(&self) -> Self {
        DeviceTensor { rows: self.rows, cols: self.cols, buf: Arc::clone(&self.buf) }
    }
}

impl<B> DeviceTensor<B> {
    /// A `rows × cols` tensor holding `buf`.
    pub(crate) fn new(rows: usize, cols: usize, buf: B) -> Self {
        DeviceTensor { rows, cols, buf: Arc::new(buf) }
    }

    /// `(rows, cols)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// `rows × cols`.
    pub(crate) fn len(&self) -> usize {
        self.rows * self.cols
    }
}

/// The tensors of the backend on `D`.
pub(crate) type Tensor<D> = DeviceTensor<Buffer<D, f32>>;

/// `hagcn_autodiff`'s result, what the backend's ops return.
pub(crate) type AdResult<T> = hagcn_autodiff::Result<T>;

/// A buffer of `len` f32 zeros (the output of a kernel).
pub(crate) fn alloc<D: KernelDevice>(dev: &D, len: usize) -> Result<Buffer<D, f32>> {
    dev.alloc_zeros::<f32>(len)
}

/// A `rows × cols` tensor of zeros.
pub(crate) fn zeros<D: KernelDevice>(dev: &D, rows: usize, cols: usize) -> Result<Tensor<D>> {
    Ok(DeviceTensor::new(rows, cols, alloc(dev, rows * cols)?))
}

/// `a` copied to the device.
pub(crate) fn upload<D: KernelDevice>(dev: &D, a: ArrayView2<f32>) -> AdResult<Tensor<D>> {
    let data = a.as_standard_layout();
    let buf = dev.upload(data.as_slice().expect("standard layout"))?;
    Ok(DeviceTensor::new(a.nrows(), a.ncols(), buf))
}

/// `t` copied to the host.
pub(crate) fn download<D: KernelDevice>(dev: &D, t: &Tensor<D>) -> AdResult<Array2<f32>> {
    let mut data = dev.download(&*t.buf)?;
    data.truncate(t.len());
    Ok(Array2::from_shape_vec((t.rows, t.cols), data).map_err(|e| Error::InvalidArgument(format!("download: {e}")))?)
}

/// The tensor's buffer for writing, copied first if another tensor shares it.
pub(crate) fn unique<'t, D: KernelDevice>(dev: &D, t: &'t mut Tensor<D>) -> Result<&'t mut Buffer<D, f32>> {
    if Arc::get_mut(&mut t.buf).is_none() {
        t.buf = Arc::new(dev.duplicate(&*t.buf)?);
    }
    Ok(Arc::get_mut(&mut t.buf).expect("unique after the copy"))
}

/// A shape error of `op` unless `a` is `want`.
pub(crate) fn check_shape<B>(op: &'static str, a: &DeviceTensor<B>, want: (usize, usize)) -> AdResult<()> {
    if a.shape() != want {
        return Err(hagcn_autodiff::Error::Shape { op, left: a.shape(), right: want });
    }
    Ok(())
}
