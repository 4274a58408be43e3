//! AGH+ITQ ([`AghItq`]): the one-layer embedding `Y = Z W` of the training data rotated by
//! ITQ (Gong & Lazebnik; the rotation loop of [`Itq`](crate::Itq)) instead of the plain sign,
//!
//! ```text
//! bit k = [(y(x) R)_k ≥ 0],    R = argmin_{RᵀR = I} ‖sign(Y R) − Y R‖²_F (ITQ's alternation).
//! ```
//!
//! `Y` is already centred and white (`1ᵀ Y = 0`, `Yᵀ Y = n I`), so ITQ's centring and PCA
//! steps are identities and are skipped: `R` is learned on `Y` itself.

use ndarray::{Array2, ArrayView2};

use super::graph::AnchorGraph;
use super::hasher::Agh;
use super::options::{AghLayers, AghOptions, check_data, check_parameters, kmeans_anchors};
use crate::baselines::{Hasher, itq_rotation, sign_matrix, squared_distance};
use crate::codes::PackedCodes;
use crate::error::Result;

/// AGH's one-layer embedding `Y = Z W` rotated by ITQ: bit `k` is `[(y(x) R)_k ≥ 0]`.
///
/// See the [module docs](crate::agh).
#[derive(Debug, Clone, PartialEq)]
pub struct AghItq {
    agh: Agh,
    rotation: Array2<f64>,
    history: Vec<f64>,
}

impl AghItq {
    /// Fits AGH+ITQ with `n_bits` bits: the anchors by k-means on `train` as in
    /// [`Agh::fit`] (seeded with `seed`), then [`AghItq::fit_with_anchors`] with
    /// `itq_iterations` rotation updates (50 in the ITQ paper) from a random rotation
    /// seeded with `seed`.
    ///
    /// # Errors
    ///
    /// As [`Agh::fit`] with one layer, plus [`Error::Linalg`](crate::Error::Linalg) if an SVD fails.
    pub fn fit(
        train: ArrayView2<f32>,
        n_bits: usize,
        options: &AghOptions,
        itq_iterations: usize,
        seed: u64,
    ) -> Result<AghItq> {
        check_parameters(n_bits, options.n_anchors, options.nearest_anchors, AghLayers::One, "AGH+ITQ")?;
        let anchors = kmeans_anchors(train, options, seed, "AGH+ITQ")?;
        AghItq::fit_with_anchors(train, anchors.view(), n_bits, options.nearest_anchors, itq_iterations, seed)
    }

    /// Fits AGH+ITQ on `train` with the given anchors: one-layer AGH's embedding
    /// ([`Agh::fit_with_anchors`]) of the training data, and ITQ's rotation of it
    /// (`itq_iterations` updates from a random rotation seeded with `seed`, as
    /// [`Itq::fit`](crate::Itq::fit)).
    ///
    /// # Errors
    ///
    /// As [`Agh::fit_with_anchors`] with one layer, plus [`Error::Linalg`](crate::Error::Linalg) if an SVD fails.
    pub fn fit_with_anchors(
        train: ArrayView2<f32>,
        anchors: ArrayView2<f64>,
        n_bits: usize,
        nearest: usize,
        itq_iterations: usize,
        seed: u64,
    ) -> Result<AghItq> {
        check_parameters(n_bits, anchors.nrows(), nearest, AghLayers::One, "AGH+ITQ")?;
        let (x, anchors) = check_data(train, anchors, "AGH+ITQ")?;
        let (graph, z) = AnchorGraph::fit(&x, anchors, nearest, n_bits, "AGH+ITQ")?;
        let y = z.times(&graph.projection);
        let (rotation, history) = itq_rotation(&y, itq_iterations, seed)?;
        Ok(AghItq { agh: Agh { layers: AghLayers::One, graph, thresholds: None }, rotation, history })
    }

    /// The underlying one-layer AGH (anchors, bandwidth, projection `W`).
    pub fn agh(&self) -> &Agh {
        &self.agh
    }

    /// The learned rotation `R` (`n_bits × n_bits`, orthogonal).
    pub fn rotation(&self) -> ArrayView2<'_, f64> {
        self.rotation.view()
    }

    /// ITQ's quantisation loss `‖sign(Y R) − Y R‖²_F` on the training embedding for the
    /// initial rotation and after each update (`itq_iterations + 1` values, non-increasing
    /// up to rounding).
    pub fn quantization_history(&self) -> &[f64] {
        &self.history
    }

    /// The rotated embedding `y(x) R`, `n × n_bits`, whose signs are the bits.
    ///
    /// # Errors
    ///
    /// As [`Hasher::encode`].
    pub fn rotated_embedding(&self, x: ArrayView2<f32>) -> Result<Array2<f64>> {
        Ok(self.agh.embedding(x)?.dot(&self.rotation))
    }

    /// The quantisation loss `‖sign(Y R) − Y R‖²_F` of embeddings `x`.
    ///
    /// # Errors
    ///
    /// As [`Hasher::encode`].
    pub fn quantization_loss(&self, x: ArrayView2<f32>) -> Result<f64> {
        let yr = self.rotated_embedding(x)?;
        Ok(squared_distance(&sign_matrix(&yr), &yr))
    }
}

impl Hasher for AghItq {
    fn n_bits(&self) -> usize {
        self.rotation.ncols()
    }

    fn encode(&self, x: ArrayView2<f32>) -> Result<PackedCodes> {
        let yr = self.rotated_embedding(x)?;
        Ok(PackedCodes::from_bits(yr.mapv(|v| v >= 0.0).view()))
    }
}
