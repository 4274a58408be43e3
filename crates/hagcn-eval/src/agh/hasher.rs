//! [`Agh`], the one- or two-layer hasher: fitting (anchors, graph, second-layer thresholds),
//! accessors, and the bits of an embedding `y(x) = z(x) W`:
//!
//! ```text
//! bit k     = [y_k(x) > 0],                                     k < r,
//! bit r + k = [y_k(x) − b⁺_k > 0] where y_k(x) > 0, [b⁻_k − y_k(x) > 0] otherwise   (two layers).
//! ```

use ndarray::{Array2, ArrayView1, ArrayView2};

use super::graph::AnchorGraph;
use super::options::{AghLayers, AghOptions, check_data, check_parameters, kmeans_anchors};
use super::two_layer::second_layer_thresholds;
use crate::baselines::Hasher;
use crate::codes::PackedCodes;
use crate::error::Result;

/// Anchor Graph Hashing, one or two layers: bits from the thresholded leading
/// eigenfunctions of an anchor graph.
///
/// See the [module docs](crate::agh).
#[derive(Debug, Clone, PartialEq)]
pub struct Agh {
    pub(super) layers: AghLayers,
    pub(super) graph: AnchorGraph,
    /// `2 × r` for two layers: row 0 is `b⁺`, row 1 `b⁻`.
    pub(super) thresholds: Option<Array2<f64>>,
}

impl Agh {
    /// Fits AGH with `n_bits` bits: `options.n_anchors` anchors by k-means on `train`
    /// (seeded with `seed`, see [`KMeans::fit`](crate::KMeans::fit)), then
    /// [`Agh::fit_with_anchors`].
    ///
    /// # Errors
    ///
    /// [`Error::ZeroBits`](crate::Error::ZeroBits) if `n_bits == 0`;
    /// [`Error::NearestAnchors`](crate::Error::NearestAnchors) unless `1 ≤ s ≤ m`;
    /// [`Error::OddBits`](crate::Error::OddBits) for an odd `n_bits` with two layers;
    /// [`Error::TooManyBitsForAnchors`](crate::Error::TooManyBitsForAnchors) if `n_bits > m − 1` (one
    /// layer) or `n_bits > 2(m − 1)` (two layers); [`Error::EmptyEmbeddings`](crate::Error::EmptyEmbeddings) /
    /// [`Error::NonFiniteEmbedding`](crate::Error::NonFiniteEmbedding) for empty or non-finite `train`;
    /// [`Error::TooFewEmbeddings`](crate::Error::TooFewEmbeddings) if `train` has fewer than `m` rows;
    /// [`Error::TooFewDistinctEmbeddings`](crate::Error::TooFewDistinctEmbeddings) if it has fewer than
    /// `m` distinct rows; and the errors of [`Agh::fit_with_anchors`].
    pub fn fit(
        train: ArrayView2<f32>,
        n_bits: usize,
        layers: AghLayers,
        options: &AghOptions,
        seed: u64,
    ) -> Result<Agh> {
        check_parameters(n_bits, options.n_anchors, options.nearest_anchors, layers, layers.method())?;
        let anchors = kmeans_anchors(train, options, seed, layers.method())?;
        Agh::fit_with_anchors(train, anchors.view(), n_bits, layers, options.nearest_anchors)
    }

    /// Fits AGH with `n_bits` bits on `train` with the given anchors (`m × d`) and
    /// `nearest` (`s`) nearest anchors per point. Deterministic.
    ///
    /// # Errors
    ///
    /// As [`Agh::fit`] (the anchors' number `m` in place of `options.n_anchors`), plus
    /// [`Error::AnchorShape`](crate::Error::AnchorShape) if `anchors` is empty or not `d` wide,
    /// [`Error::NonFiniteAnchor`](crate::Error::NonFiniteAnchor) for a non-finite anchor,
    /// [`Error::DegenerateAnchorGraph`](crate::Error::DegenerateAnchorGraph) if the kernel bandwidth is 0
    /// (every point sits on its `s` nearest anchors) or a second-layer threshold divides by zero,
    /// [`Error::TooFewEigenvectors`](crate::Error::TooFewEigenvectors) if the graph has fewer non-trivial
    /// eigenvectors than needed, and [`Error::Linalg`](crate::Error::Linalg) if the
    /// eigensolver fails.
    pub fn fit_with_anchors(
        train: ArrayView2<f32>,
        anchors: ArrayView2<f64>,
        n_bits: usize,
        layers: AghLayers,
        nearest: usize,
    ) -> Result<Agh> {
        let method = layers.method();
        check_parameters(n_bits, anchors.nrows(), nearest, layers, method)?;
        let (x, anchors) = check_data(train, anchors, method)?;
        let r = layers.eigenvectors_for(n_bits);
        let (graph, z) = AnchorGraph::fit(&x, anchors, nearest, r, method)?;
        let thresholds = match layers {
            AghLayers::One => None,
            AghLayers::Two => {
                Some(second_layer_thresholds(&z, &z.times(&graph.projection), graph.base.anchors().nrows())?)
            }
        };
        Ok(Agh { layers, graph, thresholds })
    }

    /// One or two layers.
    pub fn layers(&self) -> AghLayers {
        self.layers
    }

    /// The anchors `u_j`, `m × d`.
    pub fn anchors(&self) -> ArrayView2<'_, f64> {
        self.graph.base.anchors()
    }

    /// The number `s` of nearest anchors each point is tied to.
    pub fn nearest_anchors(&self) -> usize {
        self.graph.base.nearest()
    }

    /// The kernel bandwidth `σ` (the kernel is `exp(−D²/σ²)`): the training points' mean
    /// distance to their `s`-th nearest anchor.
    pub fn bandwidth(&self) -> f64 {
        self.graph.base.bandwidth()
    }

    /// The eigenvalues `σ_k` of `M` behind the projection's columns, decreasing, each in
    /// `(0, 1 − 10⁻³)`.
    pub fn eigenvalues(&self) -> ArrayView1<'_, f64> {
        self.graph.eigenvalues.view()
    }

    /// The projection `W = √n Λ^{-1/2} V Σ^{-1/2}`, `m × r` (`r = n_bits` for one layer,
    /// `n_bits / 2` for two).
    pub fn projection(&self) -> ArrayView2<'_, f64> {
        self.graph.projection.view()
    }

    /// The second-layer thresholds, `2 × n_bits/2` (row 0 `b⁺`, row 1 `b⁻`), or `None`
    /// for one layer.
    pub fn thresholds(&self) -> Option<ArrayView2<'_, f64>> {
        self.thresholds.as_ref().map(|t| t.view())
    }

    /// The anchor similarities `Z(x)`, `n × m` (dense; `s` non-zeros per row, summing to 1).
    ///
    /// # Errors
    ///
    /// As [`Hasher::encode`].
    pub fn anchor_similarities(&self, x: ArrayView2<f32>) -> Result<Array2<f64>> {
        let x = self.graph.check(x)?;
        Ok(self.graph.weights(x.view()).dense(self.graph.base.anchors().nrows()))
    }

    /// The spectral embedding `Y = Z(x) W`, `n × r`, before any thresholding.
    ///
    /// # Errors
    ///
    /// As [`Hasher::encode`].
    pub fn embedding(&self, x: ArrayView2<f32>) -> Result<Array2<f64>> {
        let x = self.graph.check(x)?;
        Ok(self.graph.weights(x.view()).times(&self.graph.projection))
    }

    /// The bits of an embedding `y` (`n × r`), `n × n_bits`.
    fn bits(&self, y: &Array2<f64>) -> Array2<bool> {
        let r = y.ncols();
        match &self.thresholds {
            None => y.mapv(|v| v > 0.0),
            Some(t) => Array2::from_shape_fn((y.nrows(), 2 * r), |(i, j)| {
                let k = j % r;
                let v = y[[i, k]];
                if j < r {
                    v > 0.0
                } else if v > 0.0 {
                    v - t[[0, k]] > 0.0
                } else {
                    -v + t[[1, k]] > 0.0
                }
            }),
        }
    }
}

impl Hasher for Agh {
    fn n_bits(&self) -> usize {
        match self.layers {
            AghLayers::One => self.graph.projection.ncols(),
            AghLayers::Two => 2 * self.graph.projection.ncols(),
        }
    }

    fn encode(&self, x: ArrayView2<f32>) -> Result<PackedCodes> {
        let y = self.embedding(x)?;
        Ok(PackedCodes::from_bits(self.bits(&y).view()))
    }
}

#[cfg(test)]
mod tests {
    use hagcn_openblas as _;
    use ndarray::s;

    use super::super::testing::{clusters, options};
    use super::*;
    use crate::error::Error;
    use crate::kmeans::KMeans;
    use crate::map::mean_average_precision;
    use crate::{AghItq, TopK};

    #[test]
    fn shapes_and_bit_counts() {
        let (x, _) = clusters(1, 5, 40, 8, 2.0);
        let q = x.slice(s![..13, ..]);
        for (layers, bits, r) in
            [(AghLayers::One, 1, 1), (AghLayers::One, 12, 12), (AghLayers::Two, 2, 1), (AghLayers::Two, 18, 9)]
        {
            let agh = Agh::fit(x.view(), bits, layers, &options(30), 3).unwrap();
            assert_eq!(agh.n_bits(), bits);
            assert_eq!(agh.layers(), layers);
            assert_eq!(agh.anchors().dim(), (30, 8));
            assert_eq!(agh.projection().dim(), (30, r));
            assert_eq!(agh.eigenvalues().len(), r);
            assert_eq!(agh.thresholds().map(|t| t.dim()), (layers == AghLayers::Two).then_some((2, r)));
            assert_eq!(agh.embedding(q).unwrap().dim(), (13, r));
            let z = agh.anchor_similarities(q).unwrap();
            assert_eq!(z.dim(), (13, 30));
            for row in z.rows() {
                assert_eq!(row.iter().filter(|&&v| v > 0.0).count(), 3);
                assert!((row.sum() - 1.0).abs() < 1e-12);
            }
            let codes = agh.encode(q).unwrap();
            assert_eq!((codes.n_codes(), codes.n_bits(), codes.n_bytes()), (13, bits, bits.div_ceil(8)));
        }
        let itq = AghItq::fit(x.view(), 10, &options(30), 20, 3).unwrap();
        assert_eq!((itq.n_bits(), itq.rotation().dim(), itq.quantization_history().len()), (10, (10, 10), 21));
        assert_eq!(itq.encode(q).unwrap().n_bits(), 10);
    }

    #[test]
    fn codes_are_the_thresholded_embedding() {
        let (x, _) = clusters(3, 4, 40, 6, 2.0);
        let (train, test) = (x.slice(s![..120, ..]), x.slice(s![120.., ..]));
        let one = Agh::fit(train, 6, AghLayers::One, &options(20), 1).unwrap();
        let two = Agh::fit(train, 12, AghLayers::Two, &options(20), 1).unwrap();
        // Same anchors and graph: two layers' first half is one layer's code.
        assert_eq!(one.anchors(), two.anchors());
        assert_eq!(one.projection(), two.projection());
        let t = two.thresholds().unwrap();
        for x in [train, test] {
            let y = one.embedding(x).unwrap();
            let (c1, c2) = (one.encode(x).unwrap(), two.encode(x).unwrap());
            for i in 0..x.nrows() {
                for k in 0..6 {
                    let v = y[[i, k]];
                    assert_eq!(c1.bit(i, k), v > 0.0);
                    assert_eq!(c2.bit(i, k), v > 0.0);
                    let second = if v > 0.0 { v > t[[0, k]] } else { v < t[[1, k]] };
                    assert_eq!(c2.bit(i, 6 + k), second, "point {i}, eigenvector {k}");
                }
            }
        }
        let itq = AghItq::fit(train, 6, &options(20), 30, 1).unwrap();
        assert_eq!(itq.agh().projection(), one.projection());
        let yr = one.embedding(test).unwrap().dot(&itq.rotation());
        assert_eq!(itq.encode(test).unwrap(), PackedCodes::from_bits(yr.mapv(|v| v >= 0.0).view()));
        assert!((itq.quantization_loss(train).unwrap() - itq.quantization_history()[30]).abs() < 1e-9);
    }

    #[test]
    fn deterministic_for_a_seed_and_any_thread_count() {
        let (x, _) = clusters(5, 5, 40, 7, 2.0);
        let fit = || Agh::fit(x.view(), 8, AghLayers::Two, &options(25), 9).unwrap();
        let a = fit();
        assert_eq!(a, fit());
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            assert_eq!(pool.install(fit), a, "{threads} threads");
            assert_eq!(pool.install(|| a.encode(x.view()).unwrap()), a.encode(x.view()).unwrap());
        }
        let itq = || AghItq::fit(x.view(), 8, &options(25), 10, 9).unwrap();
        assert_eq!(itq(), itq());
        // Another seed, other anchors.
        let b = Agh::fit(x.view(), 8, AghLayers::Two, &options(25), 10).unwrap();
        assert_ne!(a.anchors(), b.anchors());
    }

    #[test]
    fn fit_uses_the_seeded_kmeans_anchors() {
        let (x, _) = clusters(6, 4, 30, 5, 2.0);
        let km = KMeans::fit(x.view(), 15, 100, 4).unwrap();
        let agh = Agh::fit(x.view(), 5, AghLayers::One, &options(15), 4).unwrap();
        assert_eq!(agh.anchors(), km.centres());
        assert_eq!(agh, Agh::fit_with_anchors(x.view(), km.centres(), 5, AghLayers::One, 3).unwrap());
    }

    #[test]
    fn beats_chance_on_clusters() {
        const C: usize = 8;
        let (x, labels) = clusters(17, C, 60, 16, 1.2);
        let half = x.nrows() / 2;
        let (db, q) = (x.slice(s![..half, ..]), x.slice(s![half.., ..]));
        let (db_labels, q_labels) = (&labels[..half], &labels[half..]);
        let map = |h: &dyn Hasher| {
            let (dbc, qc) = (h.encode(db).unwrap(), h.encode(q).unwrap());
            mean_average_precision(&qc, q_labels, &dbc, db_labels, &[TopK::All]).unwrap()[0]
        };
        let one = map(&Agh::fit(db, 12, AghLayers::One, &options(40), 1).unwrap());
        let two = map(&Agh::fit(db, 12, AghLayers::Two, &options(40), 1).unwrap());
        let itq = map(&AghItq::fit(db, 12, &options(40), 50, 1).unwrap());
        let chance = 1.0 / C as f64;
        eprintln!("AGH mAP@all: one layer {one:.3}, two layers {two:.3}, +ITQ {itq:.3}; chance {chance:.3}");
        for (name, m) in [("one layer", one), ("two layers", two), ("AGH+ITQ", itq)] {
            assert!(m > 3.0 * chance, "{name}: {m}");
        }
    }

    #[test]
    fn fit_errors() {
        let (x, _) = clusters(9, 3, 10, 4, 2.0);
        let o = options(10);
        let fit = |x: ArrayView2<f32>, bits, layers, o: &AghOptions| Agh::fit(x, bits, layers, o, 0).unwrap_err();

        assert_eq!(fit(x.view(), 0, AghLayers::One, &o), Error::ZeroBits);
        let s0 = AghOptions { nearest_anchors: 0, ..o };
        assert_eq!(fit(x.view(), 4, AghLayers::One, &s0), Error::NearestAnchors { nearest: 0, n_anchors: 10 });
        let s11 = AghOptions { nearest_anchors: 11, ..o };
        let err = fit(x.view(), 4, AghLayers::One, &s11);
        assert_eq!(err, Error::NearestAnchors { nearest: 11, n_anchors: 10 });
        assert_eq!(
            err.to_string(),
            "the number of nearest anchors must be between 1 and the number of anchors (10), got 11"
        );
        let no_anchors = AghOptions { n_anchors: 0, ..o };
        assert_eq!(fit(x.view(), 4, AghLayers::One, &no_anchors), Error::NearestAnchors { nearest: 3, n_anchors: 0 });
        let err = fit(x.view(), 5, AghLayers::Two, &o);
        assert_eq!(err, Error::OddBits { method: "two-layer AGH", n_bits: 5 });
        assert_eq!(err.to_string(), "two-layer AGH needs an even number of bits (two per eigenvector), got 5");
        let err = fit(x.view(), 10, AghLayers::One, &o);
        assert_eq!(err, Error::TooManyBitsForAnchors { method: "AGH", n_bits: 10, max_bits: 9, n_anchors: 10 });
        assert_eq!(err.to_string(), "AGH with 10 anchors gives at most 9 bits, got 10");
        assert_eq!(
            fit(x.view(), 20, AghLayers::Two, &o),
            Error::TooManyBitsForAnchors { method: "two-layer AGH", n_bits: 20, max_bits: 18, n_anchors: 10 }
        );
        let err = fit(x.slice(s![..9, ..]), 4, AghLayers::One, &o);
        assert_eq!(err, Error::TooFewEmbeddings { method: "AGH", min: 10, rows: 9 });
        assert_eq!(err.to_string(), "AGH needs at least 10 training embeddings, got 9");
        assert_eq!(
            fit(Array2::zeros((0, 4)).view(), 4, AghLayers::One, &o),
            Error::EmptyEmbeddings { rows: 0, cols: 4 }
        );
        assert_eq!(
            fit(Array2::zeros((12, 0)).view(), 4, AghLayers::One, &o),
            Error::EmptyEmbeddings { rows: 12, cols: 0 }
        );
        let mut bad = x.clone();
        bad[[3, 1]] = f32::NAN;
        assert_eq!(fit(bad.view(), 4, AghLayers::One, &o), Error::NonFiniteEmbedding { row: 3, col: 1 });
        bad[[3, 1]] = f32::INFINITY;
        assert_eq!(fit(bad.view(), 4, AghLayers::Two, &o), Error::NonFiniteEmbedding { row: 3, col: 1 });
        // Fewer than 10 distinct rows for 10 anchors.
        let repeated = Array2::from_shape_fn((30, 4), |(i, j)| ((i % 5) * 4 + j) as f32);
        assert_eq!(
            fit(repeated.view(), 4, AghLayers::One, &o),
            Error::TooFewDistinctEmbeddings { method: "k-means", k: 10, distinct: 5 }
        );
        // AGH+ITQ checks the same, under its own name.
        assert_eq!(
            AghItq::fit(x.view(), 10, &o, 5, 0).unwrap_err(),
            Error::TooManyBitsForAnchors { method: "AGH+ITQ", n_bits: 10, max_bits: 9, n_anchors: 10 }
        );
        assert_eq!(
            AghItq::fit(x.slice(s![..9, ..]), 4, &o, 5, 0).unwrap_err(),
            Error::TooFewEmbeddings { method: "AGH+ITQ", min: 10, rows: 9 }
        );
        assert_eq!(AghItq::fit(bad.view(), 4, &o, 5, 0).unwrap_err(), Error::NonFiniteEmbedding { row: 3, col: 1 });
    }

    #[test]
    fn fit_with_anchors_errors() {
        let (x, _) = clusters(10, 3, 10, 4, 2.0);
        let anchors = x.slice(s![..6, ..]).mapv(f64::from);
        let with = |a: ArrayView2<f64>, s| Agh::fit_with_anchors(x.view(), a, 4, AghLayers::One, s).unwrap_err();
        assert_eq!(with(anchors.view(), 0), Error::NearestAnchors { nearest: 0, n_anchors: 6 });
        assert_eq!(with(anchors.view(), 7), Error::NearestAnchors { nearest: 7, n_anchors: 6 });
        assert_eq!(with(Array2::zeros((0, 4)).view(), 1), Error::NearestAnchors { nearest: 1, n_anchors: 0 });
        let err = with(Array2::zeros((6, 3)).view(), 2);
        assert_eq!(err, Error::AnchorShape { rows: 6, cols: 3, dim: 4 });
        assert_eq!(err.to_string(), "anchors must be a non-empty matrix of 4-dimensional rows, got 6×3");
        let mut bad = anchors.clone();
        bad[[2, 3]] = f64::NAN;
        assert_eq!(with(bad.view(), 2), Error::NonFiniteAnchor { row: 2, col: 3 });

        // s = 1: Z is 0/1, ZᵀZ = Λ and M = I, so every eigenvalue is trivial.
        let err = with(anchors.view(), 1);
        assert_eq!(err, Error::TooFewEigenvectors { method: "AGH", needed: 4, available: 0 });
        assert!(err.to_string().starts_with("AGH needs 4 eigenvectors of the anchor graph"), "{err}");
        // Every training point on its nearest anchor, s = 1: σ = 0.
        let on_anchors = anchors.mapv(|v| v as f32);
        let err = Agh::fit_with_anchors(on_anchors.view(), anchors.view(), 2, AghLayers::One, 1).unwrap_err();
        assert!(matches!(&err, Error::DegenerateAnchorGraph(reason) if reason.contains("bandwidth")), "{err}");
        // Four anchors, of which s = 3: at most 3 eigenvectors, and 4 bits need 4.
        let four = anchors.slice(s![..4, ..]);
        assert_eq!(with(four, 3), Error::TooManyBitsForAnchors { method: "AGH", n_bits: 4, max_bits: 3, n_anchors: 4 });
    }

    #[test]
    fn encode_errors() {
        let (x, _) = clusters(11, 3, 10, 4, 2.0);
        let hashers: Vec<Box<dyn Hasher>> = vec![
            Box::new(Agh::fit(x.view(), 4, AghLayers::One, &options(8), 0).unwrap()),
            Box::new(Agh::fit(x.view(), 4, AghLayers::Two, &options(8), 0).unwrap()),
            Box::new(AghItq::fit(x.view(), 4, &options(8), 5, 0).unwrap()),
        ];
        let mut bad = x.clone();
        bad[[9, 3]] = f32::NAN;
        for h in &hashers {
            let enc = |x: ArrayView2<f32>| h.encode(x).unwrap_err();
            assert_eq!(enc(Array2::zeros((2, 5)).view()), Error::DimensionMismatch { expected: 4, got: 5 });
            assert_eq!(enc(Array2::zeros((0, 4)).view()), Error::EmptyEmbeddings { rows: 0, cols: 4 });
            assert_eq!(enc(bad.view()), Error::NonFiniteEmbedding { row: 9, col: 3 });
        }
        let agh = Agh::fit(x.view(), 4, AghLayers::One, &options(8), 0).unwrap();
        assert_eq!(agh.embedding(bad.view()).unwrap_err(), Error::NonFiniteEmbedding { row: 9, col: 3 });
        assert_eq!(agh.anchor_similarities(bad.view()).unwrap_err(), Error::NonFiniteEmbedding { row: 9, col: 3 });
    }
}
