//! Host math of the symmetric tridiagonal assembly and its gradient.

use ndarray::{Array2, ArrayView2};

use crate::Element;

/// The symmetric tridiagonal matrix with diagonal `alpha` (`1 × m`) and off-diagonals `beta`.
pub(crate) fn tridiagonal<E: Element>(alpha: ArrayView2<E>, beta: ArrayView2<E>) -> Array2<E> {
    let m = alpha.ncols();
    let mut out = Array2::zeros((m, m));
    for i in 0..m {
        out[[i, i]] = alpha[[0, i]];
        if i + 1 < m {
            out[[i, i + 1]] = beta[[0, i]];
            out[[i + 1, i]] = beta[[0, i]];
        }
    }
    out
}

/// `(diag(G), G_(i,i+1) + G_(i+1,i))`.
pub(crate) fn tridiagonal_backward<E: Element>(g: ArrayView2<E>) -> (Array2<E>, Array2<E>) {
    let m = g.nrows();
    let alpha = Array2::from_shape_fn((1, m), |(_, i)| g[[i, i]]);
    let beta = Array2::from_shape_fn((1, m.saturating_sub(1)), |(_, i)| g[[i, i + 1]] + g[[i + 1, i]]);
    (alpha, beta)
}
