//! Chebyshev polynomials of a matrix and the Chebyshev graph filter `Σ_(j=0..k) T_j(A) Z`.
//!
//! The Chebyshev polynomials of the first kind follow the three-term recurrence
//!
//! ```text
//! T_0(A) = I,   T_1(A) = A,   T_j(A) = 2 A T_(j−1)(A) − T_(j−2)(A),
//! ```
//!
//! and for a symmetric `A = U diag(λ) Uᵀ` with spectrum in `[−1, 1]` (such as the normalised
//! adjacency `Â`), `T_j(A) = U diag(cos(j · arccos λ)) Uᵀ`.
//!
//! HAGCN's `cheby` filter is `F = Σ_(j=0..k) T_j(Â) Z` (k + 1 terms, spec §2 step 5). It can be
//! computed two ways:
//!
//! * [`chebyshev_sum`] then one product: the recurrence on `n × n` matrices,
//!   about `k n³ + n² h` multiply–adds;
//! * [`chebyshev_apply`]: the same recurrence on the `n × h` block,
//!   `Y_0 = Z`, `Y_1 = A Z`, `Y_j = 2 A Y_(j−1) − Y_(j−2)`, about `k n² h` multiply–adds.
//!
//! [`chebyshev_filter`] picks the cheaper by those counts.

use ndarray::{Array2, ArrayView2, linalg::general_mat_mul};

use crate::{Error, Real, Result};

fn check_square_finite<T: Real>(op: &'static str, a: &ArrayView2<T>) -> Result<usize> {
    let (rows, cols) = a.dim();
    if rows != cols {
        return Err(Error::NotSquare { op, rows, cols });
    }
    if !a.iter().all(|x| x.is_finite()) {
        return Err(Error::NonFinite { op });
    }
    Ok(rows)
}

fn check_block<T: Real>(op: &'static str, a: &ArrayView2<T>, z: &ArrayView2<T>) -> Result<()> {
    let n = check_square_finite(op, a)?;
    if z.nrows() != n {
        return Err(Error::ShapeMismatch { op, left: a.dim(), right: z.dim() });
    }
    if !z.iter().all(|x| x.is_finite()) {
        return Err(Error::NonFinite { op });
    }
    Ok(())
}

/// Runs the three-term recurrence on `y_0`: calls `visit(Y_j)` for `Y_j = T_j(A) y_0`,
/// `j = 0..=k`, reusing two buffers.
fn recurrence<T: Real>(a: &ArrayView2<T>, y0: Array2<T>, k: usize, mut visit: impl FnMut(&Array2<T>)) {
    visit(&y0);
    if k == 0 {
        return;
    }
    let mut prev = y0;
    let mut cur = a.dot(&prev);
    visit(&cur);
    for _ in 2..=k {
        // prev ← 2 A cur − prev, in place; then it is the newest term.
        general_mat_mul(T::of(2.0), a, &cur, -T::one(), &mut prev);
        std::mem::swap(&mut prev, &mut cur);
        visit(&cur);
    }
}

/// The `k + 1` matrices `T_0(A), …, T_k(A)`.
///
/// # Errors
///
/// [`Error::NotSquare`] for a non-square `a`, [`Error::NonFinite`] when it holds a NaN or an
/// infinity.
///
/// # Example
///
/// ```
/// # extern crate openblas_src;
/// use hagcn_linalg::chebyshev_matrices;
/// use ndarray::{Array2, array};
///
/// let a = array![[0.0, 0.5], [0.5, 0.0]];
/// let t = chebyshev_matrices(a.view(), 2).unwrap();
/// assert_eq!(t.len(), 3);
/// assert_eq!(t[0], Array2::eye(2));
/// assert_eq!(t[1], a);
/// // T_2 = 2A² − I.
/// assert_eq!(t[2], array![[-0.5, 0.0], [0.0, -0.5]]);
/// ```
pub fn chebyshev_matrices<T: Real>(a: ArrayView2<T>, k: usize) -> Result<Vec<Array2<T>>> {
    let n = check_square_finite("chebyshev_matrices", &a)?;
    let mut out = Vec::with_capacity(k + 1);
    recurrence(&a, Array2::eye(n), k, |t| out.push(t.clone()));
    Ok(out)
}

/// `Σ_(j=0..k) T_j(A)`, an `n × n` matrix, by the recurrence on matrices (`O(k n³)`).
///
/// # Errors
///
/// As [`chebyshev_matrices`].
///
/// # Example
///
/// ```
/// # extern crate openblas_src;
/// use hagcn_linalg::chebyshev_sum;
/// use ndarray::array;
///
/// // On a diagonal matrix the sum acts entrywise: Σ_j T_j(x) for x = 1 is k + 1.
/// let s = chebyshev_sum(array![[1.0, 0.0], [0.0, 0.0]].view(), 3).unwrap();
/// // Σ_(j ≤ 3) T_j(0) = 1 + 0 − 1 + 0 = 0.
/// assert_eq!(s, array![[4.0, 0.0], [0.0, 0.0]]);
/// ```
pub fn chebyshev_sum<T: Real>(a: ArrayView2<T>, k: usize) -> Result<Array2<T>> {
    let n = check_square_finite("chebyshev_sum", &a)?;
    let mut sum = Array2::zeros((n, n));
    recurrence(&a, Array2::eye(n), k, |t| sum.scaled_add(T::one(), t));
    Ok(sum)
}

/// `Σ_(j=0..k) T_j(A) Z` by the recurrence on the `n × h` block `Z` (`O(k n² h)`); the matrix
/// polynomials are never formed.
///
/// # Errors
///
/// As [`chebyshev_matrices`], plus [`Error::ShapeMismatch`] when `z` does not have `n` rows
/// and [`Error::NonFinite`] when `z` holds a NaN or an infinity.
///
/// # Example
///
/// ```
/// # extern crate openblas_src;
/// use hagcn_linalg::{chebyshev_apply, chebyshev_sum};
/// use ndarray::array;
///
/// let a = array![[0.2f64, 0.5], [0.5, -0.1]];
/// let z = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
/// let direct = chebyshev_sum(a.view(), 5).unwrap().dot(&z);
/// let block = chebyshev_apply(a.view(), z.view(), 5).unwrap();
/// assert!((&direct - &block).iter().all(|x| x.abs() < 1e-12));
/// ```
pub fn chebyshev_apply<T: Real>(a: ArrayView2<T>, z: ArrayView2<T>, k: usize) -> Result<Array2<T>> {
    check_block("chebyshev_apply", &a, &z)?;
    let mut sum = Array2::zeros(z.dim());
    recurrence(&a, z.to_owned(), k, |y| sum.scaled_add(T::one(), y));
    Ok(sum)
}

/// Whether [`chebyshev_filter`] forms `Σ_j T_j(A)` first (`true`) or runs the recurrence on
/// the block (`false`) for an `n × n` matrix, `h` columns and order `k`.
///
/// The matrix path costs about `k n³ + n² h` multiply–adds, the block path `k n² h`; the
/// matrix path is chosen when strictly cheaper, i.e. when `k n + h < k h`, roughly `n < h`.
/// (HAGCN's `n = 128`, `h = 768`, `k = 18`: the matrix path, 4.5× fewer flops.)
pub fn chebyshev_prefers_matrix(n: usize, h: usize, k: usize) -> bool {
    let (n, h, k) = (n as f64, h as f64, k as f64);
    k * n + h < k * h
}

/// `Σ_(j=0..k) T_j(A) Z`, computed by [`chebyshev_sum`] followed by one product or by
/// [`chebyshev_apply`], whichever needs fewer flops (see [`chebyshev_prefers_matrix`]). Both
/// give the same result up to rounding.
///
/// # Errors
///
/// As [`chebyshev_apply`].
///
/// # Example
///
/// ```
/// # extern crate openblas_src;
/// use hagcn_linalg::{chebyshev_apply, chebyshev_filter};
/// use ndarray::Array2;
///
/// let a = Array2::from_shape_fn((4, 4), |(i, j)| if i == j { 0.0 } else { 0.3 });
/// let z = Array2::from_shape_fn((4, 16), |(i, j)| (i * 16 + j) as f64 / 64.0);
/// let f = chebyshev_filter(a.view(), z.view(), 3).unwrap();
/// let g = chebyshev_apply(a.view(), z.view(), 3).unwrap();
/// assert!((&f - &g).iter().all(|x| x.abs() < 1e-12));
/// ```
pub fn chebyshev_filter<T: Real>(a: ArrayView2<T>, z: ArrayView2<T>, k: usize) -> Result<Array2<T>> {
    check_block("chebyshev_filter", &a, &z)?;
    if chebyshev_prefers_matrix(a.nrows(), z.ncols(), k) {
        Ok(chebyshev_sum(a, k)?.dot(&z))
    } else {
        chebyshev_apply(a, z, k)
    }
}

/// `Σ_(j=0..k) T_j(x)` for a scalar `x`, by the same recurrence (for `|x| ≤ 1` this is
/// `Σ_j cos(j · arccos x)`).
///
/// ```
/// use hagcn_linalg::chebyshev_polynomial;
///
/// assert_eq!(chebyshev_polynomial(1.0, 4), 5.0);
/// // T_0..T_3 at 0.5: 1, 0.5, −0.5, −1.
/// assert_eq!(chebyshev_polynomial(0.5, 3), 0.0);
/// ```
pub fn chebyshev_polynomial(x: f64, k: usize) -> f64 {
    let mut sum = 1.0;
    if k == 0 {
        return sum;
    }
    let (mut prev, mut cur) = (1.0, x);
    sum += cur;
    for _ in 2..=k {
        (prev, cur) = (cur, 2.0 * x * cur - prev);
        sum += cur;
    }
    sum
}

#[cfg(test)]
mod tests {
    extern crate openblas_src;

    use super::*;
    use crate::{normalized_adjacency, symmetric_eigen};
    use ndarray::{Array1, array};
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(rows: usize, cols: usize, lo: f64, hi: f64, seed: u64) -> Array2<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Array2::from_shape_fn((rows, cols), |_| rng.random_range(lo..hi))
    }

    /// A random symmetric normalised adjacency: spectrum in [−1, 1].
    fn adjacency(n: usize, seed: u64) -> Array2<f64> {
        let b = random(n, n, 0.0, 1.0, seed);
        normalized_adjacency((&b + &b.t()).view()).unwrap().0
    }

    fn max_abs(a: &Array2<f64>) -> f64 {
        a.iter().fold(0.0, |m, x| m.max(x.abs()))
    }

    /// `U diag(f(λ)) Uᵀ`.
    fn spectral(a: &Array2<f64>, f: impl Fn(f64) -> f64) -> Array2<f64> {
        let e = symmetric_eigen(a.view()).unwrap();
        let fl: Array1<f64> = e.values.mapv(f);
        (&e.vectors * &fl).dot(&e.vectors.t())
    }

    #[test]
    fn matrices_match_cosines_of_the_spectrum() {
        let a = adjacency(12, 1);
        let k = 7;
        let t = chebyshev_matrices(a.view(), k).unwrap();
        assert_eq!(t.len(), k + 1);
        for (j, t_j) in t.iter().enumerate() {
            let expect = spectral(&a, |l| (j as f64 * l.clamp(-1.0, 1.0).acos()).cos());
            assert!(max_abs(&(t_j - &expect)) < 1e-12, "T_{j}");
        }
        let sum = chebyshev_sum(a.view(), k).unwrap();
        let mut total = Array2::zeros((12, 12));
        for t_j in &t {
            total += t_j;
        }
        assert!(max_abs(&(&sum - &total)) < 1e-12);
        let expect = spectral(&a, |l| chebyshev_polynomial(l, k));
        assert!(max_abs(&(&sum - &expect)) < 1e-12);
    }

    #[test]
    fn both_filter_paths_agree() {
        let a = adjacency(10, 2);
        for (h, k) in [(3, 5), (40, 5), (10, 18), (1, 2)] {
            let z = random(10, h, -1.0, 1.0, 3 + h as u64);
            let via_sum = chebyshev_sum(a.view(), k).unwrap().dot(&z);
            let via_block = chebyshev_apply(a.view(), z.view(), k).unwrap();
            let picked = chebyshev_filter(a.view(), z.view(), k).unwrap();
            assert!(max_abs(&(&via_sum - &via_block)) < 1e-10, "h = {h}, k = {k}");
            assert!(max_abs(&(&picked - &via_block)) < 1e-10, "h = {h}, k = {k}");
        }
        // f32 too.
        let a32 = a.mapv(|x| x as f32);
        let z32 = random(10, 7, -1.0, 1.0, 9).mapv(|x| x as f32);
        let s = chebyshev_sum(a32.view(), 6).unwrap().dot(&z32);
        let b = chebyshev_apply(a32.view(), z32.view(), 6).unwrap();
        assert!((&s - &b).iter().all(|x| x.abs() < 1e-4));
    }

    #[test]
    fn cost_rule() {
        assert!(chebyshev_prefers_matrix(128, 768, 18));
        assert!(!chebyshev_prefers_matrix(1024, 768, 18));
        assert!(!chebyshev_prefers_matrix(10, 768, 0));
        assert!(!chebyshev_prefers_matrix(10, 768, 1));
        // k n + h < k h: 2·10 + 30 = 50 < 60.
        assert!(chebyshev_prefers_matrix(10, 30, 2));
        assert!(!chebyshev_prefers_matrix(10, 20, 2));
    }

    #[test]
    fn orders_zero_and_one() {
        let a = array![[0.1, 0.2], [0.2, 0.3]];
        let z = array![[1.0, -1.0, 2.0], [0.5, 0.0, 1.0]];
        assert_eq!(chebyshev_matrices(a.view(), 0).unwrap(), vec![Array2::eye(2)]);
        assert_eq!(chebyshev_matrices(a.view(), 1).unwrap(), vec![Array2::eye(2), a.clone()]);
        assert_eq!(chebyshev_sum(a.view(), 0).unwrap(), Array2::eye(2));
        assert_eq!(chebyshev_sum(a.view(), 1).unwrap(), &a + &Array2::<f64>::eye(2));
        assert_eq!(chebyshev_apply(a.view(), z.view(), 0).unwrap(), z);
        assert_eq!(chebyshev_filter(a.view(), z.view(), 0).unwrap(), z);
        let one = &z + &a.dot(&z);
        assert!(max_abs(&(&chebyshev_apply(a.view(), z.view(), 1).unwrap() - &one)) < 1e-15);
        assert!(max_abs(&(&chebyshev_filter(a.view(), z.view(), 1).unwrap() - &one)) < 1e-15);
        // k = 2 by hand: I + A + (2A² − I) = A + 2A².
        let two = &a + &(a.dot(&a) * 2.0);
        assert!(max_abs(&(&chebyshev_sum(a.view(), 2).unwrap() - &two)) < 1e-15);
    }

    #[test]
    fn scalar_polynomial() {
        assert_eq!(chebyshev_polynomial(0.3, 0), 1.0);
        assert_eq!(chebyshev_polynomial(0.3, 1), 1.3);
        for x in [-1.0, -0.7, 0.0, 0.4, 1.0] {
            let expect: f64 = (0..=9).map(|j| (j as f64 * f64::acos(x)).cos()).sum();
            assert!((chebyshev_polynomial(x, 9) - expect).abs() < 1e-12);
        }
        // T_j(−1) = (−1)^j.
        assert_eq!(chebyshev_polynomial(-1.0, 5), 0.0);
    }

    #[test]
    fn rank_deficient_graph() {
        // All-ones graph: Â = P = 11ᵀ/n, a projection with eigenvalues 1 (once) and 0.
        // Σ_(j≤3) T_j is 4 at 1 and 1 + 0 − 1 + 0 = 0 at 0, so the sum is 4P.
        let n = 5;
        let (a_hat, _) = normalized_adjacency(Array2::<f64>::ones((n, n)).view()).unwrap();
        let s = chebyshev_sum(a_hat.view(), 3).unwrap();
        let expect = &a_hat * 4.0;
        assert!(max_abs(&(&s - &expect)) < 1e-14);
    }

    #[test]
    fn rejects_bad_input() {
        let a = Array2::<f64>::eye(3);
        let err = chebyshev_sum(Array2::<f64>::zeros((2, 3)).view(), 2).unwrap_err();
        assert!(matches!(err, Error::NotSquare { .. }), "{err}");
        let err = chebyshev_apply(a.view(), Array2::zeros((4, 2)).view(), 2).unwrap_err();
        assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
        let err = chebyshev_filter(a.view(), Array2::zeros((2, 2)).view(), 2).unwrap_err();
        assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
        let mut bad = a.clone();
        bad[[0, 1]] = f64::NAN;
        let err = chebyshev_matrices(bad.view(), 2).unwrap_err();
        assert!(matches!(err, Error::NonFinite { .. }), "{err}");
        let mut z = Array2::zeros((3, 2));
        z[[1, 1]] = f64::INFINITY;
        let err = chebyshev_filter(a.view(), z.view(), 2).unwrap_err();
        assert!(matches!(err, Error::NonFinite { .. }), "{err}");
    }
}
