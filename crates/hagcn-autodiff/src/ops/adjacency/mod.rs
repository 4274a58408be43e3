//! The normalised adjacency of a graph with positive degrees: [`Graph::normalized_adjacency`].
//!
//! ```text
//! d_i = (Σ_j A_ij)^-1/2,   Â = D^-1/2 A D^-1/2,   Â_ij = d_i A_ij d_j
//! ∂A_ij = G_ij d_i d_j − d_i²/2 · (Σ_l G_il Â_il + Σ_k G_ki Â_ki)
//! ```
//!
//! A node whose degree is not positive (or not finite) is an error naming the node
//! ([`hagcn_linalg::normalized_adjacency`]). The forward pass saves `d` for the backward pass.
//!
//! Kernels: [`Backend::normalized_adjacency`] and [`Backend::normalized_adjacency_backward`],
//! fused ops whose defaults run the host math (`host.rs`, also what `CpuBackend` calls)
//! between a download and an upload.
//!
//! CUDA: `crates/hagcn-cuda/kernels/adjacency.cu` and `crates/hagcn-cuda/src/ops/adjacency.rs`.

pub(crate) mod host;

use crate::backend::Backend;
use crate::gradients::Accumulator;
use crate::graph::{Graph, Op, Var};
use crate::{Error, Result};

impl<B: Backend> Graph<B> {
    /// The normalised adjacency `Â = D^-1/2 A D^-1/2` of a square `A` with positive row sums
    /// (see [`hagcn_linalg::normalized_adjacency`]).
    pub fn normalized_adjacency(&mut self, a: Var) -> Result<Var> {
        let (rows, cols) = self.shape(a)?;
        if rows != cols {
            return Err(Error::Shape { op: "normalized_adjacency", left: (rows, cols), right: (rows, rows) });
        }
        let (value, d) = self.backend.normalized_adjacency(self.value(a)?)?;
        Ok(self.push(value, Op::NormalizedAdjacency { a, d }, &[a]))
    }
}

/// Backward of [`Graph::normalized_adjacency`] given its output `Â` and the saved `d`.
pub(crate) fn backward_normalized_adjacency<B: Backend>(
    grads: &mut Accumulator<'_, B>,
    a: Var,
    a_hat: &B::Tensor,
    d: &B::Tensor,
    g: &B::Tensor,
) -> Result<()> {
    let ga = grads.backend().normalized_adjacency_backward(a_hat, d, g)?;
    grads.add(a, ga)
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use crate::ops::testing::{be, close, grads_of};
    use crate::test_utils::{Tolerance, assert_gradcheck, random_matrix};
    use crate::{Backend, Graph};

    #[test]
    fn normalized_adjacency_literal() {
        // A = [[2, 1], [1, 3]]: degrees 3, 4, d = [1/√3, 1/2], Â = [[2/3, 1/(2√3)], [1/(2√3), 3/4]].
        // L = Σ Â (G = 1), with row sums r_i = Σ_l Â_il (= column sums, Â is symmetric):
        // ∂A_ij = d_i d_j − d_i² r_i, so ∂A_00 = 1/3 − r_0/3 = 1/9 − 1/(6√3),
        // ∂A_01 = 1/(2√3) − r_0/3 = 1/(3√3) − 2/9, ∂A_10 = 1/(2√3) − r_1/4 = 3/(8√3) − 3/16,
        // ∂A_11 = 1/4 − r_1/4 = 1/16 − 1/(8√3).
        let s3 = 3.0f64.sqrt();
        let (a_hat, g) = grads_of(&[array![[2.0, 1.0], [1.0, 3.0]]], |g, v| g.normalized_adjacency(v[0]));
        let off = 1.0 / (2.0 * s3);
        assert!(close(&a_hat, &array![[2.0 / 3.0, off], [off, 0.75]], 1e-15), "{a_hat}");
        let expect = array![
            [1.0 / 9.0 - 1.0 / (6.0 * s3), 1.0 / (3.0 * s3) - 2.0 / 9.0],
            [3.0 / (8.0 * s3) - 3.0 / 16.0, 1.0 / 16.0 - 1.0 / (8.0 * s3)]
        ];
        assert!(close(&g[0], &expect, 1e-15), "{}", g[0]);
    }

    #[test]
    fn normalized_adjacency_gradcheck() {
        // A = S + 1 from a similarity S = Z Zᵀ / n, as in the model.
        assert_gradcheck(
            |g, v| {
                let s = g.matmul(v[0], false, v[0], true)?;
                let s = g.scale(s, 1.0 / 5.0)?;
                let a = g.add_scalar(s, 1.0)?;
                g.normalized_adjacency(a)
            },
            &[random_matrix(5, 3, -1.0, 1.0, 15)],
            Tolerance::default(),
        );
        let be = be();
        let mut g = Graph::new(be.clone());
        let a = g.constant(be.upload(array![[1.0, -3.0], [1.0, 1.0]].view()).unwrap());
        let err = g.normalized_adjacency(a).unwrap_err();
        assert!(err.to_string().contains("node 0 has degree -2"), "{err}");
    }
}
