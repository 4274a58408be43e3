//! Host math of slicing and concatenation, as `CpuBackend` runs it.

use ndarray::{Array2, ArrayView2, Axis};

use crate::Element;

/// Columns `start .. start + len` of `a`.
pub(crate) fn slice_cols<E: Element>(a: ArrayView2<E>, start: usize, len: usize) -> Array2<E> {
    a.slice(ndarray::s![.., start..start + len]).to_owned()
}

/// A `rows × total` matrix of zeros with `a` written into columns `start ..`.
pub(crate) fn embed_cols<E: Element>(a: ArrayView2<E>, total: usize, start: usize) -> Array2<E> {
    let (rows, cols) = a.dim();
    let mut out = Array2::zeros((rows, total));
    out.slice_mut(ndarray::s![.., start..start + cols]).assign(&a);
    out
}

/// The matrices side by side (same number of rows).
pub(crate) fn concat_cols<E: Element>(parts: &[ArrayView2<E>]) -> Array2<E> {
    ndarray::concatenate(Axis(1), parts).expect("the graph checked the shapes")
}

/// Rows `start .. start + len` of `a`.
pub(crate) fn slice_rows<E: Element>(a: ArrayView2<E>, start: usize, len: usize) -> Array2<E> {
    a.slice(ndarray::s![start..start + len, ..]).to_owned()
}

/// The matrices stacked vertically (same number of columns).
pub(crate) fn concat_rows<E: Element>(parts: &[ArrayView2<E>]) -> Array2<E> {
    ndarray::concatenate(Axis(0), parts).expect("the graph checked the shapes")
}
