//! Host math of the normalised adjacency: [`hagcn_linalg::normalized_adjacency`] and its
//! gradient, with the degree vector `d` kept as an `n × 1` matrix.

use ndarray::{Array2, ArrayView2, Axis};

use crate::{Element, Result};

/// `(Â, d)` with `d` as `n × 1`.
pub(crate) fn normalized_adjacency<E: Element>(a: ArrayView2<E>) -> Result<(Array2<E>, Array2<E>)> {
    let (a_hat, d) = hagcn_linalg::normalized_adjacency(a)?;
    Ok((a_hat, d.insert_axis(Axis(1))))
}

/// Gradient with respect to `A` given `Â`, `d` (`n × 1`) and `∂Â`.
pub(crate) fn normalized_adjacency_backward<E: Element>(
    a_hat: ArrayView2<E>,
    d: ArrayView2<E>,
    g: ArrayView2<E>,
) -> Result<Array2<E>> {
    Ok(hagcn_linalg::normalized_adjacency_backward(a_hat, d.column(0), g)?)
}
