//! Scalar element types tensors hold.

/// A floating-point element type: `f32` for training, `f64` for gradient checks.
///
/// Extends [`hagcn_linalg::Real`] with the special functions the ops need.
pub trait Element: hagcn_linalg::Real {
    /// The error function `erf(x) = 2/√π ∫₀ˣ e^(-t²) dt` (libm's, correctly rounded to
    /// within an ulp or so in both precisions).
    fn erf(self) -> Self;
}

impl Element for f32 {
    fn erf(self) -> Self {
        libm::erff(self)
    }
}

impl Element for f64 {
    fn erf(self) -> Self {
        libm::erf(self)
    }
}
