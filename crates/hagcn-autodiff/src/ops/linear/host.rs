//! Host math of the fully connected layer as a GEMM (what `CpuBackend::linear` runs); the
//! reproducible variant is `reproducible.rs`.

use ndarray::{Array2, ArrayView2, linalg::general_mat_mul};

use crate::Element;

/// `x · wᵀ + b` with the `1 × out` row `b` broadcast over rows.
pub(crate) fn linear<E: Element>(x: ArrayView2<E>, w: ArrayView2<E>, b: ArrayView2<E>) -> Array2<E> {
    // C = 1 (broadcast bias), then C = x wᵀ + 1·C: one GEMM, no separate bias pass.
    let mut c = b.broadcast((x.nrows(), w.nrows())).expect("the graph checked the shapes").to_owned();
    general_mat_mul(E::one(), &x, &w.t(), E::one(), &mut c);
    c
}
