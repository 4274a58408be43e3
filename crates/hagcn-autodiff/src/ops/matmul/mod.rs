//! Matrix products: [`Graph::matmul`] and the Gram matrix [`Graph::gram`].
//!
//! ```text
//! C = op(A) op(B)   (op transposes when its flag is set)
//!     ∂op(A) = G op(B)ᵀ,  ∂op(B) = op(A)ᵀ G   (a transposed operand takes the transpose)
//! C = s A Aᵀ
//!     ∂A = s (G + Gᵀ) A
//! ```
//!
//! PyTorch: `a @ b` (with `.T` for the flags) and `s * a @ a.T`.
//!
//! Kernels: [`Backend::matmul`] (required; a GEMM) and [`Backend::matmul_acc`] (GEMM with
//! β = 1, which the backward pass uses to accumulate a product into an existing gradient);
//! [`Backend::gram`] and [`Backend::gram_backward`], whose defaults are made of `matmul` and
//! `affine`. Host: `host.rs` (BLAS `?gemm`, as `CpuBackend` runs them) and `syrk.rs` (the Gram
//! matrix through `?syrk`, [`crate::Element::gram`]).
//!
//! CUDA: no kernel file; `CudaBackend` runs the products as cuBLAS SGEMM (row-major products
//! as one column-major SGEMM with the operands swapped) and keeps the trait's defaults for the
//! Gram matrix and its gradient.

pub(crate) mod host;
pub(crate) mod syrk;

use hagcn_linalg::Real;

use crate::backend::Backend;
use crate::gradients::Accumulator;
use crate::graph::{Graph, Op, Var};
use crate::{Error, Result};

impl<B: Backend> Graph<B> {
    /// `op(a) · op(b)`, transposing an operand when its flag is set
    /// (PyTorch: `a @ b`, `a.T @ b`, …).
    pub fn matmul(&mut self, a: Var, transpose_a: bool, b: Var, transpose_b: bool) -> Result<Var> {
        let (mut sa, mut sb) = (self.shape(a)?, self.shape(b)?);
        if transpose_a {
            sa = (sa.1, sa.0);
        }
        if transpose_b {
            sb = (sb.1, sb.0);
        }
        if sa.1 != sb.0 {
            return Err(Error::Shape { op: "matmul", left: sa, right: sb });
        }
        let value = self.backend.matmul(self.value(a)?, transpose_a, self.value(b)?, transpose_b)?;
        Ok(self.push(value, Op::MatMul { a, transpose_a, b, transpose_b }, &[a, b]))
    }

    /// `scale · a aᵀ` (PyTorch: `scale * a @ a.T`), the Gram matrix of the rows of `a`: half
    /// the work of [`Graph::matmul`] forward (BLAS `?syrk`) and one product instead of two
    /// backward.
    pub fn gram(&mut self, a: Var, scale: f64) -> Result<Var> {
        let value = self.backend.gram(self.value(a)?, B::Elem::of(scale))?;
        Ok(self.push(value, Op::Gram { a, scale }, &[a]))
    }
}

/// Backward of [`Graph::matmul`]: `∂op(A) = G op(B)ᵀ`, `∂op(B) = op(A)ᵀ G`; a transposed
/// operand takes the transpose of its product.
pub(crate) fn backward_matmul<B: Backend>(
    grads: &mut Accumulator<'_, B>,
    a: Var,
    transpose_a: bool,
    b: Var,
    transpose_b: bool,
    g: &B::Tensor,
) -> Result<()> {
    let graph = grads.graph();
    let (va, vb) = (graph.value(a)?, graph.value(b)?);
    if transpose_a {
        grads.add_matmul(a, vb, transpose_b, g, true)?;
    } else {
        grads.add_matmul(a, g, false, vb, !transpose_b)?;
    }
    if transpose_b {
        grads.add_matmul(b, g, true, va, transpose_a)?;
    } else {
        grads.add_matmul(b, va, !transpose_a, g, false)?;
    }
    Ok(())
}

/// Backward of [`Graph::gram`]: `∂A = s (G + Gᵀ) A`.
pub(crate) fn backward_gram<B: Backend>(
    grads: &mut Accumulator<'_, B>,
    a: Var,
    scale: f64,
    g: &B::Tensor,
) -> Result<()> {
    let graph = grads.graph();
    let ga = graph.backend().gram_backward(graph.value(a)?, g, B::Elem::of(scale))?;
    grads.add(a, ga)
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, array};

    use crate::ops::testing::{be, close, grads_of};
    use crate::test_utils::{Tolerance, assert_gradcheck, random_matrix};
    use crate::{Backend, CpuBackend, Error, Graph};

    #[test]
    fn matmul_literal() {
        // C = A B, L = Σ C:  ∂A = 1 Bᵀ (row sums of B),  ∂B = Aᵀ 1 (column sums of A).
        let a = array![[1.0, 2.0], [3.0, 4.0]];
        let b = array![[5.0, 6.0], [7.0, 8.0]];
        let (c, g) = grads_of(&[a, b], |g, v| g.matmul(v[0], false, v[1], false));
        assert_eq!(c, array![[19.0, 22.0], [43.0, 50.0]]);
        assert_eq!(g[0], array![[11.0, 15.0], [11.0, 15.0]]);
        assert_eq!(g[1], array![[4.0, 4.0], [6.0, 6.0]]);
    }

    #[test]
    fn matmul_gradcheck_all_transposes() {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = if ta { random_matrix(4, 3, -1.0, 1.0, 1) } else { random_matrix(3, 4, -1.0, 1.0, 1) };
            let b = if tb { random_matrix(5, 4, -1.0, 1.0, 2) } else { random_matrix(4, 5, -1.0, 1.0, 2) };
            assert_gradcheck(|g, v| g.matmul(v[0], ta, v[1], tb), &[a, b], Tolerance::default());
        }
    }

    #[test]
    fn matmul_with_itself_accumulates() {
        // S = Z Zᵀ, L = Σ S = Σ_ij z_i·z_j = |Σ_i z_i|²:  ∂Z_i = 2 Σ_k z_k (same for every row).
        let z = array![[1.0, 0.0], [2.0, 1.0]];
        let (_, g) = grads_of(&[z], |g, v| g.matmul(v[0], false, v[0], true));
        assert_eq!(g[0], array![[6.0, 2.0], [6.0, 2.0]]);
        assert_gradcheck(
            |g, v| g.matmul(v[0], false, v[0], true),
            &[random_matrix(4, 3, -1.0, 1.0, 3)],
            Tolerance::default(),
        );
    }

    #[test]
    fn matmul_rejects_bad_shapes() {
        let be = be();
        let mut g = Graph::new(be.clone());
        let a = g.constant(be.upload(Array2::zeros((2, 3)).view()).unwrap());
        let b = g.constant(be.upload(Array2::zeros((2, 3)).view()).unwrap());
        let err = g.matmul(a, false, b, false).unwrap_err();
        assert!(matches!(err, Error::Shape { op: "matmul", left: (2, 3), right: (2, 3) }), "{err}");
        assert!(g.matmul(a, false, b, true).is_ok());
    }

    #[test]
    fn gram_literal_and_gradcheck() {
        // [[1, 2], [3, 4]] → ½ A Aᵀ = ½ [[5, 11], [11, 25]]; L = Σ C: ∂A = ½ (1 + 1ᵀ) A = 1 A.
        let a = array![[1.0, 2.0], [3.0, 4.0]];
        let (c, g) = grads_of(std::slice::from_ref(&a), |g, v| g.gram(v[0], 0.5));
        assert_eq!(c, array![[2.5, 5.5], [5.5, 12.5]]);
        assert_eq!(g[0], array![[4.0, 6.0], [4.0, 6.0]]);
        // Sizes around the mirroring tile (64) and BLAS blocking; the result equals a general product.
        for (n, k) in [(1, 3), (63, 5), (65, 130), (130, 7)] {
            let a = random_matrix(n, k, -1.0, 1.0, n as u64);
            let (c, _) = grads_of(std::slice::from_ref(&a), |g, v| g.gram(v[0], 0.25));
            assert!(close(&c, &(0.25 * a.dot(&a.t())), 1e-12), "n = {n}");
        }
        assert_gradcheck(|g, v| g.gram(v[0], 0.7), &[random_matrix(4, 3, -1.0, 1.0, 60)], Tolerance::default());
        // f32 uses ssyrk.
        let be32 = CpuBackend::<f32>::new();
        let a32 = random_matrix(70, 9, -1.0, 1.0, 61).mapv(|x| x as f32);
        let c32 = be32.download(&be32.gram(&be32.upload(a32.view()).unwrap(), 2.0).unwrap()).unwrap();
        let expect = 2.0 * a32.dot(&a32.t());
        assert!(c32.iter().zip(&expect).all(|(x, y)| (x - y).abs() < 1e-4));
    }
}
