//! The symmetric tridiagonal matrix of a Lanczos recurrence: [`Graph::tridiagonal`].
//!
//! ```text
//! T = tridiag(β, α, β),  T_ii = α_i,  T_(i,i+1) = T_(i+1,i) = β_i
//! ∂α_i = G_ii,   ∂β_i = G_(i,i+1) + G_(i+1,i)
//! ```
//!
//! PyTorch: `torch.diag(alpha) + torch.diag(beta, 1) + torch.diag(beta, -1)`.
//!
//! Kernels: [`Backend::tridiagonal`] and [`Backend::tridiagonal_backward`], fused ops whose
//! defaults run the host math (`host.rs`, also what `CpuBackend` calls) between a download and
//! an upload.
//!
//! CUDA: the `tridiagonal_fwd` and `tridiagonal_bwd` kernels (`crates/hagcn-cuda/kernels/lanczos.cu`
//! when this was written, beside the other vector kernels of a Lanczos step).

pub(crate) mod host;

use crate::backend::Backend;
use crate::gradients::Accumulator;
use crate::graph::{Graph, Op, Var};
use crate::{Error, Result};

impl<B: Backend> Graph<B> {
    /// The symmetric tridiagonal matrix with diagonal `alpha` (`1 × m`) and off-diagonals
    /// `beta` (`1 × (m − 1)`).
    pub fn tridiagonal(&mut self, alpha: Var, beta: Var) -> Result<Var> {
        let (sa, sb) = (self.shape(alpha)?, self.shape(beta)?);
        if sa.0 != 1 || sa.1 == 0 || sb != (1, sa.1 - 1) {
            return Err(Error::Shape { op: "tridiagonal", left: sa, right: sb });
        }
        let value = self.backend.tridiagonal(self.value(alpha)?, self.value(beta)?)?;
        Ok(self.push(value, Op::Tridiagonal { alpha, beta }, &[alpha, beta]))
    }
}

/// Backward of [`Graph::tridiagonal`]: `∂α_i = G_ii`, `∂β_i = G_(i,i+1) + G_(i+1,i)`.
pub(crate) fn backward_tridiagonal<B: Backend>(
    grads: &mut Accumulator<'_, B>,
    alpha: Var,
    beta: Var,
    g: &B::Tensor,
) -> Result<()> {
    let graph = grads.graph();
    let (ga, gb) = graph.backend().tridiagonal_backward(g)?;
    grads.add(alpha, ga)?;
    if graph.shape(beta)?.1 > 0 {
        grads.add(beta, gb)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use crate::ops::testing::grads_of;
    use crate::test_utils::{Tolerance, assert_gradcheck, random_matrix};

    #[test]
    fn tridiagonal_literal_and_gradcheck() {
        // T = [[1, 4, 0], [4, 2, 5], [0, 5, 3]]; L = Σ T:  ∂α = 1, ∂β = 2
        let (t, g) = grads_of(&[array![[1.0, 2.0, 3.0]], array![[4.0, 5.0]]], |g, v| g.tridiagonal(v[0], v[1]));
        assert_eq!(t, array![[1.0, 4.0, 0.0], [4.0, 2.0, 5.0], [0.0, 5.0, 3.0]]);
        assert_eq!(g[0], array![[1.0, 1.0, 1.0]]);
        assert_eq!(g[1], array![[2.0, 2.0]]);
        assert_gradcheck(
            |g, v| g.tridiagonal(v[0], v[1]),
            &[random_matrix(1, 4, -1.0, 1.0, 25), random_matrix(1, 3, -1.0, 1.0, 26)],
            Tolerance::default(),
        );
    }
}
