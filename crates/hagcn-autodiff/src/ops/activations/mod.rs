//! Activations: [`Graph::gelu`] and [`Graph::sigmoid`].
//!
//! ```text
//! GELU(x) = x Φ(x) = x/2 · (1 + erf(x/√2))     ∂x = G ⊙ (Φ(x) + x φ(x)),  φ(x) = e^(-x²/2)/√(2π)
//! σ(x)    = 1 / (1 + e^(-x))                   ∂x = G ⊙ y (1 − y),  y = σ(x)
//! ```
//!
//! PyTorch: `torch.nn.GELU()` (`approximate='none'`) and `torch.sigmoid`.
//!
//! Kernels (required by [`Backend`]): `gelu`, `gelu_backward`, `sigmoid`, `sigmoid_backward`.
//! Host: `host.rs` on matrices, `scalar.rs` for GELU on one value (the `f32` `erf` and `exp`
//! approximations, libm in `f64`; [`crate::Element`] dispatches to them).
//!
//! CUDA: `crates/hagcn-cuda/kernels/activations.cu` (the same `f32` approximations, step for
//! step) and `crates/hagcn-cuda/src/ops/activations.rs`.

pub(crate) mod host;
pub(crate) mod scalar;

use crate::Result;
use crate::backend::Backend;
use crate::gradients::Accumulator;
use crate::graph::{Graph, Op, Var};

impl<B: Backend> Graph<B> {
    /// GELU, exact erf form (PyTorch: `torch.nn.GELU()` with `approximate='none'`).
    pub fn gelu(&mut self, x: Var) -> Result<Var> {
        let value = self.backend.gelu(self.value(x)?)?;
        Ok(self.push(value, Op::Gelu(x), &[x]))
    }

    /// Logistic sigmoid (PyTorch: `torch.sigmoid`).
    pub fn sigmoid(&mut self, x: Var) -> Result<Var> {
        let value = self.backend.sigmoid(self.value(x)?)?;
        Ok(self.push(value, Op::Sigmoid(x), &[x]))
    }
}

/// Backward of [`Graph::gelu`]: `∂x = G ⊙ (Φ(x) + x φ(x))`.
pub(crate) fn backward_gelu<B: Backend>(grads: &mut Accumulator<'_, B>, x: Var, g: &B::Tensor) -> Result<()> {
    let graph = grads.graph();
    grads.add(x, graph.backend().gelu_backward(graph.value(x)?, g)?)
}

/// Backward of [`Graph::sigmoid`] given its output `y`: `∂x = G ⊙ y (1 − y)`.
pub(crate) fn backward_sigmoid<B: Backend>(
    grads: &mut Accumulator<'_, B>,
    x: Var,
    y: &B::Tensor,
    g: &B::Tensor,
) -> Result<()> {
    let gx = grads.backend().sigmoid_backward(y, g)?;
    grads.add(x, gx)
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use crate::ops::testing::{close, grads_of};
    use crate::test_utils::{Tolerance, assert_gradcheck, random_matrix};
    use crate::{Backend, CpuBackend};

    #[test]
    fn gelu_literal_and_gradcheck() {
        // GELU(0) = 0, GELU'(0) = Φ(0) = 1/2;  GELU(1) = Φ(1) = 0.841344746…,
        // GELU'(1) = Φ(1) + φ(1) = 0.841344746 + 0.241970725 = 1.083315471 (to 9 digits)
        let (y, g) = grads_of(&[array![[0.0, 1.0]]], |g, v| g.gelu(v[0]));
        assert!(close(&y, &array![[0.0, 0.841_344_746_068_542_9]], 1e-12), "{y}");
        assert!(close(&g[0], &array![[0.5, 1.083_315_470_587_686_3]], 1e-12), "{}", g[0]);
        assert_gradcheck(|g, v| g.gelu(v[0]), &[random_matrix(4, 5, -4.0, 4.0, 9)], Tolerance::default());
    }

    #[test]
    fn gelu_f32_matches_f64() {
        let x = random_matrix(8, 16, -6.0, 6.0, 10);
        let b64 = CpuBackend::<f64>::new();
        let b32 = CpuBackend::<f32>::new();
        let y64 = b64.download(&b64.gelu(&b64.upload(x.view()).unwrap()).unwrap()).unwrap();
        let y32 = b32.download(&b32.gelu(&b32.upload(x.mapv(|v| v as f32).view()).unwrap()).unwrap()).unwrap();
        for (a, b) in y64.iter().zip(&y32) {
            assert!((a - *b as f64).abs() < 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn sigmoid_literal_and_gradcheck() {
        // σ(0) = 1/2, σ'(0) = 1/4
        let (y, g) = grads_of(&[array![[0.0]]], |g, v| g.sigmoid(v[0]));
        assert_eq!(y, array![[0.5]]);
        assert_eq!(g[0], array![[0.25]]);
        assert_gradcheck(|g, v| g.sigmoid(v[0]), &[random_matrix(3, 4, -5.0, 5.0, 11)], Tolerance::default());
    }
}
