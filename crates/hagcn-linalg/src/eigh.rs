//! Symmetric eigendecomposition `A = U diag(λ) Uᵀ` with a deterministic sign convention.
//!
//! [`symmetric_eigen`] returns the eigenvalues `λ_0 ≤ λ_1 ≤ … ≤ λ_(n−1)` in ascending order
//! and the orthonormal eigenvectors as the columns of `U`, so that `A U = U diag(λ)` and
//! `UᵀU = I`.
//!
//! * **Symmetrisation.** LAPACK's `?syev` reads one triangle only, so a slightly asymmetric
//!   input (rounding drift after normalisation) would silently lose the other one. The routine
//!   therefore decomposes `(A + Aᵀ)/2`.
//! * **Precision.** The decomposition is always computed in `f64` (LAPACK `dsyev`, lower
//!   triangle) and cast back to `T`: single-precision eigensolvers fail to converge on the
//!   near-degenerate spectra of batch similarity graphs, and the cost at batch sizes is
//!   negligible.
//! * **Signs.** An eigenvector is only defined up to sign, and different LAPACKs (or a GPU
//!   solver) return different signs. HAGCN's Fourier and spline filters are not invariant to
//!   those signs (spec §5.1), so every column is flipped, after the cast to `T`, so that its
//!   largest-magnitude component is positive; when several components tie for the largest
//!   magnitude the first (lowest row index) decides. Any other solver that applies
//!   [`canonicalize_signs`] to its output gets the same vectors, up to rounding (and up to the
//!   choice of basis inside a repeated eigenvalue's eigenspace, which no convention fixes).
//!
//! [`smallest`] and [`largest`] select `k` eigenpairs from a decomposition.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis, s};
use ndarray_linalg::{Eigh, UPLO};

use crate::{Error, Real, Result};

/// Eigenvalues and eigenvectors of a real symmetric matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct SymmetricEigen<T> {
    /// The eigenvalues (length `k`); see the producing function for their order.
    pub values: Array1<T>,
    /// The eigenvectors, one per column (`n × k`), in the order of `values`.
    pub vectors: Array2<T>,
}

/// The eigendecomposition of the symmetric part `(A + Aᵀ)/2` of a square matrix.
///
/// Eigenvalues come back ascending, eigenvectors as columns with the sign convention of the
/// [module docs](self): each column's largest-magnitude entry is positive (ties: the first).
/// The work is done in `f64` whatever `T` is.
///
/// A `0 × 0` input gives an empty decomposition.
///
/// # Errors
///
/// [`Error::NotSquare`] for a non-square `a`, [`Error::NonFinite`] when it holds a NaN or an
/// infinity, and [`Error::NoConvergence`] when LAPACK fails.
///
/// # Example
///
/// ```
/// # extern crate openblas_src;
/// use hagcn_linalg::symmetric_eigen;
/// use ndarray::array;
///
/// let a = array![[2.0f32, 1.0], [1.0, 2.0]];
/// let eig = symmetric_eigen(a.view()).unwrap();
/// assert!((eig.values[0] - 1.0).abs() < 1e-6 && (eig.values[1] - 3.0).abs() < 1e-6);
/// // Eigenvector of 3 is (1, 1)/√2; its largest entry (the first of a tie) is positive.
/// let v = eig.vectors.column(1);
/// assert!((v[0] - 0.5f32.sqrt()).abs() < 1e-6 && (v[1] - 0.5f32.sqrt()).abs() < 1e-6);
/// ```
pub fn symmetric_eigen<T: Real>(a: ArrayView2<T>) -> Result<SymmetricEigen<T>> {
    const OP: &str = "symmetric_eigen";
    let (rows, cols) = a.dim();
    if rows != cols {
        return Err(Error::NotSquare { op: OP, rows, cols });
    }
    if !a.iter().all(|x| x.is_finite()) {
        return Err(Error::NonFinite { op: OP });
    }
    let n = rows;
    if n == 0 {
        return Ok(SymmetricEigen { values: Array1::zeros(0), vectors: Array2::zeros((0, 0)) });
    }
    let sym: Array2<f64> = Array2::from_shape_fn((n, n), |(i, j)| 0.5 * (a[[i, j]].as_f64() + a[[j, i]].as_f64()));
    // Divide and conquer first; if it fails to converge, the QR iteration of
    // ndarray-linalg's `Eigh` (LAPACK dsyev) gets a second try before we give up.
    let (values, vectors) = match dsyevd(sym.clone()) {
        Ok(pair) => pair,
        Err(first) => sym
            .eigh(UPLO::Lower)
            .map_err(|e| Error::NoConvergence { op: OP, detail: format!("{first}; dsyev: {e}") })?,
    };
    let values = values.mapv(T::of);
    let mut vectors = vectors.mapv(T::of);
    canonicalize_signs(vectors.view_mut());
    Ok(SymmetricEigen { values, vectors })
}

/// LAPACK's divide-and-conquer symmetric eigensolver `dsyevd` (several times faster than the
/// QR-iteration `dsyev` behind `ndarray_linalg::Eigh` for full eigenvector sets; the one
/// PyTorch's `eigh` uses). `a` must be symmetric; returns ascending values and the
/// eigenvectors as columns.
fn dsyevd(mut a: Array2<f64>) -> std::result::Result<(Array1<f64>, Array2<f64>), String> {
    let n = a.nrows();
    let mut w = Array1::<f64>::zeros(n);
    assert!(a.is_standard_layout(), "dsyevd needs contiguous storage");
    // A row-major symmetric matrix is its own column-major storage.
    let info = lapack_dsyevd(
        true,
        true,
        n,
        a.as_slice_mut().expect("contiguous"),
        n.max(1),
        w.as_slice_mut().expect("contiguous"),
    )?;
    match info {
        0 => Ok((w, a.reversed_axes().as_standard_layout().into_owned())), // Fortran columns → our columns
        i if i > 0 => Err(format!("dsyevd did not converge (info = {i})")),
        i => Err(format!("dsyevd rejected argument {} (info = {i})", -i)),
    }
}

/// LAPACK `dsyevd` on column-major storage, as LAPACK (and cuSOLVER) define it: the
/// eigenvalues of the symmetric `n × n` matrix held in the `lower` (or upper) triangle of `a`
/// (leading dimension `lda`) into `w`, ascending, and with `vectors` its eigenvectors over `a`'s
/// first `n` columns. A workspace query, then the call.
///
/// Returns LAPACK's `info`: 0 on success, `i > 0` when the solver did not converge, `-i` when
/// argument `i` was rejected. Buffers too short for `n` and `lda`, or sizes beyond LAPACK's
/// `int`, are an `Err` before LAPACK is called.
///
/// ```
/// # extern crate openblas_src;
/// // [[2, 1], [1, 2]] in column-major storage with lda = 3 (the third row is padding).
/// let mut a = [2.0, 1.0, 9.0, 1.0, 2.0, 9.0];
/// let mut w = [0.0; 2];
/// assert_eq!(hagcn_linalg::eigh::lapack_dsyevd(true, true, 2, &mut a, 3, &mut w), Ok(0));
/// assert!((w[0] - 1.0).abs() < 1e-12 && (w[1] - 3.0).abs() < 1e-12);
/// ```
pub fn lapack_dsyevd(
    vectors: bool,
    lower: bool,
    n: usize,
    a: &mut [f64],
    lda: usize,
    w: &mut [f64],
) -> std::result::Result<i32, String> {
    use std::os::raw::{c_char, c_int};
    let int =
        |v: usize, what: &str| c_int::try_from(v).map_err(|_| format!("dsyevd: {what} = {v} is too large for LAPACK"));
    let (n_c, lda_c) = (int(n, "n")?, int(lda, "lda")?);
    if lda < n.max(1) {
        return Err(format!("dsyevd: lda = {lda} is less than max(1, n = {n})"));
    }
    let a_need = lda.checked_mul(n).ok_or_else(|| "dsyevd: lda × n overflows".to_string())?;
    if a.len() < a_need || w.len() < n {
        return Err(format!("dsyevd: buffers of {} and {} entries for A ({lda} × {n}) and w ({n})", a.len(), w.len()));
    }
    let jobz = (if vectors { b'V' } else { b'N' }) as c_char;
    let uplo = (if lower { b'L' } else { b'U' }) as c_char;
    let (mut work_size, mut iwork_size, mut info): (f64, c_int, c_int) = (0.0, 0, 0);
    // SAFETY: workspace query (lwork = liwork = -1): LAPACK writes only the two sizes and info;
    // a and w hold lda × n and n entries (checked).
    unsafe {
        lapack_sys::dsyevd_(
            &jobz,
            &uplo,
            &n_c,
            a.as_mut_ptr(),
            &lda_c,
            w.as_mut_ptr(),
            &mut work_size,
            &-1,
            &mut iwork_size,
            &-1,
            &mut info,
        );
    }
    if info != 0 {
        return Ok(info);
    }
    // LAPACK returns the sizes as exact integers (an f64 for lwork).
    let lwork = work_size as c_int;
    let mut work = vec![0.0f64; lwork.max(1) as usize];
    let mut iwork = vec![0 as c_int; iwork_size.max(1) as usize];
    // SAFETY: a and w hold lda × n and n entries (checked); the workspaces have the sizes LAPACK
    // asked for.
    unsafe {
        lapack_sys::dsyevd_(
            &jobz,
            &uplo,
            &n_c,
            a.as_mut_ptr(),
            &lda_c,
            w.as_mut_ptr(),
            work.as_mut_ptr(),
            &lwork,
            iwork.as_mut_ptr(),
            &iwork_size,
            &mut info,
        );
    }
    Ok(info)
}

/// Flips the sign of each column so that its largest-magnitude entry is positive.
///
/// When several entries tie for the largest magnitude, the first (lowest row index) decides.
/// An all-zero column is left alone. This is the convention [`symmetric_eigen`] applies; a
/// different eigensolver (another LAPACK, a GPU one) should apply it to agree.
pub fn canonicalize_signs<T: Real>(mut vectors: ArrayViewMut2<T>) {
    for mut col in vectors.axis_iter_mut(Axis(1)) {
        let mut best = T::zero();
        let mut negative = false;
        for &x in col.iter() {
            if x.abs() > best {
                best = x.abs();
                negative = x < T::zero();
            }
        }
        if negative {
            col.mapv_inplace(|x| -x);
        }
    }
}

/// The eigenvalue gap below which two eigenvalues of an `n × n` symmetric matrix of norm
/// `norm` are numerically equal: `n · ε · norm` (`ε` = `f64::EPSILON`), the accuracy to which a
/// backward-stable eigensolver in `f64` determines them.
///
/// The gradient through eigenvectors (spec §5.1) divides by eigenvalue gaps; only a gap at
/// this level carries no information and is skipped. An absolute threshold would be wrong:
/// on real batch graphs the smallest eigenvalues sit near `1e-5` with gaps near `1e-7`, and
/// every such pair carries gradient.
pub fn eigen_gap_tolerance(n: usize, norm: f64) -> f64 {
    n.max(1) as f64 * f64::EPSILON * norm
}

/// The gradient with respect to `A` of a loss whose gradients with respect to the eigenvalues
/// and eigenvectors of a full decomposition `A = U diag(λ) Uᵀ` are `g_values` and
/// `g_vectors` (spec §5.1):
///
/// ```text
/// ∂A = U (M_s ⊘ E + diag(gλ)) Uᵀ,   M = Uᵀ gU,   M_s = (M − Mᵀ)/2,   E_ij = λ_j − λ_i
/// ```
///
/// computed in `f64`. A pair whose gap is numerically zero contributes no term: the gap is
/// at most [`eigen_gap_tolerance`]`(n, max |λ|)`, or the two values are equal to within the
/// rounding of `T` itself (`2 ε_T max(|λ_i|, |λ_j|)`, which matters only for `f32` values).
/// Every other pair contributes, however small its gap.
///
/// # Errors
///
/// [`Error::ShapeMismatch`] or [`Error::LengthMismatch`] when the shapes disagree.
pub fn symmetric_eigen_backward<T: Real>(
    values: ArrayView1<T>,
    vectors: ArrayView2<T>,
    g_values: ArrayView1<T>,
    g_vectors: ArrayView2<T>,
) -> Result<Array2<T>> {
    const OP: &str = "symmetric_eigen_backward";
    let n = values.len();
    if vectors.dim() != (n, n) {
        return Err(Error::ShapeMismatch { op: OP, left: (n, n), right: vectors.dim() });
    }
    if g_vectors.dim() != (n, n) {
        return Err(Error::ShapeMismatch { op: OP, left: (n, n), right: g_vectors.dim() });
    }
    if g_values.len() != n {
        return Err(Error::LengthMismatch { op: OP, expected: n, got: g_values.len() });
    }
    let u = vectors.mapv(T::as_f64);
    let lambda = values.mapv(T::as_f64);
    let norm = lambda.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let tol = eigen_gap_tolerance(n, norm);
    let eps_t = T::epsilon().as_f64();
    let m = u.t().dot(&g_vectors.mapv(T::as_f64));
    let mid = Array2::from_shape_fn((n, n), |(i, j)| {
        if i == j {
            return g_values[i].as_f64();
        }
        let gap = lambda[j] - lambda[i];
        let rounding = 2.0 * eps_t * lambda[i].abs().max(lambda[j].abs());
        if gap.abs() <= tol.max(rounding) { 0.0 } else { 0.5 * (m[[i, j]] - m[[j, i]]) / gap }
    });
    Ok(u.dot(&mid).dot(&u.t()).mapv(T::of))
}

/// Checks `1 ≤ k ≤ n`.
pub(crate) fn check_k(k: usize, n: usize) -> Result<()> {
    if k == 0 || k > n { Err(Error::InvalidK { k, n }) } else { Ok(()) }
}

/// The `k` eigenpairs with the smallest eigenvalues, in ascending order.
///
/// Assumes `e` is sorted ascending, as [`symmetric_eigen`] returns it: the result is simply
/// its first `k` eigenpairs.
///
/// # Errors
///
/// [`Error::InvalidK`] unless `1 ≤ k ≤ n`, `n` = the number of eigenvalues in `e`.
///
/// # Example
///
/// ```
/// # extern crate openblas_src;
/// use hagcn_linalg::{smallest, symmetric_eigen};
/// use ndarray::Array2;
///
/// let a = Array2::from_diag(&ndarray::array![3.0, 1.0, 2.0]);
/// let low = smallest(&symmetric_eigen(a.view()).unwrap(), 2).unwrap();
/// assert_eq!(low.values, ndarray::array![1.0, 2.0]);
/// assert_eq!(low.vectors.column(0), ndarray::array![0.0, 1.0, 0.0]);
/// ```
pub fn smallest<T: Clone>(e: &SymmetricEigen<T>, k: usize) -> Result<SymmetricEigen<T>> {
    check_k(k, e.values.len())?;
    Ok(SymmetricEigen { values: e.values.slice(s![..k]).to_owned(), vectors: e.vectors.slice(s![.., ..k]).to_owned() })
}

/// The `k` eigenpairs with the largest eigenvalues, in **descending** order.
///
/// Assumes `e` is sorted ascending, as [`symmetric_eigen`] returns it: the result is its last
/// `k` eigenpairs, reversed (so `values[0]` is the largest eigenvalue).
///
/// # Errors
///
/// [`Error::InvalidK`] unless `1 ≤ k ≤ n`, `n` = the number of eigenvalues in `e`.
///
/// # Example
///
/// ```
/// # extern crate openblas_src;
/// use hagcn_linalg::{largest, symmetric_eigen};
/// use ndarray::Array2;
///
/// let a = Array2::from_diag(&ndarray::array![3.0, 1.0, 2.0]);
/// let high = largest(&symmetric_eigen(a.view()).unwrap(), 2).unwrap();
/// assert_eq!(high.values, ndarray::array![3.0, 2.0]);
/// assert_eq!(high.vectors.column(0), ndarray::array![1.0, 0.0, 0.0]);
/// ```
pub fn largest<T: Clone>(e: &SymmetricEigen<T>, k: usize) -> Result<SymmetricEigen<T>> {
    let n = e.values.len();
    check_k(k, n)?;
    Ok(SymmetricEigen {
        values: e.values.slice(s![n - k..;-1]).to_owned(),
        vectors: e.vectors.slice(s![.., n - k..;-1]).to_owned(),
    })
}

#[cfg(test)]
mod tests {
    extern crate openblas_src;

    use super::*;
    use ndarray::array;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random_symmetric(n: usize, seed: u64) -> Array2<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let b = Array2::from_shape_fn((n, n), |_| rng.random_range(-1.0..1.0));
        &b + &b.t()
    }

    /// The raw call: one triangle read, padding rows untouched, values without vectors, and the
    /// argument checks that keep LAPACK from reading past a buffer.
    #[test]
    fn lapack_dsyevd_reads_one_triangle_and_checks_its_buffers() {
        let n = 5;
        let sym = random_symmetric(n, 41);
        let lda = n + 2;
        // Column-major with two padding rows; the upper triangle holds garbage.
        let mut a = vec![f64::NAN; lda * n];
        for j in 0..n {
            for i in j..n {
                a[j * lda + i] = sym[[i, j]];
            }
        }
        let mut w = vec![0.0; n];
        assert_eq!(lapack_dsyevd(true, true, n, &mut a, lda, &mut w), Ok(0));
        let (want, _) = dsyevd(sym.clone()).unwrap();
        for (g, e) in w.iter().zip(&want) {
            assert!((g - e).abs() <= 1e-12 * want.iter().fold(1.0f64, |m, v| m.max(v.abs())), "{g} vs {e}");
        }
        for j in 0..n {
            assert!(a[j * lda + n].is_nan() && a[j * lda + n + 1].is_nan(), "padding of column {j} was written");
        }
        let mut values_only: Vec<f64> = sym.t().iter().copied().collect();
        let mut w2 = vec![0.0; n];
        assert_eq!(lapack_dsyevd(false, false, n, &mut values_only, n, &mut w2), Ok(0));
        assert!(w2.iter().zip(&w).all(|(a, b)| (a - b).abs() <= 1e-12 * 8.0));
        assert!(lapack_dsyevd(true, true, n, &mut vec![0.0; n * n], n - 1, &mut w).unwrap_err().contains("lda"));
        assert!(lapack_dsyevd(true, true, n, &mut vec![0.0; n * n - 1], n, &mut w).unwrap_err().contains("buffers"));
        assert!(lapack_dsyevd(true, true, n, &mut vec![0.0; n * n], n, &mut [0.0; 2]).unwrap_err().contains("buffers"));
    }

    #[test]
    fn divide_and_conquer_agrees_with_qr_iteration() {
        for (n, seed) in [(1, 1), (7, 2), (64, 3)] {
            let a = random_symmetric(n, seed);
            let (w, u) = dsyevd(a.clone()).unwrap();
            let (w2, u2) = a.eigh(UPLO::Lower).unwrap();
            assert!(w.iter().zip(&w2).all(|(x, y)| (x - y).abs() < 1e-10), "{w} vs {w2}");
            // same eigenvectors up to sign: |u_iᵀ u2_i| = 1
            for j in 0..n {
                let c = u.column(j).dot(&u2.column(j)).abs();
                assert!((c - 1.0).abs() < 1e-8, "column {j}: |cos| = {c}");
            }
        }
    }

    fn max_abs(a: &Array2<f64>) -> f64 {
        a.iter().fold(0.0, |m, x| m.max(x.abs()))
    }

    fn assert_decomposes(a: &Array2<f64>, e: &SymmetricEigen<f64>, tol: f64) {
        let n = a.nrows();
        let av = a.dot(&e.vectors);
        let vl = &e.vectors * &e.values;
        assert!(max_abs(&(&av - &vl)) < tol, "A U != U Λ");
        let gram = e.vectors.t().dot(&e.vectors);
        assert!(max_abs(&(&gram - &Array2::<f64>::eye(n))) < tol, "UᵀU != I");
        assert!(e.values.windows(2).into_iter().all(|w| w[0] <= w[1]));
    }

    fn assert_sign_convention<T: Real>(v: &Array2<T>) {
        for col in v.columns() {
            let big = col.iter().fold(T::zero(), |m, x| m.max(x.abs()));
            let first = col.iter().find(|x| x.abs() == big).unwrap();
            assert!(*first > T::zero(), "column {col} breaks the sign convention");
        }
    }

    #[test]
    fn decomposes_random_symmetric() {
        let a = random_symmetric(20, 1);
        let e = symmetric_eigen(a.view()).unwrap();
        assert_decomposes(&a, &e, 1e-12);
        assert_sign_convention(&e.vectors);
    }

    #[test]
    fn literal_two_by_two() {
        // [[2, 1], [1, 2]]: λ = 1 with (1, −1)/√2 → sign-fixed (1, −1)/√2 (first of the tie),
        // λ = 3 with (1, 1)/√2.
        let e = symmetric_eigen(array![[2.0f64, 1.0], [1.0, 2.0]].view()).unwrap();
        let r = 0.5f64.sqrt();
        assert!((&e.values - &array![1.0, 3.0]).iter().all(|x| x.abs() < 1e-14));
        let expect = array![[r, r], [-r, r]];
        assert!(max_abs(&(&e.vectors - &expect)) < 1e-14);
    }

    #[test]
    fn uses_the_symmetric_part() {
        // Upper triangle 4, lower triangle 0: LAPACK alone would see [[1, 0], [0, 1]].
        let a = array![[1.0f64, 4.0], [0.0, 1.0]];
        let e = symmetric_eigen(a.view()).unwrap();
        assert!((&e.values - &array![-1.0, 3.0]).iter().all(|x| x.abs() < 1e-14));
        let s = array![[1.0, 2.0], [2.0, 1.0]];
        assert_decomposes(&s, &e, 1e-14);
    }

    #[test]
    fn sign_convention_is_applied_whatever_lapack_returns() {
        // Flip the columns of a decomposition: canonicalising gives back the same vectors.
        let a = random_symmetric(9, 2);
        let e = symmetric_eigen(a.view()).unwrap();
        let mut flipped = e.vectors.clone();
        for (j, mut col) in flipped.columns_mut().into_iter().enumerate() {
            if j % 2 == 0 {
                col.mapv_inplace(|x| -x);
            }
        }
        canonicalize_signs(flipped.view_mut());
        assert_eq!(flipped, e.vectors);
        // Ties: the first entry of largest magnitude decides.
        let mut tie = array![[-1.0, 0.0], [1.0, 0.0]];
        canonicalize_signs(tie.view_mut());
        assert_eq!(tie, array![[1.0, 0.0], [-1.0, 0.0]]);
    }

    #[test]
    fn f32_is_computed_in_f64() {
        let a = random_symmetric(30, 3);
        let a32 = a.mapv(|x| x as f32);
        let e32 = symmetric_eigen(a32.view()).unwrap();
        // Compare with the f64 decomposition of the *rounded* matrix, cast to f32: equal up
        // to one f32 rounding.
        let e64 = symmetric_eigen(a32.mapv(f64::from).view()).unwrap();
        for (x, y) in e32.values.iter().zip(&e64.values) {
            assert_eq!(*x, *y as f32);
        }
        assert_sign_convention(&e32.vectors);
        let resid = a32.dot(&e32.vectors) - &e32.vectors * &e32.values;
        assert!(resid.iter().all(|x| x.abs() < 1e-4));
    }

    #[test]
    fn repeated_eigenvalues_identity_plus_rank_one() {
        // I + u uᵀ: eigenvalue 1 with multiplicity n − 1 and 1 + ‖u‖².
        let n = 8;
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let u = Array1::from_shape_fn(n, |_| rng.random_range(-1.0..1.0));
        let outer = u.view().insert_axis(Axis(1)).dot(&u.view().insert_axis(Axis(0)));
        let a = Array2::eye(n) + &outer;
        let e = symmetric_eigen(a.view()).unwrap();
        assert_decomposes(&a, &e, 1e-12);
        assert!(e.values.iter().take(n - 1).all(|x| (x - 1.0).abs() < 1e-12));
        assert!((e.values[n - 1] - 1.0 - u.dot(&u)).abs() < 1e-12);
        // The top eigenvector is ±u/‖u‖, signed by the convention.
        let top = e.vectors.column(n - 1);
        let cos = top.dot(&u) / u.dot(&u).sqrt();
        assert!((cos.abs() - 1.0).abs() < 1e-12);
        assert_sign_convention(&e.vectors);
    }

    #[test]
    fn rank_deficient_and_empty() {
        let a = Array2::<f64>::ones((5, 5));
        let e = symmetric_eigen(a.view()).unwrap();
        assert_decomposes(&a, &e, 1e-12);
        assert!(e.values.iter().take(4).all(|x| x.abs() < 1e-12));
        assert!((e.values[4] - 5.0).abs() < 1e-12);
        let empty = symmetric_eigen(Array2::<f32>::zeros((0, 0)).view()).unwrap();
        assert_eq!(empty.values.len(), 0);
    }

    #[test]
    fn rejects_bad_input() {
        let err = symmetric_eigen(Array2::<f64>::zeros((2, 3)).view()).unwrap_err();
        assert!(matches!(err, Error::NotSquare { rows: 2, cols: 3, .. }), "{err}");
        for bad in [f64::NAN, f64::INFINITY] {
            let err = symmetric_eigen(array![[1.0, bad], [0.0, 1.0]].view()).unwrap_err();
            assert!(matches!(err, Error::NonFinite { .. }), "{err}");
        }
    }

    #[test]
    fn smallest_and_largest() {
        let a = random_symmetric(6, 5);
        let e = symmetric_eigen(a.view()).unwrap();
        let lo = smallest(&e, 2).unwrap();
        assert_eq!(lo.values, e.values.slice(s![..2]));
        assert_eq!(lo.vectors, e.vectors.slice(s![.., ..2]));
        let hi = largest(&e, 3).unwrap();
        assert_eq!(hi.values, array![e.values[5], e.values[4], e.values[3]]);
        assert_eq!(hi.vectors.column(0), e.vectors.column(5));
        assert_eq!(hi.vectors.column(2), e.vectors.column(3));
        assert_eq!(largest(&e, 6).unwrap().values[0], e.values[5]);
        assert_eq!(smallest(&e, 6).unwrap(), e);
        for k in [0, 7] {
            let err = smallest(&e, k).unwrap_err();
            assert!(matches!(err, Error::InvalidK { n: 6, .. }), "{err}");
            let err = largest(&e, k).unwrap_err();
            assert!(matches!(err, Error::InvalidK { n: 6, .. }), "{err}");
        }
    }
}
