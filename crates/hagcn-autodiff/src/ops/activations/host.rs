//! Host math of the activations on whole matrices, as `CpuBackend` runs them (large arrays on
//! rayon through `ops/par.rs`); the scalar GELU is [`crate::Element::gelu`] (`scalar.rs`).

use ndarray::{Array2, ArrayView2};

use crate::Element;
use crate::ops::par::{map1, map2};

/// `GELU(x)` entry by entry.
pub(crate) fn gelu<E: Element>(x: ArrayView2<E>) -> Array2<E> {
    map1(x, E::gelu)
}

/// `g ⊙ GELU'(x)`.
pub(crate) fn gelu_backward<E: Element>(x: ArrayView2<E>, g: ArrayView2<E>) -> Array2<E> {
    map2(x, g, |v, g| g * v.gelu_grad())
}

/// `σ(x) = 1 / (1 + e^(-x))` entry by entry.
pub(crate) fn sigmoid<E: Element>(x: ArrayView2<E>) -> Array2<E> {
    map1(x, |v| E::one() / (E::one() + (-v).exp()))
}

/// `g ⊙ y (1 − y)` from the sigmoid's output `y`.
pub(crate) fn sigmoid_backward<E: Element>(y: ArrayView2<E>, g: ArrayView2<E>) -> Array2<E> {
    map2(y, g, |y, g| g * y * (E::one() - y))
}
