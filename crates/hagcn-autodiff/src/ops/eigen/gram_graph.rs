//! The fused host op behind [`crate::Graph::gram_graph_smallest_eigen`]: the `k` smallest eigenpairs
//! of the normalised adjacency of a Gram graph, computed in `f64` whatever the backend's
//! element type.
//!
//! Forward, for `Z` (`n × h`):
//!
//! ```text
//! A = scale · Z Zᵀ + shift,   Â = D^-1/2 A D^-1/2,   (λ_K, U_K) = the k smallest eigenpairs of Â
//! ```
//!
//! Backward: `∂Â` from [`hagcn_linalg::SmallestEigen::backward`] (spec §5.1, exact, no gap
//! cut-off coarser than rounding level), `∂A` from
//! [`hagcn_linalg::normalized_adjacency_backward`], and `∂Z = scale · (∂A + ∂Aᵀ) Z`.
//!
//! Why `f64` and fused: on real batches the `k` smallest eigenvalues of `Â` sit near `1e-5`
//! with gaps near `1e-7`, while `A`'s entries are near 1. Forming `S + 1` and `Â` in `f32`
//! perturbs `Â` by about `5e-8` in norm, which turns the eigenvectors `U_K` by up to `4e-3`
//! radians (measured on MNIST batches; `docs/ARCHITECTURE.md`). In `f64` from the same `Z`
//! the eigenpairs are exact to rounding. Like the other fused ops, this one runs on the host;
//! a device backend downloads `Z` once and uploads the `n × k` result.

use std::sync::Arc;

use hagcn_linalg::{Real, SmallestEigen};
use ndarray::{Array2, s};

use crate::Result;

/// What the backward pass needs from the forward pass, on the host in `f64`.
pub(crate) struct GramEigenState {
    z: Array2<f64>,
    scale: f64,
    a_hat: Array2<f64>,
    d: ndarray::Array1<f64>,
    eig: SmallestEigen,
}

/// Forward: the packed `(n + 1) × k` result (rows `0..n` the eigenvectors as columns, row `n`
/// the eigenvalues, ascending) and the saved state.
pub(crate) fn forward<E: Real>(
    z: &Array2<E>,
    scale: f64,
    shift: f64,
    k: usize,
) -> Result<(Array2<E>, Arc<GramEigenState>)> {
    let z = z.mapv(|v| v.as_f64());
    let n = z.nrows();
    let mut a = crate::ops::matmul::syrk::gram_f64(scale, &z);
    a.mapv_inplace(|v| v + shift);
    let (a_hat, d) = hagcn_linalg::normalized_adjacency(a.view())?;
    let eig = hagcn_linalg::smallest_eigen(a_hat.view(), k)?;
    let mut packed = Array2::zeros((n + 1, k));
    packed.slice_mut(s![..n, ..]).assign(&eig.vectors.mapv(E::of));
    packed.row_mut(n).assign(&eig.values.mapv(E::of));
    Ok((packed, Arc::new(GramEigenState { z, scale, a_hat, d, eig })))
}

/// Backward: `∂Z` given the gradient of the packed output.
pub(crate) fn backward<E: Real>(state: &GramEigenState, g: &Array2<E>) -> Result<Array2<E>> {
    let n = state.z.nrows();
    let g = g.mapv(|v| v.as_f64());
    let g_hat = state.eig.backward(g.row(n), g.slice(s![..n, ..]))?;
    let g_a = hagcn_linalg::normalized_adjacency_backward(state.a_hat.view(), state.d.view(), g_hat.view())?;
    let sym = &g_a + &g_a.t();
    let mut g_z = sym.dot(&state.z);
    g_z.mapv_inplace(|v| v * state.scale);
    Ok(g_z.mapv(E::of))
}

impl GramEigenState {
    /// Pairs skipped by the backward pass as numerically degenerate.
    pub(crate) fn degenerate_pairs(&self) -> usize {
        self.eig.degenerate_pairs()
    }
}
