//! Host math of layer norm: the one reference implementation, and the types that carry its
//! saved values and gradients on every backend.

use ndarray::{Array1, Array2, ArrayView2, Axis, Zip};

use crate::Element;

/// Saved outputs of a layer norm forward pass, reused by the backward pass.
#[derive(Clone, Debug)]
pub struct LayerNormOutput<T> {
    /// The normalised, scaled and shifted output, `rows × cols`.
    pub y: T,
    /// Per-row mean, `rows × 1`.
    pub mean: T,
    /// Per-row reciprocal standard deviation `1/√(var + eps)`, `rows × 1`.
    pub rstd: T,
}

impl<T> LayerNormOutput<T> {
    /// Each of the three values through `f` (for example an upload to a device).
    pub(crate) fn try_map<U, E>(self, mut f: impl FnMut(T) -> Result<U, E>) -> Result<LayerNormOutput<U>, E> {
        Ok(LayerNormOutput { y: f(self.y)?, mean: f(self.mean)?, rstd: f(self.rstd)? })
    }
}

/// Gradients of a layer norm with respect to its input, weight and bias.
#[derive(Clone, Debug)]
pub struct LayerNormGrads<T> {
    /// With respect to the input, `rows × cols`.
    pub x: T,
    /// With respect to the weight (γ), `1 × cols`.
    pub weight: T,
    /// With respect to the bias (β), `1 × cols`.
    pub bias: T,
}

impl<T> LayerNormGrads<T> {
    /// Each of the three gradients through `f` (for example an upload to a device).
    pub(crate) fn try_map<U, E>(self, mut f: impl FnMut(T) -> Result<U, E>) -> Result<LayerNormGrads<U>, E> {
        Ok(LayerNormGrads { x: f(self.x)?, weight: f(self.weight)?, bias: f(self.bias)? })
    }
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
