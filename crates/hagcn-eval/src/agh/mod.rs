//! Anchor Graph Hashing (AGH; Liu, Wang, Kumar & Chang, "Hashing with Graphs", ICML 2011),
//! one- and two-layer, following the authors' MATLAB `OneLayerAGH_Train/Test` and
//! `TwoLayerAGH_Train/Test`, and AGH's embedding rotated by ITQ ([`AghItq`]).
//!
//! AGH approximates the neighbourhood graph of `n` points by a graph through `m ≪ n`
//! **anchors** `u_1, …, u_m` (k-means centres of the training data, [`KMeans`]) and thresholds
//! the leading eigenfunctions of that graph, which it can evaluate at any new point.
//!
//! **Anchor similarities.** Each point `x` is tied to its `s` nearest anchors `⟨x⟩` (in
//! squared Euclidean distance `D²(x, u_j)`, ties to the lower anchor index) by a Gaussian
//! kernel, normalised to sum 1:
//!
//! ```text
//! z_j(x) = exp(−D²(x, u_j) / σ²) / Σ_{l ∈ ⟨x⟩} exp(−D²(x, u_l) / σ²)   for j ∈ ⟨x⟩,  0 otherwise,
//! ```
//!
//! with the bandwidth of the authors' code: `σ` is the mean over the training points of the
//! distance (not squared) to their `s`-th nearest anchor, `σ = (1/n) Σ_i D(x_i, u_{(s)})`
//! (the paper's `t` is `σ²`). `Z` (`n × m`, row `i` = `z(x_i)`) is the truncated similarity.
//!
//! **Spectral embedding.** The anchor graph `A = Z Λ⁻¹ Zᵀ`, `Λ = diag(Zᵀ 1)`, is doubly
//! stochastic, and its eigenvectors come from the `m × m` problem
//!
//! ```text
//! M = Λ^{-1/2} Zᵀ Z Λ^{-1/2} = V Σ Vᵀ.
//! ```
//!
//! `M` has eigenvalue 1 for `Λ^{1/2} 1` (the constant eigenvector of `A`, no information);
//! as the authors' code does, only eigenvalues `0 < σ_k < 1 − 10⁻³` are kept, in decreasing
//! order, which drops that trivial one (and any other eigenvalue 1, of a disconnected graph).
//! The first `r` of them give the projection (`m × r`)
//!
//! ```text
//! W = √n Λ^{-1/2} V_r Σ_r^{-1/2},        y(x) = z(x) W,
//! ```
//!
//! so that on the training points `Y = Z W` has `1ᵀ Y = 0` and `Yᵀ Y = n I`, and
//! `A Y = Y Σ_r`: the columns of `Y / √n` are orthonormal eigenvectors of `A`. Each eigenvector `v_k` of `M` is normalised to have its
//! entry of largest magnitude positive (as [`Pcah`](crate::Pcah)'s directions), so `W` does
//! not depend on the LAPACK build. The factor `√n` is in the authors' two-layer code only;
//! it does not change any sign.
//!
//! **One layer** ([`AghLayers::One`], `r = b` eigenvectors for `b` bits): bit `k` is
//! `[y_k(x) > 0]`, strictly positive as in `OneLayerAGH_Test` (`Z*W>0`).
//!
//! **Two layers** ([`AghLayers::Two`], `r = b/2` eigenvectors, `b` even): bits `0..r` are
//! the one-layer bits, and bit `r + k` thresholds `y_k` again on each side of zero,
//!
//! ```text
//! bit r + k = [y_k(x) − b⁺_k > 0]   where y_k(x) > 0,
//!             [b⁻_k − y_k(x) > 0]   otherwise,
//! ```
//!
//! with the thresholds of `TwoLayerAGH_Train` (paper §4.2), computed on the training
//! embedding `y = Y[:, k]`: with `P = {i : y_i > 0}`, `n⁺ = |P|`, `n⁻ = n − n⁺`, `1⁺` the
//! indicator of `P`, `|y|` the entrywise absolute value and `A = Z Λ⁻¹ Zᵀ`,
//!
//! ```text
//! s₁ = 1⁺ᵀ A |y|,   s₂ = 1⁺ᵀ (I − A) 1⁺ = n⁺ − 1⁺ᵀ A 1⁺,   s₃ = 1⁺ᵀ y,
//! b⁺ = (2 s₃ + n⁻ (s₃ − s₁) / s₂) / n,   b⁻ = (n⁺ (s₃ − s₁) / s₂ − 2 s₃) / n.
//! ```
//!
//! `s₂` is the weight of the anchor graph's cut between `P` and the rest; where it is zero
//! the thresholds are undefined ([`Error::DegenerateAnchorGraph`]).
//!
//! **Out of sample.** A new point gets `z(x)` from the same anchors, `s` and `σ`, then
//! `y(x) = z(x) W` and the bits above; training points are encoded the same way.
//!
//! **AGH+ITQ** ([`AghItq`]): the one-layer embedding `Y = Z W` of the training data rotated
//! by ITQ (Gong & Lazebnik; the rotation loop of [`Itq`](crate::Itq)) instead of the plain
//! sign: bit `k` is `[(y(x) R)_k ≥ 0]` (the crate's linear convention, as ITQ). `Y` is
//! already centred and white (`1ᵀ Y = 0`, `Yᵀ Y = n I`), so ITQ's centring and PCA steps are
//! identities and are skipped: `R` is learned on `Y` itself.
//!
//! **Differences from the authors' code**, none of which changes a code beyond rounding:
//! squared distances are `sqdist`'s `‖x‖² + ‖u‖² − 2 xᵀu` with negative rounding residues
//! clamped to 0 rather than made positive by `abs`; the kernel is evaluated relative to the nearest anchor,
//! `exp(−(D²_j − D²_min) / σ²)`, before normalising, which gives the same `z` without
//! underflow for points far from every anchor; an anchor that is none of the training
//! points' `s` nearest (`Λ_jj = 0`, where MATLAB divides by zero) is left out of `M` and
//! gets a zero row in `W`; the anchors come from this crate's [`KMeans`] (k-means++
//! seeding and at most [`AghOptions::kmeans_iterations`] Lloyd iterations), where the
//! authors used k-means without saying how it was started.
//!
//! Computation is in `f64`; embeddings come in as `f32`. Distances, `Z` and the embedding
//! are computed per point in a fixed order (in parallel over points), and every sum over
//! points runs in point order, so results do not depend on the number of threads. The
//! eigendecomposition needs a LAPACK backend linked into the final binary (see
//! [`crate::baselines`]).
//!
//! ```
//! # use hagcn_openblas as _;
//! use hagcn_eval::{Agh, AghLayers, AghOptions, Hasher};
//! use ndarray::Array2;
//!
//! // 400 points on four separated blobs in 5 dimensions.
//! let x = Array2::from_shape_fn((400, 5), |(i, j)| {
//!     let centre = if (i % 4) == j { 6.0 } else { 0.0 };
//!     centre + ((i * 31 + j * 17) % 23) as f32 / 23.0
//! });
//! let options = AghOptions { n_anchors: 20, ..AghOptions::default() };
//! let agh = Agh::fit(x.view(), 8, AghLayers::Two, &options, 42)?;
//! assert_eq!((agh.n_bits(), agh.projection().dim()), (8, (20, 4)));
//! let codes = agh.encode(x.view())?;
//! assert_eq!((codes.n_codes(), codes.n_bytes()), (400, 1));
//! // The training embedding is centred and white: Yᵀ Y = n I.
//! let y = agh.embedding(x.view())?;
//! let gram = y.t().dot(&y) / 400.0;
//! assert!(gram.indexed_iter().all(|((i, j), &v)| (v - if i == j { 1.0 } else { 0.0 }).abs() < 1e-8));
//! # Ok::<(), hagcn_eval::Error>(())
//! ```

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis, s};
use ndarray_linalg::{Eigh, UPLO};
use rayon::prelude::*;

use crate::baselines::{Hasher, fix_signs, itq_rotation, linalg, sign_matrix, squared_distance, validate};
use crate::codes::PackedCodes;
use crate::error::{Error, Result};
use crate::kmeans::{KMeans, squared_distances};

/// Eigenvalues of `M` at or above `1 − EIGENVALUE_MARGIN` count as trivial (the authors'
/// `eigenvalue < 1-1e-3`).
const EIGENVALUE_MARGIN: f64 = 1e-3;
/// Points whose anchor distances are computed at once (bounds the `rows × m` buffer).
const ROW_CHUNK: usize = 4096;

/// One or two layers of AGH bits (see the [module docs](self)).
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
    fn eigenvectors_for(self, n_bits: usize) -> usize {
        match self {
            AghLayers::One => n_bits,
            AghLayers::Two => n_bits / 2,
        }
    }

    fn method(self) -> &'static str {
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

/// Each point's `s` nearest anchors and its weights `z_j(x)` on them: row `i` of the
/// sparse `Z`, nearest anchor first.
struct AnchorWeights {
    nearest: usize,
    index: Vec<usize>,
    weight: Vec<f64>,
}

impl AnchorWeights {
    fn rows(&self) -> usize {
        self.index.len() / self.nearest
    }

    /// Row `i`: `(anchor, weight)` pairs.
    fn row(&self, i: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let range = i * self.nearest..(i + 1) * self.nearest;
        self.index[range.clone()].iter().copied().zip(self.weight[range].iter().copied())
    }

    /// `Z P` for an `m × r` matrix `P`, each row summed over its anchors nearest first.
    fn times(&self, p: &Array2<f64>) -> Array2<f64> {
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
    fn dense(&self, m: usize) -> Array2<f64> {
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
fn nearest_anchors(x: ArrayView2<f64>, anchors: ArrayView2<f64>, s: usize) -> (Vec<usize>, Vec<f64>) {
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
fn kernel_weights(index: Vec<usize>, d2: &[f64], nearest: usize, bandwidth: f64) -> AnchorWeights {
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

/// The fitted anchor graph: anchors, `s`, `σ` and the spectral projection `W`.
#[derive(Debug, Clone, PartialEq)]
struct AnchorGraph {
    anchors: Array2<f64>,
    nearest: usize,
    bandwidth: f64,
    eigenvalues: Array1<f64>,
    projection: Array2<f64>,
}

impl AnchorGraph {
    /// The anchor weights `z(x)` of validated embeddings `x` (in `f64`).
    fn weights(&self, x: ArrayView2<f64>) -> AnchorWeights {
        let (index, d2) = nearest_anchors(x, self.anchors.view(), self.nearest);
        kernel_weights(index, &d2, self.nearest, self.bandwidth)
    }

    /// Validates `x` against the training dimension and returns it in `f64`.
    fn check(&self, x: ArrayView2<f32>) -> Result<Array2<f64>> {
        if x.nrows() == 0 {
            return Err(Error::EmptyEmbeddings { rows: x.nrows(), cols: x.ncols() });
        }
        if x.ncols() != self.anchors.ncols() {
            return Err(Error::DimensionMismatch { expected: self.anchors.ncols(), got: x.ncols() });
        }
        validate(x)
    }

    /// Fits `Z`, `σ` and the first `r` non-trivial eigenvectors on `train`; returns the
    /// graph and the training `Z`.
    fn fit(
        train: &Array2<f64>,
        anchors: Array2<f64>,
        nearest: usize,
        r: usize,
        method: &'static str,
    ) -> Result<(AnchorGraph, AnchorWeights)> {
        let (n, m) = (train.nrows(), anchors.nrows());
        let (index, d2) = nearest_anchors(train.view(), anchors.view(), nearest);
        // σ: the mean distance to the s-th nearest anchor (`mean(val(:,s).^0.5)`).
        let bandwidth = (0..n).fold(0.0, |acc, i| acc + d2[i * nearest + nearest - 1].sqrt()) / n as f64;
        if bandwidth <= 0.0 || !bandwidth.is_finite() {
            return Err(Error::DegenerateAnchorGraph(format!(
                "every training point coincides with its {nearest} nearest anchors, so the kernel bandwidth \
                 (the mean distance to the {nearest}-th nearest anchor) is 0"
            )));
        }
        let z = kernel_weights(index, &d2, nearest, bandwidth);

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
        let graph = AnchorGraph { anchors, nearest, bandwidth, eigenvalues, projection };
        Ok((graph, z))
    }
}

/// Checks the parameters shared by every AGH fit, before looking at the data.
fn check_parameters(
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
fn check_data(
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

/// k-means anchors of validated training data (see [`Agh::fit`]).
fn kmeans_anchors(
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

/// Anchor Graph Hashing, one or two layers: bits from the thresholded leading
/// eigenfunctions of an anchor graph.
///
/// See the [module docs](self).
#[derive(Debug, Clone, PartialEq)]
pub struct Agh {
    layers: AghLayers,
    graph: AnchorGraph,
    /// `2 × r` for two layers: row 0 is `b⁺`, row 1 `b⁻`.
    thresholds: Option<Array2<f64>>,
}

impl Agh {
    /// Fits AGH with `n_bits` bits: `options.n_anchors` anchors by k-means on `train`
    /// (seeded with `seed`, see [`KMeans::fit`]), then [`Agh::fit_with_anchors`].
    ///
    /// # Errors
    ///
    /// [`Error::ZeroBits`] if `n_bits == 0`; [`Error::NearestAnchors`] unless
    /// `1 ≤ s ≤ m`; [`Error::OddBits`] for an odd `n_bits` with two layers;
    /// [`Error::TooManyBitsForAnchors`] if `n_bits > m − 1` (one layer) or
    /// `n_bits > 2(m − 1)` (two layers); [`Error::EmptyEmbeddings`] /
    /// [`Error::NonFiniteEmbedding`] for empty or non-finite `train`;
    /// [`Error::TooFewEmbeddings`] if `train` has fewer than `m` rows;
    /// [`Error::TooFewDistinctEmbeddings`] if it has fewer than `m` distinct rows; and
    /// the errors of [`Agh::fit_with_anchors`].
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
    /// [`Error::AnchorShape`] if `anchors` is empty or not `d` wide,
    /// [`Error::NonFiniteAnchor`] for a non-finite anchor, [`Error::DegenerateAnchorGraph`]
    /// if the kernel bandwidth is 0 (every point sits on its `s` nearest anchors) or a
    /// second-layer threshold divides by zero, [`Error::TooFewEigenvectors`] if the graph
    /// has fewer non-trivial eigenvectors than needed, and [`Error::Linalg`] if the
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
            AghLayers::Two => Some(second_layer_thresholds(&z, &z.times(&graph.projection), graph.anchors.nrows())?),
        };
        Ok(Agh { layers, graph, thresholds })
    }

    /// One or two layers.
    pub fn layers(&self) -> AghLayers {
        self.layers
    }

    /// The anchors `u_j`, `m × d`.
    pub fn anchors(&self) -> ArrayView2<'_, f64> {
        self.graph.anchors.view()
    }

    /// The number `s` of nearest anchors each point is tied to.
    pub fn nearest_anchors(&self) -> usize {
        self.graph.nearest
    }

    /// The kernel bandwidth `σ` (the kernel is `exp(−D²/σ²)`): the training points' mean
    /// distance to their `s`-th nearest anchor.
    pub fn bandwidth(&self) -> f64 {
        self.graph.bandwidth
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
        Ok(self.graph.weights(x.view()).dense(self.graph.anchors.nrows()))
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

/// The second-layer thresholds `(b⁺, b⁻)` of each column of the training embedding `y`
/// (see the module docs), `2 × r`.
fn second_layer_thresholds(z: &AnchorWeights, y: &Array2<f64>, m: usize) -> Result<Array2<f64>> {
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

/// AGH's one-layer embedding `Y = Z W` rotated by ITQ: bit `k` is `[(y(x) R)_k ≥ 0]`.
///
/// See the [module docs](self).
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
    /// As [`Agh::fit`] with one layer, plus [`Error::Linalg`] if an SVD fails.
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
    /// As [`Agh::fit_with_anchors`] with one layer, plus [`Error::Linalg`] if an SVD fails.
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

#[cfg(test)]
mod tests {
    use hagcn_openblas as _;
    use ndarray::array;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    use super::*;
    use crate::TopK;
    use crate::map::mean_average_precision;

    /// `n_classes` centres `N(0, spread² I_d)`, `per_class` points each at `centre + noise`,
    /// interleaved by class. Returns `(points, labels)`.
    fn clusters(seed: u64, n_classes: usize, per_class: usize, d: usize, spread: f64) -> (Array2<f32>, Vec<usize>) {
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

    fn options(n_anchors: usize) -> AghOptions {
        AghOptions { n_anchors, ..AghOptions::default() }
    }

    #[test]
    fn defaults_are_the_papers() {
        let o = AghOptions::default();
        assert_eq!((o.n_anchors, o.nearest_anchors, o.kmeans_iterations), (300, 3, 100));
    }

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
