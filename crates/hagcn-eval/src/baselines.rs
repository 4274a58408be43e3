//! Classic unsupervised hashing baselines: LSH, PCAH and ITQ.
//!
//! Each method is fit on training embeddings `X` (`n × d`, one row per item) and then maps
//! any embeddings with the same dimension `d` to `b`-bit codes ([`PackedCodes`]). All three
//! are linear: with the training mean `μ = (1/n) Σᵢ xᵢ` and a `d × b` projection `P`,
//!
//! ```text
//! h(x) = [ (x − μ) P ≥ 0 ]        (bit j is 1 where the j-th projection is non-negative)
//! ```
//!
//! which matches [`PackedCodes::from_logits`]'s convention. They differ in `P`:
//!
//! * **LSH** ([`Lsh`], random-hyperplane LSH, Charikar 2002): `P` has i.i.d. `N(0, 1)`
//!   entries drawn from a ChaCha8 stream seeded by the caller. Any `b ≥ 1` is allowed.
//! * **PCAH** ([`Pcah`]): the columns of `P = W` are the `b` leading principal directions,
//!   the eigenvectors of the covariance `C = (1/n) X_cᵀ X_c` (`X_c = X − 1μᵀ`) with the `b`
//!   largest eigenvalues, in decreasing order of eigenvalue. Needs `b ≤ d`.
//! * **ITQ** ([`Itq`], Gong & Lazebnik 2011): the PCA projection followed by an orthogonal
//!   rotation, `P = W R`, with `R` (`b × b`) chosen to minimise the quantisation loss
//!
//!   ```text
//!   Q(B, R) = ‖B − V R‖²_F,   V = X_c W,   B ∈ {−1, +1}^{n × b},   RᵀR = I.
//!   ```
//!
//!   Starting from a random orthogonal `R` (the orthogonal factor of the SVD of a Gaussian
//!   matrix), ITQ alternates two exact minimisations:
//!   1. fix `R`: `B = sign(V R)` (with `sign(0) = +1`);
//!   2. fix `B`: the orthogonal Procrustes problem `max_R tr(Rᵀ Vᵀ B)`. With the SVD
//!      `Bᵀ V = S Ω Ŝᵀ` (equivalently `Vᵀ B = Ŝ Ω Sᵀ`) the maximiser is `R = Ŝ Sᵀ`.
//!
//!   Each step can only lower `Q`, so the loss is non-increasing over iterations
//!   ([`Itq::fit_with_history`] returns it). Needs `b ≤ d`.
//!
//! Computation is done in `f64`; embeddings come in as `f32`. Eigenvectors are returned by
//! LAPACK up to sign, so each principal direction is normalised to have its entry of largest
//! magnitude positive, which makes PCAH and ITQ independent of the LAPACK build.
//!
//! The linear algebra runs through `ndarray-linalg`, which needs a LAPACK backend linked into
//! the final binary (this crate does not choose one; the workspace's binaries and tests use
//! `hagcn-openblas`).
//!
//! ```
//! # use hagcn_openblas as _;
//! use hagcn_eval::{Hasher, Itq};
//! use ndarray::Array2;
//!
//! // 200 training embeddings in 8 dimensions (a deterministic pseudo-random pattern).
//! let train = Array2::from_shape_fn((200, 8), |(i, j)| ((i * 7 + j * 13) % 17) as f32 - 8.0 + (i % 3) as f32);
//! let itq = Itq::fit(train.view(), 4, 50, 42)?;
//! assert_eq!(itq.n_bits(), 4);
//!
//! let codes = itq.encode(train.view())?;
//! assert_eq!((codes.n_codes(), codes.n_bits(), codes.n_bytes()), (200, 4, 1));
//!
//! // The learned rotation is orthogonal.
//! let r = itq.rotation();
//! let rtr = r.t().dot(&r);
//! assert!(rtr.indexed_iter().all(|((i, j), &v)| (v - if i == j { 1.0 } else { 0.0 }).abs() < 1e-10));
//! # Ok::<(), hagcn_eval::Error>(())
//! ```

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis, s};
use ndarray_linalg::{Eigh, SVD, UPLO};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::codes::PackedCodes;
use crate::error::{Error, Result};

/// A fitted hash function mapping `d`-dimensional embeddings to `n_bits()`-bit codes.
pub trait Hasher {
    /// Number of bits per code.
    fn n_bits(&self) -> usize;

    /// Encodes each row of `x` (`n × d`, `d` the training dimension) as one code.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyEmbeddings`] if `x` has no rows, [`Error::DimensionMismatch`] if its
    /// width is not the training dimension, and [`Error::NonFiniteEmbedding`] if it holds a
    /// `NaN` or infinity.
    fn encode(&self, x: ArrayView2<f32>) -> Result<PackedCodes>;
}

/// The shared form of every baseline here: `h(x) = [(x − μ) P ≥ 0]`.
#[derive(Debug, Clone, PartialEq)]
struct LinearHash {
    /// Training mean, length `d`.
    mean: Array1<f64>,
    /// `d × n_bits` projection.
    projection: Array2<f64>,
}

impl LinearHash {
    fn n_bits(&self) -> usize {
        self.projection.ncols()
    }

    fn encode(&self, x: ArrayView2<f32>) -> Result<PackedCodes> {
        let xc = centred(x, self.mean.view())?;
        Ok(signs_to_codes(xc.dot(&self.projection).view()))
    }
}

/// Packs `values ≥ 0` as one bits.
fn signs_to_codes(values: ArrayView2<f64>) -> PackedCodes {
    PackedCodes::from_bits(values.mapv(|v| v >= 0.0).view())
}

/// Checks that `x` is non-empty and finite and returns it in `f64`.
pub(crate) fn validate(x: ArrayView2<f32>) -> Result<Array2<f64>> {
    let x = x.mapv(f64::from);
    check_f64(x.view())?;
    Ok(x)
}

/// [`validate`] for rows already in `f64`, without a copy.
pub(crate) fn check_f64(x: ArrayView2<f64>) -> Result<()> {
    if x.nrows() == 0 || x.ncols() == 0 {
        return Err(Error::EmptyEmbeddings { rows: x.nrows(), cols: x.ncols() });
    }
    if let Some(((row, col), _)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::NonFiniteEmbedding { row, col });
    }
    Ok(())
}

/// Validates `x` against a fitted mean and returns `x − μ` in `f64`.
pub(crate) fn centred(x: ArrayView2<f32>, mean: ArrayView1<f64>) -> Result<Array2<f64>> {
    if x.nrows() == 0 {
        return Err(Error::EmptyEmbeddings { rows: x.nrows(), cols: x.ncols() });
    }
    if x.ncols() != mean.len() {
        return Err(Error::DimensionMismatch { expected: mean.len(), got: x.ncols() });
    }
    let mut x = validate(x)?;
    x -= &mean;
    Ok(x)
}

/// Validates training data and returns `(μ, X − μ)`.
pub(crate) fn centre_training(train: ArrayView2<f32>) -> Result<(Array1<f64>, Array2<f64>)> {
    let mut x = validate(train)?;
    let mean = x.mean_axis(Axis(0)).expect("validate rejects empty inputs");
    x -= &mean;
    Ok((mean, x))
}

fn check_bits(n_bits: usize, dim: usize, method: &'static str, needs_pca: bool) -> Result<()> {
    if n_bits == 0 {
        return Err(Error::ZeroBits);
    }
    if needs_pca && n_bits > dim {
        return Err(Error::TooManyBits { method, n_bits, dim });
    }
    Ok(())
}

pub(crate) fn linalg(op: &'static str) -> impl FnOnce(ndarray_linalg::error::LinalgError) -> Error {
    move |e| Error::Linalg { op, detail: e.to_string() }
}

/// The `n_bits` leading principal directions of centred data `xc` (`d × n_bits`, columns in
/// decreasing order of variance, each with its largest-magnitude entry positive).
pub(crate) fn principal_directions(xc: &Array2<f64>, n_bits: usize) -> Result<Array2<f64>> {
    let n = xc.nrows() as f64;
    let cov = xc.t().dot(xc) / n;
    let (_values, vectors) = cov.eigh(UPLO::Lower).map_err(linalg("covariance eigendecomposition"))?;
    // LAPACK returns ascending eigenvalues: take the last n_bits columns, largest first.
    let d = vectors.ncols();
    let mut w = vectors.slice(s![.., d - n_bits..; -1]).to_owned();
    fix_signs(&mut w);
    Ok(w)
}

/// Flips each column of `vectors` whose entry of largest magnitude (the first such entry
/// on ties) is negative, so eigenvectors do not depend on the LAPACK build's signs.
pub(crate) fn fix_signs(vectors: &mut Array2<f64>) {
    for mut col in vectors.columns_mut() {
        let pivot = col.iter().copied().fold(0.0f64, |best, v| if v.abs() > best.abs() { v } else { best });
        if pivot < 0.0 {
            col.mapv_inplace(|v| -v);
        }
    }
}

/// The orthogonal matrix closest to `m` (square) in Frobenius norm: `U Vᵀ` from `m = U Σ Vᵀ`.
fn orthogonal_factor(m: &Array2<f64>, op: &'static str) -> Result<Array2<f64>> {
    let (u, _sigma, vt) = m.svd(true, true).map_err(linalg(op))?;
    let (u, vt) = (u.expect("SVD asked for U"), vt.expect("SVD asked for Vᵀ"));
    Ok(u.dot(&vt))
}

/// `sign(·)` with `sign(0) = +1`, the code convention of this crate.
pub(crate) fn sign_matrix(m: &Array2<f64>) -> Array2<f64> {
    m.mapv(|v| if v >= 0.0 { 1.0 } else { -1.0 })
}

/// Random-hyperplane locality-sensitive hashing: `h(x) = [(x − μ) P ≥ 0]`, `P` Gaussian.
///
/// See the [module docs](self).
#[derive(Debug, Clone, PartialEq)]
pub struct Lsh {
    hash: LinearHash,
}

impl Lsh {
    /// Fits LSH: the training mean and `n_bits` Gaussian directions from a ChaCha8 stream
    /// seeded with `seed` (the same seed gives the same hash function).
    ///
    /// # Errors
    ///
    /// [`Error::ZeroBits`] if `n_bits == 0`, [`Error::EmptyEmbeddings`] if `train` has no
    /// rows or columns, and [`Error::NonFiniteEmbedding`] if it holds a `NaN` or infinity.
    pub fn fit(train: ArrayView2<f32>, n_bits: usize, seed: u64) -> Result<Lsh> {
        check_bits(n_bits, train.ncols(), "LSH", false)?;
        let (mean, _) = centre_training(train)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let projection = Array2::from_shape_fn((mean.len(), n_bits), |_| StandardNormal.sample(&mut rng));
        Ok(Lsh { hash: LinearHash { mean, projection } })
    }

    /// The training mean `μ` (length `d`).
    pub fn mean(&self) -> ArrayView1<'_, f64> {
        self.hash.mean.view()
    }

    /// The random projection `P` (`d × n_bits`).
    pub fn projection(&self) -> ArrayView2<'_, f64> {
        self.hash.projection.view()
    }
}

impl Hasher for Lsh {
    fn n_bits(&self) -> usize {
        self.hash.n_bits()
    }

    fn encode(&self, x: ArrayView2<f32>) -> Result<PackedCodes> {
        self.hash.encode(x)
    }
}

/// PCA hashing: `h(x) = [(x − μ) W ≥ 0]` with `W` the leading principal directions.
///
/// See the [module docs](self).
#[derive(Debug, Clone, PartialEq)]
pub struct Pcah {
    hash: LinearHash,
}

impl Pcah {
    /// Fits PCAH: the training mean and the `n_bits` eigenvectors of the training covariance
    /// with the largest eigenvalues.
    ///
    /// # Errors
    ///
    /// [`Error::ZeroBits`] if `n_bits == 0`, [`Error::TooManyBits`] if `n_bits` exceeds the
    /// dimension `d`, [`Error::EmptyEmbeddings`] / [`Error::NonFiniteEmbedding`] for empty or
    /// non-finite `train`, and [`Error::Linalg`] if the eigensolver fails.
    pub fn fit(train: ArrayView2<f32>, n_bits: usize) -> Result<Pcah> {
        check_bits(n_bits, train.ncols(), "PCAH", true)?;
        let (mean, xc) = centre_training(train)?;
        let projection = principal_directions(&xc, n_bits)?;
        Ok(Pcah { hash: LinearHash { mean, projection } })
    }

    /// The training mean `μ` (length `d`).
    pub fn mean(&self) -> ArrayView1<'_, f64> {
        self.hash.mean.view()
    }

    /// The principal directions `W` (`d × n_bits`, orthonormal columns, largest variance
    /// first).
    pub fn components(&self) -> ArrayView2<'_, f64> {
        self.hash.projection.view()
    }
}

impl Hasher for Pcah {
    fn n_bits(&self) -> usize {
        self.hash.n_bits()
    }

    fn encode(&self, x: ArrayView2<f32>) -> Result<PackedCodes> {
        self.hash.encode(x)
    }
}

/// Iterative quantisation: `h(x) = [((x − μ) W) R ≥ 0]`, PCA followed by a learned rotation.
///
/// See the [module docs](self).
#[derive(Debug, Clone, PartialEq)]
pub struct Itq {
    /// Mean and the combined projection `W R`.
    hash: LinearHash,
    /// PCA directions `W` (`d × n_bits`).
    components: Array2<f64>,
    /// Rotation `R` (`n_bits × n_bits`).
    rotation: Array2<f64>,
}

impl Itq {
    /// Fits ITQ with `iterations` alternating steps (50 in the paper), starting from a
    /// random rotation seeded with `seed`.
    ///
    /// # Errors
    ///
    /// As [`Pcah::fit`], plus [`Error::Linalg`] if an SVD fails.
    pub fn fit(train: ArrayView2<f32>, n_bits: usize, iterations: usize, seed: u64) -> Result<Itq> {
        Itq::fit_with_history(train, n_bits, iterations, seed).map(|(itq, _)| itq)
    }

    /// As [`Itq::fit`], also returning the quantisation loss `‖B − V R‖²_F` (with
    /// `B = sign(V R)`) for the initial rotation and after each of the `iterations` updates
    /// (`iterations + 1` values, non-increasing up to rounding).
    ///
    /// # Errors
    ///
    /// As [`Itq::fit`].
    pub fn fit_with_history(
        train: ArrayView2<f32>,
        n_bits: usize,
        iterations: usize,
        seed: u64,
    ) -> Result<(Itq, Vec<f64>)> {
        check_bits(n_bits, train.ncols(), "ITQ", true)?;
        let (mean, xc) = centre_training(train)?;
        let components = principal_directions(&xc, n_bits)?;
        let v = xc.dot(&components);
        let (rotation, history) = itq_rotation(&v, iterations, seed)?;
        let projection = components.dot(&rotation);
        Ok((Itq { hash: LinearHash { mean, projection }, components, rotation }, history))
    }

    /// The training mean `μ` (length `d`).
    pub fn mean(&self) -> ArrayView1<'_, f64> {
        self.hash.mean.view()
    }

    /// The PCA directions `W` (`d × n_bits`).
    pub fn components(&self) -> ArrayView2<'_, f64> {
        self.components.view()
    }

    /// The learned rotation `R` (`n_bits × n_bits`, orthogonal).
    pub fn rotation(&self) -> ArrayView2<'_, f64> {
        self.rotation.view()
    }

    /// The quantisation loss `‖sign(V R) − V R‖²_F` of embeddings `x`, `V = (x − μ) W`.
    ///
    /// # Errors
    ///
    /// As [`Hasher::encode`].
    pub fn quantization_loss(&self, x: ArrayView2<f32>) -> Result<f64> {
        let vr = centred(x, self.hash.mean.view())?.dot(&self.components).dot(&self.rotation);
        Ok(squared_distance(&sign_matrix(&vr), &vr))
    }
}

impl Hasher for Itq {
    fn n_bits(&self) -> usize {
        self.hash.n_bits()
    }

    fn encode(&self, x: ArrayView2<f32>) -> Result<PackedCodes> {
        self.hash.encode(x)
    }
}

/// ITQ's rotation of an `n × b` embedding `v`: from the orthogonal factor of a `b × b`
/// Gaussian matrix drawn from a ChaCha8 stream seeded with `seed`, `iterations` alternating
/// steps `B = sign(V R)`, `R = Ŝ Sᵀ` (SVD `Vᵀ B = Ŝ Ω Sᵀ`). Returns `R` and the loss
/// `‖B − V R‖²_F` before the first step and after each (`iterations + 1` values).
pub fn itq_rotation(v: &Array2<f64>, iterations: usize, seed: u64) -> Result<(Array2<f64>, Vec<f64>)> {
    let n_bits = v.ncols();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let gaussian = Array2::from_shape_fn((n_bits, n_bits), |_| StandardNormal.sample(&mut rng));
    let mut rotation = orthogonal_factor(&gaussian, "SVD of the random initial rotation")?;

    let mut history = Vec::with_capacity(iterations + 1);
    let mut vr = v.dot(&rotation);
    let mut b = sign_matrix(&vr);
    history.push(squared_distance(&b, &vr));
    for _ in 0..iterations {
        // Procrustes: SVD of Vᵀ B = Ŝ Ω Sᵀ (i.e. Bᵀ V = S Ω Ŝᵀ), R = Ŝ Sᵀ.
        rotation = orthogonal_factor(&v.t().dot(&b), "SVD in the ITQ rotation update")?;
        vr = v.dot(&rotation);
        b = sign_matrix(&vr);
        history.push(squared_distance(&b, &vr));
    }
    Ok((rotation, history))
}

pub(crate) fn squared_distance(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

#[cfg(test)]
mod tests {
    use hagcn_openblas as _;

    use super::*;
    use crate::TopK;
    use crate::map::mean_average_precision;
    use rand::RngExt;

    /// `n_classes` centres `N(0, I_d)`, `per_class` points each at `centre + 0.3 · noise`,
    /// interleaved by class. Returns `(points, labels)`.
    fn clusters(seed: u64, n_classes: usize, per_class: usize, d: usize) -> (Array2<f32>, Vec<usize>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let centres: Array2<f64> = Array2::from_shape_fn((n_classes, d), |_| StandardNormal.sample(&mut rng));
        let n = n_classes * per_class;
        let labels: Vec<usize> = (0..n).map(|i| i % n_classes).collect();
        let mut x = Array2::<f32>::zeros((n, d));
        for (i, mut row) in x.rows_mut().into_iter().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                let noise: f64 = StandardNormal.sample(&mut rng);
                *v = (centres[[labels[i], j]] + 0.3 * noise) as f32;
            }
        }
        (x, labels)
    }

    /// Splits into (database = first half of the rows, queries = second half); with labels
    /// interleaved by class both halves hold every class.
    fn split(x: &Array2<f32>, labels: &[usize]) -> (Array2<f32>, Vec<usize>, Array2<f32>, Vec<usize>) {
        let half = x.nrows() / 2;
        let db = x.slice(s![..half, ..]).to_owned();
        let q = x.slice(s![half.., ..]).to_owned();
        (db, labels[..half].to_vec(), q, labels[half..].to_vec())
    }

    fn map_all(h: &dyn Hasher, db: &Array2<f32>, db_labels: &[usize], q: &Array2<f32>, q_labels: &[usize]) -> f64 {
        let db_codes = h.encode(db.view()).unwrap();
        let q_codes = h.encode(q.view()).unwrap();
        mean_average_precision(&q_codes, q_labels, &db_codes, db_labels, &[TopK::All]).unwrap()[0]
    }

    fn assert_orthonormal_columns(m: ArrayView2<f64>, tol: f64) {
        let gram = m.t().dot(&m);
        for ((i, j), &v) in gram.indexed_iter() {
            let expected = if i == j { 1.0 } else { 0.0 };
            assert!((v - expected).abs() < tol, "gram[{i}, {j}] = {v}");
        }
    }

    #[test]
    fn baselines_beat_random_codes_on_clusters() {
        const C: usize = 8;
        let (x, labels) = clusters(17, C, 60, 32);
        let (db, db_labels, q, q_labels) = split(&x, &labels);

        let mut rng = ChaCha8Rng::seed_from_u64(99);
        let random = |n: usize, rng: &mut ChaCha8Rng| {
            PackedCodes::from_bits(Array2::from_shape_fn((n, 16), |_| rng.random::<bool>()).view())
        };
        let (rdb, rq) = (random(db.nrows(), &mut rng), random(q.nrows(), &mut rng));
        let random_map = mean_average_precision(&rq, &q_labels, &rdb, &db_labels, &[TopK::All]).unwrap()[0];
        assert!(random_map < 0.2, "random codes mAP {random_map}");

        let lsh = Lsh::fit(db.view(), 32, 5).unwrap();
        let pcah = Pcah::fit(db.view(), 16).unwrap();
        let itq = Itq::fit(db.view(), 16, 50, 5).unwrap();
        let maps = [
            ("LSH", map_all(&lsh, &db, &db_labels, &q, &q_labels)),
            ("PCAH", map_all(&pcah, &db, &db_labels, &q, &q_labels)),
            ("ITQ", map_all(&itq, &db, &db_labels, &q, &q_labels)),
        ];
        eprintln!("random {random_map:.3}, {maps:?}");
        for (name, map) in maps {
            assert!(map > 0.5 && map > 3.0 * random_map, "{name} mAP {map} vs random {random_map}");
        }
    }

    #[test]
    fn encode_shapes_and_bit_counts() {
        let (x, _) = clusters(1, 4, 10, 12);
        let hashers: Vec<Box<dyn Hasher>> = vec![
            Box::new(Lsh::fit(x.view(), 20, 0).unwrap()),
            Box::new(Pcah::fit(x.view(), 12).unwrap()),
            Box::new(Itq::fit(x.view(), 9, 10, 0).unwrap()),
        ];
        for (h, bits) in hashers.iter().zip([20, 12, 9]) {
            assert_eq!(h.n_bits(), bits);
            let codes = h.encode(x.slice(s![..7, ..])).unwrap();
            assert_eq!((codes.n_codes(), codes.n_bits(), codes.n_bytes()), (7, bits, bits.div_ceil(8)));
        }
    }

    #[test]
    fn lsh_allows_more_bits_than_dimensions() {
        let (x, _) = clusters(2, 3, 10, 4);
        let lsh = Lsh::fit(x.view(), 64, 1).unwrap();
        assert_eq!(lsh.projection().dim(), (4, 64));
        assert_eq!(lsh.encode(x.view()).unwrap().n_bits(), 64);
    }

    #[test]
    fn lsh_is_reproducible_and_seed_dependent() {
        let (x, _) = clusters(3, 4, 25, 16);
        let a = Lsh::fit(x.view(), 32, 11).unwrap();
        let b = Lsh::fit(x.view(), 32, 11).unwrap();
        let c = Lsh::fit(x.view(), 32, 12).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.encode(x.view()).unwrap(), b.encode(x.view()).unwrap());
        assert_ne!(a.projection(), c.projection());
        assert_ne!(a.encode(x.view()).unwrap(), c.encode(x.view()).unwrap());
    }

    #[test]
    fn lsh_centres_by_training_mean() {
        // All points far from the origin: without centring every bit would be constant.
        let (mut x, _) = clusters(4, 4, 25, 8);
        x += 100.0;
        let lsh = Lsh::fit(x.view(), 16, 3).unwrap();
        for (m, col) in lsh.mean().iter().zip(x.columns()) {
            assert!((m - col.iter().map(|&v| f64::from(v)).sum::<f64>() / 100.0).abs() < 1e-9);
        }
        let codes = lsh.encode(x.view()).unwrap();
        let ones = (0..100).filter(|&i| codes.bit(i, 0)).count();
        assert!(ones > 0 && ones < 100, "bit 0 is constant");
    }

    #[test]
    fn pcah_directions_are_orthonormal_and_sorted() {
        let (x, _) = clusters(5, 6, 30, 32);
        let pcah = Pcah::fit(x.view(), 20).unwrap();
        let w = pcah.components();
        assert_eq!(w.dim(), (32, 20));
        assert_orthonormal_columns(w, 1e-10);

        // Projected variances are decreasing, and W is an eigenbasis: C W = W diag(λ).
        let xc = x.mapv(f64::from) - pcah.mean();
        let cov = xc.t().dot(&xc) / xc.nrows() as f64;
        let cw = cov.dot(&w);
        let variances: Vec<f64> = (0..20).map(|j| w.column(j).dot(&cw.column(j))).collect();
        assert!(variances.windows(2).all(|p| p[0] >= p[1] - 1e-12), "{variances:?}");
        for j in 0..20 {
            for i in 0..32 {
                assert!((cw[[i, j]] - variances[j] * w[[i, j]]).abs() < 1e-9);
            }
        }
        // The sign convention: each column's largest-magnitude entry is positive.
        for col in w.columns() {
            let pivot = col.iter().copied().fold(0.0f64, |b, v| if v.abs() > b.abs() { v } else { b });
            assert!(pivot > 0.0);
        }
    }

    #[test]
    fn pcah_recovers_the_dominant_axis() {
        // Variance 100 along axis 2, 1 elsewhere: the first direction is ±e₂ (here +e₂).
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let x = Array2::from_shape_fn((500, 5), |(_, j)| {
            let z: f64 = StandardNormal.sample(&mut rng);
            (if j == 2 { 10.0 * z } else { z }) as f32
        });
        let pcah = Pcah::fit(x.view(), 1).unwrap();
        assert!((pcah.components()[[2, 0]] - 1.0).abs() < 1e-3, "{:?}", pcah.components());
        // Bit 0 is then the sign of the centred third coordinate.
        let codes = pcah.encode(x.view()).unwrap();
        let mean = pcah.mean()[2];
        let agree = (0..500).filter(|&i| codes.bit(i, 0) == (f64::from(x[[i, 2]]) >= mean)).count();
        assert!(agree >= 495, "{agree}");
    }

    #[test]
    fn itq_rotation_is_orthogonal_and_loss_non_increasing() {
        let (x, _) = clusters(7, 8, 40, 32);
        let (itq, history) = Itq::fit_with_history(x.view(), 16, 50, 3).unwrap();
        assert_eq!(history.len(), 51);
        assert_orthonormal_columns(itq.rotation(), 1e-10);
        assert_orthonormal_columns(itq.components(), 1e-10);
        for (t, pair) in history.windows(2).enumerate() {
            assert!(pair[1] <= pair[0] * (1.0 + 1e-12), "loss rose at iteration {t}: {history:?}");
        }
        // The rotation learns something: clearly lower loss than at the random start.
        let (first, last) = (history[0], history[50]);
        assert!(last < 0.95 * first, "{first} -> {last}");
        // quantization_loss on the training data agrees with the last history entry.
        let loss = itq.quantization_loss(x.view()).unwrap();
        assert!((loss - last).abs() <= 1e-9 * last, "{loss} vs {last}");
        // And ITQ's codes quantise better than PCAH's (R = I): ‖sign(V) − V‖² is larger.
        let xc = x.mapv(f64::from) - itq.mean();
        let v = xc.dot(&itq.components());
        assert!(squared_distance(&sign_matrix(&v), &v) > last);
    }

    #[test]
    fn itq_is_deterministic_for_a_seed() {
        let (x, _) = clusters(8, 4, 20, 10);
        let a = Itq::fit(x.view(), 8, 20, 9).unwrap();
        let b = Itq::fit(x.view(), 8, 20, 9).unwrap();
        assert_eq!(a, b);
        // Zero iterations keep the random initial rotation, which depends on the seed.
        let c = Itq::fit(x.view(), 8, 0, 9).unwrap();
        let d = Itq::fit(x.view(), 8, 0, 10).unwrap();
        assert_ne!(c.rotation(), d.rotation());
        assert_orthonormal_columns(c.rotation(), 1e-10);
    }

    #[test]
    fn itq_encoding_matches_its_definition() {
        let (x, _) = clusters(9, 4, 20, 10);
        let itq = Itq::fit(x.view(), 6, 10, 1).unwrap();
        let vr = (x.mapv(f64::from) - itq.mean()).dot(&itq.components()).dot(&itq.rotation());
        let expected = signs_to_codes(vr.view());
        assert_eq!(itq.encode(x.view()).unwrap(), expected);
    }

    #[test]
    fn fit_errors() {
        let (x, _) = clusters(10, 2, 5, 4);
        let empty = Array2::<f32>::zeros((0, 4));
        let no_cols = Array2::<f32>::zeros((3, 0));
        let mut bad = x.clone();
        bad[[3, 1]] = f32::NAN;
        let mut inf = x.clone();
        inf[[0, 2]] = f32::NEG_INFINITY;

        assert_eq!(Lsh::fit(x.view(), 0, 0).unwrap_err(), Error::ZeroBits);
        assert_eq!(Pcah::fit(x.view(), 0).unwrap_err(), Error::ZeroBits);
        assert_eq!(Itq::fit(x.view(), 0, 5, 0).unwrap_err(), Error::ZeroBits);
        assert_eq!(Pcah::fit(x.view(), 5).unwrap_err(), Error::TooManyBits { method: "PCAH", n_bits: 5, dim: 4 });
        assert_eq!(Itq::fit(x.view(), 5, 5, 0).unwrap_err(), Error::TooManyBits { method: "ITQ", n_bits: 5, dim: 4 });
        assert_eq!(
            Pcah::fit(x.view(), 5).unwrap_err().to_string(),
            "PCAH needs at most as many bits as embedding dimensions, got 5 bits for 4 dimensions"
        );
        assert_eq!(Lsh::fit(empty.view(), 4, 0).unwrap_err(), Error::EmptyEmbeddings { rows: 0, cols: 4 });
        assert_eq!(Pcah::fit(empty.view(), 4).unwrap_err(), Error::EmptyEmbeddings { rows: 0, cols: 4 });
        assert_eq!(Itq::fit(empty.view(), 4, 5, 0).unwrap_err(), Error::EmptyEmbeddings { rows: 0, cols: 4 });
        assert_eq!(Lsh::fit(no_cols.view(), 4, 0).unwrap_err(), Error::EmptyEmbeddings { rows: 3, cols: 0 });
        assert_eq!(Lsh::fit(bad.view(), 4, 0).unwrap_err(), Error::NonFiniteEmbedding { row: 3, col: 1 });
        assert_eq!(Pcah::fit(bad.view(), 4).unwrap_err(), Error::NonFiniteEmbedding { row: 3, col: 1 });
        assert_eq!(Itq::fit(inf.view(), 4, 5, 0).unwrap_err(), Error::NonFiniteEmbedding { row: 0, col: 2 });
        assert_eq!(
            Lsh::fit(bad.view(), 4, 0).unwrap_err().to_string(),
            "embedding 3 has a non-finite value in dimension 1"
        );
    }

    #[test]
    fn encode_errors() {
        let (x, _) = clusters(11, 2, 5, 4);
        let hashers: Vec<Box<dyn Hasher>> = vec![
            Box::new(Lsh::fit(x.view(), 8, 0).unwrap()),
            Box::new(Pcah::fit(x.view(), 3).unwrap()),
            Box::new(Itq::fit(x.view(), 3, 5, 0).unwrap()),
        ];
        let wide = Array2::<f32>::zeros((2, 5));
        let empty = Array2::<f32>::zeros((0, 4));
        let mut bad = x.clone();
        bad[[9, 3]] = f32::INFINITY;
        for h in &hashers {
            assert_eq!(h.encode(wide.view()).unwrap_err(), Error::DimensionMismatch { expected: 4, got: 5 });
            assert_eq!(h.encode(empty.view()).unwrap_err(), Error::EmptyEmbeddings { rows: 0, cols: 4 });
            assert_eq!(h.encode(bad.view()).unwrap_err(), Error::NonFiniteEmbedding { row: 9, col: 3 });
        }
        assert_eq!(
            hashers[0].encode(wide.view()).unwrap_err().to_string(),
            "the hasher was fit on 4-dimensional embeddings but got 5-dimensional ones"
        );
    }
}
