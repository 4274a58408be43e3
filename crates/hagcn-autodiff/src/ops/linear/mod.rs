//! The fully connected layer [`Graph::linear`]: `Y = X Wᵀ + 1 bᵀ` (PyTorch:
//! `torch.nn.Linear`), for `X` as `n × in`, `W` as `out × in` and `b` as `1 × out`.
//!
//! ```text
//! ∂X = G W,   ∂W = Gᵀ X,   ∂b = Σ_rows G
//! ```
//!
//! The forward pass runs as the graph's [`Arithmetic`] says: [`Backend::linear`] (one GEMM
//! with β = 1 onto the broadcast bias; host: `host.rs`) for training, or
//! [`Backend::linear_reproducible`] (every output summed in `f64` in one fixed order, the same
//! bits on every device; host: `reproducible.rs`, public as [`crate::reproducible`]) for
//! encoding. The backward pass is the same for both.
//!
//! CUDA: `crates/hagcn-cuda/kernels/linear.cu` and `crates/hagcn-cuda/src/ops/linear.rs`.

pub(crate) mod host;
pub mod reproducible;

use crate::backend::Backend;
use crate::gradients::Accumulator;
use crate::graph::{Arithmetic, Graph, Op, Var};
use crate::{Error, Result};

impl<B: Backend> Graph<B> {
    /// `x · weightᵀ + bias` with `weight` as `out × in` and `bias` as `1 × out`
    /// (PyTorch: `torch.nn.Linear`), by the graph's [`Arithmetic`].
    pub fn linear(&mut self, x: Var, weight: Var, bias: Var) -> Result<Var> {
        let (sx, sw, sb) = (self.shape(x)?, self.shape(weight)?, self.shape(bias)?);
        if sx.1 != sw.1 {
            return Err(Error::Shape { op: "linear", left: sx, right: sw });
        }
        if sb != (1, sw.0) {
            return Err(Error::Shape { op: "linear (bias)", left: sw, right: sb });
        }
        let (xv, wv, bv) = (self.value(x)?, self.value(weight)?, self.value(bias)?);
        let value = match self.arithmetic {
            Arithmetic::Fast => self.backend.linear(xv, wv, bv)?,
            Arithmetic::Reproducible => self.backend.linear_reproducible(xv, wv, bv)?,
        };
        Ok(self.push(value, Op::Linear { x, w: weight, b: bias }, &[x, weight, bias]))
    }
}

/// Backward of [`Graph::linear`]: `∂X = G W`, `∂W = Gᵀ X`, `∂b = Σ_rows G`.
pub(crate) fn backward_linear<B: Backend>(
    grads: &mut Accumulator<'_, B>,
    x: Var,
    w: Var,
    b: Var,
    g: &B::Tensor,
) -> Result<()> {
    let graph = grads.graph();
    grads.add_matmul(x, g, false, graph.value(w)?, false)?;
    grads.add_matmul(w, g, true, graph.value(x)?, false)?;
    if grads.needs(b) {
        grads.add(b, graph.backend().sum_rows(g)?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use crate::ops::testing::{be, grads_of};
    use crate::test_utils::{Tolerance, assert_gradcheck, random_matrix};
    use crate::{Arithmetic, Backend, Graph, reproducible};

    #[test]
    fn linear_literal_and_gradcheck() {
        // y = x Wᵀ + b with x 2×3, W 1×3: ∂b = number of rows = 2
        let x = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let w = array![[1.0, 0.0, -1.0]];
        let b = array![[10.0]];
        let (y, g) = grads_of(&[x.clone(), w.clone(), b.clone()], |g, v| g.linear(v[0], v[1], v[2]));
        assert_eq!(y, array![[8.0], [8.0]]);
        assert_eq!(g[2], array![[2.0]]);
        assert_eq!(g[1], array![[5.0, 7.0, 9.0]]);
        assert_gradcheck(
            |g, v| g.linear(v[0], v[1], v[2]),
            &[random_matrix(4, 3, -1.0, 1.0, 6), random_matrix(5, 3, -1.0, 1.0, 7), random_matrix(1, 5, -1.0, 1.0, 8)],
            Tolerance::default(),
        );
    }

    #[test]
    fn reproducible_arithmetic_records_the_reproducible_layer_with_the_same_gradients() {
        // Same graph, both arithmetics: the reproducible forward is reproducible::linear bit for
        // bit, and the backward rule is the same (∂X = G W, ∂W = Gᵀ X, ∂b = Σ_rows G).
        let be = be();
        let (x, w, b) = (
            random_matrix(9, 70, -1.0, 1.0, 34),
            random_matrix(11, 70, -1.0, 1.0, 35),
            random_matrix(1, 11, -1.0, 1.0, 36),
        );
        let run = |arithmetic| {
            let mut g = Graph::with_arithmetic(be.clone(), arithmetic);
            let vars = [&x, &w, &b].map(|a| g.param(be.upload(a.view()).unwrap()));
            let y = g.linear(vars[0], vars[1], vars[2]).unwrap();
            let s = g.sum(y).unwrap();
            let grads = g.backward(s).unwrap();
            let y = be.download(g.value(y).unwrap()).unwrap();
            (y, vars.map(|v| be.download(grads.get(v).unwrap()).unwrap()))
        };
        let (fast, reproducible_run) = (run(Arithmetic::Fast), run(Arithmetic::Reproducible));
        let expect = reproducible::linear(x.view(), w.view(), b.view());
        assert_eq!(reproducible_run.0.mapv(f64::to_bits), expect.mapv(f64::to_bits));
        assert!(fast.0.iter().zip(&expect).all(|(a, e)| (a - e).abs() < 1e-12));
        assert_eq!(fast.1, reproducible_run.1);
    }
}
