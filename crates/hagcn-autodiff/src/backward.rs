//! Reverse-mode differentiation: one backward rule per [`Op`], dispatched from one exhaustive
//! `match`, so an op without a rule does not compile.
//!
//! Each arm states the derivative in a comment and calls the rule, which lives in the op's
//! module under `ops/` next to its recording method and host math.

use num_traits::One;

use crate::backend::Backend;
use crate::gradients::{Accumulator, Gradients};
use crate::graph::{Graph, Op, Var};
use crate::ops::{
    activations, adjacency, bspline, eigen, elementwise, layer_norm, linear, matmul, slicing, tridiagonal,
};
use crate::{Error, Result};

impl<B: Backend> Graph<B> {
    /// Differentiates the `1 × 1` value `output` with respect to every variable recorded
    /// with [`Graph::param`] (and everything in between).
    pub fn backward(&self, output: Var) -> Result<Gradients<B::Tensor>> {
        let (rows, cols) = self.shape(output)?;
        if (rows, cols) != (1, 1) {
            return Err(Error::NotScalar { rows, cols });
        }
        let mut grads = Accumulator::new(self);
        grads.set(output, self.backend.full(1, 1, B::Elem::one())?);

        for idx in (0..=output.0).rev() {
            let node = &self.nodes[idx];
            if !node.requires_grad {
                continue;
            }
            let Some(g) = grads.get(idx) else {
                continue;
            };
            let y = &node.value;
            let grads = &mut grads;
            match &node.op {
                Op::Leaf => {}
                // C = op(A) op(B):  ∂op(A) = G op(B)ᵀ,  ∂op(B) = op(A)ᵀ G
                Op::MatMul { a, transpose_a, b, transpose_b } => {
                    matmul::backward_matmul(grads, *a, *transpose_a, *b, *transpose_b, &g)?
                }
                // C = s A Aᵀ:  ∂A = s (G + Gᵀ) A
                Op::Gram { a, scale } => matmul::backward_gram(grads, *a, *scale, &g)?,
                // Y = X Wᵀ + 1 bᵀ:  ∂X = G W,  ∂W = Gᵀ X,  ∂b = Σ_rows G
                Op::Linear { x, w, b } => linear::backward_linear(grads, *x, *w, *b, &g)?,
                // ∂a = G, ∂b = G
                Op::Add(a, b) => elementwise::backward_add(grads, *a, *b, g)?,
                // ∂a = G, ∂b = −G
                Op::Sub(a, b) => elementwise::backward_sub(grads, *a, *b, g)?,
                // ∂a = G ⊙ b, ∂b = G ⊙ a (a == b gives 2 G ⊙ a by accumulation)
                Op::Mul(a, b) => elementwise::backward_mul(grads, *a, *b, &g)?,
                // y = s·a + c:  ∂a = s G
                Op::Affine { a, scale } => elementwise::backward_affine(grads, *a, *scale, &g)?,
                // y_ij = a_ij + r_j:  ∂a = G,  ∂r_j = Σ_i G_ij
                Op::AddRow { a, row } => elementwise::backward_add_row(grads, *a, *row, g)?,
                // y = Σ a:  ∂a = G · 1
                Op::Sum(a) => elementwise::backward_sum(grads, *a, &g)?,
                // y = s a:  ∂a = s G,  ∂s = Σ G ⊙ a
                Op::ScaleBy { a, s } => elementwise::backward_scale_by(grads, *a, *s, &g)?,
                // y = √a:  ∂a = G / (2y)
                Op::Sqrt(a) => elementwise::backward_sqrt(grads, *a, y, &g)?,
                // y = 1/a:  ∂a = −G y²
                Op::Recip(a) => elementwise::backward_recip(grads, *a, y, &g)?,
                // ∂a = G placed at columns start.., zero elsewhere
                Op::SliceCols { a, start } => slicing::backward_slice_cols(grads, *a, *start, &g)?,
                // ∂part = the part's columns of G
                Op::ConcatCols(parts) => slicing::backward_concat_cols(grads, parts, &g)?,
                // ∂a = G placed at rows start.., zero elsewhere
                Op::SliceRows { a, start } => slicing::backward_slice_rows(grads, *a, *start, &g)?,
                // ∂part = the part's rows of G
                Op::ConcatRows(parts) => slicing::backward_concat_rows(grads, parts, &g)?,
                // ∂α_i = G_ii,  ∂β_i = G_(i,i+1) + G_(i+1,i)
                Op::Tridiagonal { alpha, beta } => tridiagonal::backward_tridiagonal(grads, *alpha, *beta, &g)?,
                // spec §5.1: ∂A = U (M_s ⊘ E + diag(gλ)) Uᵀ,
                // M = Uᵀ gU, M_s = (M − Mᵀ)/2, E_ij = λ_j − λ_i
                Op::SymmetricEigen(a) => eigen::backward_symmetric_eigen(grads, *a, y, &g)?,
                // host f64: ∂Â (spec §5.1 via the resolvent), ∂A, ∂Z = scale (∂A + ∂Aᵀ) Z
                Op::GramGraphEigen { z, state } => eigen::backward_gram_graph_eigen(grads, *z, state, &g)?,
                // forward-mode derivatives of the Cox–de Boor recursion, knots included
                Op::BsplineBasis { x, n_basis, degree } => {
                    bspline::backward_bspline_basis(grads, *x, *n_basis, *degree, &g)?
                }
                // y = x Φ(x):  ∂x = G ⊙ (Φ(x) + x φ(x))
                Op::Gelu(x) => activations::backward_gelu(grads, *x, &g)?,
                // y = σ(x):  ∂x = G ⊙ y (1 − y)
                Op::Sigmoid(x) => activations::backward_sigmoid(grads, *x, y, &g)?,
                // x̂ = (x − μ) r, y = x̂ ⊙ γ + β, ĝ = G ⊙ γ:
                // ∂x = r (ĝ − mean(ĝ) − x̂ mean(ĝ ⊙ x̂)),  ∂γ = Σ_rows G ⊙ x̂,  ∂β = Σ_rows G
                Op::LayerNorm { x, weight, bias, saved } => {
                    layer_norm::backward_layer_norm(grads, *x, *weight, *bias, saved, &g)?
                }
                // ∂A_ij = G_ij d_i d_j − d_i²/2 · (Σ_l G_il Â_il + Σ_k G_ki Â_ki)
                Op::NormalizedAdjacency { a, d } => adjacency::backward_normalized_adjacency(grads, *a, y, d, &g)?,
            }
        }
        Ok(grads.finish())
    }
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use crate::ops::testing::be;
    use crate::{Backend, Error, Graph};

    #[test]
    fn backward_needs_a_scalar_and_skips_constants() {
        let be = be();
        let mut g = Graph::new(be.clone());
        let c = g.constant(be.upload(array![[1.0, 2.0]].view()).unwrap());
        let p = g.param(be.upload(array![[3.0, 4.0]].view()).unwrap());
        let y = g.mul(c, p).unwrap();
        assert!(matches!(g.backward(y), Err(Error::NotScalar { rows: 1, cols: 2 })));
        let s = g.sum(y).unwrap();
        let grads = g.backward(s).unwrap();
        assert!(grads.get(c).is_none());
        assert_eq!(be.download(grads.get(p).unwrap()).unwrap(), array![[1.0, 2.0]]);
    }
}
