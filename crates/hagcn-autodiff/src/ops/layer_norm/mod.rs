//! Layer norm over each row with an affine weight and bias: [`Graph::layer_norm`]
//! (PyTorch: `torch.nn.LayerNorm(cols, eps)`).
//!
//! ```text
//! μ = mean(x),  r = 1/√(mean((x − μ)²) + eps)   (biased variance, per row)
//! x̂ = (x − μ) r,  y = x̂ ⊙ γ + β
//! with ĝ = G ⊙ γ:
//!   ∂x = r (ĝ − mean(ĝ) − x̂ mean(ĝ ⊙ x̂)),   ∂γ = Σ_rows G ⊙ x̂,   ∂β = Σ_rows G
//! ```
//!
//! The forward pass saves `μ` and `r` per row ([`LayerNormOutput`]) for the backward pass.
//!
//! Kernels: [`Backend::layer_norm`] and [`Backend::layer_norm_backward`], fused ops whose
//! defaults run the host math (`host.rs`, also what `CpuBackend` calls) between a download and
//! an upload.
//!
//! CUDA: `crates/hagcn-cuda/kernels/layer_norm.cu` and `crates/hagcn-cuda/src/ops/layer_norm.rs`.

pub(crate) mod host;

use host::LayerNormOutput;

use hagcn_linalg::Real;

use crate::backend::Backend;
use crate::gradients::Accumulator;
use crate::graph::{Graph, Op, Var};
use crate::{Error, Result};

impl<B: Backend> Graph<B> {
    /// Layer norm over each row with affine `weight`, `bias` (`1 × cols` each)
    /// (PyTorch: `torch.nn.LayerNorm(cols, eps)`).
    pub fn layer_norm(&mut self, x: Var, weight: Var, bias: Var, eps: f64) -> Result<Var> {
        let sx = self.shape(x)?;
        for p in [weight, bias] {
            let sp = self.shape(p)?;
            if sp != (1, sx.1) {
                return Err(Error::Shape { op: "layer_norm", left: sx, right: sp });
            }
        }
        let saved =
            self.backend.layer_norm(self.value(x)?, self.value(weight)?, self.value(bias)?, B::Elem::of(eps))?;
        let value = saved.y.clone();
        Ok(self.push(value, Op::LayerNorm { x, weight, bias, saved }, &[x, weight, bias]))
    }
}

/// Backward of [`Graph::layer_norm`] from the saved forward values (formulas in the module
/// docs).
pub(crate) fn backward_layer_norm<B: Backend>(
    grads: &mut Accumulator<'_, B>,
    x: Var,
    weight: Var,
    bias: Var,
    saved: &LayerNormOutput<B::Tensor>,
    g: &B::Tensor,
) -> Result<()> {
    let graph = grads.graph();
    let lg = graph.backend().layer_norm_backward(graph.value(x)?, graph.value(weight)?, saved, g)?;
    grads.add(x, lg.x)?;
    grads.add(weight, lg.weight)?;
    grads.add(bias, lg.bias)
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use crate::ops::testing::{close, grads_of};
    use crate::test_utils::{Tolerance, assert_gradcheck, random_matrix};

    #[test]
    fn layer_norm_literal_and_gradcheck() {
        // row [1, 3]: mean 2, var 1 → x̂ = [−1, 1]/√(1 + eps); with γ = [2, 2], β = [0, 1]:
        // y ≈ [−2, 3].  L = Σ y: ∂β = [1, 1], ∂γ = Σ x̂ = [−1, 1]/√(1+eps), ∂x = 0 (Σ_j x̂_j γ is
        // constant under shifts and scalings of the row).
        let eps = 1e-5;
        let s = (1.0f64 + eps).sqrt();
        let (y, g) = grads_of(&[array![[1.0, 3.0]], array![[2.0, 2.0]], array![[0.0, 1.0]]], |g, v| {
            g.layer_norm(v[0], v[1], v[2], eps)
        });
        assert!(close(&y, &array![[-2.0 / s, 2.0 / s + 1.0]], 1e-12), "{y}");
        assert!(close(&g[0], &array![[0.0, 0.0]], 1e-12), "{}", g[0]);
        assert!(close(&g[1], &array![[-1.0 / s, 1.0 / s]], 1e-12), "{}", g[1]);
        assert_eq!(g[2], array![[1.0, 1.0]]);
        assert_gradcheck(
            |g, v| g.layer_norm(v[0], v[1], v[2], 1e-5),
            &[
                random_matrix(3, 6, -2.0, 2.0, 12),
                random_matrix(1, 6, 0.5, 1.5, 13),
                random_matrix(1, 6, -0.5, 0.5, 14),
            ],
            Tolerance::default(),
        );
    }
}
