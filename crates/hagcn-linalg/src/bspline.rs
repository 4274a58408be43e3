//! The B-spline basis of HAGCN's spline filter (Cox–de Boor, spec §5.2), and its gradient
//! with respect to the points.
//!
//! **Knots.** For points `x_0 … x_(m−1)`, `K` basis functions and degree `p`, with
//! `lo = min x` and `hi = max x`, the `K + p + 1` knots are `p` copies of `lo`, then `K − p + 1`
//! evenly spaced values from `lo` to `hi` (inclusive, computed as `torch.linspace` does: the
//! first half as `lo + l·step`, the second half as `hi − (K − p − l)·step`, so both ends are
//! exact), then `p` copies of `hi`.
//!
//! **Recursion.** With `t` the knots,
//!
//! ```text
//! N_(i,0)(x) = 1 if t_i ≤ x < t_(i+1) else 0
//! N_(i,d)(x) = (x − t_i) / (t_(i+d) − t_i + ε) · N_(i,d−1)(x)
//!            + (t_(i+d+1) − x) / (t_(i+d+1) − t_(i+1) + ε) · N_(i+1,d−1)(x),    ε = 1e-10,
//! ```
//!
//! where a term is dropped (contributes 0) when its denominator *before* adding `ε` has
//! magnitude `≤ 1e-10` (as in the reference, which also adds `1e-10` to the denominators it
//! keeps; the comparisons and `ε` are in `T`). The basis matrix has entry `(j, i) = N_(i,p)(x_j)`.
//!
//! **The right end.** `x = hi` lies outside every half-open interval, so its row would be all
//! zero. As in the reference, entry `(m − 1, K − 1)` — the **last point in the order given**
//! and the last function — is then *set* to 1. HAGCN passes the eigenvalues in ascending
//! order, so the last point is the largest. If the input is not sorted, the maximum keeps an
//! all-zero row and whatever point comes last gets its last entry overwritten with 1 (the spec's
//! literal rule). Other points equal to the maximum (ties with the last point) likewise keep
//! all-zero rows.
//!
//! **Gradient** ([`bspline_basis_backward`]). The values depend on each point directly
//! (through the ratios) and on `lo` and `hi` through the knots; `lo` and `hi` are in turn the
//! points at the argmin and argmax. The derivatives are propagated forward through the
//! recursion (dual numbers carrying `∂/∂x`, `∂/∂lo`, `∂/∂hi`). The indicators `N_(i,0)` and
//! the drop decisions are piecewise constant (zero derivative); the entry set to 1 has zero
//! derivative. When several points tie for the minimum (maximum), the **first** of them
//! receives the whole `∂/∂lo` (`∂/∂hi`); PyTorch's `min()`/`max()` would instead split it
//! evenly among the ties — the difference only matters at exactly tied extremes.

use std::ops::{Add, Div, Mul, Sub};

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use crate::{Error, Real, Result};

/// The B-spline basis evaluated at a set of points.
#[derive(Debug, Clone, PartialEq)]
pub struct BsplineBasis<T> {
    /// `m × K`: row `j` holds all `K` basis functions at point `j` (with the right-end fix,
    /// see the [module docs](self)).
    pub values: Array2<T>,
    /// The `K + p + 1` knots.
    pub knots: Array1<T>,
}

const EPS: f64 = 1e-10;

/// The arithmetic the recursion needs, so one implementation serves values and dual numbers.
trait Num<T>: Copy + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self> {
    fn value(self) -> T;
    fn constant(c: T) -> Self;
}

impl<T: Real> Num<T> for T {
    fn value(self) -> T {
        self
    }
    fn constant(c: T) -> Self {
        c
    }
}

/// A value with its derivatives with respect to the point, `lo` and `hi`.
#[derive(Debug, Clone, Copy)]
struct Dual<T> {
    v: T,
    dx: T,
    dlo: T,
    dhi: T,
}

impl<T: Real> Add for Dual<T> {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Dual { v: self.v + o.v, dx: self.dx + o.dx, dlo: self.dlo + o.dlo, dhi: self.dhi + o.dhi }
    }
}

impl<T: Real> Sub for Dual<T> {
    type Output = Self;
    fn sub(self, o: Self) -> Self {
        Dual { v: self.v - o.v, dx: self.dx - o.dx, dlo: self.dlo - o.dlo, dhi: self.dhi - o.dhi }
    }
}

impl<T: Real> Mul for Dual<T> {
    type Output = Self;
    fn mul(self, o: Self) -> Self {
        Dual {
            v: self.v * o.v,
            dx: self.dx * o.v + self.v * o.dx,
            dlo: self.dlo * o.v + self.v * o.dlo,
            dhi: self.dhi * o.v + self.v * o.dhi,
        }
    }
}

impl<T: Real> Div for Dual<T> {
    type Output = Self;
    fn div(self, o: Self) -> Self {
        // (u/w)' = (u' − (u/w) w') / w
        let q = self.v / o.v;
        Dual {
            v: q,
            dx: (self.dx - q * o.dx) / o.v,
            dlo: (self.dlo - q * o.dlo) / o.v,
            dhi: (self.dhi - q * o.dhi) / o.v,
        }
    }
}

impl<T: Real> Num<T> for Dual<T> {
    fn value(self) -> T {
        self.v
    }
    fn constant(c: T) -> Self {
        Dual { v: c, dx: T::zero(), dlo: T::zero(), dhi: T::zero() }
    }
}

/// Validates the arguments; returns `(index of the first min, index of the first max)`.
fn check<T: Real>(op: &'static str, x: &ArrayView1<T>, n_basis: usize, degree: usize) -> Result<(usize, usize)> {
    if n_basis <= degree {
        return Err(Error::InvalidArgument {
            op,
            reason: format!("need more basis functions than the degree, got n_basis = {n_basis}, degree = {degree}"),
        });
    }
    if x.is_empty() {
        return Err(Error::InvalidArgument { op, reason: "no points".into() });
    }
    if !x.iter().all(|v| v.is_finite()) {
        return Err(Error::NonFinite { op });
    }
    let (mut lo, mut hi) = (0, 0);
    for (j, &v) in x.iter().enumerate() {
        if v < x[lo] {
            lo = j;
        }
        if v > x[hi] {
            hi = j;
        }
    }
    Ok((lo, hi))
}

/// The knots (module docs) with `∂t_j/∂lo` and `∂t_j/∂hi`.
fn knots<T: Real>(lo: T, hi: T, n_basis: usize, degree: usize) -> Vec<Dual<T>> {
    let knot = |v, dlo, dhi| Dual { v, dx: T::zero(), dlo, dhi };
    let (zero, one) = (T::zero(), T::one());
    let spaced = n_basis - degree + 1;
    let gaps = spaced - 1;
    let step = (hi - lo) / T::of(gaps as f64);
    let mut out = Vec::with_capacity(n_basis + degree + 1);
    out.extend((0..degree).map(|_| knot(lo, one, zero)));
    for l in 0..spaced {
        let v = if l < spaced / 2 { lo + step * T::of(l as f64) } else { hi - step * T::of((gaps - l) as f64) };
        let frac = T::of(l as f64 / gaps as f64);
        out.push(knot(v, one - frac, frac));
    }
    out.extend((0..degree).map(|_| knot(hi, zero, one)));
    out
}

/// `N_(i,degree)(x)` for `i = 0..K`, `K = knots.len() − degree − 1`.
fn cox_de_boor<T: Real, S: Num<T>>(x: S, knots: &[S], degree: usize) -> Vec<S> {
    let (zero, one) = (S::constant(T::zero()), S::constant(T::one()));
    let eps = T::of(EPS);
    let xv = x.value();
    let mut n: Vec<S> =
        knots.windows(2).map(|t| if t[0].value() <= xv && xv < t[1].value() { one } else { zero }).collect();
    for d in 1..=degree {
        n = (0..knots.len() - 1 - d)
            .map(|i| {
                let mut acc = zero;
                let den = knots[i + d] - knots[i];
                if den.value().abs() > eps {
                    acc = acc + (x - knots[i]) / (den + S::constant(eps)) * n[i];
                }
                let den = knots[i + d + 1] - knots[i + 1];
                if den.value().abs() > eps {
                    acc = acc + (knots[i + d + 1] - x) / (den + S::constant(eps)) * n[i + 1];
                }
                acc
            })
            .collect();
    }
    n
}

/// The `m × K` B-spline basis at the points `x` (`K = n_basis`, degree `degree`), exactly as
/// specified in the [module docs](self) (spec §5.2).
///
/// # Errors
///
/// [`Error::InvalidArgument`] when `n_basis ≤ degree` or `x` is empty, [`Error::NonFinite`]
/// when `x` holds a NaN or an infinity.
///
/// # Example
///
/// ```
/// use hagcn_linalg::bspline_basis;
/// use ndarray::array;
///
/// // Degree 1, three functions on [0, 1]: knots 0, 0, 0.5, 1, 1 — hat functions.
/// let b = bspline_basis(array![0.0f64, 0.25, 0.5, 0.75, 1.0].view(), 3, 1).unwrap();
/// assert_eq!(b.knots, array![0.0, 0.0, 0.5, 1.0, 1.0]);
/// let expect = array![
///     [1.0, 0.0, 0.0],
///     [0.5, 0.5, 0.0],
///     [0.0, 1.0, 0.0],
///     [0.0, 0.5, 0.5],
///     [0.0, 0.0, 1.0], // the last point: set to 1
/// ];
/// assert!((&b.values - &expect).iter().all(|d| d.abs() < 1e-9));
/// ```
pub fn bspline_basis<T: Real>(x: ArrayView1<T>, n_basis: usize, degree: usize) -> Result<BsplineBasis<T>> {
    let (lo, hi) = check("bspline_basis", &x, n_basis, degree)?;
    let knots: Vec<T> = knots(x[lo], x[hi], n_basis, degree).iter().map(|k| k.v).collect();
    let m = x.len();
    let mut values = Array2::zeros((m, n_basis));
    for (&xj, mut row) in x.iter().zip(values.rows_mut()) {
        for (out, v) in row.iter_mut().zip(cox_de_boor(xj, &knots, degree)) {
            *out = v;
        }
    }
    values[[m - 1, n_basis - 1]] = T::one();
    Ok(BsplineBasis { values, knots: Array1::from(knots) })
}

/// The gradient with respect to the points `x` of `Σ_(j,i) grad_(j,i) · B_(j,i)`, where `B`
/// is [`bspline_basis`]`(x, n_basis, degree).values` and `grad` is `m × K`.
///
/// Includes the paths through the knots: the point at the (first) minimum and the point at the
/// (first) maximum also receive `Σ grad ⊙ ∂B/∂lo` and `Σ grad ⊙ ∂B/∂hi` (module docs). The
/// indicators and the entry set to 1 contribute nothing.
///
/// # Errors
///
/// As [`bspline_basis`], plus [`Error::ShapeMismatch`] when `grad` is not `m × K`.
///
/// # Example
///
/// ```
/// use hagcn_linalg::bspline_basis_backward;
/// use ndarray::{Array2, array};
///
/// // Degree 1, K = 2: B_(1,1) = (x_1 − x_0)/(x_2 − x_0) (knots lo, lo, hi, hi).
/// let x = array![0.0f64, 0.25, 1.0];
/// let mut grad = Array2::zeros((3, 2));
/// grad[[1, 1]] = 1.0;
/// let g = bspline_basis_backward(x.view(), 2, 1, grad.view()).unwrap();
/// // ∂/∂x_0 = (x_1 − x_2)/(x_2 − x_0)², ∂/∂x_1 = 1/(x_2 − x_0), ∂/∂x_2 = −(x_1 − x_0)/(x_2 − x_0)².
/// let expect = array![-0.75, 1.0, -0.25];
/// assert!((&g - &expect).iter().all(|d| d.abs() < 1e-9));
/// ```
pub fn bspline_basis_backward<T: Real>(
    x: ArrayView1<T>,
    n_basis: usize,
    degree: usize,
    grad: ArrayView2<T>,
) -> Result<Array1<T>> {
    const OP: &str = "bspline_basis_backward";
    let (lo, hi) = check(OP, &x, n_basis, degree)?;
    let m = x.len();
    if grad.dim() != (m, n_basis) {
        return Err(Error::ShapeMismatch { op: OP, left: (m, n_basis), right: grad.dim() });
    }
    let knots = knots(x[lo], x[hi], n_basis, degree);
    let mut gx = Array1::zeros(m);
    let (mut glo, mut ghi) = (T::zero(), T::zero());
    for (j, (&xj, g_row)) in x.iter().zip(grad.rows()).enumerate() {
        let point = Dual { v: xj, dx: T::one(), dlo: T::zero(), dhi: T::zero() };
        for (i, (n, &g)) in cox_de_boor(point, &knots, degree).into_iter().zip(g_row).enumerate() {
            if (j, i) == (m - 1, n_basis - 1) {
                continue; // set to 1: constant
            }
            gx[j] = gx[j] + g * n.dx;
            glo = glo + g * n.dlo;
            ghi = ghi + g * n.dhi;
        }
    }
    gx[lo] = gx[lo] + glo;
    gx[hi] = gx[hi] + ghi;
    Ok(gx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The reference's recursion, written recursively and literally on `f64`.
    fn slow_n(x: f64, d: usize, i: usize, t: &[f64]) -> f64 {
        if d == 0 {
            return if t[i] <= x && x < t[i + 1] { 1.0 } else { 0.0 };
        }
        let den1 = t[i + d] - t[i];
        let term1 = if den1.abs() > 1e-10 { (x - t[i]) / (den1 + 1e-10) * slow_n(x, d - 1, i, t) } else { 0.0 };
        let den2 = t[i + d + 1] - t[i + 1];
        let term2 =
            if den2.abs() > 1e-10 { (t[i + d + 1] - x) / (den2 + 1e-10) * slow_n(x, d - 1, i + 1, t) } else { 0.0 };
        term1 + term2
    }

    fn slow_basis(x: &Array1<f64>, k: usize, p: usize) -> Array2<f64> {
        let lo = x.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut t = vec![lo; p];
        t.extend(Array1::linspace(lo, hi, k - p + 1));
        // `linspace` may miss `hi` by an ulp; the spec's end knot is `max x` exactly.
        *t.last_mut().unwrap() = hi;
        t.extend(vec![hi; p]);
        let mut b = Array2::from_shape_fn((x.len(), k), |(j, i)| slow_n(x[j], p, i, &t));
        b[[x.len() - 1, k - 1]] = 1.0;
        b
    }

    fn max_abs(a: &Array2<f64>) -> f64 {
        a.iter().fold(0.0, |m, x| m.max(x.abs()))
    }

    /// `m` sorted points in `[-1, 1]` that keep a distance of at least `gap` from each other
    /// and from every knot other than the end knots they define.
    fn separated_points(m: usize, k: usize, p: usize, gap: f64, seed: u64) -> Array1<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        loop {
            let mut x: Vec<f64> = (0..m).map(|_| rng.random_range(-1.0..1.0)).collect();
            x.sort_by(f64::total_cmp);
            let x = Array1::from(x);
            let t = bspline_basis(x.view(), k, p).unwrap().knots;
            let inner = &t.as_slice().unwrap()[p + 1..k];
            let far_from_knots = x.iter().all(|xi| inner.iter().all(|ti| (xi - ti).abs() > gap));
            let far_apart = x.windows(2).into_iter().all(|w| w[1] - w[0] > gap);
            if far_from_knots && far_apart {
                return x;
            }
        }
    }

    #[test]
    fn literal_degree_one() {
        let x = array![0.0, 0.25, 0.5, 0.75, 1.0];
        let b = bspline_basis(x.view(), 3, 1).unwrap();
        assert_eq!(b.knots, array![0.0, 0.0, 0.5, 1.0, 1.0]);
        // Hat functions; 0.5/(0.5 + 1e-10) etc. differ from the exact values by ~1e-10.
        let expect = array![[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0],];
        assert!(max_abs(&(&b.values - &expect)) < 1e-9);
        assert!(max_abs(&(&b.values - &expect)) > 0.0, "the 1e-10 must be there");
        assert_eq!(b.values, slow_basis(&x, 3, 1));
    }

    #[test]
    fn knots_layout() {
        // p = 3, K = 6: 3 × lo, linspace(lo, hi, 4), 3 × hi.
        let b = bspline_basis(array![2.0, -1.0, 5.0, 0.0].view(), 6, 3).unwrap();
        assert_eq!(b.knots, array![-1.0, -1.0, -1.0, -1.0, 1.0, 3.0, 5.0, 5.0, 5.0, 5.0]);
    }

    #[test]
    fn matches_the_literal_recursion() {
        for (m, k, p, seed) in [(6, 6, 3, 1), (18, 18, 3, 2), (5, 4, 2, 3), (7, 5, 0, 4)] {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let x = Array1::from_shape_fn(m, |_| rng.random_range(-1.0..1.0));
            let b = bspline_basis(x.view(), k, p).unwrap();
            assert!(max_abs(&(&b.values - &slow_basis(&x, k, p))) < 1e-15, "m {m} k {k} p {p}");
        }
    }

    #[test]
    fn partition_of_unity() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut x: Vec<f64> = (0..30).map(|_| rng.random_range(-1.0..1.0)).collect();
        x.sort_by(f64::total_cmp);
        let x = Array1::from(x);
        for (k, p) in [(18, 3), (6, 3), (5, 2), (4, 1)] {
            let b = bspline_basis(x.view(), k, p).unwrap();
            // Every point, the minimum included (the last one gets the right-end fix).
            for (j, row) in b.values.rows().into_iter().enumerate() {
                assert!((row.sum() - 1.0).abs() < 1e-6, "point {j}: {}", row.sum());
                assert!(row.iter().all(|&v| v >= 0.0));
            }
        }
        // f32 as well.
        let b = bspline_basis(x.mapv(|v| v as f32).view(), 18, 3).unwrap();
        assert!(b.values.rows().into_iter().all(|r| (r.sum() - 1.0).abs() < 1e-5));
    }

    #[test]
    fn right_end_goes_to_the_last_point() {
        // Unsorted: the maximum (index 1) has an all-zero row, the last point gets a 1.
        let x = array![0.0, 1.0, 0.5];
        let b = bspline_basis(x.view(), 4, 2).unwrap();
        assert!(b.values.row(1).iter().all(|&v| v == 0.0));
        assert_eq!(b.values[[2, 3]], 1.0);
        // Ties at the maximum: only the last point gets the 1.
        let b = bspline_basis(array![0.0, 1.0, 1.0].view(), 4, 2).unwrap();
        assert!(b.values.row(1).iter().all(|&v| v == 0.0));
        assert_eq!(b.values.row(2), array![0.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn degenerate_points() {
        // All points equal (e.g. a repeated eigenvalue): every denominator is dropped.
        let x = array![0.3, 0.3, 0.3];
        let b = bspline_basis(x.view(), 5, 3).unwrap();
        let mut expect = Array2::zeros((3, 5));
        expect[[2, 4]] = 1.0;
        assert_eq!(b.values, expect);
        let g = bspline_basis_backward(x.view(), 5, 3, Array2::ones((3, 5)).view()).unwrap();
        assert_eq!(g, Array1::zeros(3));
        // A single point.
        let b = bspline_basis(array![2.0f32].view(), 4, 3).unwrap();
        assert_eq!(b.values, array![[0.0f32, 0.0, 0.0, 1.0]]);
    }

    #[test]
    fn literal_backward() {
        // Degree 1, K = 2, knots lo, lo, hi, hi: B_(j,0) = (hi − x_j)/(hi − lo),
        // B_(j,1) = (x_j − lo)/(hi − lo). L = B_(1,1) − 2·B_(1,0) + B_(0,0):
        // B_(0,0) = 1 identically (x_0 = lo) → 0; with D = hi − lo = 2, x_1 − lo = 0.5:
        // ∂L/∂x_1 = 1/D + 2/D = 1.5,
        // ∂L/∂lo = (x_1 − hi)/D² − 2·(hi − x_1)/D² = −1.5/4 − 3/4 = −1.125,
        // ∂L/∂hi = −(x_1 − lo)/D² − 2·(x_1 − lo)/D² = −0.375.
        let x = array![-1.0, -0.5, 1.0];
        let mut grad = Array2::zeros((3, 2));
        grad[[1, 1]] = 1.0;
        grad[[1, 0]] = -2.0;
        grad[[0, 0]] = 1.0;
        grad[[2, 1]] = 7.0; // the entry set to 1: no gradient
        let g = bspline_basis_backward(x.view(), 2, 1, grad.view()).unwrap();
        let expect = array![-1.125, 1.5, -0.375];
        assert!((&g - &expect).iter().all(|d: &f64| d.abs() < 1e-9), "{g}");
    }

    fn check_gradient(x: &Array1<f64>, k: usize, p: usize, seed: u64) {
        let m = x.len();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let weights = Array2::from_shape_fn((m, k), |_| rng.random_range(-1.0..1.0));
        let loss = |x: &Array1<f64>| (&bspline_basis(x.view(), k, p).unwrap().values * &weights).sum();
        let analytic = bspline_basis_backward(x.view(), k, p, weights.view()).unwrap();
        let eps = 1e-6;
        let pattern = |x: &Array1<f64>| bspline_basis(x.view(), k, p).unwrap().values.mapv(|v| v != 0.0);
        for q in 0..m {
            let mut plus = x.clone();
            plus[q] += eps;
            let mut minus = x.clone();
            minus[q] -= eps;
            // No point crossed a knot: the same basis functions are active.
            assert_eq!(pattern(&plus), pattern(x), "point {q} crossed a knot");
            assert_eq!(pattern(&minus), pattern(x), "point {q} crossed a knot");
            let numeric = (loss(&plus) - loss(&minus)) / (2.0 * eps);
            assert!(
                (numeric - analytic[q]).abs() <= 1e-5 * analytic[q].abs().max(1.0),
                "point {q}: numeric {numeric} vs analytic {}",
                analytic[q]
            );
        }
    }

    #[test]
    fn backward_matches_finite_differences() {
        for (m, k, p, seed) in [(8, 8, 3, 6), (18, 18, 3, 7), (6, 5, 2, 8), (5, 4, 1, 9)] {
            let x = separated_points(m, k, p, 1e-3, seed);
            check_gradient(&x, k, p, seed + 100);
            // Unsorted: the min and max sit inside, another point is last.
            let mut shuffled = x.to_vec();
            shuffled.swap(0, m / 2);
            shuffled.swap(m - 1, 1);
            check_gradient(&Array1::from(shuffled), k, p, seed + 200);
        }
    }

    #[test]
    fn rejects_bad_input() {
        let x = array![0.0, 1.0];
        let err = bspline_basis(x.view(), 3, 3).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
        let err = bspline_basis(Array1::<f64>::zeros(0).view(), 4, 3).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
        let err = bspline_basis(array![0.0, f64::NAN].view(), 4, 3).unwrap_err();
        assert!(matches!(err, Error::NonFinite { .. }), "{err}");
        let err = bspline_basis_backward(x.view(), 4, 3, Array2::zeros((2, 3)).view()).unwrap_err();
        assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
        let err = bspline_basis_backward(array![f64::INFINITY].view(), 4, 3, Array2::zeros((1, 4)).view()).unwrap_err();
        assert!(matches!(err, Error::NonFinite { .. }), "{err}");
    }
}
