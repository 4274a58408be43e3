//! Helpers the metrics tests share.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

pub(super) fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

pub(super) fn random_labels(rng: &mut ChaCha8Rng, n: usize, n_classes: usize) -> Vec<usize> {
    (0..n).map(|_| rng.random_range(0..n_classes)).collect()
}
