//! AGH's settings ([`AghLayers`], [`AghOptions`]) and the checks every fit makes: the
//! parameters before the data (`b ≥ 1`, `1 ≤ s ≤ m`, an even `b` for two layers, and at
//! most `m − 1` eigenvectors, so `b ≤ m − 1` bits for one layer and `b ≤ 2(m − 1)` for two),
//! then the data and anchors, and the k-means anchors of [`Agh::fit`](crate::Agh::fit).

use ndarray::{Array2, ArrayView2};

use crate::baselines::validate;
use crate::error::{Error, Result};
use crate::kmeans::KMeans;

/// One or two layers of AGH bits (see the [module docs](crate::agh)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AghLayers {
    /// One bit per eigenvector, `[y_k > 0]` (the paper's 1-AGH).
    One,
    /// Two bits per eigenvector, the second thresholding each side of zero (the paper's
    /// 2-AGH); needs an even number of bits.
    Two,
}

impl AghLayers {
    /// The number of eigenvectors `n_bits` of these layers need.
    pub(super) fn eigenvectors_for(self, n_bits: usize) -> usize {
        match self {
            AghLayers::One => n_bits,
            AghLayers::Two => n_bits / 2,
        }
    }

    pub(super) fn method(self) -> &'static str {
        match self {
            AghLayers::One => "AGH",
            AghLayers::Two => "two-layer AGH",
        }
    }
}

/// The anchor graph's settings; [`Default`] gives the paper's: 300 anchors, `s = 3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AghOptions {
    /// The number of anchors `m` (k-means centres); 300 in the paper.
    pub n_anchors: usize,
    /// The number `s` of nearest anchors each point is tied to; 3 in the paper's MNIST runs.
    pub nearest_anchors: usize,
    /// The most Lloyd iterations of the anchors' k-means (100 by default; it stops earlier
    /// at a fixed point).
    pub kmeans_iterations: usize,
}

impl Default for AghOptions {
    fn default() -> Self {
        AghOptions { n_anchors: 300, nearest_anchors: 3, kmeans_iterations: 100 }
    }
}

/// Checks the parameters shared by every AGH fit, before looking at the data.
pub(super) fn check_parameters(
    n_bits: usize,
    n_anchors: usize,
    nearest: usize,
    layers: AghLayers,
    method: &'static str,
) -> Result<()> {
    if n_bits == 0 {
        return Err(Error::ZeroBits);
    }
    if nearest == 0 || nearest > n_anchors {
        return Err(Error::NearestAnchors { nearest, n_anchors });
    }
    if layers == AghLayers::Two && n_bits % 2 == 1 {
        return Err(Error::OddBits { method, n_bits });
    }
    // m − 1 non-trivial eigenvectors at most, one or two bits each.
    let max_bits = match layers {
        AghLayers::One => n_anchors - 1,
        AghLayers::Two => 2 * (n_anchors - 1),
    };
    if n_bits > max_bits {
        return Err(Error::TooManyBitsForAnchors { method, n_bits, max_bits, n_anchors });
    }
    Ok(())
}

/// Validates training embeddings and given anchors; returns both in `f64`.
pub(super) fn check_data(
    train: ArrayView2<f32>,
    anchors: ArrayView2<f64>,
    method: &'static str,
) -> Result<(Array2<f64>, Array2<f64>)> {
    let x = validate(train)?;
    if anchors.nrows() == 0 || anchors.ncols() != x.ncols() {
        return Err(Error::AnchorShape { rows: anchors.nrows(), cols: anchors.ncols(), dim: x.ncols() });
    }
    if let Some(((row, col), _)) = anchors.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::NonFiniteAnchor { row, col });
    }
    if x.nrows() < anchors.nrows() {
        return Err(Error::TooFewEmbeddings { method, min: anchors.nrows(), rows: x.nrows() });
    }
    Ok((x, anchors.to_owned()))
}

/// k-means anchors of validated training data (see [`Agh::fit`](crate::Agh::fit)).
pub(super) fn kmeans_anchors(
    train: ArrayView2<f32>,
    options: &AghOptions,
    seed: u64,
    method: &'static str,
) -> Result<Array2<f64>> {
    let rows = validate(train)?.nrows();
    if rows < options.n_anchors {
        return Err(Error::TooFewEmbeddings { method, min: options.n_anchors, rows });
    }
    Ok(KMeans::fit(train, options.n_anchors, options.kmeans_iterations, seed)?.centres().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_papers() {
        let o = AghOptions::default();
        assert_eq!((o.n_anchors, o.nearest_anchors, o.kmeans_iterations), (300, 3, 100));
    }
}
