//! Host math of the matrix products: GEMM through BLAS (`?gemm`), the Gram matrix through
//! `?syrk` ([`crate::Element::gram`], see `syrk.rs`) and its gradient.

use ndarray::{Array2, ArrayView2, ArrayViewMut2, linalg::general_mat_mul};

use crate::Element;
use crate::ops::par::map2;

/// `op(a) · op(b)`, transposing an operand when its flag is set.
pub(crate) fn matmul<E: Element>(a: ArrayView2<E>, ta: bool, b: ArrayView2<E>, tb: bool) -> Array2<E> {
    let a = if ta { a.reversed_axes() } else { a };
    let b = if tb { b.reversed_axes() } else { b };
    let mut c = Array2::zeros((a.nrows(), b.ncols()));
    // beta = 1 on a zeroed C: OpenBLAS skips its own zeroing pass (it runs one for beta = 0).
    general_mat_mul(E::one(), &a, &b, E::one(), &mut c);
    c
}

/// `acc ← acc + op(a) · op(b)`: one GEMM with β = 1.
pub(crate) fn matmul_acc<E: Element>(acc: ArrayViewMut2<E>, a: ArrayView2<E>, ta: bool, b: ArrayView2<E>, tb: bool) {
    let a = if ta { a.reversed_axes() } else { a };
    let b = if tb { b.reversed_axes() } else { b };
    let mut acc = acc;
    general_mat_mul(E::one(), &a, &b, E::one(), &mut acc);
}

/// `scale · a aᵀ` (BLAS `?syrk` on one triangle, then mirrored).
pub(crate) fn gram<E: Element>(a: &Array2<E>, scale: E) -> Array2<E> {
    E::gram(scale, a)
}

/// Gradient of [`gram`] with respect to `a`: `scale · (g + gᵀ) a`.
pub(crate) fn gram_backward<E: Element>(a: ArrayView2<E>, g: ArrayView2<E>, scale: E) -> Array2<E> {
    let sym = map2(g, g.t().to_owned().view(), |x, y| x + y);
    let mut out = Array2::zeros(a.dim());
    general_mat_mul(scale, &sym.view(), &a, E::one(), &mut out);
    out
}
