//! The floating-point types the routines are generic over.

use std::fmt::{Debug, Display};

/// A real floating-point scalar: `f32` or `f64`.
///
/// It bundles what the routines need: arithmetic and `Float` functions and ndarray's BLAS
/// dispatch ([`ndarray::LinalgScalar`]). (Routines that call LAPACK add
/// `ndarray_linalg::Lapack` as a bound of their own; it is not a supertrait here because its
/// `Scalar` methods would shadow `Float`'s.)
pub trait Real:
    num_traits::Float
    + num_traits::FromPrimitive
    + ndarray::LinalgScalar
    + ndarray::ScalarOperand
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + 'static
{
    /// Converts from `f64` (rounding to nearest for `f32`).
    fn of(x: f64) -> Self;
    /// Converts to `f64` exactly.
    fn as_f64(self) -> f64;
}

impl Real for f32 {
    fn of(x: f64) -> Self {
        x as f32
    }
    fn as_f64(self) -> f64 {
        self as f64
    }
}

impl Real for f64 {
    fn of(x: f64) -> Self {
        x
    }
    fn as_f64(self) -> f64 {
        self
    }
}
