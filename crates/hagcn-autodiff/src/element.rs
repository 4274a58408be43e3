//! Scalar element types tensors hold.
//!
//! [`Element`] is [`hagcn_linalg::Real`] plus the per-type pieces that generic op code cannot
//! write once for both types: the special functions of GELU (an `f32` approximation that
//! vectorises, libm in `f64`; `ops/activations/scalar.rs`) and the Gram matrix through the
//! matching BLAS `?syrk` (`ops/matmul/syrk.rs`). The implementations below only dispatch.

use crate::ops::activations::scalar;
use crate::ops::matmul::syrk;

/// A floating-point element type: `f32` for training, `f64` for gradient checks.
///
/// Extends [`hagcn_linalg::Real`] with the special functions the ops need.
pub trait Element: hagcn_linalg::Real {
    /// The error function `erf(x) = 2/√π ∫₀ˣ e^(-t²) dt`.
    fn erf(self) -> Self;
    /// `GELU(x) = x Φ(x) = x/2 · (1 + erf(x/√2))`, the exact (erf) form.
    fn gelu(self) -> Self;
    /// `GELU'(x) = Φ(x) + x φ(x)`, `φ(x) = e^(-x²/2)/√(2π)`.
    fn gelu_grad(self) -> Self;
    /// `alpha · a aᵀ` for a row-major `a` (`n × k`): BLAS `?syrk` on one triangle (half the
    /// work of a general product), then mirrored.
    fn gram(alpha: Self, a: &ndarray::Array2<Self>) -> ndarray::Array2<Self>;
}

impl Element for f64 {
    fn erf(self) -> Self {
        libm::erf(self)
    }
    fn gelu(self) -> Self {
        scalar::gelu_f64(self)
    }
    fn gelu_grad(self) -> Self {
        scalar::gelu_grad_f64(self)
    }
    fn gram(alpha: Self, a: &ndarray::Array2<Self>) -> ndarray::Array2<Self> {
        syrk::gram_f64(alpha, a)
    }
}

impl Element for f32 {
    #[inline(always)]
    fn erf(self) -> Self {
        scalar::erf_f32(self)
    }
    #[inline(always)]
    fn gelu(self) -> Self {
        scalar::gelu_f32(self)
    }
    #[inline(always)]
    fn gelu_grad(self) -> Self {
        scalar::gelu_grad_f32(self)
    }
    fn gram(alpha: Self, a: &ndarray::Array2<Self>) -> ndarray::Array2<Self> {
        syrk::gram_f32(alpha, a)
    }
}
