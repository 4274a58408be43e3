//! The B-spline basis at a row of points: [`Graph::bspline_basis`] (the spline filter's basis
//! over the eigenvalues, spec §5.2).
//!
//! ```text
//! knots: p copies of lo = min x, K − p + 1 evenly spaced values lo..hi, p copies of hi = max x
//! N_(i,0)(x) = 1 if t_i ≤ x < t_(i+1) else 0
//! N_(i,d)(x) = (x − t_i)/(t_(i+d) − t_i + ε) N_(i,d−1)(x)
//!            + (t_(i+d+1) − x)/(t_(i+d+1) − t_(i+1) + ε) N_(i+1,d−1)(x),   ε = 1e-10
//! ```
//!
//! with entry `(j, i) = N_(i,p)(x_j)` and the last point's last entry set to 1 (details in
//! [`hagcn_linalg::bspline_basis`]). The gradient with respect to the points runs the
//! recursion forward on dual numbers, through the ratios and through the knots (`lo` and `hi`
//! are the points at the argmin and argmax).
//!
//! Kernels: [`Backend::bspline_basis`] and [`Backend::bspline_basis_backward`], fused ops whose
//! defaults run the host math (`host.rs`, also what `CpuBackend` calls) between a download and
//! an upload.
//!
//! CUDA: `crates/hagcn-cuda/kernels/bspline.cu` and `crates/hagcn-cuda/src/ops/bspline.rs`.

pub(crate) mod host;

use crate::backend::Backend;
use crate::gradients::Accumulator;
use crate::graph::{Graph, Op, Var};
use crate::{Error, Result};

impl<B: Backend> Graph<B> {
    /// The B-spline basis (Cox–de Boor, `n_basis` functions of `degree`) at the points of the
    /// row `x` (`1 × m`), as an `m × n_basis` matrix (see [`hagcn_linalg::bspline_basis`]).
    pub fn bspline_basis(&mut self, x: Var, n_basis: usize, degree: usize) -> Result<Var> {
        let sx = self.shape(x)?;
        if sx.0 != 1 {
            return Err(Error::Shape { op: "bspline_basis", left: sx, right: (1, sx.1) });
        }
        let value = self.backend.bspline_basis(self.value(x)?, n_basis, degree)?;
        Ok(self.push(value, Op::BsplineBasis { x, n_basis, degree }, &[x]))
    }
}

/// Backward of [`Graph::bspline_basis`]: forward-mode derivatives of the Cox–de Boor
/// recursion, knots included.
pub(crate) fn backward_bspline_basis<B: Backend>(
    grads: &mut Accumulator<'_, B>,
    x: Var,
    n_basis: usize,
    degree: usize,
    g: &B::Tensor,
) -> Result<()> {
    let graph = grads.graph();
    let gx = graph.backend().bspline_basis_backward(graph.value(x)?, n_basis, degree, g)?;
    grads.add(x, gx)
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use crate::Backend;
    use crate::ops::testing::{close, grads_of};
    use crate::test_utils::{Tolerance, assert_gradcheck};

    #[test]
    fn bspline_basis_literal() {
        // 4 cubic functions on the points [0, ½, 1]: knots [0, 0, 0, 0, 1, 1, 1, 1], the
        // Bernstein basis C(3,i) u^i (1 − u)^(3−i) of u = (x − lo)/(hi − lo); the last point's
        // row is [0, 0, 0, 1]. L = B_1(x_1) = 3u(1 − u)² (a mask W picks it):
        // ∂x_1 = dB_1/du = 3(1 − u)² − 6u(1 − u) = −3/4 at u = ½, and through the knots
        // (lo = x_0, hi = x_2): ∂u/∂lo = (x − hi)/(hi − lo)² = −½ and ∂u/∂hi = −(x − lo)/(hi − lo)²
        // = −½, so ∂x_0 = ∂x_2 = 3/8. (ε = 1e-10 in the denominators perturbs these by about 1e-10.)
        let mask = array![[0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]];
        let (basis, g) = grads_of(&[array![[0.0, 0.5, 1.0]]], |g, v| {
            let basis = g.bspline_basis(v[0], 4, 3)?;
            let w = g.constant(g.backend().upload(mask.view())?);
            g.mul(basis, w)
        });
        assert!(close(&basis, &array![[0.0, 0.0, 0.0, 0.0], [0.0, 0.375, 0.0, 0.0], [0.0; 4]], 1e-9), "{basis}");
        assert!(close(&g[0], &array![[0.375, -0.75, 0.375]], 1e-9), "{}", g[0]);
        let (basis, _) = grads_of(&[array![[0.0, 0.5, 1.0]]], |g, v| g.bspline_basis(v[0], 4, 3));
        let bernstein = array![[1.0, 0.0, 0.0, 0.0], [0.125, 0.375, 0.375, 0.125], [0.0, 0.0, 0.0, 1.0]];
        assert!(close(&basis, &bernstein, 1e-9), "{basis}");
    }

    #[test]
    fn bspline_basis_gradcheck() {
        // Four well-separated points, 4 cubic basis functions (as the spline filter with k = 4).
        let x = array![[-0.9, -0.35, 0.2, 0.8]];
        assert_gradcheck(|g, v| g.bspline_basis(v[0], 4, 3), &[x], Tolerance { eps: 1e-7, rtol: 1e-5, atol: 1e-7 });
    }
}
