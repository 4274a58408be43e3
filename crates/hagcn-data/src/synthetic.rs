//! Synthetic Gaussian clusters for tests, examples and smoke runs.
//!
//! With `C` classes in `d` dimensions, each class `c` gets a centre
//! `μ_c ~ N(0, I_d)`. Labels are balanced round-robin (`y_i = i mod C`, so class sizes
//! differ by at most one) and then shuffled, and sample `i` is
//! `x_i = μ_{y_i} + spread · ε_i` with `ε_i ~ N(0, I_d)`.
//!
//! All draws come from one `ChaCha8Rng::seed_from_u64(seed)` in a fixed order
//! (centres, label shuffle, noise, row by row), so a seed gives the same dataset on
//! every platform.

use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use crate::dataset::Dataset;
use crate::error::{Error, Result};

/// Parameters of a Gaussian-clusters dataset (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianClusters {
    /// Number of samples `N` (at least `n_classes`).
    pub n_samples: usize,
    /// Feature dimension `d` (at least 1).
    pub dim: usize,
    /// Number of classes `C` (at least 1).
    pub n_classes: usize,
    /// Standard deviation of the noise around each centre (finite, `>= 0`); centres
    /// have unit variance per coordinate, so a spread well below 1 gives separable
    /// classes.
    pub spread: f32,
    /// Seed of the ChaCha8 generator.
    pub seed: u64,
}

impl GaussianClusters {
    /// Draws the dataset; class names are `"0"`..`"C-1"`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when `dim` or `n_classes` is 0, `n_samples <
    /// n_classes`, or `spread` is negative or not finite.
    pub fn generate(&self) -> Result<Dataset> {
        let &GaussianClusters { n_samples, dim, n_classes, spread, seed } = self;
        if dim == 0 || n_classes == 0 || n_samples < n_classes || !(spread.is_finite() && spread >= 0.0) {
            return Err(Error::InvalidArgument {
                reason: format!(
                    "GaussianClusters needs dim >= 1, n_classes >= 1, n_samples >= n_classes and a finite spread >= 0, got {self:?}"
                ),
            });
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let centres = Array2::from_shape_simple_fn((n_classes, dim), || rng.sample::<f32, _>(StandardNormal));
        let mut labels: Vec<usize> = (0..n_samples).map(|i| i % n_classes).collect();
        labels.shuffle(&mut rng);
        let mut features = Array2::zeros((n_samples, dim));
        for (mut row, &y) in features.rows_mut().into_iter().zip(&labels) {
            for (x, &mu) in row.iter_mut().zip(centres.row(y)) {
                *x = mu + spread * rng.sample::<f32, _>(StandardNormal);
            }
        }
        Dataset::new(features, labels, (0..n_classes).map(|c| c.to_string()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> GaussianClusters {
        GaussianClusters { n_samples: 103, dim: 16, n_classes: 5, spread: 0.1, seed: 11 }
    }

    #[test]
    fn classes_are_balanced_and_named() {
        let ds = params().generate().unwrap();
        assert_eq!((ds.n_samples(), ds.dim(), ds.n_classes()), (103, 16, 5));
        assert_eq!(ds.class_counts(), vec![21, 21, 21, 20, 20]);
        assert_eq!(ds.class_names, vec!["0", "1", "2", "3", "4"]);
        // Labels are shuffled, not in round-robin order.
        assert_ne!(ds.labels, (0..103).map(|i| i % 5).collect::<Vec<_>>());
    }

    #[test]
    fn deterministic_for_a_seed() {
        assert_eq!(params().generate().unwrap(), params().generate().unwrap());
        let other = GaussianClusters { seed: 12, ..params() }.generate().unwrap();
        assert_ne!(other.features, params().generate().unwrap().features);
    }

    #[test]
    fn samples_cluster_around_their_centre() {
        // With a small spread every sample is nearer its class mean than any other.
        let ds = params().generate().unwrap();
        let mut means = Array2::<f32>::zeros((5, 16));
        for (row, &y) in ds.features.rows().into_iter().zip(&ds.labels) {
            let mut m = means.row_mut(y);
            m += &row;
        }
        for (mut m, &c) in means.rows_mut().into_iter().zip(&ds.class_counts()) {
            m /= c as f32;
        }
        for (row, &y) in ds.features.rows().into_iter().zip(&ds.labels) {
            let dist = |c: usize| (&row - &means.row(c)).mapv(|v| v * v).sum();
            let nearest = (0..5).min_by(|&a, &b| dist(a).total_cmp(&dist(b))).unwrap();
            assert_eq!(nearest, y);
        }
        // Within-class spread matches the parameter (noise std 0.1).
        let var: f32 = ds
            .features
            .rows()
            .into_iter()
            .zip(&ds.labels)
            .map(|(row, &y)| (&row - &means.row(y)).mapv(|v| v * v).sum())
            .sum::<f32>()
            / (103.0 * 16.0);
        assert!((var.sqrt() - 0.1).abs() < 0.02, "std {}", var.sqrt());
    }

    #[test]
    fn zero_spread_puts_samples_on_centres() {
        let ds = GaussianClusters { spread: 0.0, ..params() }.generate().unwrap();
        let first = ds.labels.iter().position(|&y| y == 0).unwrap();
        for (row, &y) in ds.features.rows().into_iter().zip(&ds.labels) {
            assert_eq!(y == 0, row == ds.features.row(first));
        }
    }

    #[test]
    fn invalid_parameters_are_errors() {
        for bad in [
            GaussianClusters { dim: 0, ..params() },
            GaussianClusters { n_classes: 0, ..params() },
            GaussianClusters { n_samples: 4, ..params() },
            GaussianClusters { spread: -1.0, ..params() },
            GaussianClusters { spread: f32::NAN, ..params() },
        ] {
            assert!(matches!(bad.generate(), Err(Error::InvalidArgument { .. })), "{bad:?}");
        }
    }
}
