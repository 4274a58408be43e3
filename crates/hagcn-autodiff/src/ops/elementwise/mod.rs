//! Elementwise arithmetic and reductions: [`Graph::add`], [`Graph::sub`], [`Graph::mul`],
//! [`Graph::affine`], [`Graph::add_row`], [`Graph::sum`], [`Graph::scale_by`], [`Graph::sqrt`],
//! [`Graph::recip`], and the composites made of them ([`Graph::square`], [`Graph::scale`],
//! [`Graph::add_scalar`], [`Graph::mean`], [`Graph::mse`]).
//!
//! ```text
//! y = a + b              ∂a = G,  ∂b = G
//! y = a − b              ∂a = G,  ∂b = −G
//! y = a ⊙ b              ∂a = G ⊙ b,  ∂b = G ⊙ a   (a == b gives 2 G ⊙ a by accumulation)
//! y = s·a + c            ∂a = s G
//! y_ij = a_ij + r_j      ∂a = G,  ∂r_j = Σ_i G_ij
//! y = Σ a                ∂a = G · 1
//! y = s a  (s is 1 × 1)  ∂a = s G,  ∂s = Σ G ⊙ a
//! y = √a                 ∂a = G / (2y)
//! y = 1/a                ∂a = −G y²
//! ```
//!
//! PyTorch: `+`, `-`, `*`, `scale * a + shift`, `a + bias`, `a.sum()`, `torch.sqrt`,
//! `torch.reciprocal`, `a.mean()`, `torch.nn.functional.mse_loss`.
//!
//! Kernels (all required by [`Backend`]): `add`, `sub`, `mul`, `affine`, `add_row`,
//! `sum_rows`, `sum`, `broadcast_scalar`, `scale_by`, `sqrt`, `recip`, and the in-place
//! gradient accumulation [`Backend::add_assign`] (provided: `add` unless a backend does it in
//! place). Host: `host.rs`.
//!
//! CUDA: `crates/hagcn-cuda/kernels/elementwise.cu` and `crates/hagcn-cuda/src/ops/elementwise.rs`
//! (the sum runs in two deterministic stages).

pub(crate) mod host;

use num_traits::{One, Zero};

use hagcn_linalg::Real;

use crate::backend::Backend;
use crate::gradients::Accumulator;
use crate::graph::{Graph, Op, Var};
use crate::{Error, Result};

impl<B: Backend> Graph<B> {
    /// Elementwise `a + b` (same shapes).
    pub fn add(&mut self, a: Var, b: Var) -> Result<Var> {
        self.same_shape("add", a, b)?;
        let value = self.backend.add(self.value(a)?, self.value(b)?)?;
        Ok(self.push(value, Op::Add(a, b), &[a, b]))
    }

    /// Elementwise `a − b` (same shapes).
    pub fn sub(&mut self, a: Var, b: Var) -> Result<Var> {
        self.same_shape("sub", a, b)?;
        let value = self.backend.sub(self.value(a)?, self.value(b)?)?;
        Ok(self.push(value, Op::Sub(a, b), &[a, b]))
    }

    /// Elementwise `a ⊙ b` (same shapes).
    pub fn mul(&mut self, a: Var, b: Var) -> Result<Var> {
        self.same_shape("mul", a, b)?;
        let value = self.backend.mul(self.value(a)?, self.value(b)?)?;
        Ok(self.push(value, Op::Mul(a, b), &[a, b]))
    }

    /// Elementwise `a²` (recorded as `a ⊙ a`).
    pub fn square(&mut self, a: Var) -> Result<Var> {
        self.mul(a, a)
    }

    /// Elementwise `scale · a + shift`.
    pub fn affine(&mut self, a: Var, scale: f64, shift: f64) -> Result<Var> {
        let (s, h) = (B::Elem::of(scale), B::Elem::of(shift));
        let value = self.backend.affine(self.value(a)?, s, h)?;
        Ok(self.push(value, Op::Affine { a, scale }, &[a]))
    }

    /// `scale · a`.
    pub fn scale(&mut self, a: Var, scale: f64) -> Result<Var> {
        self.affine(a, scale, 0.0)
    }

    /// `a + shift` on every entry.
    pub fn add_scalar(&mut self, a: Var, shift: f64) -> Result<Var> {
        self.affine(a, 1.0, shift)
    }

    /// Adds the `1 × cols` row vector `row` to every row of `a` (a bias).
    pub fn add_row(&mut self, a: Var, row: Var) -> Result<Var> {
        let (sa, sr) = (self.shape(a)?, self.shape(row)?);
        if sr != (1, sa.1) {
            return Err(Error::Shape { op: "add_row", left: sa, right: sr });
        }
        let value = self.backend.add_row(self.value(a)?, self.value(row)?)?;
        Ok(self.push(value, Op::AddRow { a, row }, &[a, row]))
    }

    /// The sum of every entry, as `1 × 1`.
    pub fn sum(&mut self, a: Var) -> Result<Var> {
        let value = self.backend.sum(self.value(a)?)?;
        Ok(self.push(value, Op::Sum(a), &[a]))
    }

    /// The mean of every entry, as `1 × 1` (PyTorch: `a.mean()`).
    pub fn mean(&mut self, a: Var) -> Result<Var> {
        let (rows, cols) = self.shape(a)?;
        let s = self.sum(a)?;
        self.scale(s, 1.0 / (rows * cols).max(1) as f64)
    }

    /// `mean((a − b)²)` (PyTorch: `torch.nn.functional.mse_loss`).
    pub fn mse(&mut self, a: Var, b: Var) -> Result<Var> {
        let diff = self.sub(a, b)?;
        let sq = self.square(diff)?;
        self.mean(sq)
    }

    /// `s · a` where `s` is a `1 × 1` variable (a scalar computed in the graph).
    pub fn scale_by(&mut self, a: Var, s: Var) -> Result<Var> {
        let ss = self.shape(s)?;
        if ss != (1, 1) {
            return Err(Error::Shape { op: "scale_by", left: self.shape(a)?, right: ss });
        }
        let value = self.backend.scale_by(self.value(a)?, self.value(s)?)?;
        Ok(self.push(value, Op::ScaleBy { a, s }, &[a, s]))
    }

    /// Elementwise `√a` (PyTorch: `torch.sqrt`).
    pub fn sqrt(&mut self, a: Var) -> Result<Var> {
        let value = self.backend.sqrt(self.value(a)?)?;
        Ok(self.push(value, Op::Sqrt(a), &[a]))
    }

    /// Elementwise `1 / a` (PyTorch: `torch.reciprocal`).
    pub fn recip(&mut self, a: Var) -> Result<Var> {
        let value = self.backend.recip(self.value(a)?)?;
        Ok(self.push(value, Op::Recip(a), &[a]))
    }
}

/// Backward of [`Graph::add`]: `∂a = G`, `∂b = G`.
pub(crate) fn backward_add<B: Backend>(grads: &mut Accumulator<'_, B>, a: Var, b: Var, g: B::Tensor) -> Result<()> {
    grads.add(a, g.clone())?;
    grads.add(b, g)
}

/// Backward of [`Graph::sub`]: `∂a = G`, `∂b = −G`.
pub(crate) fn backward_sub<B: Backend>(grads: &mut Accumulator<'_, B>, a: Var, b: Var, g: B::Tensor) -> Result<()> {
    if grads.needs(b) {
        let neg = grads.backend().affine(&g, -B::Elem::one(), B::Elem::zero())?;
        grads.add(b, neg)?;
    }
    grads.add(a, g)
}

/// Backward of [`Graph::mul`]: `∂a = G ⊙ b`, `∂b = G ⊙ a`.
pub(crate) fn backward_mul<B: Backend>(grads: &mut Accumulator<'_, B>, a: Var, b: Var, g: &B::Tensor) -> Result<()> {
    let graph = grads.graph();
    let (va, vb) = (graph.value(a)?, graph.value(b)?);
    if grads.needs(a) {
        grads.add(a, graph.backend().mul(g, vb)?)?;
    }
    if grads.needs(b) {
        grads.add(b, graph.backend().mul(g, va)?)?;
    }
    Ok(())
}

/// Backward of [`Graph::affine`]: `∂a = s G`.
pub(crate) fn backward_affine<B: Backend>(
    grads: &mut Accumulator<'_, B>,
    a: Var,
    scale: f64,
    g: &B::Tensor,
) -> Result<()> {
    let ga = grads.backend().affine(g, B::Elem::of(scale), B::Elem::zero())?;
    grads.add(a, ga)
}

/// Backward of [`Graph::add_row`]: `∂a = G`, `∂r_j = Σ_i G_ij`.
pub(crate) fn backward_add_row<B: Backend>(
    grads: &mut Accumulator<'_, B>,
    a: Var,
    row: Var,
    g: B::Tensor,
) -> Result<()> {
    if grads.needs(row) {
        let g_row = grads.backend().sum_rows(&g)?;
        grads.add(row, g_row)?;
    }
    grads.add(a, g)
}

/// Backward of [`Graph::sum`]: `∂a = G · 1`.
pub(crate) fn backward_sum<B: Backend>(grads: &mut Accumulator<'_, B>, a: Var, g: &B::Tensor) -> Result<()> {
    let (rows, cols) = grads.graph().shape(a)?;
    let ga = grads.backend().broadcast_scalar(g, rows, cols, B::Elem::one())?;
    grads.add(a, ga)
}

/// Backward of [`Graph::scale_by`]: `∂a = s G`, `∂s = Σ G ⊙ a`.
pub(crate) fn backward_scale_by<B: Backend>(
    grads: &mut Accumulator<'_, B>,
    a: Var,
    s: Var,
    g: &B::Tensor,
) -> Result<()> {
    let graph = grads.graph();
    let be = graph.backend();
    if grads.needs(s) {
        grads.add(s, be.sum(&be.mul(g, graph.value(a)?)?)?)?;
    }
    if grads.needs(a) {
        grads.add(a, be.scale_by(g, graph.value(s)?)?)?;
    }
    Ok(())
}

/// Backward of [`Graph::sqrt`] given its output `y`: `∂a = G / (2y)`.
pub(crate) fn backward_sqrt<B: Backend>(
    grads: &mut Accumulator<'_, B>,
    a: Var,
    y: &B::Tensor,
    g: &B::Tensor,
) -> Result<()> {
    let be = grads.backend();
    let half_recip = be.affine(&be.recip(y)?, B::Elem::of(0.5), B::Elem::zero())?;
    grads.add(a, be.mul(g, &half_recip)?)
}

/// Backward of [`Graph::recip`] given its output `y`: `∂a = −G y²`.
pub(crate) fn backward_recip<B: Backend>(
    grads: &mut Accumulator<'_, B>,
    a: Var,
    y: &B::Tensor,
    g: &B::Tensor,
) -> Result<()> {
    let be = grads.backend();
    let y2 = be.mul(y, y)?;
    grads.add(a, be.affine(&be.mul(g, &y2)?, -B::Elem::one(), B::Elem::zero())?)
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, array};

    use crate::ops::testing::{be, grads_of};
    use crate::test_utils::{Tolerance, assert_gradcheck, random_matrix};
    use crate::{Backend, Error, Graph};

    #[test]
    fn elementwise_literals() {
        // L = Σ (a + b) + Σ (a − b) + Σ a ⊙ b:  ∂a = 2 + b,  ∂b = a
        let a = array![[1.0, -2.0]];
        let b = array![[3.0, 5.0]];
        let (_, g) = grads_of(&[a, b], |g, v| {
            let s = g.add(v[0], v[1])?;
            let d = g.sub(v[0], v[1])?;
            let p = g.mul(v[0], v[1])?;
            let t = g.add(s, d)?;
            g.add(t, p)
        });
        assert_eq!(g[0], array![[5.0, 7.0]]);
        assert_eq!(g[1], array![[1.0, -2.0]]);
    }

    #[test]
    fn elementwise_gradchecks() {
        let x = random_matrix(3, 4, -2.0, 2.0, 4);
        let y = random_matrix(3, 4, -2.0, 2.0, 5);
        let tol = Tolerance::default();
        assert_gradcheck(|g, v| g.add(v[0], v[1]), &[x.clone(), y.clone()], tol);
        assert_gradcheck(|g, v| g.sub(v[0], v[1]), &[x.clone(), y.clone()], tol);
        assert_gradcheck(|g, v| g.mul(v[0], v[1]), &[x.clone(), y.clone()], tol);
        assert_gradcheck(|g, v| g.square(v[0]), std::slice::from_ref(&x), tol);
        assert_gradcheck(|g, v| g.affine(v[0], -2.5, 0.75), std::slice::from_ref(&x), tol);
        assert_gradcheck(|g, v| g.sum(v[0]), std::slice::from_ref(&x), tol);
        assert_gradcheck(|g, v| g.mean(v[0]), std::slice::from_ref(&x), tol);
        assert_gradcheck(|g, v| g.mse(v[0], v[1]), &[x, y], tol);
    }

    #[test]
    fn affine_literal() {
        // y = 3x + 1:  ∂x = 3
        let (y, g) = grads_of(&[array![[1.0, 2.0]]], |g, v| g.affine(v[0], 3.0, 1.0));
        assert_eq!(y, array![[4.0, 7.0]]);
        assert_eq!(g[0], array![[3.0, 3.0]]);
    }

    #[test]
    fn mse_literal() {
        // mse = ((1−0)² + (3−1)²)/2 = 2.5;  ∂a = 2(a − b)/N = [1, 2]
        let (y, g) = grads_of(&[array![[1.0, 3.0]], array![[0.0, 1.0]]], |g, v| g.mse(v[0], v[1]));
        assert_eq!(y, array![[2.5]]);
        assert_eq!(g[0], array![[1.0, 2.0]]);
        assert_eq!(g[1], array![[-1.0, -2.0]]);
    }

    #[test]
    fn add_row_literal_and_gradcheck() {
        // y_ij = a_ij + r_j, L = Σ y:  ∂a = 1,  ∂r = number of rows = 2
        let (y, g) = grads_of(&[array![[1.0, 2.0], [3.0, 4.0]], array![[10.0, 20.0]]], |g, v| g.add_row(v[0], v[1]));
        assert_eq!(y, array![[11.0, 22.0], [13.0, 24.0]]);
        assert_eq!(g[0], array![[1.0, 1.0], [1.0, 1.0]]);
        assert_eq!(g[1], array![[2.0, 2.0]]);
        assert_gradcheck(
            |g, v| g.add_row(v[0], v[1]),
            &[random_matrix(3, 4, -1.0, 1.0, 32), random_matrix(1, 4, -1.0, 1.0, 33)],
            Tolerance::default(),
        );
        let be = be();
        let mut g = Graph::new(be.clone());
        let a = g.constant(be.upload(Array2::zeros((2, 3)).view()).unwrap());
        let r = g.constant(be.upload(Array2::zeros((1, 2)).view()).unwrap());
        assert!(matches!(g.add_row(a, r), Err(Error::Shape { op: "add_row", .. })));
    }

    #[test]
    fn scale_by_literal_and_gradcheck() {
        // y = s a, L = Σ y:  ∂a = s,  ∂s = Σ a
        let (y, g) = grads_of(&[array![[1.0, 2.0]], array![[3.0]]], |g, v| g.scale_by(v[0], v[1]));
        assert_eq!(y, array![[3.0, 6.0]]);
        assert_eq!(g[0], array![[3.0, 3.0]]);
        assert_eq!(g[1], array![[3.0]]);
        assert_gradcheck(
            |g, v| g.scale_by(v[0], v[1]),
            &[random_matrix(3, 2, -1.0, 1.0, 20), random_matrix(1, 1, -1.0, 1.0, 21)],
            Tolerance::default(),
        );
        let be = be();
        let mut g = Graph::new(be.clone());
        let a = g.constant(be.upload(Array2::zeros((2, 2)).view()).unwrap());
        assert!(matches!(g.scale_by(a, a), Err(Error::Shape { op: "scale_by", .. })));
    }

    #[test]
    fn sqrt_and_recip_literal_and_gradcheck() {
        // √4 = 2, d/dx √x = 1/(2√x) = 1/4;  1/4, d/dx 1/x = −1/x² = −1/16
        let (y, g) = grads_of(&[array![[4.0]]], |g, v| g.sqrt(v[0]));
        assert_eq!((y, g[0].clone()), (array![[2.0]], array![[0.25]]));
        let (y, g) = grads_of(&[array![[4.0]]], |g, v| g.recip(v[0]));
        assert_eq!((y, g[0].clone()), (array![[0.25]], array![[-0.0625]]));
        let x = random_matrix(2, 3, 0.5, 2.0, 22);
        assert_gradcheck(|g, v| g.sqrt(v[0]), std::slice::from_ref(&x), Tolerance::default());
        assert_gradcheck(|g, v| g.recip(v[0]), &[x], Tolerance::default());
    }
}
