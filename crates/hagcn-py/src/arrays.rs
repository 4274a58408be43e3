//! NumPy inputs: checked for shape and dtype with the CLI's messages, and read as
//! `ndarray` views of NumPy's own memory (no copy) where the layout allows.
//!
//! Anything that is not a NumPy array (a list, a PyTorch CPU tensor, …) goes through
//! `numpy.asarray` first. The views stay valid while the caller holds the returned
//! readonly borrow; rust-numpy's borrow checking refuses a mutable Rust borrow meanwhile,
//! but, as for NumPy's own functions that release the GIL, Python code in another thread
//! must not write to an array while it is being read.

use ndarray::ArrayView2;
use numpy::{
    PyArray1, PyArray2, PyArrayDescrMethods, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::prelude::*;

use crate::errors::value_error;

/// An `(n, d)` float array as NumPy holds it.
pub enum Features<'py> {
    /// float32, read in place.
    F32(PyReadonlyArray2<'py, f32>),
    /// float64, converted to float32 (`v as f32`, as the CLI's `.npy` reader does) a block
    /// at a time where it is read.
    F64(PyReadonlyArray2<'py, f64>),
}

/// A borrowed view of [`Features`].
#[derive(Clone, Copy)]
pub enum FeaturesView<'a> {
    /// float32 values.
    F32(ArrayView2<'a, f32>),
    /// float64 values.
    F64(ArrayView2<'a, f64>),
}

impl Features<'_> {
    /// The values, without a copy.
    pub fn view(&self) -> FeaturesView<'_> {
        match self {
            Features::F32(a) => FeaturesView::F32(a.as_array()),
            Features::F64(a) => FeaturesView::F64(a.as_array()),
        }
    }
}

impl FeaturesView<'_> {
    /// `(rows, columns)`.
    pub fn dim(&self) -> (usize, usize) {
        match self {
            FeaturesView::F32(a) => a.dim(),
            FeaturesView::F64(a) => a.dim(),
        }
    }

    /// The first non-finite value in row-major order: `(row, column, value)`.
    pub fn first_non_finite(&self) -> Option<(usize, usize, f64)> {
        match self {
            FeaturesView::F32(a) => a.indexed_iter().find(|(_, v)| !v.is_finite()).map(|((r, c), v)| (r, c, *v as f64)),
            FeaturesView::F64(a) => a.indexed_iter().find(|(_, v)| !v.is_finite()).map(|((r, c), v)| (r, c, *v)),
        }
    }
}

/// `x` as a NumPy array (`numpy.asarray`), checked to have `ndim` dimensions.
fn as_array<'py>(x: &Bound<'py, PyAny>, name: &str, ndim: usize, what: &str) -> PyResult<Bound<'py, PyUntypedArray>> {
    let array = match x.cast::<PyUntypedArray>() {
        Ok(a) => a.clone(),
        Err(_) => {
            let numpy = x.py().import("numpy")?;
            let converted = numpy.call_method1("asarray", (x,))?;
            converted.cast_into::<PyUntypedArray>().map_err(PyErr::from)?
        }
    };
    if array.ndim() != ndim {
        return Err(value_error(format!("{name}: expected a {ndim}-D array {what}, found shape {:?}", array.shape())));
    }
    Ok(array)
}

/// The `(n, d)` embeddings `x` (float32 or float64), named `name` in messages.
pub fn features<'py>(x: &Bound<'py, PyAny>, name: &str) -> PyResult<Features<'py>> {
    let array = as_array(x, name, 2, "(n, d) of float32 or float64")?;
    if let Ok(a) = array.cast::<PyArray2<f32>>() {
        return Ok(Features::F32(a.try_readonly()?));
    }
    if let Ok(a) = array.cast::<PyArray2<f64>>() {
        return Ok(Features::F64(a.try_readonly()?));
    }
    Err(value_error(format!("{name}: expected float32 or float64 values, found dtype {}", dtype_name(&array)?)))
}

/// Packed codes `x`: `(n, bytes)` uint8, as `Hasher.encode` returns and faiss holds them.
pub fn codes<'py>(x: &Bound<'py, PyAny>, name: &str) -> PyResult<PyReadonlyArray2<'py, u8>> {
    let array = as_array(x, name, 2, "(n, bytes) of uint8 packed codes")?;
    match array.cast::<PyArray2<u8>>() {
        Ok(a) => Ok(a.try_readonly()?),
        Err(_) => Err(value_error(format!(
            "{name}: expected uint8 packed codes (as Hasher.encode returns), found dtype {}",
            dtype_name(&array)?
        ))),
    }
}

/// Class labels `x`: a 1-D array of any integer type, as `usize`; a negative label is the
/// CLI's error.
pub fn labels(x: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<usize>> {
    let array = as_array(x, name, 1, "of integer labels")?;
    let kind = array.dtype().kind();
    if kind != b'i' && kind != b'u' {
        return Err(value_error(format!("{name}: expected integer labels, found dtype {}", dtype_name(&array)?)));
    }
    let as_i64 = array.call_method1("astype", ("int64",))?;
    let values: PyReadonlyArray1<i64> = as_i64.cast::<PyArray1<i64>>().map_err(PyErr::from)?.try_readonly()?;
    values
        .as_array()
        .iter()
        .enumerate()
        .map(|(i, &l)| usize::try_from(l).map_err(|_| value_error(format!("{name}: negative label {l} at {i}"))))
        .collect()
}

/// The array's dtype as NumPy prints it.
fn dtype_name(array: &Bound<'_, PyUntypedArray>) -> PyResult<String> {
    Ok(array.dtype().str()?.to_string())
}
