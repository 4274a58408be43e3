//! The second layer of two-layer AGH: the thresholds `b⁺_k`, `b⁻_k` of `TwoLayerAGH_Train`
//! (paper §4.2) on each column `y = Y[:, k]` of the training embedding.
//!
//! With `P = {i : y_i > 0}`, `n⁺ = |P|`, `n⁻ = n − n⁺`, `1⁺` the indicator of `P`, `|y|`
//! the entrywise absolute value and `A = Z Λ⁻¹ Zᵀ`,
//!
//! ```text
//! s₁ = 1⁺ᵀ A |y|,   s₂ = 1⁺ᵀ (I − A) 1⁺ = n⁺ − 1⁺ᵀ A 1⁺,   s₃ = 1⁺ᵀ y,
//! b⁺ = (2 s₃ + n⁻ (s₃ − s₁) / s₂) / n,   b⁻ = (n⁺ (s₃ − s₁) / s₂ − 2 s₃) / n,
//! ```
//!
//! computed without forming `A`: `s₁ = Σ_j (1⁺ᵀ Z)_j (|y|ᵀ Z)_j / Λ_jj` and
//! `1⁺ᵀ A 1⁺ = Σ_j (1⁺ᵀ Z)_j² / Λ_jj`, sums over points in point order. `s₂` is the weight of
//! the anchor graph's cut between `P` and the rest; where it is zero the thresholds are
//! undefined ([`Error::DegenerateAnchorGraph`]).

use ndarray::{Array2, Axis};

use crate::anchors::AnchorWeights;
use crate::error::{Error, Result};

/// The second-layer thresholds `(b⁺, b⁻)` of each column of the training embedding `y`
/// (see the module docs), `2 × r`.
pub(super) fn second_layer_thresholds(z: &AnchorWeights, y: &Array2<f64>, m: usize) -> Result<Array2<f64>> {
    let n = y.nrows();
    let mut lambda = vec![0.0; m];
    for i in 0..n {
        for (j, w) in z.row(i) {
            lambda[j] += w;
        }
    }
    let mut thresholds = Array2::zeros((2, y.ncols()));
    for (k, col) in y.axis_iter(Axis(1)).enumerate() {
        // right = |y|ᵀ Z Λ⁻¹, left = 1⁺ᵀ Z, in point order.
        let mut right = vec![0.0; m];
        let mut left = vec![0.0; m];
        let (mut n_pos, mut s3) = (0usize, 0.0);
        for (i, &v) in col.iter().enumerate() {
            let positive = v > 0.0;
            if positive {
                n_pos += 1;
                s3 += v;
            }
            for (j, w) in z.row(i) {
                right[j] += w * v.abs();
                if positive {
                    left[j] += w;
                }
            }
        }
        // Anchors with Λ_jj = 0 carry no weight (left_j = right_j = 0): skip them.
        let (mut s1, mut quad) = (0.0, 0.0);
        for j in (0..m).filter(|&j| lambda[j] > 0.0) {
            s1 += left[j] * (right[j] / lambda[j]);
            quad += left[j] * (left[j] / lambda[j]);
        }
        let s2 = n_pos as f64 - quad;
        let n_neg = (n - n_pos) as f64;
        let ratio = (s3 - s1) / s2;
        if s2 == 0.0 || !ratio.is_finite() {
            return Err(Error::DegenerateAnchorGraph(format!(
                "the sign of eigenvector {k} splits the anchor graph into parts with no edge between them, \
                 so its second-layer thresholds are undefined"
            )));
        }
        thresholds[[0, k]] = (2.0 * s3 + n_neg * ratio) / n as f64;
        thresholds[[1, k]] = (n_pos as f64 * ratio - 2.0 * s3) / n as f64;
    }
    Ok(thresholds)
}

#[cfg(test)]
mod tests {
    use hagcn_openblas as _;
    use ndarray::array;

    use super::super::testing::{clusters, options};
    use super::*;
    use crate::{Agh, AghLayers};

    #[test]
    fn two_layer_thresholds_match_a_dense_reference() {
        // The thresholds with A = Z Λ⁻¹ Zᵀ built densely, from the formulas in the module docs.
        let (x, _) = clusters(4, 3, 30, 5, 1.5);
        let agh = Agh::fit(x.view(), 6, AghLayers::Two, &options(12), 2).unwrap();
        let z = agh.anchor_similarities(x.view()).unwrap();
        let lambda = z.sum_axis(Axis(0));
        let a = (&z / &lambda).dot(&z.t());
        let y = agh.embedding(x.view()).unwrap();
        let n = x.nrows() as f64;
        for k in 0..3 {
            let col = y.column(k);
            let plus = col.mapv(|v| if v > 0.0 { 1.0 } else { 0.0 });
            let n_plus = plus.sum();
            let s1 = plus.dot(&a.dot(&col.mapv(f64::abs)));
            let s2 = n_plus - plus.dot(&a.dot(&plus));
            let s3 = plus.dot(&col);
            let b_plus = (2.0 * s3 + (n - n_plus) * (s3 - s1) / s2) / n;
            let b_minus = (n_plus * (s3 - s1) / s2 - 2.0 * s3) / n;
            let t = agh.thresholds().unwrap();
            assert!((t[[0, k]] - b_plus).abs() < 1e-10, "b⁺ {k}: {} vs {b_plus}", t[[0, k]]);
            assert!((t[[1, k]] - b_minus).abs() < 1e-10, "b⁻ {k}: {} vs {b_minus}", t[[1, k]]);
        }
    }

    #[test]
    fn thresholds_of_a_split_without_edges_are_an_error() {
        // Two points, each tied only to its own anchor: A = I, and y = (1, −1) splits the
        // graph along its components, so s₂ = 1⁺ᵀ(I − A)1⁺ = 0.
        let z = AnchorWeights { nearest: 1, index: vec![0, 1], weight: vec![1.0, 1.0] };
        let err = second_layer_thresholds(&z, &array![[1.0], [-1.0]], 2).unwrap_err();
        assert!(matches!(&err, Error::DegenerateAnchorGraph(r) if r.contains("eigenvector 0")), "{err}");
        // With an edge between them the thresholds are finite: A = [[½, ½], [½, ½]].
        let z = AnchorWeights { nearest: 2, index: vec![0, 1, 0, 1], weight: vec![0.5, 0.5, 0.5, 0.5] };
        let t = second_layer_thresholds(&z, &array![[1.0], [-1.0]], 2).unwrap();
        // s₁ = 1⁺ᵀ A |y| = 1, s₂ = 1 − ½ = ½, s₃ = 1: b⁺ = (2 + 0) / 2 = 1, b⁻ = (0 − 2) / 2 = −1.
        assert_eq!(t, array![[1.0], [-1.0]]);
    }
}
