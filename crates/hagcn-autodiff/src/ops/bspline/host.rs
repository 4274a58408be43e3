//! Host math of the B-spline basis: [`hagcn_linalg::bspline_basis`] and its gradient with
//! respect to the points, on a `1 × m` row of points.

use ndarray::{Array2, ArrayView2, Axis};

use crate::{Element, Result};

/// The B-spline basis at the points of the row `x`.
pub(crate) fn bspline_basis<E: Element>(x: ArrayView2<E>, n_basis: usize, degree: usize) -> Result<Array2<E>> {
    Ok(hagcn_linalg::bspline_basis(x.row(0), n_basis, degree)?.values)
}

/// Its gradient with respect to the points, as a `1 × m` row.
pub(crate) fn bspline_basis_backward<E: Element>(
    x: ArrayView2<E>,
    n_basis: usize,
    degree: usize,
    g: ArrayView2<E>,
) -> Result<Array2<E>> {
    Ok(hagcn_linalg::bspline_basis_backward(x.row(0), n_basis, degree, g)?.insert_axis(Axis(0)))
}
