//! Spectral hashing (SH; Weiss, Torralba & Fergus, NIPS 2008), following the authors'
//! MATLAB `trainSH` / `compressSH`.
//!
//! SH wants codes whose Hamming distance follows the data's neighbourhood graph, i.e. the
//! leading eigenvectors of its graph Laplacian. Assuming the data are uniform on a box aligned
//! with the principal directions, those become analytic eigenfunctions of one coordinate,
//! and each bit thresholds one of them.
//!
//! **Fitting** on training embeddings `X` (`n × d`, one row per item, `n ≥ 2`) for `b` bits:
//!
//! 1. PCA, computed as for [`Pcah`](crate::Pcah): the training mean `μ` and the
//!    `p = min(b, d)` leading principal directions `W` (`d × p`), the eigenvectors of
//!    `C = (1/n) X_cᵀ X_c` (`X_c = X − 1μᵀ`) with the largest eigenvalues, largest first, each
//!    with its entry of largest magnitude positive.
//! 2. The box: with `Y = X_c W` (`n × p`) and `ε = f64::EPSILON = 2⁻⁵²` (MATLAB's `eps`), on
//!    each axis `i`
//!
//!    ```text
//!    a_i = min_k Y_ki − ε,    c_i = max_k Y_ki + ε,    R_i = c_i − a_i.
//!    ```
//!
//! 3. The modes. The eigenfunctions of a uniform density on `[a_i, c_i]` along one axis are
//!
//!    ```text
//!    Φ_{i,m}(y) = cos(ω_{i,m} (y_i − a_i)),    ω_{i,m} = m π / R_i,    m = 1, 2, …,
//!    ```
//!
//!    with eigenvalue increasing in `ω²_{i,m}`; `m = 0` is the constant function. The
//!    candidates are `m = 1, …, M_i − 1` on each axis `i`, `M_i = ⌈(b + 1) R_i / max_k R_k⌉`
//!    (MATLAB's `maxMode`; the axis of largest range alone offers `b` of them). They are
//!    sorted by increasing `ω²` with a stable sort and the first `b` are kept: bit `j` uses
//!    the `j`-th smallest. Ties keep the order of enumeration, axis first (principal
//!    direction order), then `m`. For example, with `R = (4, 1)` and `b = 5` the modes are
//!    `(i, m) = (0, 1), (0, 2), (0, 3), (0, 4), (1, 1)`: `(0, 4)` and `(1, 1)` both have
//!    `ω = π` and axis 0 comes first.
//!
//! **Encoding** `x` (length `d`): with `y = (x − μ) W`, bit `j`, using mode `(i_j, m_j)`, is
//!
//! ```text
//! u_j(x) = sin(ω_j (y_{i_j} − a_{i_j}) + π/2) = cos(ω_j (y_{i_j} − a_{i_j})),   ω_j = m_j π / R_{i_j},
//! h_j(x) = [ u_j(x) > 0 ].
//! ```
//!
//! Unlike the linear baselines in [`crate::baselines`], whose bit is one where the projection
//! is **non-negative**, an SH bit is one where `u_j` is **strictly positive**, as in
//! `compressSH` (`U > 0`). Bits are packed as everywhere else in the crate ([`PackedCodes`]:
//! bit `j` at position `j % 8` of byte `j / 8`), which is also `compactbit`'s layout.
//! [`SpectralHashing::eigenfunctions`] returns the `u_j` themselves (`compressSH`'s `U`).
//!
//! Any `b ≥ 1` is allowed: when `b > d` the extra bits come from higher modes `m`.
//!
//! Differences from the MATLAB reference, none of which changes the codes beyond rounding:
//!
//! * the data are centred before the projection (MATLAB projects `X` itself); the shift
//!   `μ W` cancels in `y_i − a_i`;
//! * the covariance is normalised by `1/n` rather than `1/(n − 1)` (same eigenvectors);
//! * the sign of each principal direction is fixed as above (`eigs` leaves it to the
//!   LAPACK build; flipping an axis flips the bits of its odd modes);
//! * where all training points share one projection on an axis and `ε` is lost to rounding
//!   (`|a_i| ≥ 2`), `a_i` and `c_i` are the neighbouring floats of that value instead, so that
//!   `R_i > 0` (MATLAB would divide by zero). After centring a zero-spread axis projects to
//!   (nearly) `0`, so only rounding on huge inputs can get here; everywhere else the bounds
//!   are MATLAB's, and `R_i > 0` with every `ω` and `u_j` finite. An axis with a tiny range
//!   next to a wide one gets `M_i = 1` and no bits.
//!
//! Computation is in `f64`; embeddings come in as `f32`. The PCA needs a LAPACK backend
//! linked into the final binary (see [`crate::baselines`]).
//!
//! ```
//! # use hagcn_openblas as _;
//! use hagcn_eval::{Hasher, SpectralHashing, SpectralMode};
//! use ndarray::Array2;
//!
//! // 101 points evenly spread over [0, 1] in one dimension; 3 bits.
//! let train = Array2::from_shape_fn((101, 1), |(i, _)| i as f32 / 100.0);
//! let sh = SpectralHashing::fit(train.view(), 3)?;
//! let modes: Vec<_> = sh.modes().iter().map(|&SpectralMode { dim, mode }| (dim, mode)).collect();
//! assert_eq!(modes, vec![(0, 1), (0, 2), (0, 3)]);
//!
//! // R ≈ 1, so the bits of x are [cos(π x) > 0], [cos(2π x) > 0], [cos(3π x) > 0]:
//! // at x = 0.3 those are cos(0.3π) ≈ 0.59, cos(0.6π) ≈ −0.31, cos(0.9π) ≈ −0.95.
//! let codes = sh.encode(Array2::from_elem((1, 1), 0.3f32).view())?;
//! assert_eq!(codes.code(0), &[0b001]);
//! # Ok::<(), hagcn_eval::Error>(())
//! ```

use std::f64::consts::{FRAC_PI_2, PI};

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use crate::baselines::{Hasher, centre_training, centred, principal_directions};
use crate::codes::PackedCodes;
use crate::error::{Error, Result};

/// One spectral-hashing bit: the eigenfunction `cos(mode · π (y_dim − a_dim) / R_dim)`.
///
/// See the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpectralMode {
    /// The principal axis `i` (`0` is the direction of largest variance).
    pub dim: usize,
    /// The frequency index `m ≥ 1` along that axis.
    pub mode: usize,
}

/// Spectral hashing: bit `j` is `[cos(m_j π (y_{i_j} − a_{i_j}) / R_{i_j}) > 0]` with
/// `y = (x − μ) W` the PCA projection.
///
/// See the [module docs](self).
#[derive(Debug, Clone, PartialEq)]
pub struct SpectralHashing {
    /// Training mean, length `d`.
    mean: Array1<f64>,
    /// `d × p` principal directions, `p = min(n_bits, d)`.
    components: Array2<f64>,
    /// Lower box bounds `a`, length `p`.
    lower: Array1<f64>,
    /// Upper box bounds `c`, length `p`.
    upper: Array1<f64>,
    /// The chosen mode of each bit, `n_bits` of them.
    modes: Vec<SpectralMode>,
}

impl SpectralHashing {
    /// Fits spectral hashing with `n_bits` bits: PCA to `min(n_bits, d)` axes, the bounding
    /// box of the projected training data, and the `n_bits` one-dimensional modes with the
    /// smallest eigenvalues. Deterministic (no randomness is involved).
    ///
    /// # Errors
    ///
    /// [`Error::ZeroBits`] if `n_bits == 0`, [`Error::EmptyEmbeddings`] if `train` has no
    /// rows or columns, [`Error::NonFiniteEmbedding`] if it holds a `NaN` or infinity,
    /// [`Error::TooFewEmbeddings`] if it has a single row, and [`Error::Linalg`] if the
    /// eigensolver fails.
    pub fn fit(train: ArrayView2<f32>, n_bits: usize) -> Result<SpectralHashing> {
        if n_bits == 0 {
            return Err(Error::ZeroBits);
        }
        let (mean, xc) = centre_training(train)?;
        if xc.nrows() < 2 {
            return Err(Error::TooFewEmbeddings { method: "SH", min: 2, rows: xc.nrows() });
        }
        let n_pca = n_bits.min(xc.ncols());
        let components = principal_directions(&xc, n_pca)?;
        let y = xc.dot(&components);

        let mut lower = Array1::zeros(n_pca);
        let mut upper = Array1::zeros(n_pca);
        for (i, column) in y.axis_iter(Axis(1)).enumerate() {
            let min = column.iter().copied().fold(f64::INFINITY, f64::min);
            let max = column.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (lower[i], upper[i]) = box_bounds(min, max);
        }
        let modes = select_modes((&upper - &lower).view(), n_bits);
        debug_assert_eq!(modes.len(), n_bits, "the widest axis alone offers n_bits modes");
        Ok(SpectralHashing { mean, components, lower, upper, modes })
    }

    /// The training mean `μ` (length `d`).
    pub fn mean(&self) -> ArrayView1<'_, f64> {
        self.mean.view()
    }

    /// The principal directions `W` (`d × min(n_bits, d)`, orthonormal columns, largest
    /// variance first).
    pub fn components(&self) -> ArrayView2<'_, f64> {
        self.components.view()
    }

    /// The lower box bounds `a_i = min_k Y_ki − ε` (MATLAB's `mn`), one per principal axis.
    pub fn lower(&self) -> ArrayView1<'_, f64> {
        self.lower.view()
    }

    /// The upper box bounds `c_i = max_k Y_ki + ε` (MATLAB's `mx`), one per principal axis.
    pub fn upper(&self) -> ArrayView1<'_, f64> {
        self.upper.view()
    }

    /// The box widths `R_i = c_i − a_i` (all positive), one per principal axis.
    pub fn ranges(&self) -> Array1<f64> {
        &self.upper - &self.lower
    }

    /// The mode of each bit, in bit order (increasing eigenvalue).
    pub fn modes(&self) -> &[SpectralMode] {
        &self.modes
    }

    /// The eigenfunction values `u_j(x) = sin(ω_j (y_{i_j} − a_{i_j}) + π/2)` before
    /// thresholding, `n × n_bits` (MATLAB's `U`); [`Hasher::encode`] sets the bits where
    /// they are positive.
    ///
    /// # Errors
    ///
    /// As [`Hasher::encode`].
    pub fn eigenfunctions(&self, x: ArrayView2<f32>) -> Result<Array2<f64>> {
        let y = centred(x, self.mean.view())?.dot(&self.components);
        // MATLAB: omega0 = pi ./ (mx − mn); omegas = modes .* omega0.
        let omegas: Vec<f64> =
            self.modes.iter().map(|m| m.mode as f64 * (PI / (self.upper[m.dim] - self.lower[m.dim]))).collect();
        Ok(Array2::from_shape_fn((y.nrows(), self.modes.len()), |(k, j)| {
            let dim = self.modes[j].dim;
            (omegas[j] * (y[[k, dim]] - self.lower[dim]) + FRAC_PI_2).sin()
        }))
    }
}

impl Hasher for SpectralHashing {
    fn n_bits(&self) -> usize {
        self.modes.len()
    }

    fn encode(&self, x: ArrayView2<f32>) -> Result<PackedCodes> {
        let u = self.eigenfunctions(x)?;
        Ok(PackedCodes::from_bits(u.mapv(|v| v > 0.0).view()))
    }
}

/// MATLAB's `[min − eps, max + eps]`; where that interval is empty because `eps` was lost to
/// rounding (`min == max`, `|min| ≥ 2`), the neighbouring floats of `min` and `max` instead.
/// The width `hi − lo` is always positive.
fn box_bounds(min: f64, max: f64) -> (f64, f64) {
    let (lo, hi) = (min - f64::EPSILON, max + f64::EPSILON);
    if hi - lo > 0.0 { (lo, hi) } else { (min.next_down(), max.next_up()) }
}

/// The `n_bits` one-dimensional modes with the smallest `ω² = (m π / R_i)²` among the
/// candidates `m = 1, …, M_i − 1`, `M_i = ⌈(n_bits + 1) R_i / max R⌉`, sorted by `ω²`; a stable
/// sort keeps ties in enumeration order (axis, then `m`). `ranges` must be positive and
/// finite.
fn select_modes(ranges: ArrayView1<f64>, n_bits: usize) -> Vec<SpectralMode> {
    let r_max = ranges.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut candidates: Vec<(f64, SpectralMode)> = Vec::new();
    for (dim, &r) in ranges.iter().enumerate() {
        // MATLAB: maxMode = ceil((nbits + 1) * R / max(R)).
        let max_mode = ((n_bits + 1) as f64 * r / r_max).ceil() as usize;
        let omega0 = PI / r;
        for mode in 1..max_mode {
            let omega = mode as f64 * omega0;
            candidates.push((omega * omega, SpectralMode { dim, mode }));
        }
    }
    // `sort_by` is stable: equal eigenvalues keep the enumeration order.
    candidates.sort_by(|a, b| a.0.total_cmp(&b.0));
    candidates.into_iter().take(n_bits).map(|(_, mode)| mode).collect()
}

#[cfg(test)]
mod tests {
    use hagcn_openblas as _;
    use ndarray::{array, s};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    use super::*;
    use crate::TopK;
    use crate::map::mean_average_precision;

    fn pairs(modes: &[SpectralMode]) -> Vec<(usize, usize)> {
        modes.iter().map(|m| (m.dim, m.mode)).collect()
    }

    /// `n_classes` centres `N(0, I_d)`, `per_class` points each at `centre + 0.3 · noise`,
    /// interleaved by class. Returns `(points, labels)`.
    fn clusters(seed: u64, n_classes: usize, per_class: usize, d: usize) -> (Array2<f32>, Vec<usize>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let centres: Array2<f64> = Array2::from_shape_fn((n_classes, d), |_| StandardNormal.sample(&mut rng));
        let n = n_classes * per_class;
        let labels: Vec<usize> = (0..n).map(|i| i % n_classes).collect();
        let x = Array2::from_shape_fn((n, d), |(i, j)| {
            let noise: f64 = StandardNormal.sample(&mut rng);
            (centres[[labels[i], j]] + 0.3 * noise) as f32
        });
        (x, labels)
    }

    /// The slow reference: plain loops, MATLAB's `cov` (`1/(n − 1)`), power iteration with
    /// deflation for the PCA, every mode `m = 1..=n_bits` on every axis ranked by `(m / R)²`,
    /// and bits `[cos(m π (y − a) / R) > 0]`.
    struct Reference {
        components: Vec<Vec<f64>>,
        modes: Vec<(usize, usize)>,
        mean: Vec<f64>,
        lower: Vec<f64>,
        range: Vec<f64>,
    }

    impl Reference {
        fn fit(x: &Array2<f32>, n_bits: usize) -> Reference {
            let (n, d) = x.dim();
            let row = |k: usize| -> Vec<f64> { (0..d).map(|j| f64::from(x[[k, j]])).collect() };
            let mut mean = vec![0.0; d];
            for k in 0..n {
                for (m, v) in mean.iter_mut().zip(row(k)) {
                    *m += v / n as f64;
                }
            }
            let mut cov = vec![vec![0.0; d]; d];
            for k in 0..n {
                let r = row(k);
                for a in 0..d {
                    for b in 0..d {
                        cov[a][b] += (r[a] - mean[a]) * (r[b] - mean[b]) / (n - 1) as f64;
                    }
                }
            }
            let p = n_bits.min(d);
            let mut components = Vec::new();
            for _ in 0..p {
                let mut v: Vec<f64> = (0..d).map(|j| 1.0 + 0.1 * j as f64).collect();
                let mut lambda = 0.0;
                for _ in 0..3000 {
                    let w: Vec<f64> = (0..d).map(|a| (0..d).map(|b| cov[a][b] * v[b]).sum()).collect();
                    let norm = w.iter().map(|t| t * t).sum::<f64>().sqrt();
                    v = w.iter().map(|t| t / norm).collect();
                    lambda = norm;
                }
                for a in 0..d {
                    for b in 0..d {
                        cov[a][b] -= lambda * v[a] * v[b];
                    }
                }
                let pivot = v.iter().copied().fold(0.0f64, |best, t| if t.abs() > best.abs() { t } else { best });
                if pivot < 0.0 {
                    v.iter_mut().for_each(|t| *t = -*t);
                }
                components.push(v);
            }
            let mut lower = vec![f64::INFINITY; p];
            let mut upper = vec![f64::NEG_INFINITY; p];
            for k in 0..n {
                let r = row(k);
                for i in 0..p {
                    let y: f64 = (0..d).map(|j| (r[j] - mean[j]) * components[i][j]).sum();
                    lower[i] = lower[i].min(y);
                    upper[i] = upper[i].max(y);
                }
            }
            let lower: Vec<f64> = lower.iter().map(|a| a - f64::EPSILON).collect();
            let range: Vec<f64> = (0..p).map(|i| upper[i] + f64::EPSILON - lower[i]).collect();
            let mut all = Vec::new();
            for (i, r) in range.iter().enumerate() {
                for m in 1..=n_bits {
                    all.push(((m as f64 / r).powi(2), i, m));
                }
            }
            all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
            let modes = all.iter().take(n_bits).map(|&(_, i, m)| (i, m)).collect();
            Reference { components, modes, mean, lower, range }
        }

        fn bits(&self, x: &Array2<f32>) -> Array2<bool> {
            Array2::from_shape_fn((x.nrows(), self.modes.len()), |(k, j)| {
                let (i, m) = self.modes[j];
                let y: f64 =
                    (0..x.ncols()).map(|c| (f64::from(x[[k, c]]) - self.mean[c]) * self.components[i][c]).sum();
                (m as f64 * PI * (y - self.lower[i]) / self.range[i]).cos() > 0.0
            })
        }
    }

    /// `n` points `z diag(scales) Qᵀ + offset` with `z ~ N(0, I)` and `Q` a random rotation
    /// (Gram–Schmidt of a Gaussian matrix): principal variances ≈ `scales²`, well separated.
    fn rotated_gaussian(seed: u64, n: usize, scales: &[f64]) -> Array2<f32> {
        let d = scales.len();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut q: Vec<Vec<f64>> = (0..d).map(|_| (0..d).map(|_| StandardNormal.sample(&mut rng)).collect()).collect();
        for a in 0..d {
            for b in 0..a {
                let qb = q[b].clone();
                let dot: f64 = q[a].iter().zip(&qb).map(|(s, t)| s * t).sum();
                for (s, t) in q[a].iter_mut().zip(&qb) {
                    *s -= dot * t;
                }
            }
            let norm = q[a].iter().map(|t| t * t).sum::<f64>().sqrt();
            q[a].iter_mut().for_each(|t| *t /= norm);
        }
        let z: Array2<f64> = Array2::from_shape_fn((n, d), |_| StandardNormal.sample(&mut rng));
        Array2::from_shape_fn((n, d), |(k, j)| {
            let v: f64 = (0..d).map(|a| z[[k, a]] * scales[a] * q[a][j]).sum();
            (v + 3.0 + j as f64) as f32
        })
    }

    #[test]
    fn matches_a_slow_reference() {
        let scales = [6.0, 5.0, 4.0, 3.0, 2.0, 1.0];
        let train = rotated_gaussian(21, 400, &scales);
        // Held-out points, some outside the training box (larger spread).
        let test = rotated_gaussian(22, 100, &[9.0, 7.0, 6.0, 4.0, 3.0, 2.0]);
        for n_bits in [1, 3, 4, 10, 24] {
            let sh = SpectralHashing::fit(train.view(), n_bits).unwrap();
            let reference = Reference::fit(&train, n_bits);
            assert_eq!(sh.components().ncols(), n_bits.min(6));
            for (i, v) in reference.components.iter().enumerate() {
                for (j, &t) in v.iter().enumerate() {
                    assert!((sh.components()[[j, i]] - t).abs() < 1e-9, "W[{j}, {i}] with {n_bits} bits");
                }
            }
            for (i, (&a, &r)) in reference.lower.iter().zip(&reference.range).enumerate() {
                assert!((sh.lower()[i] - a).abs() < 1e-9 && (sh.ranges()[i] - r).abs() < 1e-9);
            }
            assert_eq!(pairs(sh.modes()), reference.modes, "{n_bits} bits");
            for x in [&train, &test] {
                let expected = PackedCodes::from_bits(reference.bits(x).view());
                assert_eq!(sh.encode(x.view()).unwrap(), expected, "{n_bits} bits");
            }
        }
        // The wide case draws several modes from the leading axes and some from the others.
        let sh = SpectralHashing::fit(train.view(), 24).unwrap();
        assert!(sh.modes().iter().any(|m| m.mode >= 3) && sh.modes().iter().any(|m| m.dim == 5));
    }

    #[test]
    fn one_dimensional_uniform_data_by_hand() {
        // 101 points evenly spread over [0, 1]: μ ≈ 0.5, the box is [−μ − ε, 1 − μ + ε], R ≈ 1.
        let train = Array2::from_shape_fn((101, 1), |(i, _)| i as f32 / 100.0);
        let sh = SpectralHashing::fit(train.view(), 3).unwrap();
        assert_eq!(pairs(sh.modes()), vec![(0, 1), (0, 2), (0, 3)]);
        assert_eq!(sh.components(), array![[1.0]]);
        assert!((sh.ranges()[0] - 1.0).abs() < 1e-12);
        assert!((sh.lower()[0] + sh.mean()[0]).abs() < 1e-12);

        // Bit m − 1 of x is [cos(m π x) > 0]; bit 0 is the least significant.
        let cases: [(f32, [bool; 3]); 10] = [
            (0.0, [true, true, true]),    // cos 0, cos 0, cos 0
            (0.1, [true, true, true]),    // 0.95, 0.81, 0.59
            (0.2, [true, true, false]),   // 0.81, 0.31, −0.31
            (0.3, [true, false, false]),  // 0.59, −0.31, −0.95
            (0.45, [true, false, false]), // 0.16, −0.95, −0.45
            (0.55, [false, false, true]), // −0.16, −0.95, 0.45
            (0.6, [false, false, true]),  // −0.31, −0.81, 0.81
            (0.9, [false, true, false]),  // −0.95, 0.81, −0.59
            (1.0, [false, true, false]),  // −1, 1, −1
            (1.3, [false, false, true]),  // outside the box: −0.59, −0.31, 0.95
        ];
        let x = Array2::from_shape_fn((cases.len(), 1), |(k, _)| cases[k].0);
        let codes = sh.encode(x.view()).unwrap();
        for (k, (point, bits)) in cases.iter().enumerate() {
            let got: Vec<bool> = (0..3).map(|j| codes.bit(k, j)).collect();
            assert_eq!(got, bits, "x = {point}");
        }
        // Packed: x = 0.2 → 0b011, x = 0.6 → 0b100, x = 0.9 → 0b010.
        assert_eq!((codes.code(2), codes.code(6), codes.code(7)), (&[0b011u8][..], &[0b100u8][..], &[0b010u8][..]));
        // The eigenfunction values are the cosines themselves.
        let u = sh.eigenfunctions(x.view()).unwrap();
        for (k, (point, _)) in cases.iter().enumerate() {
            for m in 1..=3 {
                let expected = (m as f64 * PI * f64::from(*point)).cos();
                assert!((u[[k, m - 1]] - expected).abs() < 1e-6, "x = {point}, m = {m}");
            }
        }
    }

    /// A full grid `[−w0/2, w0/2] × [−w1/2, w1/2]` (41 × 11 points): zero covariance, so the
    /// principal axes are the coordinate axes, with variances ≈ `w²/12`.
    fn box_grid(w0: f32, w1: f32) -> Array2<f32> {
        let (n0, n1) = (41, 11);
        Array2::from_shape_fn((n0 * n1, 2), |(k, j)| {
            let (t, w, n) = if j == 0 { (k / n1, w0, n0) } else { (k % n1, w1, n1) };
            -w / 2.0 + w * t as f32 / (n - 1) as f32
        })
    }

    #[test]
    fn mode_selection_follows_the_ranges() {
        // Ranges 4 and 1.5, 4 bits. ω²/π² = (m / R)²: axis 0 gives 1/16, 4/16, 9/16, 16/16, …;
        // axis 1 gives 4/9 (m = 1), 16/9, …. The four smallest: (0,1) 0.0625, (0,2) 0.25,
        // (1,1) 0.444, (0,3) 0.5625.
        let sh = SpectralHashing::fit(box_grid(4.0, 1.5).view(), 4).unwrap();
        let w = sh.components();
        assert!((w[[0, 0]].abs() - 1.0).abs() < 1e-12 && (w[[1, 1]].abs() - 1.0).abs() < 1e-12, "{w:?}");
        let r = sh.ranges();
        assert!((r[0] - 4.0).abs() < 1e-9 && (r[1] - 1.5).abs() < 1e-9, "{r:?}");
        assert_eq!(pairs(sh.modes()), vec![(0, 1), (0, 2), (1, 1), (0, 3)]);

        // Ranges 4 and 1, 3 bits: 1/16, 4/16, 9/16 all on axis 0; axis 1 (1 at best) gets none.
        let sh = SpectralHashing::fit(box_grid(4.0, 1.0).view(), 3).unwrap();
        let r = sh.ranges();
        assert!((r[0] - 4.0).abs() < 1e-9 && (r[1] - 1.0).abs() < 1e-9, "{r:?}");
        assert_eq!(pairs(sh.modes()), vec![(0, 1), (0, 2), (0, 3)]);
        // With 5 bits both ω = π modes, (0, 4) and (1, 1), are in; their order is a near-tie
        // decided by rounding, so only the set is checked here (exact ties: see below).
        let sh = SpectralHashing::fit(box_grid(4.0, 1.0).view(), 5).unwrap();
        let mut got = pairs(sh.modes());
        got.sort_unstable();
        assert_eq!(got, vec![(0, 1), (0, 2), (0, 3), (0, 4), (1, 1)]);
    }

    #[test]
    fn exact_ties_go_to_the_earlier_axis() {
        // R = (4, 1): ω(0, 4) = 4 · (π/4) = π = 1 · (π/1) = ω(1, 1) exactly in floating point.
        assert_eq!(4.0 * (PI / 4.0), PI);
        let four_one = array![4.0, 1.0];
        assert_eq!(pairs(&select_modes(four_one.view(), 4)), vec![(0, 1), (0, 2), (0, 3), (0, 4)]);
        assert_eq!(pairs(&select_modes(four_one.view(), 5)), vec![(0, 1), (0, 2), (0, 3), (0, 4), (1, 1)]);
        // Axis 0 first even when it is the narrower one.
        let one_four = array![1.0, 4.0];
        assert_eq!(pairs(&select_modes(one_four.view(), 5)), vec![(1, 1), (1, 2), (1, 3), (0, 1), (1, 4)]);
        // Equal ranges alternate between the axes, axis 0 first at each frequency.
        let equal = array![2.0, 2.0, 2.0];
        assert_eq!(pairs(&select_modes(equal.view(), 5)), vec![(0, 1), (1, 1), (2, 1), (0, 2), (1, 2)]);
    }

    #[test]
    fn box_bounds_match_matlab_and_stay_open() {
        // MATLAB's min − eps and max + eps where eps survives rounding …
        assert_eq!(box_bounds(0.25, 0.75), (0.25 - f64::EPSILON, 0.75 + f64::EPSILON));
        assert_eq!(box_bounds(-1.0, 0.0), (-1.0 - f64::EPSILON, f64::EPSILON));
        // … and where it does not (|x| ≥ 2) but the interval is still non-empty.
        assert_eq!(box_bounds(3.0, 5.0), (3.0, 5.0));
        // A single value: eps alone would give width 0 at 3.0; the neighbours are used.
        assert_eq!(3.0 - f64::EPSILON, 3.0);
        let (lo, hi) = box_bounds(3.0, 3.0);
        assert!(lo < 3.0 && 3.0 < hi && hi - lo > 0.0);
        assert_eq!(box_bounds(0.0, 0.0), (-f64::EPSILON, f64::EPSILON));
    }

    #[test]
    fn degenerate_axes_give_no_nan() {
        // A constant third column: the third principal axis has (near) zero range, is given no
        // bits, and nothing is NaN.
        let (mut x, _) = clusters(30, 4, 20, 3);
        x.column_mut(2).fill(1e6);
        let sh = SpectralHashing::fit(x.view(), 8).unwrap();
        let r = sh.ranges();
        assert!(r.iter().all(|&v| v > 0.0 && v.is_finite()), "{r:?}");
        assert!(r[2] < 1e-9, "{r:?}");
        assert!(sh.modes().iter().all(|m| m.dim < 2), "{:?}", sh.modes());
        let far = Array2::from_shape_fn((5, 3), |(k, j)| (k as f32 - 2.0) * 1e3 + j as f32);
        assert!(sh.eigenfunctions(x.view()).unwrap().iter().all(|v| v.is_finite()));
        assert!(sh.eigenfunctions(far.view()).unwrap().iter().all(|v| v.is_finite()));

        // Identical training rows: every range is tiny but positive.
        let same = Array2::from_shape_fn((5, 2), |(_, j)| if j == 0 { 3.0 } else { -7.0 });
        let sh = SpectralHashing::fit(same.view(), 4).unwrap();
        assert!(sh.ranges().iter().all(|&v| v > 0.0 && v.is_finite()));
        assert_eq!(sh.modes().len(), 4);
        assert!(sh.eigenfunctions(far.slice(s![.., ..2])).unwrap().iter().all(|v| v.is_finite()));
    }

    #[test]
    fn fit_is_deterministic() {
        let (x, _) = clusters(31, 5, 30, 12);
        let a = SpectralHashing::fit(x.view(), 16).unwrap();
        let b = SpectralHashing::fit(x.view(), 16).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.encode(x.view()).unwrap(), b.encode(x.view()).unwrap());
    }

    #[test]
    fn more_bits_than_dimensions() {
        let (x, _) = clusters(32, 4, 25, 3);
        let sh = SpectralHashing::fit(x.view(), 20).unwrap();
        assert_eq!(sh.n_bits(), 20);
        assert_eq!(sh.components().dim(), (3, 3));
        assert_eq!((sh.lower().len(), sh.upper().len()), (3, 3));
        let mut distinct = pairs(sh.modes());
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 20);
        assert!(sh.modes().iter().any(|m| m.mode > 3));
        let codes = sh.encode(x.view()).unwrap();
        assert_eq!((codes.n_codes(), codes.n_bits(), codes.n_bytes()), (100, 20, 3));
        // Modes come in increasing ω² = (m π / R_i)².
        let r = sh.ranges();
        let omega2: Vec<f64> = sh.modes().iter().map(|m| (m.mode as f64 * PI / r[m.dim]).powi(2)).collect();
        assert!(omega2.windows(2).all(|p| p[0] <= p[1] * (1.0 + 1e-12)), "{omega2:?}");
    }

    #[test]
    fn beats_chance_on_clusters() {
        const C: usize = 8;
        let (x, labels) = clusters(17, C, 60, 32);
        let half = x.nrows() / 2;
        let (db, q) = (x.slice(s![..half, ..]), x.slice(s![half.., ..]));
        let (db_labels, q_labels) = (&labels[..half], &labels[half..]);

        let sh = SpectralHashing::fit(db, 16).unwrap();
        let (db_codes, q_codes) = (sh.encode(db).unwrap(), sh.encode(q).unwrap());
        let map = mean_average_precision(&q_codes, q_labels, &db_codes, db_labels, &[TopK::All]).unwrap()[0];

        // A ranking that ignores the codes has expected AP ≈ the share of relevant items:
        // Σ_c P(query in c) · P(database item in c).
        let share = |ls: &[usize], c: usize| ls.iter().filter(|&&l| l == c).count() as f64 / ls.len() as f64;
        let chance: f64 = (0..C).map(|c| share(q_labels, c) * share(db_labels, c)).sum();
        eprintln!("SH mAP@all {map:.3}, chance {chance:.3}");
        assert!(map > 2.0 * chance, "SH mAP {map} vs chance {chance}");
    }

    #[test]
    fn fit_errors() {
        let (x, _) = clusters(33, 2, 5, 4);
        let mut bad = x.clone();
        bad[[3, 1]] = f32::NAN;
        let mut inf = x.clone();
        inf[[0, 2]] = f32::INFINITY;
        let fit = |x: ArrayView2<f32>, b| SpectralHashing::fit(x, b).unwrap_err();

        assert_eq!(fit(x.view(), 0), Error::ZeroBits);
        assert_eq!(fit(Array2::zeros((0, 4)).view(), 4), Error::EmptyEmbeddings { rows: 0, cols: 4 });
        assert_eq!(fit(Array2::zeros((3, 0)).view(), 4), Error::EmptyEmbeddings { rows: 3, cols: 0 });
        assert_eq!(fit(bad.view(), 4), Error::NonFiniteEmbedding { row: 3, col: 1 });
        assert_eq!(fit(inf.view(), 4), Error::NonFiniteEmbedding { row: 0, col: 2 });
        let one_row = fit(x.slice(s![..1, ..]), 4);
        assert_eq!(one_row, Error::TooFewEmbeddings { method: "SH", min: 2, rows: 1 });
        assert_eq!(one_row.to_string(), "SH needs at least 2 training embeddings, got 1");
        // Two rows are enough.
        assert_eq!(SpectralHashing::fit(x.slice(s![..2, ..]), 4).unwrap().n_bits(), 4);
    }

    #[test]
    fn encode_errors() {
        let (x, _) = clusters(34, 2, 5, 4);
        let sh = SpectralHashing::fit(x.view(), 6).unwrap();
        let mut bad = x.clone();
        bad[[9, 3]] = f32::NAN;
        let enc = |x: ArrayView2<f32>| sh.encode(x).unwrap_err();
        assert_eq!(enc(Array2::zeros((2, 5)).view()), Error::DimensionMismatch { expected: 4, got: 5 });
        assert_eq!(enc(Array2::zeros((0, 4)).view()), Error::EmptyEmbeddings { rows: 0, cols: 4 });
        assert_eq!(enc(bad.view()), Error::NonFiniteEmbedding { row: 9, col: 3 });
        assert_eq!(sh.eigenfunctions(bad.view()).unwrap_err(), Error::NonFiniteEmbedding { row: 9, col: 3 });
    }
}
