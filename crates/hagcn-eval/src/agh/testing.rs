//! Data and settings the AGH tests share.

use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::options::AghOptions;

/// `n_classes` centres `N(0, spread² I_d)`, `per_class` points each at `centre + noise`,
/// interleaved by class. Returns `(points, labels)`.
pub(super) fn clusters(
    seed: u64,
    n_classes: usize,
    per_class: usize,
    d: usize,
    spread: f64,
) -> (Array2<f32>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let centres: Array2<f64> = Array2::from_shape_fn((n_classes, d), |_| {
        let z: f64 = StandardNormal.sample(&mut rng);
        spread * z
    });
    let n = n_classes * per_class;
    let labels: Vec<usize> = (0..n).map(|i| i % n_classes).collect();
    let x = Array2::from_shape_fn((n, d), |(i, j)| {
        let noise: f64 = StandardNormal.sample(&mut rng);
        (centres[[labels[i], j]] + noise) as f32
    });
    (x, labels)
}

pub(super) fn options(n_anchors: usize) -> AghOptions {
    AghOptions { n_anchors, ..AghOptions::default() }
}
