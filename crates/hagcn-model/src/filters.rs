//! The graph filters of spec §2 step 5, recorded on an autodiff graph.
//!
//! Each takes the normalised adjacency `Â` (`n × n`) and the hidden features `Z` (`n × h`)
//! and returns `F` (`n × h`).

use hagcn_autodiff::{Backend, Graph, Var};
use hagcn_linalg::Real;
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::Result;
use crate::params::Params;

/// The gcn filter `F = LayerNorm((Â Z) Wᵀ + b)`, with `w.*` and `layer_norm.*` from `p`.
pub fn gcn<B: Backend>(g: &mut Graph<B>, a_hat: Var, z: Var, p: &Params, eps: f64) -> Result<Var> {
    let az = g.matmul(a_hat, false, z, false)?;
    let lin = g.linear(az, p.get("w.weight"), p.get("w.bias"))?;
    Ok(g.layer_norm(lin, p.get("layer_norm.weight"), p.get("layer_norm.bias"), eps)?)
}

/// The spectral filters on the `k` smallest eigenpairs of the batch graph, `λ_k` (`1 × k`)
/// and `U_k` (`n × k`): fourier `F = ((U_k Wᵀ + b) U_kᵀ) Z`, spline
/// `F = (((U_k B) Wᵀ + b) U_kᵀ) Z` with `B = bspline(λ_k; k cubic basis functions)` (`k × k`).
/// `w` is `k × k`, `b` is `1 × k`.
///
/// The eigenpairs come from the caller ([`crate::forward`]): for the faithful objective from
/// [`Graph::gram_graph_smallest_eigen`], which forms `Â = D^-1/2 (Z Zᵀ/n + 1) D^-1/2` from `Z`
/// in `f64` with a subset eigensolver and the exact gradient of spec §5.1 (on real batches
/// the `k` smallest eigenvalues sit near `1e-5` with gaps near `1e-7`, below what `f32`
/// resolves in `Â`); for a constant graph from the host eigensolver, as constants. The
/// eigenvectors follow the sign convention of [`hagcn_linalg::symmetric_eigen`]
/// (largest-magnitude component positive), so the output is deterministic. `F` is evaluated
/// as `(U_k Wᵀ + b)(U_kᵀ Z)`, `O(n k h)` instead of the `O(n² h)` of forming the `n × n`
/// response first.
pub fn spectral<B: Backend>(
    g: &mut Graph<B>,
    lambda_k: Var,
    u_k: Var,
    z: Var,
    w: Var,
    b: Var,
    spline: bool,
) -> Result<Var> {
    let k = g.shape(u_k)?.1;
    let features = if spline {
        let basis = g.bspline_basis(lambda_k, k, 3)?;
        g.matmul(u_k, false, basis, false)?
    } else {
        u_k
    };
    let filtered = g.linear(features, w, b)?;
    let coeffs = g.matmul(u_k, true, z, false)?;
    Ok(g.matmul(filtered, false, coeffs, false)?)
}

/// `F = Σ_(j=0..k) T_j(Â) Z` with `T_0 = I`, `T_1 = Â`, `T_j = 2 Â T_(j−1) − T_(j−2)`.
///
/// Two evaluation orders, chosen by cost with [`hagcn_linalg::chebyshev_prefers_matrix`]:
/// the block recurrence `Y_j = 2 Â Y_(j−1) − Y_(j−2)` on `Y_0 = Z` (`k` products of
/// `n × n` by `n × h`), or the matrix polynomial `P = Σ_j T_j(Â)` (`k` products of `n × n`
/// matrices) followed by one product `P Z` — cheaper when `n` is small next to `h`, as for
/// mini-batches of 128 with `h = 768`. Both are recorded op by op, so their gradients are
/// exact; [`chebyshev_with`] forces one of them.
pub fn chebyshev<B: Backend>(g: &mut Graph<B>, a_hat: Var, z: Var, k: usize) -> Result<Var> {
    let (n, h) = g.shape(z)?;
    chebyshev_with(g, a_hat, z, k, hagcn_linalg::chebyshev_prefers_matrix(n, h, k))
}

/// [`chebyshev`] with the evaluation order chosen by the caller (`matrix = true`: form the
/// polynomial `P` first).
pub fn chebyshev_with<B: Backend>(g: &mut Graph<B>, a_hat: Var, z: Var, k: usize, matrix: bool) -> Result<Var> {
    if k == 0 {
        return Ok(z);
    }
    let first = if matrix {
        let n = g.shape(a_hat)?.0;
        let eye = g.backend().upload(Array2::<B::Elem>::eye(n).view())?;
        g.constant(eye)
    } else {
        z
    };
    let mut prev = first;
    let mut cur = g.matmul(a_hat, false, first, false)?;
    let mut sum = g.add(prev, cur)?;
    for _ in 2..=k {
        let a_cur = g.matmul(a_hat, false, cur, false)?;
        let two_a_cur = g.scale(a_cur, 2.0)?;
        let next = g.sub(two_a_cur, prev)?;
        sum = g.add(sum, next)?;
        prev = cur;
        cur = next;
    }
    if matrix { Ok(g.matmul(sum, false, z, false)?) } else { Ok(sum) }
}

/// The unit start vector of the Lanczos filter for optimiser step `step` (`n × 1`): standard
/// normal entries from a ChaCha8 stream seeded by `(seed, step)`, normalised. Each forward
/// pass gets a fresh vector, and the same seed gives the same sequence.
pub fn lanczos_start(n: usize, seed: u64, step: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x1a2c_05ee_d000_0000);
    rng.set_stream(step);
    let mut v = Array2::from_shape_fn((n, 1), |_| StandardNormal.sample(&mut rng));
    let norm = v.iter().map(|x: &f64| x * x).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
    v.mapv_inplace(|x| x / norm);
    v
}

/// `F = V T Vᵀ Z` from `k` Lanczos steps on `Â` starting at the unit vector `start` (`n × 1`),
/// spec §5.3 with the corrections of §7: the standard tridiagonal `T` (`T_ii = α_i`,
/// `T_(i,i+1) = β_i`), full reorthogonalisation of every new vector against all previous ones,
/// and an early stop on breakdown (the steps done so far are used; at most `n` steps are
/// possible). The reorthogonalisation ([`hagcn_linalg::REORTHOGONALIZATION_PASSES`]
/// Gram–Schmidt passes) and the breakdown rule ([`hagcn_linalg::breakdown_threshold`] with
/// [`hagcn_linalg::LanczosOptions`]'s default tolerance) are those of [`hagcn_linalg::lanczos()`],
/// so the two compute the same basis; `‖Â v‖` for the breakdown scale is reduced on the
/// device and only a scalar reaches the host. Every operation is recorded, so gradients flow
/// through `α`, `β`, the basis and the reorthogonalisation. `F` is evaluated as
/// `(V T)(Vᵀ Z)`, which costs `O(n k h)` instead of forming `V T Vᵀ`.
pub fn lanczos<B: Backend>(g: &mut Graph<B>, a_hat: Var, z: Var, start: Var, k: usize) -> Result<Var> {
    let n = g.shape(a_hat)?.0;
    let steps = k.min(n).max(1);
    let mut basis = vec![start];
    let mut alphas = Vec::with_capacity(steps);
    let mut betas = Vec::with_capacity(steps);
    let eps = <B::Elem as num_traits::Float>::epsilon().as_f64();
    let tol = hagcn_linalg::breakdown_threshold(n, hagcn_linalg::LanczosOptions::default().breakdown_tol, eps);
    let mut scale = 0.0f64;
    for i in 0..steps {
        let v = basis[i];
        let mut w = g.matmul(a_hat, false, v, false)?;
        let be = g.backend();
        let av = g.value(w)?;
        let norm2 = be.scalar(&be.sum(&be.mul(av, av)?)?)?.as_f64();
        scale = scale.max(norm2.sqrt());
        let vw = g.mul(v, w)?;
        let alpha = g.sum(vw)?;
        let av = g.scale_by(v, alpha)?;
        w = g.sub(w, av)?;
        if i > 0 {
            let bv = g.scale_by(basis[i - 1], betas[i - 1])?;
            w = g.sub(w, bv)?;
        }
        alphas.push(alpha);
        if i + 1 == steps {
            break;
        }
        // w ← w − V (Vᵀ w) against every basis vector so far.
        let v_mat = g.concat_cols(&basis)?;
        for _ in 0..hagcn_linalg::REORTHOGONALIZATION_PASSES {
            let coeffs = g.matmul(v_mat, true, w, false)?;
            let proj = g.matmul(v_mat, false, coeffs, false)?;
            w = g.sub(w, proj)?;
        }
        let ww = g.mul(w, w)?;
        let norm2 = g.sum(ww)?;
        let beta = g.sqrt(norm2)?;
        if g.scalar(beta)?.as_f64() <= tol * scale {
            break;
        }
        betas.push(beta);
        let inv = g.recip(beta)?;
        basis.push(g.scale_by(w, inv)?);
    }
    let m = alphas.len();
    basis.truncate(m);
    let v_mat = g.concat_cols(&basis)?;
    let alpha = g.concat_cols(&alphas)?;
    let t = if m == 1 {
        alpha
    } else {
        let beta = g.concat_cols(&betas[..m - 1])?;
        g.tridiagonal(alpha, beta)?
    };
    let vt = g.matmul(v_mat, false, t, false)?;
    let vtz = g.matmul(v_mat, true, z, false)?;
    Ok(g.matmul(vt, false, vtz, false)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hagcn_autodiff::CpuBackend;
    use hagcn_autodiff::test_utils::{Tolerance, assert_gradcheck, random_matrix};
    use hagcn_openblas as _;

    fn adjacency_of(g: &mut Graph<CpuBackend<f64>>, z: Var) -> hagcn_autodiff::Result<Var> {
        let n = g.shape(z)?.0;
        let s = g.matmul(z, false, z, true)?;
        let s = g.scale(s, 1.0 / n as f64)?;
        let a = g.add_scalar(s, 1.0)?;
        g.normalized_adjacency(a)
    }

    fn unwrap_model(e: crate::Error) -> hagcn_autodiff::Error {
        match e {
            crate::Error::Autodiff(e) => e,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn chebyshev_matches_the_matrix_polynomial() {
        // Σ_j T_j(Â) Z from the scalar recurrence on the eigenvalues of Â.
        let be = CpuBackend::<f64>::new();
        let z0 = random_matrix(6, 3, -1.0, 1.0, 1);
        let mut g = Graph::new(be.clone());
        let z = g.constant(be.upload(z0.view()).unwrap());
        let a_hat = adjacency_of(&mut g, z).unwrap();
        let f = chebyshev(&mut g, a_hat, z, 4).unwrap();
        let a = be.download(g.value(a_hat).unwrap()).unwrap();
        // T_0..T_4 as matrices, summed
        let eye = Array2::<f64>::eye(6);
        let mut ts = vec![eye.clone(), a.clone()];
        for j in 2..=4 {
            let next = 2.0 * a.dot(&ts[j - 1]) - &ts[j - 2];
            ts.push(next);
        }
        let p = ts.iter().fold(Array2::zeros((6, 6)), |acc, t| acc + t);
        let expect = p.dot(&z0);
        let got = be.download(g.value(f).unwrap()).unwrap();
        assert!(got.iter().zip(&expect).all(|(a, b)| (a - b).abs() < 1e-12));
    }

    #[test]
    fn chebyshev_gradcheck_both_paths() {
        for matrix in [false, true] {
            assert_gradcheck(
                |g, v| {
                    let a_hat = adjacency_of(g, v[0])?;
                    chebyshev_with(g, a_hat, v[0], 5, matrix).map_err(unwrap_model)
                },
                &[random_matrix(5, 3, -1.0, 1.0, 2)],
                Tolerance::default(),
            );
        }
    }

    #[test]
    fn chebyshev_paths_agree_in_value_and_gradient() {
        let be = CpuBackend::<f64>::new();
        let z0 = random_matrix(7, 4, -1.0, 1.0, 9);
        let weights = random_matrix(7, 4, -1.0, 1.0, 10);
        let run = |matrix: bool| {
            let mut g = Graph::new(be.clone());
            let z = g.param(be.upload(z0.view()).unwrap());
            let a_hat = adjacency_of(&mut g, z).unwrap();
            let f = chebyshev_with(&mut g, a_hat, z, 6, matrix).unwrap();
            let w = g.constant(be.upload(weights.view()).unwrap());
            let fw = g.mul(f, w).unwrap();
            let loss = g.sum(fw).unwrap();
            let grads = g.backward(loss).unwrap();
            (be.download(g.value(f).unwrap()).unwrap(), be.download(grads.get(z).unwrap()).unwrap())
        };
        let ((f1, g1), (f2, g2)) = (run(false), run(true));
        assert!(f1.iter().zip(&f2).all(|(a, b)| (a - b).abs() < 1e-12));
        assert!(g1.iter().zip(&g2).all(|(a, b)| (a - b).abs() < 1e-12));
    }

    #[test]
    fn lanczos_reproduces_the_operator_on_the_krylov_space() {
        // With k = n steps, V is square orthogonal and V T Vᵀ = Â.
        let be = CpuBackend::<f64>::new();
        let z0 = random_matrix(5, 4, -1.0, 1.0, 3);
        let mut g = Graph::new(be.clone());
        let z = g.constant(be.upload(z0.view()).unwrap());
        let a_hat = adjacency_of(&mut g, z).unwrap();
        let start = g.constant(be.upload(lanczos_start(5, 1, 0).view()).unwrap());
        let f = lanczos(&mut g, a_hat, z, start, 5).unwrap();
        let a = be.download(g.value(a_hat).unwrap()).unwrap();
        let expect = a.dot(&z0);
        let got = be.download(g.value(f).unwrap()).unwrap();
        assert!(got.iter().zip(&expect).all(|(a, b)| (a - b).abs() < 1e-9), "{got}\n{expect}");
    }

    #[test]
    fn lanczos_stops_on_breakdown() {
        // Â = I (A = identity up to scaling): the Krylov space of any start vector is
        // one-dimensional, so Lanczos stops after one step and F = α v vᵀ Z with α = 1.
        let be = CpuBackend::<f64>::new();
        let mut g = Graph::new(be.clone());
        let a = g.constant(be.upload(Array2::<f64>::eye(4).view()).unwrap());
        let a_hat = g.normalized_adjacency(a).unwrap();
        let z0 = random_matrix(4, 2, -1.0, 1.0, 4);
        let z = g.constant(be.upload(z0.view()).unwrap());
        let v0 = lanczos_start(4, 2, 0);
        let start = g.constant(be.upload(v0.view()).unwrap());
        let f = lanczos(&mut g, a_hat, z, start, 3).unwrap();
        let got = be.download(g.value(f).unwrap()).unwrap();
        let expect = v0.dot(&v0.t()).dot(&z0);
        assert!(got.iter().zip(&expect).all(|(a, b)| (a - b).abs() < 1e-12));
        assert!(got.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn lanczos_gradcheck_through_the_recurrence() {
        let start = lanczos_start(6, 3, 0);
        assert_gradcheck(
            |g, v| {
                let a_hat = adjacency_of(g, v[0])?;
                lanczos(g, a_hat, v[0], v[1], 3).map_err(unwrap_model)
            },
            &[random_matrix(6, 3, -1.0, 1.0, 5), start],
            Tolerance { eps: 1e-6, rtol: 1e-5, atol: 1e-7 },
        );
    }

    #[test]
    fn lanczos_matches_the_linalg_implementation() {
        let be = CpuBackend::<f64>::new();
        let z0 = random_matrix(9, 4, -1.0, 1.0, 12);
        let mut g = Graph::new(be.clone());
        let z = g.constant(be.upload(z0.view()).unwrap());
        let a_hat = adjacency_of(&mut g, z).unwrap();
        let v0 = lanczos_start(9, 4, 0);
        let start = g.constant(be.upload(v0.view()).unwrap());
        let f = lanczos(&mut g, a_hat, z, start, 4).unwrap();
        let a = be.download(g.value(a_hat).unwrap()).unwrap();
        let reference = hagcn_linalg::lanczos(&a.view(), v0.column(0), &hagcn_linalg::LanczosOptions::new(4)).unwrap();
        let v = &reference.basis;
        let expect = v.dot(&reference.tridiagonal()).dot(&v.t()).dot(&z0);
        let got = be.download(g.value(f).unwrap()).unwrap();
        assert!(got.iter().zip(&expect).all(|(a, b)| (a - b).abs() < 1e-10), "{got}\n{expect}");
    }

    #[test]
    fn start_vectors_are_unit_and_seeded() {
        let a = lanczos_start(10, 7, 3);
        assert!((a.iter().map(|x| x * x).sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(a, lanczos_start(10, 7, 3));
        assert_ne!(a, lanczos_start(10, 7, 4));
        assert_ne!(a, lanczos_start(10, 8, 3));
    }
}
