//! The `k` smallest eigenpairs of a symmetric matrix, and the exact gradient through them,
//! without a full eigendecomposition.
//!
//! # Forward
//!
//! Householder tridiagonalisation `A = Q T Qᵀ` (LAPACK `dsytrd`), bisection for the
//! eigenvalues of `T` (`dstebz`), inverse iteration for their eigenvectors `Y` (`dstein`),
//! and the back-transformation `U_K = Q Y_K` of those few vectors only (`dormtr`). The
//! divide-and-conquer stage and the `O(n³)` back-transformation of all `n` vectors that
//! [`symmetric_eigen`](crate::symmetric_eigen) pays are skipped: after the reduction,
//! everything is `O(n²k)`. Everything is `f64`; eigenvectors follow the sign convention of
//! [`canonicalize_signs`](crate::canonicalize_signs).
//!
//! # Backward
//!
//! Spec §5.1, `∂A = U (M_s ⊘ E + diag(gλ)) Uᵀ`, with gradient on the `k` kept columns only
//! (`gU = [G, 0]`). Splitting `U` into the kept set `K` and the rest:
//!
//! ```text
//! ∂A = U_K mid U_Kᵀ + ½ (X U_Kᵀ + U_K Xᵀ)
//! mid_ii = gλ_i,   mid_ij = (M_ij − M_ji) / (2 (λ_j − λ_i)),   M = U_Kᵀ G
//! x_j = Σ_(i ∉ K) u_i (u_iᵀ g_j) / (λ_j − λ_i) = (λ_j I − A)⁺ (I − U_K U_Kᵀ) g_j
//! ```
//!
//! The resolvent `x_j` is applied through the tridiagonal form: `h = Qᵀ g_j`, project out the
//! known eigenvectors of `T`, solve `(λ_j I − T) w = h` by Gaussian elimination with partial
//! pivoting (`O(n)`), project again, `x_j = Q w`. The system is singular in the direction of
//! `y_j` itself, but the right-hand side has no component there, and whatever rounding puts
//! there is projected out again; the components that matter are those along eigenvectors
//! with gaps far above rounding level.
//!
//! **Degenerate pairs.** A pair whose eigenvalues differ by no more than
//! [`eigen_gap_tolerance`] (`n ε ‖T‖₁`, the eigensolver's rounding
//! level) has no defined eigenvector rotation and contributes no term, exactly as in
//! [`symmetric_eigen_backward`](crate::symmetric_eigen_backward). Eigenvalues outside `K`
//! that close to `λ_(k−1)` (a null space, for example) are computed explicitly so that they
//! too are skipped instead of being divided by a rounding-level gap; [`SmallestEigen::degenerate_pairs`]
//! counts what was skipped. Every other pair contributes, however small its gap.

use std::os::raw::{c_char, c_int};

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use crate::eigh::{check_k, eigen_gap_tolerance};
use crate::{Error, Real, Result};

const OP: &str = "smallest_eigen";

/// The `k` smallest eigenpairs of a symmetric matrix, with what [`SmallestEigen::backward`]
/// needs to differentiate through them. Made by [`smallest_eigen()`].
#[derive(Debug, Clone)]
pub struct SmallestEigen {
    /// The `k` smallest eigenvalues, ascending.
    pub values: Array1<f64>,
    /// Their eigenvectors as the columns of an `n × k` matrix, each with its largest-magnitude
    /// entry positive.
    pub vectors: Array2<f64>,
    n: usize,
    /// `dsytrd`'s Householder reflectors (column-major `n × n`) and their scalars.
    reflectors: Vec<f64>,
    tau: Vec<f64>,
    /// `T`: diagonal (`n`) and off-diagonal (`n − 1`).
    diag: Vec<f64>,
    offdiag: Vec<f64>,
    /// Eigenvalues of `T` up to `λ_(k−1) + tol` (at least `k`), ascending, and their
    /// eigenvectors in `T`'s basis (column-major `n × m`), signed like `vectors`.
    cluster_values: Vec<f64>,
    cluster_vectors: Vec<f64>,
    gap_tol: f64,
}

/// The `k` smallest eigenpairs of the symmetric part `(A + Aᵀ)/2` of `a`, computed in `f64`
/// without a full eigendecomposition (see the [module docs](self)).
///
/// Agrees with the first `k` eigenpairs of [`symmetric_eigen`](crate::symmetric_eigen) up to
/// rounding (and, inside a repeated eigenvalue, up to the choice of basis).
///
/// # Errors
///
/// [`Error::NotSquare`], [`Error::NonFinite`] for NaN or infinite entries, [`Error::InvalidK`]
/// unless `1 ≤ k ≤ n`, and [`Error::NoConvergence`] when LAPACK fails.
///
/// # Example
///
/// ```
/// # extern crate openblas_src;
/// use hagcn_linalg::{smallest_eigen, symmetric_eigen};
/// use ndarray::Array2;
///
/// let a = Array2::from_shape_fn((6, 6), |(i, j)| 1.0 / (1.0 + i as f64 + j as f64));
/// let low = smallest_eigen(a.view(), 2).unwrap();
/// let full = symmetric_eigen(a.view()).unwrap();
/// assert!((low.values[1] - full.values[1]).abs() < 1e-12);
/// assert!((&low.vectors.column(1) - &full.vectors.column(1)).iter().all(|x| x.abs() < 1e-8));
/// ```
pub fn smallest_eigen<T: Real>(a: ArrayView2<T>, k: usize) -> Result<SmallestEigen> {
    let (rows, cols) = a.dim();
    if rows != cols {
        return Err(Error::NotSquare { op: OP, rows, cols });
    }
    let n = rows;
    check_k(k, n)?;
    if !a.iter().all(|x| x.is_finite()) {
        return Err(Error::NonFinite { op: OP });
    }
    let n_c = c_int::try_from(n).map_err(|_| no_convergence(format!("matrix of order {n} is too large for LAPACK")))?;
    // Symmetric, so row-major storage is also the column-major storage LAPACK reads.
    let mut reflectors: Vec<f64> = Vec::with_capacity(n * n);
    for i in 0..n {
        for j in 0..n {
            reflectors.push(0.5 * (a[[i, j]].as_f64() + a[[j, i]].as_f64()));
        }
    }
    let (diag, offdiag, tau) = tridiagonalize(&mut reflectors, n_c)?;
    let norm = (0..n)
        .map(|i| {
            diag[i].abs() + if i > 0 { offdiag[i - 1].abs() } else { 0.0 } + offdiag.get(i).map_or(0.0, |e| e.abs())
        })
        .fold(0.0, f64::max);
    let gap_tol = eigen_gap_tolerance(n, norm);

    // Eigenvalues 1..k, then every eigenvalue up to λ_(k−1) + tol, so that degenerate
    // partners of the kept set are known explicitly.
    let first = bisect(&diag, &offdiag, Range::Index(k))?;
    let top = first.values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let wide = bisect(&diag, &offdiag, Range::Value(-norm - 1.0, top + gap_tol))?;
    let spectrum = if wide.values.len() >= k { wide } else { first };
    let (cluster_values, mut cluster_vectors) = tridiagonal_eigenvectors(&diag, &offdiag, &spectrum)?;
    let m = cluster_values.len();

    // U = Q Y for the m vectors, then the sign convention on U (mirrored on Y).
    let mut u = cluster_vectors.clone();
    apply_q(&reflectors, &tau, n_c, &mut u, m, false)?;
    for j in 0..m {
        let col = &u[j * n..(j + 1) * n];
        let mut best = 0.0f64;
        let mut negative = false;
        for &x in col {
            if x.abs() > best {
                best = x.abs();
                negative = x < 0.0;
            }
        }
        if negative {
            u[j * n..(j + 1) * n].iter_mut().for_each(|x| *x = -*x);
            cluster_vectors[j * n..(j + 1) * n].iter_mut().for_each(|x| *x = -*x);
        }
    }
    let vectors = Array2::from_shape_fn((n, k), |(i, j)| u[j * n + i]);
    let values = Array1::from_iter(cluster_values[..k].iter().copied());
    Ok(SmallestEigen { values, vectors, n, reflectors, tau, diag, offdiag, cluster_values, cluster_vectors, gap_tol })
}

impl SmallestEigen {
    /// Eigenvalue gaps at or below this are numerically zero (see
    /// [`eigen_gap_tolerance`]); such pairs contribute no rotation
    /// term to [`SmallestEigen::backward`].
    pub fn gap_tolerance(&self) -> f64 {
        self.gap_tol
    }

    /// How many pairs `(i, j)` with `j` kept and `i ≠ j` [`SmallestEigen::backward`] skips
    /// because their eigenvalues are within [`SmallestEigen::gap_tolerance`]. Zero on a matrix
    /// without (numerically) repeated eigenvalues at the bottom of its spectrum.
    pub fn degenerate_pairs(&self) -> usize {
        let k = self.values.len();
        (0..k)
            .map(|j| {
                (0..self.cluster_values.len())
                    .filter(|&i| i != j && (self.cluster_values[i] - self.cluster_values[j]).abs() <= self.gap_tol)
                    .count()
            })
            .sum()
    }

    /// The gradient with respect to `A` (`n × n`, symmetric) of a loss whose gradients with
    /// respect to [`SmallestEigen::values`] and [`SmallestEigen::vectors`] are `g_values`
    /// (length `k`) and `g_vectors` (`n × k`); see the [module docs](self).
    ///
    /// # Errors
    ///
    /// [`Error::LengthMismatch`] or [`Error::ShapeMismatch`] for gradients of the wrong size.
    pub fn backward(&self, g_values: ArrayView1<f64>, g_vectors: ArrayView2<f64>) -> Result<Array2<f64>> {
        let (n, k) = self.vectors.dim();
        if g_values.len() != k {
            return Err(Error::LengthMismatch { op: "smallest_eigen backward", expected: k, got: g_values.len() });
        }
        if g_vectors.dim() != (n, k) {
            return Err(Error::ShapeMismatch { op: "smallest_eigen backward", left: (n, k), right: g_vectors.dim() });
        }
        let lambda = &self.values;
        let tol = self.gap_tol;
        // The kept block: mid = M_s ⊘ E + diag(gλ).
        let m = self.vectors.t().dot(&g_vectors);
        let mid = Array2::from_shape_fn((k, k), |(i, j)| {
            if i == j {
                g_values[i]
            } else {
                let gap = lambda[j] - lambda[i];
                if gap.abs() <= tol { 0.0 } else { 0.5 * (m[[i, j]] - m[[j, i]]) / gap }
            }
        });

        // X = resolvent applied to each g_j, through T.
        let n_c = c_int::try_from(self.n).expect("checked in the forward pass");
        let mut h: Vec<f64> = Vec::with_capacity(n * k);
        for j in 0..k {
            h.extend(g_vectors.column(j).iter());
        }
        apply_q(&self.reflectors, &self.tau, n_c, &mut h, k, true)?;
        let y = &self.cluster_vectors;
        let mc = self.cluster_values.len();
        let project = |w: &mut [f64]| -> Vec<f64> {
            let coeffs: Vec<f64> = (0..mc).map(|i| dot(&y[i * n..(i + 1) * n], w)).collect();
            for (i, &c) in coeffs.iter().enumerate() {
                axpy(-c, &y[i * n..(i + 1) * n], w);
            }
            coeffs
        };
        let mut x = vec![0.0f64; n * k];
        for j in 0..k {
            let w = &mut x[j * n..(j + 1) * n];
            w.copy_from_slice(&h[j * n..(j + 1) * n]);
            let coeffs = project(w);
            solve_shifted(&self.diag, &self.offdiag, lambda[j], self.gap_tol, w);
            project(w);
            // Known eigenvectors outside K (degenerate partners excluded).
            for i in k..mc {
                let gap = lambda[j] - self.cluster_values[i];
                if gap.abs() > tol {
                    axpy(coeffs[i] / gap, &y[i * n..(i + 1) * n], w);
                }
            }
        }
        apply_q(&self.reflectors, &self.tau, n_c, &mut x, k, false)?;
        let x = Array2::from_shape_fn((n, k), |(i, j)| x[j * n + i]);
        let u = &self.vectors;
        let left = u.dot(&mid) + &(0.5 * &x);
        let mut grad = left.dot(&u.t());
        grad += &(0.5 * u.dot(&x.t()));
        Ok(grad)
    }
}

fn no_convergence(detail: String) -> Error {
    Error::NoConvergence { op: OP, detail }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    y.iter_mut().zip(x).for_each(|(y, x)| *y += alpha * x);
}

/// Runs a LAPACK routine that takes a workspace twice: a size query (`lwork = −1`), then the
/// real call with the workspace it asked for. `call(work, lwork, info)` makes the call.
fn with_workspace(routine: &str, mut call: impl FnMut(*mut f64, c_int, &mut c_int)) -> Result<()> {
    let mut info: c_int = 0;
    let mut query = 0.0f64;
    call(&mut query, -1, &mut info);
    if info == 0 {
        let lwork = (query as c_int).max(1);
        let mut work = vec![0.0f64; lwork as usize];
        call(work.as_mut_ptr(), lwork, &mut info);
    }
    if info != 0 {
        return Err(no_convergence(format!("{routine} failed (info = {info})")));
    }
    Ok(())
}

/// `dsytrd` (lower): overwrites `a` with the reflectors, returns `(diag, offdiag, tau)`.
fn tridiagonalize(a: &mut [f64], n: c_int) -> Result<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    let size = n as usize;
    let uplo = b'L' as c_char;
    let mut d = vec![0.0f64; size];
    let mut e = vec![0.0f64; size.saturating_sub(1).max(1)];
    let mut tau = vec![0.0f64; size.saturating_sub(1).max(1)];
    with_workspace("dsytrd", |work, lwork, info| {
        // SAFETY: `a` is n × n, d has n entries, e and tau n − 1 (at least 1), and `work` holds
        // `lwork` entries (or is the one-entry size query).
        unsafe {
            lapack_sys::dsytrd_(
                &uplo,
                &n,
                a.as_mut_ptr(),
                &n,
                d.as_mut_ptr(),
                e.as_mut_ptr(),
                tau.as_mut_ptr(),
                work,
                &lwork,
                info,
            )
        }
    })?;
    e.truncate(size.saturating_sub(1));
    tau.truncate(size.saturating_sub(1));
    Ok((d, e, tau))
}

/// `C ← Q C` or `C ← Qᵀ C` for the column-major `n × cols` block `c` (`dormtr`, left, lower).
fn apply_q(reflectors: &[f64], tau: &[f64], n: c_int, c: &mut [f64], cols: usize, transpose: bool) -> Result<()> {
    if n <= 1 || cols == 0 {
        return Ok(()); // Q = I
    }
    let (side, uplo, trans) = (b'L' as c_char, b'L' as c_char, if transpose { b'T' } else { b'N' } as c_char);
    let cols_c = cols as c_int;
    with_workspace("dormtr", |work, lwork, info| {
        // SAFETY: A is n × n, tau has n − 1 entries, C is n × cols (ldc = n), and `work` holds
        // `lwork` entries (or is the one-entry size query).
        unsafe {
            lapack_sys::dormtr_(
                &side,
                &uplo,
                &trans,
                &n,
                &cols_c,
                reflectors.as_ptr(),
                &n,
                tau.as_ptr(),
                c.as_mut_ptr(),
                &n,
                work,
                &lwork,
                info,
            )
        }
    })
}

enum Range {
    /// Eigenvalues 1..=k.
    Index(usize),
    /// Eigenvalues in `(lo, hi]`.
    Value(f64, f64),
}

/// Eigenvalues of `T` found by bisection, in `dstebz`'s block order, with its block data.
struct Bisection {
    values: Vec<f64>,
    block: Vec<c_int>,
    split: Vec<c_int>,
}

fn bisect(d: &[f64], e: &[f64], range: Range) -> Result<Bisection> {
    let n = d.len();
    let n_c = n as c_int;
    let (kind, vl, vu, il, iu) = match range {
        Range::Index(k) => (b'I', 0.0, 0.0, 1 as c_int, k as c_int),
        Range::Value(lo, hi) => (b'V', lo, hi, 0, 0),
    };
    let (kind, order) = (kind as c_char, b'B' as c_char);
    // LAPACK's default absolute tolerance, ε‖T‖₁: the accuracy the gap analysis needs
    // (gaps are compared with n ε ‖T‖₁). A tinier one makes bisection chase the relative
    // digits of eigenvalues at rounding level, which a null space has by the hundred.
    let abstol = 0.0;
    let (mut m, mut nsplit, mut info): (c_int, c_int, c_int) = (0, 0, 0);
    let mut w = vec![0.0f64; n];
    let mut block = vec![0 as c_int; n];
    let mut split = vec![0 as c_int; n];
    let mut work = vec![0.0f64; 4 * n];
    let mut iwork = vec![0 as c_int; 3 * n];
    let e_ptr = if e.is_empty() { [0.0f64].as_ptr() } else { e.as_ptr() };
    // SAFETY: d has n entries, e n − 1 (a dummy when n = 1), outputs and workspaces have the
    // sizes dstebz documents (w, block, split: n; work: 4n; iwork: 3n).
    unsafe {
        lapack_sys::dstebz_(
            &kind,
            &order,
            &n_c,
            &vl,
            &vu,
            &il,
            &iu,
            &abstol,
            d.as_ptr(),
            e_ptr,
            &mut m,
            &mut nsplit,
            w.as_mut_ptr(),
            block.as_mut_ptr(),
            split.as_mut_ptr(),
            work.as_mut_ptr(),
            iwork.as_mut_ptr(),
            &mut info,
        );
    }
    if info != 0 {
        return Err(no_convergence(format!("dstebz failed (info = {info})")));
    }
    w.truncate(m as usize);
    block.truncate(m as usize);
    Ok(Bisection { values: w, block, split })
}

/// Eigenvectors of `T` for the eigenvalues found by [`bisect`] (`dstein`), sorted ascending,
/// column-major. Falls back to a dense eigendecomposition of `T` if inverse iteration fails.
fn tridiagonal_eigenvectors(d: &[f64], e: &[f64], found: &Bisection) -> Result<(Vec<f64>, Vec<f64>)> {
    let n = d.len();
    let m = found.values.len();
    let (n_c, m_c) = (n as c_int, m as c_int);
    let mut z = vec![0.0f64; n * m];
    let mut work = vec![0.0f64; 5 * n];
    let mut iwork = vec![0 as c_int; n];
    let mut ifail = vec![0 as c_int; m];
    let mut info: c_int = 0;
    let e_ptr = if e.is_empty() { [0.0f64].as_ptr() } else { e.as_ptr() };
    // SAFETY: the sizes dstein documents: z is n × m (ldz = n), work 5n, iwork n, ifail m;
    // w, block and split come from dstebz with order 'B'.
    unsafe {
        lapack_sys::dstein_(
            &n_c,
            d.as_ptr(),
            e_ptr,
            &m_c,
            found.values.as_ptr(),
            found.block.as_ptr(),
            found.split.as_ptr(),
            z.as_mut_ptr(),
            &n_c,
            work.as_mut_ptr(),
            iwork.as_mut_ptr(),
            ifail.as_mut_ptr(),
            &mut info,
        );
    }
    let mut order: Vec<usize> = (0..m).collect();
    if info == 0 {
        order.sort_by(|&a, &b| found.values[a].total_cmp(&found.values[b]));
        let values = order.iter().map(|&i| found.values[i]).collect();
        let vectors = order.iter().flat_map(|&i| z[i * n..(i + 1) * n].iter().copied()).collect();
        return Ok((values, vectors));
    }
    // Inverse iteration failed for some vector: decompose T densely instead (O(n³), rare).
    let t = Array2::from_shape_fn((n, n), |(i, j)| {
        if i == j {
            d[i]
        } else if i + 1 == j {
            e[i]
        } else if j + 1 == i {
            e[j]
        } else {
            0.0
        }
    });
    let full = crate::symmetric_eigen(t.view())?;
    let values = full.values.iter().take(m).copied().collect();
    let vectors = full.vectors.axis_iter(Axis(1)).take(m).flat_map(|c| c.to_vec()).collect();
    Ok((values, vectors))
}

/// Solves `(λ I − T) w = r` in place by Gaussian elimination with partial pivoting (LAPACK
/// `dgtsv`'s algorithm). A pivot that vanishes (λ is an eigenvalue of `T` to working
/// precision) is replaced by `tiny`: the solution then has a large component along that
/// eigenvector, which the caller projects out.
fn solve_shifted(d: &[f64], e: &[f64], lambda: f64, tiny: f64, r: &mut [f64]) {
    let n = d.len();
    if n == 0 {
        return;
    }
    let tiny = tiny.max(f64::MIN_POSITIVE);
    let nonzero = |x: f64| if x == 0.0 { tiny } else { x };
    // B = λI − T: diagonal `dg`, super-diagonal `du`, sub-diagonal `dl`; after elimination
    // `dl[i]` holds the second super-diagonal of U.
    let mut dg: Vec<f64> = d.iter().map(|&x| lambda - x).collect();
    let mut du: Vec<f64> = e.iter().map(|&x| -x).collect();
    let mut dl: Vec<f64> = e.iter().map(|&x| -x).collect();
    for i in 0..n.saturating_sub(1) {
        if dg[i].abs() >= dl[i].abs() {
            dg[i] = nonzero(dg[i]);
            let fact = dl[i] / dg[i];
            dg[i + 1] -= fact * du[i];
            r[i + 1] -= fact * r[i];
            dl[i] = 0.0;
        } else {
            let fact = dg[i] / dl[i];
            dg[i] = dl[i];
            let temp = dg[i + 1];
            dg[i + 1] = du[i] - fact * temp;
            if i + 2 < n {
                dl[i] = du[i + 1];
                du[i + 1] = -fact * dl[i];
            } else {
                dl[i] = 0.0;
            }
            du[i] = temp;
            let temp = r[i];
            r[i] = r[i + 1];
            r[i + 1] = temp - fact * r[i + 1];
        }
    }
    dg[n - 1] = nonzero(dg[n - 1]);
    r[n - 1] /= dg[n - 1];
    if n > 1 {
        r[n - 2] = (r[n - 2] - du[n - 2] * r[n - 1]) / dg[n - 2];
    }
    for i in (0..n.saturating_sub(2)).rev() {
        r[i] = (r[i] - du[i] * r[i + 1] - dl[i] * r[i + 2]) / dg[i];
    }
}

#[cfg(test)]
mod tests {
    extern crate openblas_src;

    use super::*;
    use crate::{symmetric_eigen, symmetric_eigen_backward};
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Array2::from_shape_fn((rows, cols), |_| rng.random_range(-1.0..1.0))
    }

    /// A symmetric matrix with the given spectrum and a random orthogonal basis.
    fn with_spectrum(values: &[f64], seed: u64) -> Array2<f64> {
        let n = values.len();
        let q = symmetric_eigen((random(n, n, seed) + random(n, n, seed).t()).view()).unwrap().vectors;
        let scaled = &q * &Array1::from(values.to_vec());
        scaled.dot(&q.t())
    }

    /// The batch graph of HAGCN built from "features" `z` (n × h): Â of Z Zᵀ/n + 1.
    fn batch_graph(z: &Array2<f64>) -> Array2<f64> {
        let n = z.nrows() as f64;
        let a = z.dot(&z.t()) / n + 1.0;
        crate::normalized_adjacency(a.view()).unwrap().0
    }

    /// GELU-like non-negative features with a common offset, as real hidden layers give.
    fn features(n: usize, h: usize, seed: u64) -> Array2<f64> {
        random(n, h, seed).mapv(|x| (x + 0.3).max(0.0))
    }

    fn max_abs(a: &Array2<f64>) -> f64 {
        a.iter().fold(0.0, |m, x| m.max(x.abs()))
    }

    #[test]
    fn tridiagonal_solve_matches_dense() {
        let n = 9;
        let d = random(1, n, 1).row(0).to_vec();
        let e = random(1, n - 1, 2).row(0).to_vec();
        let lambda = 0.3;
        let dense = Array2::from_shape_fn((n, n), |(i, j)| {
            if i == j {
                lambda - d[i]
            } else if i + 1 == j {
                -e[i]
            } else if j + 1 == i {
                -e[j]
            } else {
                0.0
            }
        });
        let rhs = random(1, n, 3).row(0).to_vec();
        let mut w = rhs.clone();
        solve_shifted(&d, &e, lambda, 1e-300, &mut w);
        let back = dense.dot(&Array1::from(w));
        assert!(back.iter().zip(&rhs).all(|(a, b)| (a - b).abs() < 1e-12), "{back} vs {rhs:?}");
        // with pivoting forced by tiny diagonals
        let zeros = vec![0.0; n];
        let mut w = rhs.clone();
        solve_shifted(&zeros, &e, 0.0, 1e-300, &mut w);
        let dense0 = Array2::from_shape_fn((n, n), |(i, j)| {
            if i + 1 == j {
                -e[i]
            } else if j + 1 == i {
                -e[j]
            } else {
                0.0
            }
        });
        if n % 2 == 0 {
            let back = dense0.dot(&Array1::from(w));
            assert!(back.iter().zip(&rhs).all(|(a, b)| (a - b).abs() < 1e-10));
        }
    }

    #[test]
    fn matches_the_full_decomposition() {
        for (n, k, seed) in [(1, 1, 1), (2, 1, 2), (7, 3, 3), (40, 18, 4), (40, 40, 5)] {
            let a = random(n, n, seed) + random(n, n, seed + 100).t();
            let low = smallest_eigen(a.view(), k).unwrap();
            let full = symmetric_eigen(a.view()).unwrap();
            for j in 0..k {
                assert!((low.values[j] - full.values[j]).abs() < 1e-12);
                let diff = &low.vectors.column(j) - &full.vectors.column(j);
                assert!(diff.iter().all(|x| x.abs() < 1e-9), "n {n} column {j}: {diff}");
            }
            assert_eq!(low.degenerate_pairs(), 0);
        }
    }

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(smallest_eigen(Array2::<f64>::zeros((2, 3)).view(), 1), Err(Error::NotSquare { .. })));
        assert!(matches!(smallest_eigen(Array2::<f64>::zeros((3, 3)).view(), 4), Err(Error::InvalidK { .. })));
        assert!(matches!(smallest_eigen(Array2::<f64>::zeros((3, 3)).view(), 0), Err(Error::InvalidK { .. })));
        let mut a = Array2::<f64>::eye(3);
        a[[1, 2]] = f64::NAN;
        assert!(matches!(smallest_eigen(a.view(), 1), Err(Error::NonFinite { .. })));
    }

    /// The subset backward against the full spec §5.1 formula with zero gradient on the
    /// discarded columns.
    fn assert_backward_matches_full(a: &Array2<f64>, k: usize, seed: u64, rtol: f64) {
        let n = a.nrows();
        let low = smallest_eigen(a.view(), k).unwrap();
        let full = symmetric_eigen(a.view()).unwrap();
        let g_vectors = random(n, k, seed);
        let g_values = random(1, k, seed + 1).row(0).to_owned();
        let got = low.backward(g_values.view(), g_vectors.view()).unwrap();
        let mut gu = Array2::zeros((n, n));
        gu.slice_mut(ndarray::s![.., ..k]).assign(&g_vectors);
        let mut gl = Array1::zeros(n);
        gl.slice_mut(ndarray::s![..k]).assign(&g_values);
        // Use the subset's own vectors for the kept columns (inside a cluster the basis is
        // not unique, and the formula is only defined for one given basis).
        let mut u = full.vectors.clone();
        u.slice_mut(ndarray::s![.., ..k]).assign(&low.vectors);
        let expect = symmetric_eigen_backward(full.values.view(), u.view(), gl.view(), gu.view()).unwrap();
        let err = max_abs(&(&got - &expect)) / max_abs(&expect);
        assert!(err < rtol, "relative error {err:e} (n {n}, k {k})");
        assert!(max_abs(&(&got - &got.t())) <= 1e-12 * max_abs(&got));
    }

    #[test]
    fn backward_matches_the_full_formula_on_random_matrices() {
        for (n, k, seed) in [(2, 1, 1), (6, 2, 2), (30, 18, 3), (30, 30, 4)] {
            let a = random(n, n, seed) + random(n, n, seed + 7).t();
            assert_backward_matches_full(&a, k, seed + 20, 1e-9);
        }
    }

    #[test]
    fn backward_on_clustered_tiny_eigenvalues() {
        // The shape of real batch graphs: one eigenvalue 1, the rest below 5e-3, the k
        // smallest near 1e-5 with neighbouring gaps near 1e-7.
        let n = 64;
        let mut values: Vec<f64> = (0..n - 1).map(|i| 5e-6 + 1.2e-7 * i as f64 + 1e-9 * (i * i) as f64).collect();
        for (i, v) in values.iter_mut().enumerate().skip(24) {
            *v = 1e-4 + 5e-3 * i as f64 / n as f64;
        }
        values.push(1.0);
        let a = with_spectrum(&values, 11);
        let low = smallest_eigen(a.view(), 18).unwrap();
        assert_eq!(low.degenerate_pairs(), 0, "gaps of 1e-7 are far above rounding level");
        assert_backward_matches_full(&a, 18, 12, 1e-6);
    }

    #[test]
    fn backward_on_real_shaped_batch_graphs() {
        // Â of Z Zᵀ/n + 1 for non-negative features: tiny clustered smallest eigenvalues.
        for (n, h, seed) in [(48, 96, 1), (128, 256, 2)] {
            let a = batch_graph(&features(n, h, seed));
            let low = smallest_eigen(a.view(), 18).unwrap();
            assert!(low.values[0] > 0.0 && low.values[17] < 1e-2, "{}", low.values);
            assert_eq!(low.degenerate_pairs(), 0);
            assert_backward_matches_full(&a, 18, seed + 3, 1e-6);
        }
    }

    #[test]
    fn backward_skips_a_null_space_like_the_full_formula() {
        // n > h + 1: Â has a null space of dimension n − h − 1 with eigenvalues at rounding
        // level; pairs inside it have no defined rotation and are skipped by both formulas.
        let a = batch_graph(&features(40, 12, 5));
        let low = smallest_eigen(a.view(), 6).unwrap();
        assert!(low.degenerate_pairs() > 0);
        assert!(low.cluster_values.len() >= 40 - 13);
        assert_backward_matches_full(&a, 6, 9, 1e-8);
    }

    #[test]
    fn backward_matches_finite_differences_on_a_batch_graph() {
        // loss = Σ gλ ⊙ λ + Σ G ⊙ U, differentiated with respect to the features of a batch
        // graph (central differences), through normalized_adjacency_backward.
        let (n, h, k) = (24, 40, 6);
        let z = features(n, h, 21);
        let g_vectors = random(n, k, 22);
        let g_values = random(1, k, 23).row(0).to_owned();
        let loss = |z: &Array2<f64>| {
            let e = smallest_eigen(batch_graph(z).view(), k).unwrap();
            (&e.values * &g_values).sum() + (&e.vectors * &g_vectors).sum()
        };
        let a = z.dot(&z.t()) / n as f64 + 1.0;
        let (a_hat, d) = crate::normalized_adjacency(a.view()).unwrap();
        let e = smallest_eigen(a_hat.view(), k).unwrap();
        let g_hat = e.backward(g_values.view(), g_vectors.view()).unwrap();
        let g_a = crate::normalized_adjacency_backward(a_hat.view(), d.view(), g_hat.view()).unwrap();
        let g_z = (&g_a + &g_a.t()).dot(&z) / n as f64;
        let eps = 1e-6;
        let mut rng = ChaCha8Rng::seed_from_u64(24);
        for _ in 0..6 {
            let dir = Array2::from_shape_fn((n, h), |_| rng.random_range(-1.0..1.0));
            let numeric = (loss(&(&z + &(eps * &dir))) - loss(&(&z - &(eps * &dir)))) / (2.0 * eps);
            let analytic = (&g_z * &dir).sum();
            assert!(
                (numeric - analytic).abs() <= 1e-6 * analytic.abs().max(1.0),
                "numeric {numeric} vs analytic {analytic}"
            );
        }
    }
}
