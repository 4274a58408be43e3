//! The anchor graph of Liu et al. (ICML 2011), shared by [`Agh`](crate::Agh) and by models
//! that propagate features over a training set's neighbourhoods: `m` anchors (k-means
//! centres of the training points), and for every point `x` its `s` nearest anchors `⟨x⟩`
//! with normalised Gaussian weights
//!
//! ```text
//! z_j(x) = exp(−D²(x, u_j) / σ²) / Σ_{l ∈ ⟨x⟩} exp(−D²(x, u_l) / σ²)   for j ∈ ⟨x⟩,  0 otherwise,
//! σ = (1/n) Σ_i D(x_i, u_{(s)})   (the training points' mean distance to their s-th anchor).
//! ```
//!
//! `Z` (`n × m`, `s` non-zeros per row) defines the graph `A = Z Λ^{-1} Zᵀ`, `Λ = diag(Zᵀ 1)`,
//! whose rows sum to 1; a new point's row of it needs only its own `z(x)`, so encoding
//! through it costs `m` distances, whatever `n`. The kernel is evaluated relative to the
//! nearest anchor (the same `z`, without underflow).

use ndarray::{Array2, ArrayView2, Axis, s};
use rayon::prelude::*;

use crate::baselines::validate;
use crate::error::{Error, Result};
use crate::kmeans::{KMeans, squared_distances};

/// Points whose anchor distances are computed at once (bounds the `rows × m` buffer).
const ROW_CHUNK: usize = 4096;

/// Anchors, the number `s` of nearest anchors per point and the kernel bandwidth `σ`.
#[derive(Debug, Clone, PartialEq)]
pub struct Anchors {
    anchors: Array2<f64>,
    nearest: usize,
    bandwidth: f64,
}

impl Anchors {
    /// `m` k-means anchors of `train` (k-means++ from `seed`, at most `kmeans_iterations`
    /// Lloyd iterations), each point tied to its `nearest` anchors, and the bandwidth of the
    /// training points; returns them with the training points' weights `Z`.
    ///
    /// # Errors
    ///
    /// [`Error::NearestAnchors`] unless `1 ≤ nearest ≤ m`, the errors of [`KMeans::fit`]
    /// (empty, non-finite or too few distinct points), and [`Error::DegenerateAnchorGraph`]
    /// when every point coincides with its anchors (bandwidth 0).
    pub fn fit(
        train: ArrayView2<f32>,
        n_anchors: usize,
        nearest: usize,
        kmeans_iterations: usize,
        seed: u64,
    ) -> Result<(Anchors, AnchorWeights)> {
        if nearest == 0 || nearest > n_anchors {
            return Err(Error::NearestAnchors { nearest, n_anchors });
        }
        Anchors::fit_f64(validate(train)?.view(), n_anchors, nearest, kmeans_iterations, seed)
    }

    /// [`Anchors::fit`] on rows already in `f64`, read in place (no copy of `train`).
    ///
    /// # Errors
    ///
    /// As [`Anchors::fit`].
    pub fn fit_f64(
        train: ArrayView2<f64>,
        n_anchors: usize,
        nearest: usize,
        kmeans_iterations: usize,
        seed: u64,
    ) -> Result<(Anchors, AnchorWeights)> {
        if nearest == 0 || nearest > n_anchors {
            return Err(Error::NearestAnchors { nearest, n_anchors });
        }
        let centres = KMeans::fit_f64(train, n_anchors, kmeans_iterations, seed)?.centres().to_owned();
        Anchors::fit_bandwidth(train, centres, nearest)
    }

    /// Given anchors (`m × d`, checked by the caller), the bandwidth of `train` and its
    /// weights `Z`.
    pub(crate) fn fit_bandwidth(
        train: ArrayView2<f64>,
        anchors: Array2<f64>,
        nearest: usize,
    ) -> Result<(Anchors, AnchorWeights)> {
        let n = train.nrows();
        let (index, d2) = nearest_anchors(train, anchors.view(), nearest);
        // σ: the mean distance to the s-th nearest anchor (`mean(val(:,s).^0.5)`).
        let bandwidth = (0..n).fold(0.0, |acc, i| acc + d2[i * nearest + nearest - 1].sqrt()) / n as f64;
        if bandwidth <= 0.0 || !bandwidth.is_finite() {
            return Err(Error::DegenerateAnchorGraph(format!(
                "every training point coincides with its {nearest} nearest anchors, so the kernel bandwidth \
                 (the mean distance to the {nearest}-th nearest anchor) is 0"
            )));
        }
        let z = kernel_weights(index, &d2, nearest, bandwidth);
        Ok((Anchors { anchors, nearest, bandwidth }, z))
    }

    /// Anchors saved earlier ([`Anchors::anchors`], [`Anchors::nearest`],
    /// [`Anchors::bandwidth`]).
    ///
    /// # Errors
    ///
    /// [`Error::NearestAnchors`], [`Error::NonFiniteAnchor`], or
    /// [`Error::DegenerateAnchorGraph`] for a bandwidth that is not positive and finite.
    pub fn from_parts(anchors: Array2<f64>, nearest: usize, bandwidth: f64) -> Result<Anchors> {
        if nearest == 0 || nearest > anchors.nrows() {
            return Err(Error::NearestAnchors { nearest, n_anchors: anchors.nrows() });
        }
        if let Some(((row, col), _)) = anchors.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFiniteAnchor { row, col });
        }
        if !(bandwidth > 0.0 && bandwidth.is_finite()) {
            return Err(Error::DegenerateAnchorGraph(format!(
                "the kernel bandwidth must be positive, got {bandwidth}"
            )));
        }
        Ok(Anchors { anchors, nearest, bandwidth })
    }

    /// The anchors, `m × d`.
    pub fn anchors(&self) -> ArrayView2<'_, f64> {
        self.anchors.view()
    }

    /// The number `s` of nearest anchors each point is tied to.
    pub fn nearest(&self) -> usize {
        self.nearest
    }

    /// The kernel bandwidth `σ`.
    pub fn bandwidth(&self) -> f64 {
        self.bandwidth
    }

    /// The weights `z(x)` of the rows of `x` (`n × d`, finite; the caller checks the width).
    pub fn weights(&self, x: ArrayView2<f64>) -> AnchorWeights {
        let (index, d2) = nearest_anchors(x, self.anchors.view(), self.nearest);
        kernel_weights(index, &d2, self.nearest, self.bandwidth)
    }
}

/// Each point's `s` nearest anchors and its weights `z_j(x)` on them: row `i` of the
/// sparse `Z`, nearest anchor first.
#[derive(Debug, Clone, PartialEq)]
pub struct AnchorWeights {
    pub(crate) nearest: usize,
    pub(crate) index: Vec<usize>,
    pub(crate) weight: Vec<f64>,
}

impl AnchorWeights {
    /// The number of points.
    pub fn rows(&self) -> usize {
        self.index.len() / self.nearest
    }

    /// Row `i`: `(anchor, weight)` pairs.
    pub fn row(&self, i: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let range = i * self.nearest..(i + 1) * self.nearest;
        self.index[range.clone()].iter().copied().zip(self.weight[range].iter().copied())
    }

    /// `Z P` for an `m × r` matrix `P`, each row summed over its anchors nearest first.
    pub fn times(&self, p: &Array2<f64>) -> Array2<f64> {
        let r = p.ncols();
        let mut out = Array2::zeros((self.rows(), r));
        out.axis_iter_mut(Axis(0)).into_par_iter().enumerate().for_each(|(i, mut row)| {
            for (j, w) in self.row(i) {
                for (o, &v) in row.iter_mut().zip(p.row(j)) {
                    *o += w * v;
                }
            }
        });
        out
    }

    /// Dense `Z`, `rows × m`.
    pub fn dense(&self, m: usize) -> Array2<f64> {
        let mut z = Array2::zeros((self.rows(), m));
        for i in 0..self.rows() {
            for (j, w) in self.row(i) {
                z[[i, j]] = w;
            }
        }
        z
    }
}

/// The `s` nearest anchors of each row of `x` and their squared distances, nearest first,
/// ties to the lower anchor index (MATLAB's repeated `min`). Row-major `n × s` each.
pub(crate) fn nearest_anchors(x: ArrayView2<f64>, anchors: ArrayView2<f64>, s: usize) -> (Vec<usize>, Vec<f64>) {
    let n = x.nrows();
    let mut index = vec![0usize; n * s];
    let mut d2 = vec![0.0f64; n * s];
    for start in (0..n).step_by(ROW_CHUNK) {
        let end = (start + ROW_CHUNK).min(n);
        let distances = squared_distances(x.slice(s![start..end, ..]), anchors);
        index[start * s..end * s]
            .par_chunks_mut(s)
            .zip(d2[start * s..end * s].par_chunks_mut(s))
            .zip(distances.axis_iter(Axis(0)).into_par_iter())
            .for_each(|((idx, dist), row)| {
                let mut len = 0;
                for (j, &v) in row.iter().enumerate() {
                    if len == s && v >= dist[s - 1] {
                        continue;
                    }
                    // Insert after every kept entry at a distance ≤ v (ties: lower index first).
                    let mut p = if len < s { len } else { s - 1 };
                    len = (len + 1).min(s);
                    while p > 0 && dist[p - 1] > v {
                        dist[p] = dist[p - 1];
                        idx[p] = idx[p - 1];
                        p -= 1;
                    }
                    dist[p] = v;
                    idx[p] = j;
                }
            });
    }
    (index, d2)
}

/// Normalised Gaussian weights `exp(−D²/σ²)` over each row's nearest anchors, computed
/// relative to the nearest one (the same after normalising, without underflow).
pub(crate) fn kernel_weights(index: Vec<usize>, d2: &[f64], nearest: usize, bandwidth: f64) -> AnchorWeights {
    let t = bandwidth * bandwidth;
    let mut weight = vec![0.0; d2.len()];
    weight.par_chunks_mut(nearest).zip(d2.par_chunks(nearest)).for_each(|(w, d)| {
        for (wk, &dk) in w.iter_mut().zip(d) {
            *wk = (-(dk - d[0]) / t).exp();
        }
        let sum: f64 = w.iter().fold(0.0, |a, &b| a + b);
        w.iter_mut().for_each(|v| *v /= sum);
    });
    AnchorWeights { nearest, index, weight }
}
