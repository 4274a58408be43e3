//! The fused ops on the host: their one reference implementation.
//!
//! [`crate::CpuBackend`] calls these directly. Every other backend inherits them through the
//! default methods of [`crate::Backend`], which download the inputs, call the function here
//! and upload the result, so a new device trains end to end as soon as its basic kernels
//! exist, and may then replace one fused op at a time by a kernel of its own (candle's
//! `CustomOp` pattern).

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Axis, Zip};

use crate::backend::{AdamUpdate, LayerNormGrads, LayerNormOutput};
use crate::{Element, Result};

/// Adam updates of at least this many entries run on the rayon thread pool.
const PAR_MIN_LEN_ADAM: usize = 1 << 16;

/// The symmetric tridiagonal matrix with diagonal `alpha` (`1 × m`) and off-diagonals `beta`.
pub(crate) fn tridiagonal<E: Element>(alpha: ArrayView2<E>, beta: ArrayView2<E>) -> Array2<E> {
    let m = alpha.ncols();
    let mut out = Array2::zeros((m, m));
    for i in 0..m {
        out[[i, i]] = alpha[[0, i]];
        if i + 1 < m {
            out[[i, i + 1]] = beta[[0, i]];
            out[[i + 1, i]] = beta[[0, i]];
        }
    }
    out
}

/// `(diag(G), G_(i,i+1) + G_(i+1,i))`.
pub(crate) fn tridiagonal_backward<E: Element>(g: ArrayView2<E>) -> (Array2<E>, Array2<E>) {
    let m = g.nrows();
    let alpha = Array2::from_shape_fn((1, m), |(_, i)| g[[i, i]]);
    let beta = Array2::from_shape_fn((1, m.saturating_sub(1)), |(_, i)| g[[i, i + 1]] + g[[i + 1, i]]);
    (alpha, beta)
}

/// The packed `(n + 1) × n` eigendecomposition (eigenvectors, then eigenvalues), in f64.
pub(crate) fn symmetric_eigen<E: Element>(a: ArrayView2<E>) -> Result<Array2<E>> {
    // LAPACK in f64 whatever E is: f32 eigensolvers fail to converge on batch graphs.
    let eig = hagcn_linalg::symmetric_eigen(a.mapv(|v| v.as_f64()).view())?;
    let n = eig.values.len();
    let mut packed = Array2::zeros((n + 1, n));
    packed.slice_mut(ndarray::s![..n, ..]).assign(&eig.vectors.mapv(E::of));
    packed.row_mut(n).assign(&eig.values.mapv(E::of));
    Ok(packed)
}

/// Spec §5.1 from the packed decomposition and the packed gradient.
pub(crate) fn symmetric_eigen_backward<E: Element>(packed: ArrayView2<E>, g: ArrayView2<E>) -> Result<Array2<E>> {
    let n = packed.ncols();
    let u = packed.slice(ndarray::s![..n, ..]);
    let gu = g.slice(ndarray::s![..n, ..]);
    Ok(hagcn_linalg::symmetric_eigen_backward(packed.row(n), u, g.row(n), gu)?)
}

/// The B-spline basis at the points of the row `x`.
pub(crate) fn bspline_basis<E: Element>(x: ArrayView2<E>, n_basis: usize, degree: usize) -> Result<Array2<E>> {
    Ok(hagcn_linalg::bspline_basis(x.row(0), n_basis, degree)?.values)
}

/// Its gradient with respect to the points, as a `1 × m` row.
pub(crate) fn bspline_basis_backward<E: Element>(
    x: ArrayView2<E>,
    n_basis: usize,
    degree: usize,
    g: ArrayView2<E>,
) -> Result<Array2<E>> {
    Ok(hagcn_linalg::bspline_basis_backward(x.row(0), n_basis, degree, g)?.insert_axis(Axis(0)))
}

/// Layer norm over each row (biased variance), then `· weight + bias`.
pub(crate) fn layer_norm<E: Element>(
    x: ArrayView2<E>,
    weight: ArrayView2<E>,
    bias: ArrayView2<E>,
    eps: E,
) -> LayerNormOutput<Array2<E>> {
    let (rows, cols) = x.dim();
    let inv_cols = E::of(1.0 / cols as f64);
    let (weight, bias) = (weight.row(0), bias.row(0));
    let mut y = Array2::zeros((rows, cols));
    let mut mean = Array2::zeros((rows, 1));
    let mut rstd = Array2::zeros((rows, 1));
    for (i, x_row) in x.rows().into_iter().enumerate() {
        let mu = x_row.sum() * inv_cols;
        let var = x_row.fold(E::zero(), |acc, &v| acc + (v - mu) * (v - mu)) * inv_cols;
        let r = (var + eps).sqrt().recip();
        Zip::from(y.row_mut(i)).and(&x_row).and(&weight).and(&bias).for_each(|y, &v, &w, &b| *y = (v - mu) * r * w + b);
        mean[[i, 0]] = mu;
        rstd[[i, 0]] = r;
    }
    LayerNormOutput { y, mean, rstd }
}

/// Gradients of [`layer_norm`] given its saved per-row `mean` and `rstd` (`rows × 1`).
pub(crate) fn layer_norm_backward<E: Element>(
    x: ArrayView2<E>,
    weight: ArrayView2<E>,
    mean: ArrayView2<E>,
    rstd: ArrayView2<E>,
    g: ArrayView2<E>,
) -> LayerNormGrads<Array2<E>> {
    // x̂ = (x − μ)·r, y = x̂ ⊙ γ + β. With ĝ = g ⊙ γ:
    // ∂x = r · (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂)),  ∂γ = Σ_rows g ⊙ x̂,  ∂β = Σ_rows g.
    let (rows, cols) = x.dim();
    let inv_cols = E::of(1.0 / cols as f64);
    let weight = weight.row(0);
    let mut gx = Array2::zeros((rows, cols));
    let mut gw = Array1::zeros(cols);
    let mut x_hat = Array1::zeros(cols);
    let mut g_hat = Array1::zeros(cols);
    for i in 0..rows {
        let (mu, r) = (mean[[i, 0]], rstd[[i, 0]]);
        let g_row = g.row(i);
        Zip::from(&mut x_hat).and(x.row(i)).for_each(|h, &v| *h = (v - mu) * r);
        Zip::from(&mut g_hat).and(&g_row).and(&weight).for_each(|h, &g, &w| *h = g * w);
        let mean_g = g_hat.sum() * inv_cols;
        let mean_gx = Zip::from(&g_hat).and(&x_hat).fold(E::zero(), |acc, &a, &b| acc + a * b) * inv_cols;
        Zip::from(gx.row_mut(i))
            .and(&g_hat)
            .and(&x_hat)
            .for_each(|out, &gh, &xh| *out = r * (gh - mean_g - xh * mean_gx));
        Zip::from(&mut gw).and(&g_row).and(&x_hat).for_each(|acc, &g, &xh| *acc = *acc + g * xh);
    }
    LayerNormGrads { x: gx, weight: gw.insert_axis(Axis(0)), bias: g.sum_axis(Axis(0)).insert_axis(Axis(0)) }
}

/// `(Â, d)` with `d` as `n × 1`.
pub(crate) fn normalized_adjacency<E: Element>(a: ArrayView2<E>) -> Result<(Array2<E>, Array2<E>)> {
    let (a_hat, d) = hagcn_linalg::normalized_adjacency(a)?;
    Ok((a_hat, d.insert_axis(Axis(1))))
}

/// Gradient with respect to `A` given `Â`, `d` (`n × 1`) and `∂Â`.
pub(crate) fn normalized_adjacency_backward<E: Element>(
    a_hat: ArrayView2<E>,
    d: ArrayView2<E>,
    g: ArrayView2<E>,
) -> Result<Array2<E>> {
    Ok(hagcn_linalg::normalized_adjacency_backward(a_hat, d.column(0), g)?)
}

/// One Adam update in place (PyTorch's `torch.optim.Adam`, no weight decay).
pub(crate) fn adam_update<E: Element>(
    param: ArrayViewMut2<E>,
    grad: ArrayView2<E>,
    m: ArrayViewMut2<E>,
    v: ArrayViewMut2<E>,
    u: &AdamUpdate<E>,
) {
    let step = u.lr / u.bias_correction1;
    let sqrt_bc2 = u.bias_correction2.sqrt();
    let (one_b1, one_b2) = (E::one() - u.beta1, E::one() - u.beta2);
    let kernel = |p: &mut E, &g: &E, m: &mut E, v: &mut E| {
        *m = u.beta1 * *m + one_b1 * g;
        *v = u.beta2 * *v + one_b2 * g * g;
        *p = *p - step * *m / (v.sqrt() / sqrt_bc2 + u.eps);
    };
    let len = grad.len();
    let zip = Zip::from(param).and(grad).and(m).and(v);
    if len >= PAR_MIN_LEN_ADAM {
        zip.par_for_each(kernel);
    } else {
        zip.for_each(kernel);
    }
}
