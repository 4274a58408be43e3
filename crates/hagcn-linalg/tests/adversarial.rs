//! API-level tests on the inputs HAGCN actually produces at their worst: batch similarity
//! graphs with duplicated samples (repeated eigenvalues) and fewer features than samples
//! (rank-deficient), plus the error paths (k too large, NaN).

extern crate openblas_src;

use hagcn_linalg::{
    Error, LanczosOptions, Which, bspline_basis, bspline_basis_backward, chebyshev_apply, chebyshev_filter,
    chebyshev_sum, lanczos, lanczos_eigen, largest, normalized_adjacency, smallest, symmetric_eigen,
};
use ndarray::{Array1, Array2, s};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `Â` of `S + 1`, `S = Z Zᵀ / n`, for `n` samples with `h < n` features where samples
/// `0..dups` are copies of sample `dups` (so `Â` has rank ≤ h + 1 and a repeated eigenvalue 0).
fn batch_graph64(n: usize, h: usize, dups: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut z = Array2::from_shape_fn((n, h), |_| rng.random_range(-1.0..1.0));
    for i in 0..dups {
        let row = z.row(dups).to_owned();
        z.row_mut(i).assign(&row);
    }
    let sim = z.dot(&z.t()) / n as f64 + 1.0;
    normalized_adjacency(sim.view()).unwrap().0
}

/// [`batch_graph64`] rounded to `f32` (its rank deficiency then holds to `f32` round-off).
fn batch_graph(n: usize, h: usize, dups: usize, seed: u64) -> Array2<f32> {
    batch_graph64(n, h, dups, seed).mapv(|x| x as f32)
}

fn max_abs(a: &Array2<f32>) -> f32 {
    a.iter().fold(0.0, |m, x| m.max(x.abs()))
}

#[test]
fn eigendecomposition_of_a_degenerate_batch_graph() {
    let (n, h) = (64, 8);
    let a_hat = batch_graph(n, h, 6, 1);
    let eig = symmetric_eigen(a_hat.view()).unwrap();
    let resid = a_hat.dot(&eig.vectors) - &eig.vectors * &eig.values;
    assert!(max_abs(&resid) < 1e-5);
    let gram = eig.vectors.t().dot(&eig.vectors) - Array2::<f32>::eye(n);
    assert!(max_abs(&gram) < 1e-5);
    // Rank ≤ h + 1: at least n − h − 1 (numerically) zero eigenvalues, the top one is 1.
    let zeros = eig.values.iter().filter(|l| l.abs() < 1e-5).count();
    assert!(zeros >= n - h - 1, "{zeros} zero eigenvalues");
    assert!((eig.values[n - 1] - 1.0).abs() < 1e-5);

    // The spline path on the 18 smallest eigenvalues, which are all ≈ 0 (nearly tied):
    // finite values and gradients, no NaN from ~0 knot spacings.
    let low = smallest(&eig, 18).unwrap();
    let basis = bspline_basis(low.values.view(), 18, 3).unwrap();
    assert!(basis.values.iter().all(|v| v.is_finite()));
    let grad = Array2::ones((18, 18));
    let g = bspline_basis_backward(low.values.view(), 18, 3, grad.view()).unwrap();
    assert!(g.iter().all(|v| v.is_finite()));

    let high = largest(&eig, 3).unwrap();
    assert!(high.values[0] >= high.values[1] && high.values[1] >= high.values[2]);
}

#[test]
fn lanczos_on_a_rank_deficient_batch_graph() {
    let (n, h) = (64, 5);
    let a_hat = batch_graph(n, h, 4, 2);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let start = Array1::from_shape_fn(n, |_| rng.random_range(-1.0f32..1.0));
    // Â = D (S + 11ᵀ) D has rank ≤ h + 1 = 6, so the Krylov space of a generic start vector
    // has dimension ≤ 7 (the null-space component adds one): 18 steps cannot all be done.
    // In f64 the breakdown comes exactly there.
    let a64 = batch_graph64(n, h, 4, 2);
    let run64 = lanczos(&a64, start.mapv(f64::from).view(), &LanczosOptions::new(18)).unwrap();
    assert!(run64.broke_down);
    assert!(run64.steps_done <= h + 2, "{} steps", run64.steps_done);
    // In f32 the five nonzero eigenvalues besides 1 are ~0.005 and clustered, so their
    // components carry only ~4 significant digits after one product: the computed Krylov space
    // needs a step or two more before β reaches round-off, but it still stops early.
    let run = lanczos(&a_hat, start.view(), &LanczosOptions::new(18)).unwrap();
    assert!(run.broke_down);
    assert!(run.steps_done < 18, "{} steps", run.steps_done);
    let m = run.steps_done;
    assert!(run.basis.iter().all(|v| v.is_finite()));
    let gram = run.basis.t().dot(&run.basis) - Array2::<f32>::eye(m);
    assert!(max_abs(&gram) < 1e-5);
    // span(V) is invariant, so V T Vᵀ reproduces Â on it: Â V = V T.
    let av = a_hat.dot(&run.basis) - run.basis.dot(&run.tridiagonal());
    assert!(max_abs(&av) < 1e-4);
    // The top eigenvalue 1 is found; asking for more Ritz pairs than steps is an error.
    let top = lanczos_eigen(&a_hat, start.view(), &LanczosOptions::new(18), 1, Which::Largest).unwrap();
    assert!((top.values[0] - 1.0).abs() < 1e-5);
    let err = lanczos_eigen(&a_hat, start.view(), &LanczosOptions::new(18), 18, Which::Largest).unwrap_err();
    assert!(matches!(err, Error::InvalidK { k: 18, .. }), "{err}");
}

#[test]
fn chebyshev_on_a_degenerate_batch_graph() {
    let n = 32;
    let a_hat = batch_graph(n, 4, 5, 4);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for h in [4, 100] {
        let z = Array2::from_shape_fn((n, h), |_| rng.random_range(-1.0f32..1.0));
        let f = chebyshev_filter(a_hat.view(), z.view(), 18).unwrap();
        let g = chebyshev_apply(a_hat.view(), z.view(), 18).unwrap();
        let d = chebyshev_sum(a_hat.view(), 18).unwrap().dot(&z);
        // Σ_(j≤18) T_j(λ) ≤ 19 on [−1, 1]: the filter output stays bounded.
        assert!(f.iter().all(|v| v.is_finite()));
        assert!(max_abs(&(&f - &g)) < 1e-3 && max_abs(&(&d - &g)) < 1e-3);
    }
}

#[test]
fn k_out_of_range_errors() {
    let a_hat = batch_graph(10, 3, 0, 6);
    let eig = symmetric_eigen(a_hat.view()).unwrap();
    for k in [0, 11, 100] {
        assert!(matches!(smallest(&eig, k), Err(Error::InvalidK { n: 10, .. })));
        assert!(matches!(largest(&eig, k), Err(Error::InvalidK { n: 10, .. })));
    }
    // Steps ≥ n are clamped, k ≤ n works, k > n does not.
    let start = Array1::ones(10);
    let all = lanczos_eigen(&a_hat, start.view(), &LanczosOptions::new(50), 1, Which::Smallest);
    assert!(all.is_ok());
    let err = lanczos_eigen(&a_hat, start.view(), &LanczosOptions::new(50), 11, Which::Smallest).unwrap_err();
    assert!(matches!(err, Error::InvalidK { k: 11, .. }), "{err}");
    // B-splines: K ≤ degree.
    let err = bspline_basis(eig.values.slice(s![..3]), 3, 3).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    assert!(err.to_string().contains("n_basis = 3"), "{err}");
}

#[test]
fn nan_input_errors() {
    let mut a_hat = batch_graph(10, 3, 0, 7);
    a_hat[[3, 4]] = f32::NAN;
    let z = Array2::<f32>::ones((10, 2));
    let err = symmetric_eigen(a_hat.view()).unwrap_err();
    assert!(matches!(err, Error::NonFinite { op: "symmetric_eigen" }), "{err}");
    assert!(err.to_string().contains("NaN"), "{err}");
    let err = lanczos(&a_hat, Array1::ones(10).view(), &LanczosOptions::default()).unwrap_err();
    assert!(matches!(err, Error::NonFinite { op: "lanczos" }), "{err}");
    let err = chebyshev_filter(a_hat.view(), z.view(), 3).unwrap_err();
    assert!(matches!(err, Error::NonFinite { .. }), "{err}");
    let err = bspline_basis(Array1::from(vec![0.0f32, f32::NAN, 1.0]).view(), 4, 3).unwrap_err();
    assert!(matches!(err, Error::NonFinite { .. }), "{err}");
    // NaN in the normalised adjacency's input is caught there already.
    let mut raw = Array2::<f32>::ones((3, 3));
    raw[[0, 0]] = f32::NAN;
    assert!(matches!(normalized_adjacency(raw.view()), Err(Error::NonPositiveDegree { node_idx: 0, .. })));
}
