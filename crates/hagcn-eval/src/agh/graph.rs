//! The anchor graph of AGH: each point's `s` nearest anchors and kernel weights `z(x)`, the
//! bandwidth `σ`, and the spectral projection `W` from the `m × m` eigenproblem.
//!
//! ```text
//! z_j(x) = exp(−D²(x, u_j) / σ²) / Σ_{l ∈ ⟨x⟩} exp(−D²(x, u_l) / σ²)   for j ∈ ⟨x⟩,  0 otherwise,
//! σ = (1/n) Σ_i D(x_i, u_{(s)}),
//! M = Λ^{-1/2} Zᵀ Z Λ^{-1/2} = V Σ Vᵀ,   Λ = diag(Zᵀ 1),   0 < σ_k < 1 − 10⁻³ kept,
//! W = √n Λ^{-1/2} V_r Σ_r^{-1/2},        y(x) = z(x) W.
//! ```
//!
//! The kernel is evaluated relative to the nearest anchor (the same `z`, without underflow),
//! and an anchor that is none of the training points' `s` nearest (`Λ_jj = 0`) is left out
//! of `M` with a zero row in `W`; see the [AGH module docs](crate::agh).

use ndarray::{Array1, Array2, ArrayView2, Axis};
use ndarray_linalg::{Eigh, UPLO};

use crate::anchors::{AnchorWeights, Anchors};
use crate::baselines::{fix_signs, linalg, validate};
use crate::error::{Error, Result};

/// Eigenvalues of `M` at or above `1 − EIGENVALUE_MARGIN` count as trivial (the authors'
/// `eigenvalue < 1-1e-3`).
const EIGENVALUE_MARGIN: f64 = 1e-3;

/// The fitted anchor graph: anchors, `s`, `σ` and the spectral projection `W`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct AnchorGraph {
    pub(super) base: Anchors,
    pub(super) eigenvalues: Array1<f64>,
    pub(super) projection: Array2<f64>,
}

impl AnchorGraph {
    /// The anchor weights `z(x)` of validated embeddings `x` (in `f64`).
    pub(super) fn weights(&self, x: ArrayView2<f64>) -> AnchorWeights {
        self.base.weights(x)
    }

    /// Validates `x` against the training dimension and returns it in `f64`.
    pub(super) fn check(&self, x: ArrayView2<f32>) -> Result<Array2<f64>> {
        if x.nrows() == 0 {
            return Err(Error::EmptyEmbeddings { rows: x.nrows(), cols: x.ncols() });
        }
        if x.ncols() != self.base.anchors().ncols() {
            return Err(Error::DimensionMismatch { expected: self.base.anchors().ncols(), got: x.ncols() });
        }
        validate(x)
    }

    /// Fits `Z`, `σ` and the first `r` non-trivial eigenvectors on `train`; returns the
    /// graph and the training `Z`.
    pub(super) fn fit(
        train: &Array2<f64>,
        anchors: Array2<f64>,
        nearest: usize,
        r: usize,
        method: &'static str,
    ) -> Result<(AnchorGraph, AnchorWeights)> {
        let (n, m) = (train.nrows(), anchors.nrows());
        let (base, z) = Anchors::fit_bandwidth(train.view(), anchors, nearest)?;
        // Λ = diag(Zᵀ 1) and Zᵀ Z, summed over points in order.
        let mut lambda = vec![0.0; m];
        let mut ztz = Array2::<f64>::zeros((m, m));
        for i in 0..n {
            for (a, wa) in z.row(i) {
                lambda[a] += wa;
                for (b, wb) in z.row(i) {
                    ztz[[a, b]] += wa * wb;
                }
            }
        }
        // Anchors that are no training point's s nearest have Λ_jj = 0: leave them out.
        let active: Vec<usize> = (0..m).filter(|&j| lambda[j] > 0.0).collect();
        let scale: Vec<f64> = active.iter().map(|&j| 1.0 / lambda[j].sqrt()).collect();
        let reduced = Array2::from_shape_fn((active.len(), active.len()), |(a, b)| {
            ztz[[active[a], active[b]]] * (scale[a] * scale[b])
        });
        let (values, vectors) = reduced.eigh(UPLO::Lower).map_err(linalg("anchor graph eigendecomposition"))?;
        // LAPACK's order is ascending: walk it backwards, keeping 0 < σ < 1 − 1e-3.
        let kept: Vec<usize> =
            (0..values.len()).rev().filter(|&k| values[k] > 0.0 && values[k] < 1.0 - EIGENVALUE_MARGIN).collect();
        if kept.len() < r {
            return Err(Error::TooFewEigenvectors { method, needed: r, available: kept.len() });
        }
        let kept = &kept[..r];
        let eigenvalues = Array1::from_iter(kept.iter().map(|&k| values[k]));
        let mut v = vectors.select(Axis(1), kept);
        fix_signs(&mut v);
        let sqrt_n = (n as f64).sqrt();
        let mut projection = Array2::zeros((m, r));
        for (a, &j) in active.iter().enumerate() {
            for k in 0..r {
                projection[[j, k]] = sqrt_n * scale[a] * v[[a, k]] / eigenvalues[k].sqrt();
            }
        }
        let graph = AnchorGraph { base, eigenvalues, projection };
        Ok((graph, z))
    }
}

#[cfg(test)]
mod tests {
    use hagcn_openblas as _;

    use super::super::testing::{clusters, options};
    use super::*;
    use crate::kmeans::KMeans;
    use crate::kmeans::squared_distances;
    use crate::{Agh, AghLayers, Hasher};
    use ndarray::s;

    #[test]
    fn eigenvalues_and_embedding_follow_the_definitions() {
        let (x, _) = clusters(2, 6, 50, 10, 1.5);
        let agh = Agh::fit(x.view(), 8, AghLayers::One, &options(40), 5).unwrap();
        let n = x.nrows() as f64;
        let z = agh.anchor_similarities(x.view()).unwrap();
        let lambda = z.sum_axis(Axis(0));
        // Λ^{-1/2} ZᵀZ Λ^{-1/2} v = σ v with v = Λ^{1/2} W Σ^{1/2} / √n.
        let m = z.t().dot(&z) / lambda.mapv(f64::sqrt).insert_axis(Axis(1)) / lambda.mapv(f64::sqrt);
        let e = agh.eigenvalues();
        assert!(e.windows(2).into_iter().all(|p| p[0] >= p[1]) && e.iter().all(|&v| v > 0.0 && v < 1.0 - 1e-3));
        let v =
            agh.projection().to_owned() * lambda.mapv(f64::sqrt).insert_axis(Axis(1)) * e.mapv(f64::sqrt) / n.sqrt();
        let mv = m.dot(&v);
        for k in 0..8 {
            for j in 0..40 {
                assert!((mv[[j, k]] - e[k] * v[[j, k]]).abs() < 1e-10, "M v = σ v at ({j}, {k})");
            }
            assert!((v.column(k).dot(&v.column(k)) - 1.0).abs() < 1e-10);
            let pivot = v.column(k).iter().copied().fold(0.0f64, |b, t| if t.abs() > b.abs() { t } else { b });
            assert!(pivot > 0.0, "sign convention, column {k}");
        }
        // The training embedding is centred and white: 1ᵀY = 0, YᵀY = n I.
        let y = agh.embedding(x.view()).unwrap();
        assert!(y.sum_axis(Axis(0)).iter().all(|s| s.abs() < 1e-9 * n), "{:?}", y.sum_axis(Axis(0)));
        let gram = y.t().dot(&y) / n;
        for ((i, j), &g) in gram.indexed_iter() {
            assert!((g - if i == j { 1.0 } else { 0.0 }).abs() < 1e-9, "YᵀY/n [{i}, {j}] = {g}");
        }
        // The bandwidth is the mean distance to the third nearest anchor.
        let d = squared_distances(x.mapv(f64::from).view(), agh.anchors());
        let third: f64 = d
            .rows()
            .into_iter()
            .map(|row| {
                let mut r = row.to_vec();
                r.sort_by(f64::total_cmp);
                r[2].sqrt()
            })
            .sum::<f64>()
            / n;
        assert!((agh.bandwidth() - third).abs() < 1e-12 * third);
        // Z's weights are the normalised kernel on the three nearest anchors.
        for (i, row) in z.rows().into_iter().enumerate().take(20) {
            let total: f64 = (0..40).filter(|&j| row[j] > 0.0).map(|j| (-d[[i, j]] / third.powi(2)).exp()).sum();
            for j in (0..40).filter(|&j| row[j] > 0.0) {
                assert!((row[j] - (-d[[i, j]] / third.powi(2)).exp() / total).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn an_anchor_tied_to_no_point_is_left_out() {
        let (x, _) = clusters(7, 4, 30, 5, 2.0);
        let anchors = KMeans::fit(x.view(), 12, 100, 1).unwrap().centres().to_owned();
        let mut with_far = Array2::from_elem((13, 5), 1e4);
        with_far.slice_mut(s![..12, ..]).assign(&anchors);
        let plain = Agh::fit_with_anchors(x.view(), anchors.view(), 6, AghLayers::Two, 3).unwrap();
        let extra = Agh::fit_with_anchors(x.view(), with_far.view(), 6, AghLayers::Two, 3).unwrap();
        assert!(extra.projection().row(12).iter().all(|&v| v == 0.0));
        assert_eq!(extra.projection().slice(s![..12, ..]), plain.projection());
        assert_eq!(extra.encode(x.view()).unwrap(), plain.encode(x.view()).unwrap());
    }

    #[test]
    fn far_away_points_get_finite_embeddings() {
        // Every kernel value underflows exp(−D²/σ²) here; relative to the nearest anchor
        // the weights stay finite and sum to 1.
        let (x, _) = clusters(8, 4, 30, 5, 2.0);
        let agh = Agh::fit(x.view(), 8, AghLayers::Two, &options(15), 2).unwrap();
        let far = Array2::from_shape_fn((3, 5), |(i, j)| 1e6 * (i as f32 + 1.0) + j as f32);
        let z = agh.anchor_similarities(far.view()).unwrap();
        assert!(z.iter().all(|v| v.is_finite()));
        assert!(z.rows().into_iter().all(|r| (r.sum() - 1.0).abs() < 1e-12));
        assert!(agh.embedding(far.view()).unwrap().iter().all(|v| v.is_finite()));
        assert_eq!(agh.encode(far.view()).unwrap().n_codes(), 3);
    }
}
