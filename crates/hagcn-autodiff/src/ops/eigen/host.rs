//! Host math of the full symmetric eigendecomposition in the packed `(n + 1) × n` layout
//! (rows `0..n` the eigenvectors as columns, row `n` the eigenvalues, ascending), in `f64`
//! whatever the element type.

use ndarray::{Array2, ArrayView2};

use crate::{Element, Result};

/// The packed `(n + 1) × n` eigendecomposition (eigenvectors, then eigenvalues), in f64.
pub(crate) fn symmetric_eigen<E: Element>(a: ArrayView2<E>) -> Result<Array2<E>> {
    // LAPACK in f64 whatever E is: f32 eigensolvers fail to converge on batch graphs.
    let eig = hagcn_linalg::symmetric_eigen(a.mapv(|v| v.as_f64()).view())?;
    let n = eig.values.len();
    let mut packed = Array2::zeros((n + 1, n));
    packed.slice_mut(ndarray::s![..n, ..]).assign(&eig.vectors.mapv(E::of));
    packed.row_mut(n).assign(&eig.values.mapv(E::of));
    Ok(packed)
}

/// Spec §5.1 from the packed decomposition and the packed gradient.
pub(crate) fn symmetric_eigen_backward<E: Element>(packed: ArrayView2<E>, g: ArrayView2<E>) -> Result<Array2<E>> {
    let n = packed.ncols();
    let u = packed.slice(ndarray::s![..n, ..]);
    let gu = g.slice(ndarray::s![..n, ..]);
    Ok(hagcn_linalg::symmetric_eigen_backward(packed.row(n), u, g.row(n), gu)?)
}
