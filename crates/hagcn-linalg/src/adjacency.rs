//! The symmetric normalised adjacency `Â = D^-1/2 A D^-1/2` and its gradient.
//!
//! With `deg_i = Σ_j A_ij` and `d_i = deg_i^(-1/2)`, `Â_ij = d_i A_ij d_j`.
//! (HAGCN calls `Â` "L"; it is the normalised adjacency, not a Laplacian: its spectrum
//! lies in `[-1, 1]` for a non-negative `A`.)
//!
//! Gradient. Given `G = ∂loss/∂Â`, with `∂d_i/∂deg_i = -d_i³/2`:
//!
//! ```text
//! ∂loss/∂A_ij = G_ij d_i d_j + g_i,
//! g_i = -(d_i² / 2) · (Σ_l G_il Â_il + Σ_k G_ki Â_ki)
//! ```
//!
//! (the second term reaches `A_ij` through `deg_i`, which sums row `i`).

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis, Zip};

use crate::{Error, Real, Result};

/// Returns `(Â, d)` with `Â = D^-1/2 A D^-1/2` and `d_i = (Σ_j A_ij)^(-1/2)`.
///
/// Fails with [`Error::NonPositiveDegree`] when a row sum is `≤ 0` or not finite and with
/// [`Error::NotSquare`] for a non-square `a`.
pub fn normalized_adjacency<T: Real>(a: ArrayView2<T>) -> Result<(Array2<T>, Array1<T>)> {
    let (rows, cols) = a.dim();
    if rows != cols {
        return Err(Error::NotSquare { op: "normalized_adjacency", rows, cols });
    }
    let degree = a.sum_axis(Axis(1));
    let mut d = Array1::zeros(rows);
    for (node_idx, (&deg, d_i)) in degree.iter().zip(d.iter_mut()).enumerate() {
        if !(deg > T::zero() && deg.is_finite()) {
            return Err(Error::NonPositiveDegree { node_idx, degree: deg.as_f64() });
        }
        *d_i = deg.sqrt().recip();
    }
    let mut a_hat = a.to_owned();
    Zip::from(a_hat.rows_mut()).and(&d).for_each(|mut row, &d_i| {
        Zip::from(&mut row).and(&d).for_each(|x, &d_j| *x = *x * d_i * d_j);
    });
    Ok((a_hat, d))
}

/// The gradient with respect to `A` of a loss whose gradient with respect to `Â` is `grad`,
/// given the outputs `(a_hat, d)` of [`normalized_adjacency`] (see the module docs).
pub fn normalized_adjacency_backward<T: Real>(
    a_hat: ArrayView2<T>,
    d: ArrayView1<T>,
    grad: ArrayView2<T>,
) -> Result<Array2<T>> {
    if a_hat.dim() != grad.dim() {
        return Err(Error::ShapeMismatch { op: "normalized_adjacency_backward", left: a_hat.dim(), right: grad.dim() });
    }
    let n = d.len();
    if a_hat.dim() != (n, n) {
        return Err(Error::ShapeMismatch { op: "normalized_adjacency_backward", left: a_hat.dim(), right: (n, n) });
    }
    let weighted = &grad * &a_hat;
    let row = weighted.sum_axis(Axis(1));
    let col = weighted.sum_axis(Axis(0));
    let half = T::of(0.5);
    let g_deg: Array1<T> = Zip::from(&d).and(&row).and(&col).map_collect(|&d_i, &r, &c| -half * d_i * d_i * (r + c));
    let mut out = grad.to_owned();
    Zip::from(out.rows_mut()).and(&d).and(&g_deg).for_each(|mut out_row, &d_i, &g_i| {
        Zip::from(&mut out_row).and(&d).for_each(|x, &d_j| *x = *x * d_i * d_j + g_i);
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    extern crate openblas_src;

    use super::*;
    use ndarray::array;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random_positive(n: usize, seed: u64) -> Array2<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Array2::from_shape_fn((n, n), |_| rng.random_range(0.1..2.0))
    }

    /// The obvious definition: `diag(d) · A · diag(d)` by explicit matrix products.
    fn slow_normalized(a: &Array2<f64>) -> Array2<f64> {
        let n = a.nrows();
        let mut dm = Array2::zeros((n, n));
        for i in 0..n {
            dm[[i, i]] = 1.0 / a.row(i).sum().sqrt();
        }
        dm.dot(a).dot(&dm)
    }

    #[test]
    fn matches_diagonal_products() {
        let a = random_positive(7, 1);
        let (a_hat, d) = normalized_adjacency(a.view()).unwrap();
        let expect = slow_normalized(&a);
        assert!((&a_hat - &expect).iter().all(|x| x.abs() < 1e-12));
        assert!((d[3] - 1.0 / a.row(3).sum().sqrt()).abs() < 1e-12);
    }

    #[test]
    fn literal_two_nodes() {
        // A = [[1, 3], [3, 1]]: degrees 4, 4 → Â = A / 4.
        let (a_hat, _) = normalized_adjacency(array![[1.0, 3.0], [3.0, 1.0]].view()).unwrap();
        assert_eq!(a_hat, array![[0.25, 0.75], [0.75, 0.25]]);
    }

    #[test]
    fn rejects_bad_degrees_and_shapes() {
        let err = normalized_adjacency(array![[1.0, -2.0], [1.0, 1.0]].view()).unwrap_err();
        assert!(matches!(err, Error::NonPositiveDegree { node_idx: 0, .. }), "{err}");
        let err = normalized_adjacency(array![[f64::NAN, 1.0], [1.0, 1.0]].view()).unwrap_err();
        assert!(matches!(err, Error::NonPositiveDegree { node_idx: 0, .. }), "{err}");
        let err = normalized_adjacency(Array2::<f32>::ones((2, 3)).view()).unwrap_err();
        assert!(matches!(err, Error::NotSquare { rows: 2, cols: 3, .. }), "{err}");
    }

    #[test]
    fn backward_matches_finite_differences() {
        let n = 5;
        let a = random_positive(n, 2);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let weights = Array2::from_shape_fn((n, n), |_| rng.random_range(-1.0..1.0));
        let loss = |a: &Array2<f64>| (&normalized_adjacency(a.view()).unwrap().0 * &weights).sum();
        let (a_hat, d) = normalized_adjacency(a.view()).unwrap();
        let grad = normalized_adjacency_backward(a_hat.view(), d.view(), weights.view()).unwrap();
        let eps = 1e-6;
        for i in 0..n {
            for j in 0..n {
                let mut plus = a.clone();
                plus[[i, j]] += eps;
                let mut minus = a.clone();
                minus[[i, j]] -= eps;
                let numeric = (loss(&plus) - loss(&minus)) / (2.0 * eps);
                assert!(
                    (numeric - grad[[i, j]]).abs() < 1e-8,
                    "({i},{j}): numeric {numeric} vs analytic {}",
                    grad[[i, j]]
                );
            }
        }
    }
}
