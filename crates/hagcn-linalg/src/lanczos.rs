//! The Lanczos process on a symmetric operator, and Ritz pairs from it.
//!
//! From a start vector `s`, `v_0 = s/‖s‖`, and for `i = 0..m−1` (spec §5.3):
//!
//! ```text
//! w   = A v_i
//! α_i = v_i · w
//! w  −= α_i v_i,   and if i > 0:  w −= β_(i−1) v_(i−1)
//! (optionally) w −= V_i (V_iᵀ w), twice        full reorthogonalisation, V_i = [v_0 … v_i]
//! β_i = ‖w‖
//! v_(i+1) = w / β_i
//! ```
//!
//! In exact arithmetic `V = [v_0 … v_(m−1)]` is an orthonormal basis of the Krylov space
//! `span{s, A s, …, A^(m−1) s}` and
//!
//! ```text
//! A V = V T + β_(m−1) v_m e_(m−1)ᵀ,     T = tridiag(β, α, β),  T_ii = α_i,  T_(i,i+1) = T_(i+1,i) = β_i,
//! ```
//!
//! so `VᵀAV = T`. This is the *standard* `T`; the HAGCN reference shifts the off-diagonal by one
//! (`T_(i,i+1) = β_(i+1)`), which this crate deliberately does not reproduce (spec §7).
//!
//! In floating point the basis loses orthogonality as Ritz values converge; full
//! reorthogonalisation (classical Gram–Schmidt against all previous vectors, applied twice)
//! keeps `VᵀV = I` to working precision. It is on by default and costs `O(n m²)`. `α_i` stays
//! the spec's `v_i · w` (computed before any orthogonalisation); the reorthogonalisation
//! corrections, of the order of round-off while the basis is kept orthonormal, are not folded
//! back into `T`.
//!
//! **Breakdown.** When `β_i` is negligible the Krylov space is (numerically) an invariant
//! subspace of `A` and `v_(i+1)` would be noise divided by ~0. The process then stops, keeping
//! the `i + 1` steps done, and reports [`Lanczos::broke_down`]. "Negligible" means
//!
//! ```text
//! β_i ≤ tol · max_(j ≤ i) ‖A v_j‖,    tol = max(breakdown_tol, 10 · √n · ε_T),
//! ```
//!
//! i.e. relative to a running estimate of `‖A‖` (the largest `‖A v_j‖` seen so far, measured
//! before any orthogonalisation). The test is invariant to the scale of `A` and of the start
//! vector, it fires when the start vector lies in the null space (`A v_0 = 0`), and it also
//! fires when the Krylov space of a rank-deficient `A` is exhausted and the next vector would
//! live in the (numerical) null space, where `β_i` and `‖A v_i‖` are both round-off. The floor
//! `10 √n ε_T` (`ε_T` = machine epsilon of `T`) sits about 50× above the round-off level of
//! the orthogonalised `w` (measured ~2–5·10⁻⁷ relative in `f32`); without it the test could
//! never fire in `f32` with the default `1e-10`.
//!
//! [`lanczos_eigen`] diagonalises `T = Y diag(θ) Yᵀ` and returns the Ritz values `θ` and Ritz
//! vectors `V Y`, which approximate the extremal eigenpairs of `A`.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut1, s};

use crate::eigh::{SymmetricEigen, canonicalize_signs, check_k, largest, smallest, symmetric_eigen};
use crate::{Error, Real, Result};

/// A symmetric linear operator `x ↦ A x` on `Tⁿ`, applied without forming `A`.
///
/// The Lanczos routines assume `A` is symmetric; they cannot check it.
pub trait LinOp<T> {
    /// The dimension `n`.
    fn dim(&self) -> usize;
    /// Writes `y = A x`. Both `x` and `y` have length [`dim`](LinOp::dim); the previous
    /// contents of `y` are ignored.
    fn apply(&self, x: ArrayView1<T>, y: ArrayViewMut1<T>);
}

impl<T: Real> LinOp<T> for ArrayView2<'_, T> {
    /// The number of rows.
    fn dim(&self) -> usize {
        self.nrows()
    }

    /// Dense matrix–vector product (BLAS `gemv` when available).
    ///
    /// # Panics
    ///
    /// If the matrix is not square or the lengths do not match.
    fn apply(&self, x: ArrayView1<T>, mut y: ArrayViewMut1<T>) {
        assert_eq!(self.nrows(), self.ncols(), "LinOp: the matrix must be square");
        ndarray::linalg::general_mat_vec_mul(T::one(), self, &x, T::zero(), &mut y);
    }
}

impl<T: Real> LinOp<T> for Array2<T> {
    /// The number of rows.
    fn dim(&self) -> usize {
        self.nrows()
    }

    /// Dense matrix–vector product, as for [`ArrayView2`].
    fn apply(&self, x: ArrayView1<T>, y: ArrayViewMut1<T>) {
        self.view().apply(x, y);
    }
}

impl<T, O: LinOp<T> + ?Sized> LinOp<T> for &O {
    fn dim(&self) -> usize {
        (**self).dim()
    }

    fn apply(&self, x: ArrayView1<T>, y: ArrayViewMut1<T>) {
        (**self).apply(x, y);
    }
}

/// Classical Gram–Schmidt passes of the full reorthogonalisation, per step ("twice is
/// enough"). [`lanczos`] and the recorded Lanczos filter of `hagcn-model` both use it, so the
/// two compute the same basis.
pub const REORTHOGONALIZATION_PASSES: usize = 2;

/// The breakdown threshold relative to the running estimate of `‖A‖`:
/// `max(breakdown_tol, 10 √n ε)` for element type epsilon `epsilon` (see the
/// [module docs](self)). Shared with the recorded Lanczos filter of `hagcn-model`.
pub fn breakdown_threshold(n: usize, breakdown_tol: f64, epsilon: f64) -> f64 {
    breakdown_tol.max(10.0 * (n as f64).sqrt() * epsilon)
}

/// Settings of [`lanczos`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LanczosOptions {
    /// The number of steps `m` (columns of the basis). Clamped to `n`; must be at least 1.
    pub steps: usize,
    /// Reorthogonalise every new vector against all previous ones (twice). Default `true`.
    pub reorthogonalize: bool,
    /// Relative breakdown tolerance: stop when
    /// `β_i ≤ max(breakdown_tol, 10 √n ε_T) · max_(j ≤ i) ‖A v_j‖` (see the
    /// [module docs](self)). Default `1e-10`.
    pub breakdown_tol: f64,
}

impl LanczosOptions {
    /// `steps` steps with the default reorthogonalisation and tolerance.
    pub fn new(steps: usize) -> Self {
        Self { steps, ..Self::default() }
    }
}

impl Default for LanczosOptions {
    /// 18 steps (the HAGCN reference's default filter order), reorthogonalised, tolerance
    /// `1e-10`.
    fn default() -> Self {
        Self { steps: 18, reorthogonalize: true, breakdown_tol: 1e-10 }
    }
}

/// The result of [`lanczos`]: `A V ≈ V T + β_(m−1) v_m e_(m−1)ᵀ` with `m = steps_done`.
#[derive(Debug, Clone, PartialEq)]
pub struct Lanczos<T> {
    /// `n × m`: the orthonormal Lanczos vectors `v_0 … v_(m−1)` as columns.
    pub basis: Array2<T>,
    /// `m` diagonal entries `α_i = v_iᵀ A v_i` of `T`.
    pub alpha: Array1<T>,
    /// `m` norms `β_i = ‖w_i‖` after step `i`. The first `m − 1` are the off-diagonal of `T`;
    /// the last one is the norm of the residual `A V − V T`, not part of `T`.
    pub beta: Array1<T>,
    /// `m`, the number of steps done: the requested steps (clamped to `n`), or fewer after a
    /// breakdown.
    pub steps_done: usize,
    /// Whether the last `β` fell below the breakdown tolerance, i.e. `span(V)` is numerically
    /// an invariant subspace of `A` (then the Ritz values are eigenvalues of `A`). This can
    /// be `true` with `steps_done` equal to the requested steps; it typically is when
    /// `steps ≥ n` with reorthogonalisation, since the last residual is then round-off.
    pub broke_down: bool,
}

impl<T: Real> Lanczos<T> {
    /// The `m × m` tridiagonal `T = VᵀAV`: `T_ii = α_i`, `T_(i,i+1) = T_(i+1,i) = β_i` for
    /// `i < m − 1` (the standard `T`, spec §5.3).
    pub fn tridiagonal(&self) -> Array2<T> {
        let m = self.alpha.len();
        let mut t = Array2::from_diag(&self.alpha);
        for i in 0..m.saturating_sub(1) {
            t[[i, i + 1]] = self.beta[i];
            t[[i + 1, i]] = self.beta[i];
        }
        t
    }
}

/// Runs the Lanczos process (module docs) on `op` from `start`.
///
/// `start` need not be normalised. `opts.steps > n` is clamped to `n` (a Krylov space has at
/// most `n` dimensions). After a breakdown the steps done are kept and
/// [`Lanczos::broke_down`] is set; nothing is divided by a negligible `β`.
///
/// # Errors
///
/// [`Error::LengthMismatch`] when `start.len() != op.dim()`, [`Error::NonFinite`] when
/// `start` or a product `A v` holds a NaN or an infinity, [`Error::InvalidArgument`] when
/// `start` is zero or `opts.steps == 0`.
///
/// # Example
///
/// ```
/// # extern crate openblas_src;
/// use hagcn_linalg::{LanczosOptions, lanczos};
/// use ndarray::{Array1, Array2};
///
/// let a = Array2::from_diag(&Array1::linspace(1.0, 10.0, 10));
/// let run = lanczos(&a, Array1::ones(10).view(), &LanczosOptions::new(4)).unwrap();
/// assert_eq!(run.steps_done, 4);
/// // VᵀV = I and VᵀAV = T.
/// let v = &run.basis;
/// let gram = v.t().dot(v) - Array2::<f64>::eye(4);
/// assert!(gram.iter().all(|x| x.abs() < 1e-12));
/// let proj = v.t().dot(&a).dot(v) - run.tridiagonal();
/// assert!(proj.iter().all(|x| x.abs() < 1e-12));
/// ```
pub fn lanczos<T: Real>(op: &impl LinOp<T>, start: ArrayView1<T>, opts: &LanczosOptions) -> Result<Lanczos<T>> {
    const OP: &str = "lanczos";
    let n = op.dim();
    if start.len() != n {
        return Err(Error::LengthMismatch { op: OP, expected: n, got: start.len() });
    }
    if opts.steps == 0 {
        return Err(Error::InvalidArgument { op: OP, reason: "steps must be at least 1".into() });
    }
    if !start.iter().all(|x| x.is_finite()) {
        return Err(Error::NonFinite { op: OP });
    }
    let start_norm = start.dot(&start).sqrt();
    if !start_norm.is_finite() {
        return Err(Error::InvalidArgument { op: OP, reason: "the start vector's norm overflows".into() });
    }
    if start_norm == T::zero() {
        return Err(Error::InvalidArgument { op: OP, reason: "the start vector is zero".into() });
    }
    let m = opts.steps.min(n);
    let tol = T::of(breakdown_threshold(n, opts.breakdown_tol, T::epsilon().as_f64()));

    // Rows of `v` are the Lanczos vectors (contiguous), transposed into `basis` at the end.
    let mut v = Array2::<T>::zeros((m, n));
    v.row_mut(0).assign(&(&start / start_norm));
    let mut alpha = Array1::<T>::zeros(m);
    let mut beta = Array1::<T>::zeros(m);
    let mut w = Array1::<T>::zeros(n);
    let mut steps_done = m;
    let mut broke_down = false;
    // Running estimate of ‖A‖: the largest ‖A v_j‖ so far.
    let mut scale = T::zero();
    for i in 0..m {
        op.apply(v.row(i), w.view_mut());
        let norm_av = w.dot(&w).sqrt();
        if !norm_av.is_finite() {
            return Err(Error::NonFinite { op: OP });
        }
        scale = scale.max(norm_av);
        let a_i = v.row(i).dot(&w);
        alpha[i] = a_i;
        w.scaled_add(-a_i, &v.row(i));
        if i > 0 {
            w.scaled_add(-beta[i - 1], &v.row(i - 1));
        }
        if opts.reorthogonalize {
            let done = v.slice(s![..=i, ..]);
            for _ in 0..REORTHOGONALIZATION_PASSES {
                let c = done.dot(&w);
                w.scaled_add(-T::one(), &done.t().dot(&c));
            }
        }
        let b_i = w.dot(&w).sqrt();
        beta[i] = b_i;
        if b_i <= tol * scale {
            steps_done = i + 1;
            broke_down = true;
            break;
        }
        if i + 1 < m {
            v.row_mut(i + 1).assign(&(&w / b_i));
        }
    }

    let basis = v.slice(s![..steps_done, ..]).t().as_standard_layout().into_owned();
    Ok(Lanczos {
        basis,
        alpha: alpha.slice(s![..steps_done]).to_owned(),
        beta: beta.slice(s![..steps_done]).to_owned(),
        steps_done,
        broke_down,
    })
}

/// Which end of the spectrum [`lanczos_eigen`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The smallest Ritz values, in ascending order (as [`smallest`]).
    Smallest,
    /// The largest Ritz values, in descending order (as [`largest`]).
    Largest,
}

/// `k` Ritz pairs of `op` from a [`lanczos`] run: the eigenpairs `(θ, y)` of `T`, with Ritz
/// vectors `V y` (`n × k`).
///
/// [`Which::Smallest`] gives ascending Ritz values, [`Which::Largest`] descending ones. The
/// Ritz vectors follow the sign convention of [`symmetric_eigen`] (largest-magnitude entry
/// positive), applied to `V y` after the product. `T` is diagonalised with
/// [`symmetric_eigen`], i.e. in `f64`.
///
/// # Errors
///
/// Those of [`lanczos`]; [`Error::InvalidK`] unless `1 ≤ k ≤ steps_done` (after a breakdown
/// fewer steps may be done than asked for); [`Error::NoConvergence`] if LAPACK fails on `T`.
///
/// # Example
///
/// ```
/// # extern crate openblas_src;
/// use hagcn_linalg::{LanczosOptions, Which, lanczos_eigen};
/// use ndarray::{Array1, Array2};
///
/// // With steps = n the Ritz values are all the eigenvalues.
/// let a = Array2::from_diag(&Array1::linspace(1.0f64, 6.0, 6));
/// let start = Array1::linspace(1.0, 2.0, 6);
/// let top = lanczos_eigen(&a, start.view(), &LanczosOptions::new(6), 2, Which::Largest).unwrap();
/// assert!((top.values[0] - 6.0).abs() < 1e-10 && (top.values[1] - 5.0).abs() < 1e-10);
/// assert!((top.vectors[[5, 0]] - 1.0).abs() < 1e-10);
/// ```
pub fn lanczos_eigen<T: Real>(
    op: &impl LinOp<T>,
    start: ArrayView1<T>,
    opts: &LanczosOptions,
    k: usize,
    which: Which,
) -> Result<SymmetricEigen<T>> {
    let run = lanczos(op, start, opts)?;
    check_k(k, run.steps_done)?;
    let eig = symmetric_eigen(run.tridiagonal().view())?;
    let picked = match which {
        Which::Smallest => smallest(&eig, k)?,
        Which::Largest => largest(&eig, k)?,
    };
    let mut vectors = run.basis.dot(&picked.vectors);
    canonicalize_signs(vectors.view_mut());
    Ok(SymmetricEigen { values: picked.values, vectors })
}

#[cfg(test)]
mod tests {
    extern crate openblas_src;

    use super::*;
    use ndarray::Axis;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The `n × m` residual `A V − V T` of a run; exactly `β_(m−1) v_m e_(m−1)ᵀ` in exact
    /// arithmetic. Test helper.
    fn residual<T: Real>(op: &impl LinOp<T>, run: &Lanczos<T>) -> Array2<T> {
        let (n, m) = run.basis.dim();
        let mut av = Array2::zeros((n, m));
        for (col, out) in run.basis.axis_iter(Axis(1)).zip(av.axis_iter_mut(Axis(1))) {
            op.apply(col, out);
        }
        av - run.basis.dot(&run.tridiagonal())
    }

    fn random_vector(n: usize, seed: u64) -> Array1<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Array1::from_shape_fn(n, |_| rng.random_range(-1.0..1.0))
    }

    /// `Q diag(spectrum) Qᵀ` with a random orthogonal `Q`.
    fn with_spectrum(spectrum: &Array1<f64>, seed: u64) -> Array2<f64> {
        let n = spectrum.len();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let b = Array2::from_shape_fn((n, n), |_| rng.random_range(-1.0..1.0));
        let q = symmetric_eigen((&b + &b.t()).view()).unwrap().vectors;
        (&q * spectrum).dot(&q.t())
    }

    fn max_abs<T: Real>(a: &Array2<T>) -> f64 {
        a.iter().fold(0.0, |m, x| m.max(x.abs().as_f64()))
    }

    fn orthogonality_loss<T: Real>(v: &Array2<T>) -> f64 {
        max_abs(&(v.t().dot(v) - Array2::<T>::eye(v.ncols())))
    }

    #[test]
    fn residual_identity_and_orthonormality() {
        let n = 40;
        let a = with_spectrum(&Array1::linspace(-1.0, 1.0, n), 1);
        let run = lanczos(&a, random_vector(n, 2).view(), &LanczosOptions::new(12)).unwrap();
        assert_eq!(run.steps_done, 12);
        assert!(!run.broke_down);
        assert_eq!(run.basis.dim(), (n, 12));
        assert!(orthogonality_loss(&run.basis) < 1e-13);
        // A V − V T = β_(m−1) v_m e_(m−1)ᵀ: zero except the last column, which is a unit
        // vector orthogonal to V scaled by the last β.
        let r = residual(&a, &run);
        assert!(max_abs(&r.slice(s![.., ..11]).to_owned()) < 1e-13);
        let last = r.column(11);
        assert!((last.dot(&last).sqrt() - run.beta[11]).abs() < 1e-13);
        let v_m = &last / run.beta[11];
        assert!(run.basis.t().dot(&v_m).iter().all(|x| x.abs() < 1e-12));
        // T is the standard tridiagonal: VᵀAV.
        let proj = run.basis.t().dot(&a).dot(&run.basis);
        assert!(max_abs(&(&proj - &run.tridiagonal())) < 1e-13);
    }

    #[test]
    fn tridiagonal_layout() {
        let run = Lanczos {
            basis: Array2::<f64>::zeros((3, 3)),
            alpha: ndarray::array![1.0, 2.0, 3.0],
            beta: ndarray::array![4.0, 5.0, 6.0],
            steps_done: 3,
            broke_down: false,
        };
        let expect = ndarray::array![[1.0, 4.0, 0.0], [4.0, 2.0, 5.0], [0.0, 5.0, 3.0]];
        assert_eq!(run.tridiagonal(), expect);
    }

    #[test]
    fn reorthogonalisation_keeps_the_basis_orthonormal() {
        // A wide spectrum with well-separated extremes: Ritz values converge fast and plain
        // Lanczos loses orthogonality.
        let n = 100;
        let mut spectrum = Array1::linspace(0.0, 1.0, n);
        spectrum[n - 1] = 1e4;
        spectrum[n - 2] = 1e3;
        spectrum[0] = -1e3;
        let a = with_spectrum(&spectrum, 3);
        let start = random_vector(n, 4);
        let mut opts = LanczosOptions::new(40);
        let with = lanczos(&a, start.view(), &opts).unwrap();
        opts.reorthogonalize = false;
        let without = lanczos(&a, start.view(), &opts).unwrap();
        assert_eq!(with.steps_done, 40);
        let (loss_with, loss_without) = (orthogonality_loss(&with.basis), orthogonality_loss(&without.basis));
        assert!(loss_with < 1e-12, "{loss_with}");
        assert!(loss_with < loss_without, "{loss_with} vs {loss_without} without");
    }

    #[test]
    fn full_run_recovers_the_whole_spectrum() {
        let n = 30;
        let spectrum = Array1::from_shape_fn(n, |i| (i as f64 * 0.37).sin() * 2.0 + i as f64 * 0.1);
        let a = with_spectrum(&spectrum, 5);
        let dense = symmetric_eigen(a.view()).unwrap();
        let start = random_vector(n, 6);
        for steps in [n, n + 5] {
            let opts = LanczosOptions::new(steps);
            let run = lanczos(&a, start.view(), &opts).unwrap();
            assert_eq!(run.steps_done, n, "steps clamped to n");
            let ritz = lanczos_eigen(&a, start.view(), &opts, n, Which::Smallest).unwrap();
            for (x, y) in ritz.values.iter().zip(&dense.values) {
                assert!((x - y).abs() < 1e-8, "{x} vs {y}");
            }
            // Ritz vectors are eigenvectors with the same sign convention.
            for j in [0, n / 2, n - 1] {
                let diff = &ritz.vectors.column(j) - &dense.vectors.column(j);
                assert!(diff.iter().all(|x| x.abs() < 1e-6), "vector {j}");
            }
        }
    }

    #[test]
    fn extremal_ritz_values_converge_with_a_gap() {
        let n = 200;
        let mut spectrum = Array1::linspace(-0.5, 0.5, n);
        spectrum[n - 1] = 2.0;
        spectrum[n - 2] = 1.5;
        spectrum[0] = -2.0;
        let a = with_spectrum(&spectrum, 7);
        let start = random_vector(n, 8);
        let opts = LanczosOptions::new(40);
        let top = lanczos_eigen(&a, start.view(), &opts, 2, Which::Largest).unwrap();
        assert!((top.values[0] - 2.0).abs() < 1e-8, "{}", top.values[0]);
        assert!((top.values[1] - 1.5).abs() < 1e-8, "{}", top.values[1]);
        let bottom = lanczos_eigen(&a, start.view(), &opts, 1, Which::Smallest).unwrap();
        assert!((bottom.values[0] + 2.0).abs() < 1e-8);
        // Ritz vector of 2.0 matches the dense eigenvector (same sign convention).
        let dense = symmetric_eigen(a.view()).unwrap();
        let diff = &top.vectors.column(0) - &dense.vectors.column(n - 1);
        assert!(diff.iter().all(|x| x.abs() < 1e-6));
    }

    #[test]
    fn breakdown_in_an_invariant_subspace() {
        // Block diagonal: the first three coordinates form an invariant subspace.
        let n = 10;
        let mut a = with_spectrum(&Array1::linspace(1.0, 2.0, n), 9);
        let inner = with_spectrum(&ndarray::array![-1.0, 0.5, 3.0], 10);
        a.slice_mut(s![..3, ..]).fill(0.0);
        a.slice_mut(s![.., ..3]).fill(0.0);
        a.slice_mut(s![..3, ..3]).assign(&inner);
        let mut start = Array1::zeros(n);
        start.slice_mut(s![..3]).assign(&ndarray::array![0.3, -1.0, 2.0]);
        let run = lanczos(&a, start.view(), &LanczosOptions::new(8)).unwrap();
        assert_eq!(run.steps_done, 3);
        assert!(run.broke_down);
        assert_eq!(run.basis.dim(), (n, 3));
        assert!(run.basis.iter().chain(&run.alpha).chain(&run.beta).all(|x| x.is_finite()));
        let ritz = lanczos_eigen(&a, start.view(), &LanczosOptions::new(8), 3, Which::Smallest).unwrap();
        for (x, y) in ritz.values.iter().zip(&[-1.0, 0.5, 3.0]) {
            assert!((x - y).abs() < 1e-12);
        }
        // Asking for more Ritz pairs than steps done is an error, not a panic.
        let err = lanczos_eigen(&a, start.view(), &LanczosOptions::new(8), 4, Which::Largest).unwrap_err();
        assert!(matches!(err, Error::InvalidK { k: 4, n: 3 }), "{err}");
    }

    #[test]
    fn breakdown_on_a_rank_deficient_operator() {
        // All-ones graph (rank 1): A s ∈ span{1}, so the Krylov space of any s has
        // dimension ≤ 2. A start vector orthogonal to 1 lies in the null space: 1 step.
        let n = 6;
        let a = Array2::<f64>::ones((n, n));
        let run = lanczos(&a, random_vector(n, 11).view(), &LanczosOptions::new(5)).unwrap();
        assert_eq!(run.steps_done, 2);
        assert!(run.broke_down);
        let mut null = Array1::zeros(n);
        null[0] = 1.0;
        null[1] = -1.0;
        let run = lanczos(&a, null.view(), &LanczosOptions::new(5)).unwrap();
        assert_eq!(run.steps_done, 1);
        assert!(run.broke_down);
        assert_eq!(run.alpha[0], 0.0);
        assert_eq!(run.tridiagonal(), Array2::zeros((1, 1)));
    }

    #[test]
    fn repeated_eigenvalues_shrink_the_krylov_space() {
        // I + u uᵀ has two distinct eigenvalues: any Krylov space has dimension ≤ 2.
        let n = 12;
        let u = random_vector(n, 12);
        let outer = u.view().insert_axis(Axis(1)).dot(&u.view().insert_axis(Axis(0)));
        let a = Array2::eye(n) + &outer;
        let start = random_vector(n, 13);
        let opts = LanczosOptions::new(6);
        let run = lanczos(&a, start.view(), &opts).unwrap();
        assert_eq!(run.steps_done, 2);
        assert!(run.broke_down);
        let ritz = lanczos_eigen(&a, start.view(), &opts, 2, Which::Largest).unwrap();
        assert!((ritz.values[0] - 1.0 - u.dot(&u)).abs() < 1e-12);
        assert!((ritz.values[1] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn f32_runs_and_breaks_down() {
        let n = 50;
        let a = with_spectrum(&Array1::linspace(-1.0, 1.0, n), 14).mapv(|x| x as f32);
        let start = random_vector(n, 15).mapv(|x| x as f32);
        let run = lanczos(&a.view(), start.view(), &LanczosOptions::new(10)).unwrap();
        assert_eq!(run.steps_done, 10);
        assert!(orthogonality_loss(&run.basis) < 1e-5);
        let r = residual(&a.view(), &run);
        assert!(max_abs(&r.slice(s![.., ..9]).to_owned()) < 1e-5);
        // A start vector in a 3-dim invariant subspace that is not aligned with the
        // coordinates: after rounding to f32, β_2 / ‖A v_2‖ is round-off (~2e-7), below
        // the precision floor of the tolerance (10 √n ε ≈ 8e-6), far above 1e-10.
        let mut spectrum = Array1::linspace(-1.0, 1.0, n);
        spectrum[0] = -0.9;
        spectrum[1] = 0.3;
        spectrum[2] = 0.95;
        let b = with_spectrum(&spectrum, 16);
        let eig = symmetric_eigen(b.view()).unwrap();
        let mut s3 = Array1::zeros(n);
        for (j, lambda) in [-0.9, 0.3, 0.95].into_iter().enumerate() {
            let idx = eig.values.iter().position(|x| (x - lambda).abs() < 1e-12).unwrap();
            s3.scaled_add(1.0 + j as f64, &eig.vectors.column(idx));
        }
        let (b, s3) = (b.mapv(|x| x as f32), s3.mapv(|x| x as f32));
        let run = lanczos(&b, s3.view(), &LanczosOptions::new(10)).unwrap();
        assert_eq!(run.steps_done, 3);
        assert!(run.broke_down);
        let ritz = lanczos_eigen(&b, s3.view(), &LanczosOptions::new(10), 3, Which::Smallest).unwrap();
        for (x, y) in ritz.values.iter().zip(&[-0.9f32, 0.3, 0.95]) {
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
    }

    #[test]
    fn scale_invariant() {
        let n = 20;
        let a = with_spectrum(&Array1::linspace(-1.0, 1.0, n), 17);
        let start = random_vector(n, 18);
        let opts = LanczosOptions::new(8);
        let base = lanczos(&a, start.view(), &opts).unwrap();
        let scaled = lanczos(&(&a * 1e-8), (&start * 1e6).view(), &opts).unwrap();
        assert_eq!(scaled.steps_done, 8);
        assert!(!scaled.broke_down);
        assert!(max_abs(&(&scaled.basis - &base.basis)) < 1e-10);
    }

    #[test]
    fn rejects_bad_input() {
        let a = Array2::<f64>::eye(4);
        let opts = LanczosOptions::default();
        let err = lanczos(&a, Array1::zeros(3).view(), &opts).unwrap_err();
        assert!(matches!(err, Error::LengthMismatch { expected: 4, got: 3, .. }), "{err}");
        let err = lanczos(&a, Array1::zeros(4).view(), &opts).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
        let err = lanczos(&a, ndarray::array![1.0, f64::NAN, 0.0, 0.0].view(), &opts).unwrap_err();
        assert!(matches!(err, Error::NonFinite { .. }), "{err}");
        let mut nan_a = a.clone();
        nan_a[[2, 2]] = f64::NAN;
        let err = lanczos(&nan_a, Array1::ones(4).view(), &opts).unwrap_err();
        assert!(matches!(err, Error::NonFinite { .. }), "{err}");
        let err = lanczos(&a, Array1::ones(4).view(), &LanczosOptions::new(0)).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
        let err = lanczos_eigen(&a, Array1::ones(4).view(), &opts, 0, Which::Smallest).unwrap_err();
        assert!(matches!(err, Error::InvalidK { k: 0, .. }), "{err}");
    }
}
