//! Reverse-mode differentiation: one backward rule per [`Op`], in one exhaustive `match`.

use hagcn_linalg::Real;
use num_traits::{One, Zero};

use crate::backend::Backend;
use crate::graph::{Graph, Op, Var};
use crate::{Error, Result};

/// Gradients of a scalar with respect to the variables of a [`Graph`].
pub struct Gradients<T> {
    grads: Vec<Option<T>>,
}

impl<T> Gradients<T> {
    /// The gradient with respect to `v`, or `None` when `v` does not influence the output
    /// or was recorded with [`Graph::constant`].
    pub fn get(&self, v: Var) -> Option<&T> {
        self.grads.get(v.0).and_then(Option::as_ref)
    }

    /// Takes the gradient with respect to `v` out of the store.
    pub fn take(&mut self, v: Var) -> Option<T> {
        self.grads.get_mut(v.0).and_then(Option::take)
    }
}

impl<B: Backend> Graph<B> {
    /// Differentiates the `1 × 1` value `output` with respect to every variable recorded
    /// with [`Graph::param`] (and everything in between).
    pub fn backward(&self, output: Var) -> Result<Gradients<B::Tensor>> {
        let (rows, cols) = self.shape(output)?;
        if (rows, cols) != (1, 1) {
            return Err(Error::NotScalar { rows, cols });
        }
        let be = &self.backend;
        let mut grads: Vec<Option<B::Tensor>> = vec![None; self.nodes.len()];
        grads[output.0] = Some(be.full(1, 1, B::Elem::one())?);

        // Accumulates `g` into the gradient of `v` when `v` needs one.
        let acc = |grads: &mut Vec<Option<B::Tensor>>, v: Var, g: B::Tensor| -> Result<()> {
            if !self.nodes[v.0].requires_grad {
                return Ok(());
            }
            grads[v.0] = Some(match grads[v.0].take() {
                Some(mut prev) => {
                    be.add_assign(&mut prev, &g)?;
                    prev
                }
                None => g,
            });
            Ok(())
        };
        // Accumulates `op(a) op(b)` into the gradient of `v`: one GEMM with β = 1 when `v`
        // already has a gradient (a matrix used by many products, such as Â in the filters).
        let acc_matmul = |grads: &mut Vec<Option<B::Tensor>>,
                          v: Var,
                          a: &B::Tensor,
                          ta: bool,
                          b: &B::Tensor,
                          tb: bool|
         -> Result<()> {
            if !self.nodes[v.0].requires_grad {
                return Ok(());
            }
            grads[v.0] = Some(match grads[v.0].take() {
                Some(mut prev) => {
                    be.matmul_acc(&mut prev, a, ta, b, tb)?;
                    prev
                }
                None => be.matmul(a, ta, b, tb)?,
            });
            Ok(())
        };
        let needs = |v: Var| self.nodes[v.0].requires_grad;

        for idx in (0..=output.0).rev() {
            let node = &self.nodes[idx];
            if !node.requires_grad {
                continue;
            }
            let Some(g) = grads[idx].clone() else {
                continue;
            };
            match &node.op {
                Op::Leaf => {}
                Op::MatMul { a, transpose_a, b, transpose_b } => {
                    // C = op(A) op(B):  ∂op(A) = G op(B)ᵀ,  ∂op(B) = op(A)ᵀ G;
                    // a transposed operand takes the transpose of its product.
                    let (va, vb) = (self.value(*a)?, self.value(*b)?);
                    if *transpose_a {
                        acc_matmul(&mut grads, *a, vb, *transpose_b, &g, true)?;
                    } else {
                        acc_matmul(&mut grads, *a, &g, false, vb, !*transpose_b)?;
                    }
                    if *transpose_b {
                        acc_matmul(&mut grads, *b, &g, true, va, *transpose_a)?;
                    } else {
                        acc_matmul(&mut grads, *b, va, !*transpose_a, &g, false)?;
                    }
                }
                Op::Linear { x, w, b } => {
                    // Y = X Wᵀ + 1 bᵀ:  ∂X = G W,  ∂W = Gᵀ X,  ∂b = Σ_rows G
                    acc_matmul(&mut grads, *x, &g, false, self.value(*w)?, false)?;
                    acc_matmul(&mut grads, *w, &g, true, self.value(*x)?, false)?;
                    if needs(*b) {
                        acc(&mut grads, *b, be.sum_rows(&g)?)?;
                    }
                }
                Op::Add(a, b) => {
                    // ∂a = G, ∂b = G
                    acc(&mut grads, *a, g.clone())?;
                    acc(&mut grads, *b, g)?;
                }
                Op::Sub(a, b) => {
                    // ∂a = G, ∂b = −G
                    if needs(*b) {
                        acc(&mut grads, *b, be.affine(&g, -B::Elem::one(), B::Elem::zero())?)?;
                    }
                    acc(&mut grads, *a, g)?;
                }
                Op::Mul(a, b) => {
                    // ∂a = G ⊙ b, ∂b = G ⊙ a (a == b gives 2 G ⊙ a by accumulation)
                    let (va, vb) = (self.value(*a)?, self.value(*b)?);
                    if needs(*a) {
                        acc(&mut grads, *a, be.mul(&g, vb)?)?;
                    }
                    if needs(*b) {
                        acc(&mut grads, *b, be.mul(&g, va)?)?;
                    }
                }
                Op::Affine { a, scale } => {
                    // y = s·a + c:  ∂a = s G
                    acc(&mut grads, *a, be.affine(&g, B::Elem::of(*scale), B::Elem::zero())?)?;
                }
                Op::AddRow { a, row } => {
                    // y_ij = a_ij + r_j:  ∂a = G,  ∂r_j = Σ_i G_ij
                    if needs(*row) {
                        acc(&mut grads, *row, be.sum_rows(&g)?)?;
                    }
                    acc(&mut grads, *a, g)?;
                }
                Op::Sum(a) => {
                    // y = Σ a:  ∂a = G · 1
                    let (rows, cols) = self.shape(*a)?;
                    acc(&mut grads, *a, be.broadcast_scalar(&g, rows, cols, B::Elem::one())?)?;
                }
                Op::ScaleBy { a, s } => {
                    // y = s a:  ∂a = s G,  ∂s = Σ G ⊙ a
                    if needs(*s) {
                        acc(&mut grads, *s, be.sum(&be.mul(&g, self.value(*a)?)?)?)?;
                    }
                    if needs(*a) {
                        acc(&mut grads, *a, be.scale_by(&g, self.value(*s)?)?)?;
                    }
                }
                Op::Sqrt(a) => {
                    // y = √a:  ∂a = G / (2y)
                    let half_recip = be.affine(&be.recip(&node.value)?, B::Elem::of(0.5), B::Elem::zero())?;
                    acc(&mut grads, *a, be.mul(&g, &half_recip)?)?;
                }
                Op::Recip(a) => {
                    // y = 1/a:  ∂a = −G y²
                    let y2 = be.mul(&node.value, &node.value)?;
                    acc(&mut grads, *a, be.affine(&be.mul(&g, &y2)?, -B::Elem::one(), B::Elem::zero())?)?;
                }
                Op::SliceCols { a, start } => {
                    // ∂a = G placed at columns start.., zero elsewhere
                    let total = self.shape(*a)?.1;
                    acc(&mut grads, *a, be.embed_cols(&g, total, *start)?)?;
                }
                Op::ConcatCols(parts) => {
                    // ∂part = the part's columns of G
                    let mut offset = 0;
                    for &p in parts {
                        let width = self.shape(p)?.1;
                        if needs(p) {
                            acc(&mut grads, p, be.slice_cols(&g, offset, width)?)?;
                        }
                        offset += width;
                    }
                }
                Op::Tridiagonal { alpha, beta } => {
                    // ∂α_i = G_ii,  ∂β_i = G_(i,i+1) + G_(i+1,i)
                    let (ga, gb) = be.tridiagonal_backward(&g)?;
                    acc(&mut grads, *alpha, ga)?;
                    if self.shape(*beta)?.1 > 0 {
                        acc(&mut grads, *beta, gb)?;
                    }
                }
                Op::SliceRows { a, start } => {
                    // ∂a = G placed at rows start.., zero elsewhere
                    let (rows, cols) = self.shape(*a)?;
                    let (g_rows, _) = be.shape(&g);
                    let mut parts = Vec::new();
                    if *start > 0 {
                        parts.push(be.full(*start, cols, B::Elem::zero())?);
                    }
                    parts.push(g.clone());
                    if start + g_rows < rows {
                        parts.push(be.full(rows - start - g_rows, cols, B::Elem::zero())?);
                    }
                    let refs: Vec<&B::Tensor> = parts.iter().collect();
                    acc(&mut grads, *a, be.concat_rows(&refs)?)?;
                }
                Op::ConcatRows(parts) => {
                    // ∂part = the part's rows of G
                    let mut offset = 0;
                    for &p in parts {
                        let height = self.shape(p)?.0;
                        if needs(p) {
                            acc(&mut grads, p, be.slice_rows(&g, offset, height)?)?;
                        }
                        offset += height;
                    }
                }
                Op::Gram { a, scale } => {
                    // C = s A Aᵀ:  ∂A = s (G + Gᵀ) A
                    acc(&mut grads, *a, be.gram_backward(self.value(*a)?, &g, B::Elem::of(*scale))?)?;
                }
                Op::SymmetricEigen(a) => {
                    // ∂A = U (M_s ⊘ E + diag(gλ)) Uᵀ (spec §5.1; see Backend::symmetric_eigen_backward)
                    acc(&mut grads, *a, be.symmetric_eigen_backward(&node.value, &g)?)?;
                }
                Op::GramGraphEigen { z, state } => {
                    // host f64: ∂Â (spec §5.1 via the resolvent), ∂A, ∂Z = scale (∂A + ∂Aᵀ) Z
                    let host = be.download(&g)?;
                    let g_z = crate::gram_eigen::backward(state, &host)?;
                    acc(&mut grads, *z, be.upload(g_z.view())?)?;
                }
                Op::BsplineBasis { x, n_basis, degree } => {
                    // forward-mode derivatives of the Cox–de Boor recursion, knots included
                    acc(&mut grads, *x, be.bspline_basis_backward(self.value(*x)?, *n_basis, *degree, &g)?)?;
                }
                Op::Gelu(x) => {
                    // y = x Φ(x):  ∂x = G ⊙ (Φ(x) + x φ(x))
                    acc(&mut grads, *x, be.gelu_backward(self.value(*x)?, &g)?)?;
                }
                Op::Sigmoid(x) => {
                    // y = σ(x):  ∂x = G ⊙ y (1 − y)
                    acc(&mut grads, *x, be.sigmoid_backward(&node.value, &g)?)?;
                }
                Op::LayerNorm { x, weight, bias, saved } => {
                    // see Backend::layer_norm_backward for the formulas
                    let lg = be.layer_norm_backward(self.value(*x)?, self.value(*weight)?, saved, &g)?;
                    acc(&mut grads, *x, lg.x)?;
                    acc(&mut grads, *weight, lg.weight)?;
                    acc(&mut grads, *bias, lg.bias)?;
                }
                Op::NormalizedAdjacency { a, d } => {
                    // ∂A_ij = G_ij d_i d_j − d_i²/2 · (Σ_l G_il Â_il + Σ_k G_ki Â_ki)
                    acc(&mut grads, *a, be.normalized_adjacency_backward(&node.value, d, &g)?)?;
                }
            }
        }
        Ok(Gradients { grads })
    }
}
