//! Per-op tests: a literal example with the derivative worked out, and a seeded
//! finite-difference gradient check in f64.

use hagcn_openblas as _;
use ndarray::{Array2, array};

use crate::test_utils::{Tolerance, assert_gradcheck, random_matrix};
use crate::{Adam, AdamConfig, Backend, CpuBackend, Error, Graph, Var};

fn be() -> CpuBackend<f64> {
    CpuBackend::new()
}

/// Runs `f` on params made from `inputs`, differentiates `sum(f(..))`, returns
/// (value, gradients).
fn grads_of(
    inputs: &[Array2<f64>],
    f: impl Fn(&mut Graph<CpuBackend<f64>>, &[Var]) -> crate::Result<Var>,
) -> (Array2<f64>, Vec<Array2<f64>>) {
    let be = be();
    let mut g = Graph::new(be.clone());
    let vars: Vec<Var> = inputs.iter().map(|x| g.param(be.upload(x.view()).unwrap())).collect();
    let out = f(&mut g, &vars).unwrap();
    let value = be.download(g.value(out).unwrap()).unwrap();
    let s = g.sum(out).unwrap();
    let grads = g.backward(s).unwrap();
    let gs = vars.iter().map(|&v| be.download(grads.get(v).unwrap()).unwrap()).collect();
    (value, gs)
}

fn close(a: &Array2<f64>, b: &Array2<f64>, tol: f64) -> bool {
    a.dim() == b.dim() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
}

#[test]
fn matmul_literal() {
    // C = A B, L = Σ C:  ∂A = 1 Bᵀ (row sums of B),  ∂B = Aᵀ 1 (column sums of A).
    let a = array![[1.0, 2.0], [3.0, 4.0]];
    let b = array![[5.0, 6.0], [7.0, 8.0]];
    let (c, g) = grads_of(&[a, b], |g, v| g.matmul(v[0], false, v[1], false));
    assert_eq!(c, array![[19.0, 22.0], [43.0, 50.0]]);
    assert_eq!(g[0], array![[11.0, 15.0], [11.0, 15.0]]);
    assert_eq!(g[1], array![[4.0, 4.0], [6.0, 6.0]]);
}

#[test]
fn matmul_gradcheck_all_transposes() {
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        let a = if ta { random_matrix(4, 3, -1.0, 1.0, 1) } else { random_matrix(3, 4, -1.0, 1.0, 1) };
        let b = if tb { random_matrix(5, 4, -1.0, 1.0, 2) } else { random_matrix(4, 5, -1.0, 1.0, 2) };
        assert_gradcheck(|g, v| g.matmul(v[0], ta, v[1], tb), &[a, b], Tolerance::default());
    }
}

#[test]
fn matmul_with_itself_accumulates() {
    // S = Z Zᵀ, L = Σ S = Σ_ij z_i·z_j = |Σ_i z_i|²:  ∂Z_i = 2 Σ_k z_k (same for every row).
    let z = array![[1.0, 0.0], [2.0, 1.0]];
    let (_, g) = grads_of(&[z], |g, v| g.matmul(v[0], false, v[0], true));
    assert_eq!(g[0], array![[6.0, 2.0], [6.0, 2.0]]);
    assert_gradcheck(
        |g, v| g.matmul(v[0], false, v[0], true),
        &[random_matrix(4, 3, -1.0, 1.0, 3)],
        Tolerance::default(),
    );
}

#[test]
fn matmul_rejects_bad_shapes() {
    let be = be();
    let mut g = Graph::new(be.clone());
    let a = g.constant(be.upload(Array2::zeros((2, 3)).view()).unwrap());
    let b = g.constant(be.upload(Array2::zeros((2, 3)).view()).unwrap());
    let err = g.matmul(a, false, b, false).unwrap_err();
    assert!(matches!(err, Error::Shape { op: "matmul", left: (2, 3), right: (2, 3) }), "{err}");
    assert!(g.matmul(a, false, b, true).is_ok());
}

#[test]
fn elementwise_literals() {
    // L = Σ (a + b) + Σ (a − b) + Σ a ⊙ b:  ∂a = 2 + b,  ∂b = a
    let a = array![[1.0, -2.0]];
    let b = array![[3.0, 5.0]];
    let (_, g) = grads_of(&[a, b], |g, v| {
        let s = g.add(v[0], v[1])?;
        let d = g.sub(v[0], v[1])?;
        let p = g.mul(v[0], v[1])?;
        let t = g.add(s, d)?;
        g.add(t, p)
    });
    assert_eq!(g[0], array![[5.0, 7.0]]);
    assert_eq!(g[1], array![[1.0, -2.0]]);
}

#[test]
fn elementwise_gradchecks() {
    let x = random_matrix(3, 4, -2.0, 2.0, 4);
    let y = random_matrix(3, 4, -2.0, 2.0, 5);
    let tol = Tolerance::default();
    assert_gradcheck(|g, v| g.add(v[0], v[1]), &[x.clone(), y.clone()], tol);
    assert_gradcheck(|g, v| g.sub(v[0], v[1]), &[x.clone(), y.clone()], tol);
    assert_gradcheck(|g, v| g.mul(v[0], v[1]), &[x.clone(), y.clone()], tol);
    assert_gradcheck(|g, v| g.square(v[0]), std::slice::from_ref(&x), tol);
    assert_gradcheck(|g, v| g.affine(v[0], -2.5, 0.75), std::slice::from_ref(&x), tol);
    assert_gradcheck(|g, v| g.sum(v[0]), std::slice::from_ref(&x), tol);
    assert_gradcheck(|g, v| g.mean(v[0]), std::slice::from_ref(&x), tol);
    assert_gradcheck(|g, v| g.mse(v[0], v[1]), &[x, y], tol);
}

#[test]
fn affine_literal() {
    // y = 3x + 1:  ∂x = 3
    let (y, g) = grads_of(&[array![[1.0, 2.0]]], |g, v| g.affine(v[0], 3.0, 1.0));
    assert_eq!(y, array![[4.0, 7.0]]);
    assert_eq!(g[0], array![[3.0, 3.0]]);
}

#[test]
fn mse_literal() {
    // mse = ((1−0)² + (3−1)²)/2 = 2.5;  ∂a = 2(a − b)/N = [1, 2]
    let (y, g) = grads_of(&[array![[1.0, 3.0]], array![[0.0, 1.0]]], |g, v| g.mse(v[0], v[1]));
    assert_eq!(y, array![[2.5]]);
    assert_eq!(g[0], array![[1.0, 2.0]]);
    assert_eq!(g[1], array![[-1.0, -2.0]]);
}

#[test]
fn add_row_and_linear() {
    // y = x Wᵀ + b with x 2×3, W 1×3: ∂b = number of rows = 2
    let x = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
    let w = array![[1.0, 0.0, -1.0]];
    let b = array![[10.0]];
    let (y, g) = grads_of(&[x.clone(), w.clone(), b.clone()], |g, v| g.linear(v[0], v[1], v[2]));
    assert_eq!(y, array![[8.0], [8.0]]);
    assert_eq!(g[2], array![[2.0]]);
    assert_eq!(g[1], array![[5.0, 7.0, 9.0]]);
    assert_gradcheck(
        |g, v| g.linear(v[0], v[1], v[2]),
        &[random_matrix(4, 3, -1.0, 1.0, 6), random_matrix(5, 3, -1.0, 1.0, 7), random_matrix(1, 5, -1.0, 1.0, 8)],
        Tolerance::default(),
    );
    let be = be();
    let mut g = Graph::new(be.clone());
    let a = g.constant(be.upload(Array2::zeros((2, 3)).view()).unwrap());
    let r = g.constant(be.upload(Array2::zeros((1, 2)).view()).unwrap());
    assert!(matches!(g.add_row(a, r), Err(Error::Shape { op: "add_row", .. })));
}

#[test]
fn gelu_literal_and_gradcheck() {
    // GELU(0) = 0, GELU'(0) = Φ(0) = 1/2;  GELU(1) = Φ(1) = 0.841344746…,
    // GELU'(1) = Φ(1) + φ(1) = 0.841344746 + 0.241970725 = 1.083315471 (to 9 digits)
    let (y, g) = grads_of(&[array![[0.0, 1.0]]], |g, v| g.gelu(v[0]));
    assert!(close(&y, &array![[0.0, 0.841_344_746_068_542_9]], 1e-12), "{y}");
    assert!(close(&g[0], &array![[0.5, 1.083_315_470_587_686_3]], 1e-12), "{}", g[0]);
    assert_gradcheck(|g, v| g.gelu(v[0]), &[random_matrix(4, 5, -4.0, 4.0, 9)], Tolerance::default());
}

#[test]
fn gelu_f32_matches_f64() {
    let x = random_matrix(8, 16, -6.0, 6.0, 10);
    let b64 = CpuBackend::<f64>::new();
    let b32 = CpuBackend::<f32>::new();
    let y64 = b64.download(&b64.gelu(&b64.upload(x.view()).unwrap()).unwrap()).unwrap();
    let y32 = b32.download(&b32.gelu(&b32.upload(x.mapv(|v| v as f32).view()).unwrap()).unwrap()).unwrap();
    for (a, b) in y64.iter().zip(&y32) {
        assert!((a - *b as f64).abs() < 1e-6, "{a} vs {b}");
    }
}

#[test]
fn sigmoid_literal_and_gradcheck() {
    // σ(0) = 1/2, σ'(0) = 1/4
    let (y, g) = grads_of(&[array![[0.0]]], |g, v| g.sigmoid(v[0]));
    assert_eq!(y, array![[0.5]]);
    assert_eq!(g[0], array![[0.25]]);
    assert_gradcheck(|g, v| g.sigmoid(v[0]), &[random_matrix(3, 4, -5.0, 5.0, 11)], Tolerance::default());
}

#[test]
fn layer_norm_literal_and_gradcheck() {
    // row [1, 3]: mean 2, var 1 → x̂ = [−1, 1]/√(1 + eps); with γ = [2, 2], β = [0, 1]:
    // y ≈ [−2, 3].  L = Σ y: ∂β = [1, 1], ∂γ = Σ x̂ = [−1, 1]/√(1+eps), ∂x = 0 (Σ_j x̂_j γ is
    // constant under shifts and scalings of the row).
    let eps = 1e-5;
    let s = (1.0f64 + eps).sqrt();
    let (y, g) = grads_of(&[array![[1.0, 3.0]], array![[2.0, 2.0]], array![[0.0, 1.0]]], |g, v| {
        g.layer_norm(v[0], v[1], v[2], eps)
    });
    assert!(close(&y, &array![[-2.0 / s, 2.0 / s + 1.0]], 1e-12), "{y}");
    assert!(close(&g[0], &array![[0.0, 0.0]], 1e-12), "{}", g[0]);
    assert!(close(&g[1], &array![[-1.0 / s, 1.0 / s]], 1e-12), "{}", g[1]);
    assert_eq!(g[2], array![[1.0, 1.0]]);
    assert_gradcheck(
        |g, v| g.layer_norm(v[0], v[1], v[2], 1e-5),
        &[random_matrix(3, 6, -2.0, 2.0, 12), random_matrix(1, 6, 0.5, 1.5, 13), random_matrix(1, 6, -0.5, 0.5, 14)],
        Tolerance::default(),
    );
}

#[test]
fn normalized_adjacency_gradcheck() {
    // A = S + 1 from a similarity S = Z Zᵀ / n, as in the model.
    assert_gradcheck(
        |g, v| {
            let s = g.matmul(v[0], false, v[0], true)?;
            let s = g.scale(s, 1.0 / 5.0)?;
            let a = g.add_scalar(s, 1.0)?;
            g.normalized_adjacency(a)
        },
        &[random_matrix(5, 3, -1.0, 1.0, 15)],
        Tolerance::default(),
    );
    let be = be();
    let mut g = Graph::new(be.clone());
    let a = g.constant(be.upload(array![[1.0, -3.0], [1.0, 1.0]].view()).unwrap());
    let err = g.normalized_adjacency(a).unwrap_err();
    assert!(err.to_string().contains("node 0 has degree -2"), "{err}");
}

#[test]
fn backward_needs_a_scalar_and_skips_constants() {
    let be = be();
    let mut g = Graph::new(be.clone());
    let c = g.constant(be.upload(array![[1.0, 2.0]].view()).unwrap());
    let p = g.param(be.upload(array![[3.0, 4.0]].view()).unwrap());
    let y = g.mul(c, p).unwrap();
    assert!(matches!(g.backward(y), Err(Error::NotScalar { rows: 1, cols: 2 })));
    let s = g.sum(y).unwrap();
    let grads = g.backward(s).unwrap();
    assert!(grads.get(c).is_none());
    assert_eq!(be.download(grads.get(p).unwrap()).unwrap(), array![[1.0, 2.0]]);
}

#[test]
fn gradcheck_catches_a_wrong_rule() {
    // The output is 3x, but it is recorded as 0·x plus a constant computed from x, so the
    // recorded backward rule gives 0 where finite differences give 3: the check must fail.
    let report = crate::test_utils::gradcheck(
        |g, v| {
            let three_x = g.backend().affine(g.value(v[0])?, 3.0, 0.0)?;
            let c = g.constant(three_x);
            let zero = g.scale(v[0], 0.0)?;
            g.add(zero, c)
        },
        &[random_matrix(2, 2, -1.0, 1.0, 17)],
        Tolerance::default(),
    )
    .unwrap();
    assert!(!report.passed);
    assert_eq!(report.analytic, 0.0);
    assert!(report.numeric.abs() > 1e-3, "{report:?}");
}

#[test]
fn adam_matches_the_pytorch_formula() {
    // Two steps on p = [1, −1] with gradients [0.5, 0.5] then [−1, 2] (lr 0.1):
    // written out with torch.optim.Adam's formula.
    let be = be();
    let cfg = AdamConfig { lr: 0.1, ..AdamConfig::default() };
    let mut adam = Adam::new(&be, cfg, &[(1, 2)]).unwrap();
    let mut p = be.upload(array![[1.0, -1.0]].view()).unwrap();
    let (mut m, mut v) = ([0.0f64; 2], [0.0f64; 2]);
    let mut expect = [1.0f64, -1.0];
    for (t, grad) in [[0.5, 0.5], [-1.0, 2.0]].into_iter().enumerate() {
        let g = be.upload(array![grad].view()).unwrap();
        adam.step(&be, &mut [&mut p], &[Some(&g)]).unwrap();
        let t = (t + 1) as i32;
        for i in 0..2 {
            m[i] = 0.9 * m[i] + 0.1 * grad[i];
            v[i] = 0.999 * v[i] + 0.001 * grad[i] * grad[i];
            let denom = v[i].sqrt() / (1.0 - 0.999f64.powi(t)).sqrt() + 1e-8;
            expect[i] -= 0.1 / (1.0 - 0.9f64.powi(t)) * m[i] / denom;
        }
    }
    let got = be.download(&p).unwrap();
    assert!(close(&got, &array![expect], 1e-12), "{got} vs {expect:?}");
    // The first step of Adam moves every coordinate by about lr in the gradient's direction.
    assert!((expect[0] - (1.0 - 0.1 - 0.1 * 0.9 / 1.0)).abs() < 0.2);
    assert_eq!(adam.steps(), 2);
}

#[test]
fn adam_minimises_a_quadratic() {
    // min ‖p − c‖²: Adam with lr 0.05 gets close to c in a few hundred steps.
    let be = be();
    let c = array![[1.5, -0.5, 2.0]];
    let mut p = be.upload(Array2::zeros((1, 3)).view()).unwrap();
    let mut adam = Adam::new(&be, AdamConfig { lr: 0.05, ..AdamConfig::default() }, &[(1, 3)]).unwrap();
    for _ in 0..500 {
        let mut g = Graph::new(be.clone());
        let pv = g.param(p.clone());
        let cv = g.constant(be.upload(c.view()).unwrap());
        let loss = g.mse(pv, cv).unwrap();
        let mut grads = g.backward(loss).unwrap();
        let gp = grads.take(pv).unwrap();
        drop(g);
        adam.step(&be, &mut [&mut p], &[Some(&gp)]).unwrap();
    }
    assert!(close(&be.download(&p).unwrap(), &c, 1e-2), "{}", be.download(&p).unwrap());
}

#[test]
fn scale_by_literal_and_gradcheck() {
    // y = s a, L = Σ y:  ∂a = s,  ∂s = Σ a
    let (y, g) = grads_of(&[array![[1.0, 2.0]], array![[3.0]]], |g, v| g.scale_by(v[0], v[1]));
    assert_eq!(y, array![[3.0, 6.0]]);
    assert_eq!(g[0], array![[3.0, 3.0]]);
    assert_eq!(g[1], array![[3.0]]);
    assert_gradcheck(
        |g, v| g.scale_by(v[0], v[1]),
        &[random_matrix(3, 2, -1.0, 1.0, 20), random_matrix(1, 1, -1.0, 1.0, 21)],
        Tolerance::default(),
    );
    let be = be();
    let mut g = Graph::new(be.clone());
    let a = g.constant(be.upload(Array2::zeros((2, 2)).view()).unwrap());
    assert!(matches!(g.scale_by(a, a), Err(Error::Shape { op: "scale_by", .. })));
}

#[test]
fn sqrt_and_recip_literal_and_gradcheck() {
    // √4 = 2, d/dx √x = 1/(2√x) = 1/4;  1/4, d/dx 1/x = −1/x² = −1/16
    let (y, g) = grads_of(&[array![[4.0]]], |g, v| g.sqrt(v[0]));
    assert_eq!((y, g[0].clone()), (array![[2.0]], array![[0.25]]));
    let (y, g) = grads_of(&[array![[4.0]]], |g, v| g.recip(v[0]));
    assert_eq!((y, g[0].clone()), (array![[0.25]], array![[-0.0625]]));
    let x = random_matrix(2, 3, 0.5, 2.0, 22);
    assert_gradcheck(|g, v| g.sqrt(v[0]), std::slice::from_ref(&x), Tolerance::default());
    assert_gradcheck(|g, v| g.recip(v[0]), &[x], Tolerance::default());
}

#[test]
fn slice_and_concat_literal_and_gradcheck() {
    // L = Σ a[:, 1..3]:  ∂a = [0, 1, 1, 0] per row
    let (y, g) = grads_of(&[array![[1.0, 2.0, 3.0, 4.0]]], |g, v| g.slice_cols(v[0], 1, 2));
    assert_eq!(y, array![[2.0, 3.0]]);
    assert_eq!(g[0], array![[0.0, 1.0, 1.0, 0.0]]);
    let (y, _) = grads_of(&[array![[1.0], [2.0]], array![[3.0, 4.0], [5.0, 6.0]]], |g, v| g.concat_cols(&[v[0], v[1]]));
    assert_eq!(y, array![[1.0, 3.0, 4.0], [2.0, 5.0, 6.0]]);
    let (a, b) = (random_matrix(3, 4, -1.0, 1.0, 23), random_matrix(3, 2, -1.0, 1.0, 24));
    assert_gradcheck(|g, v| g.slice_cols(v[0], 1, 3), std::slice::from_ref(&a), Tolerance::default());
    assert_gradcheck(|g, v| g.concat_cols(&[v[1], v[0], v[1]]), &[a, b], Tolerance::default());
    let be = be();
    let mut g = Graph::new(be.clone());
    let a = g.constant(be.upload(Array2::zeros((2, 3)).view()).unwrap());
    let b = g.constant(be.upload(Array2::zeros((3, 3)).view()).unwrap());
    assert!(matches!(g.slice_cols(a, 2, 2), Err(Error::Shape { op: "slice_cols", .. })));
    assert!(matches!(g.concat_cols(&[a, b]), Err(Error::Shape { op: "concat_cols", .. })));
}

#[test]
fn tridiagonal_literal_and_gradcheck() {
    // T = [[1, 4, 0], [4, 2, 5], [0, 5, 3]]; L = Σ T:  ∂α = 1, ∂β = 2
    let (t, g) = grads_of(&[array![[1.0, 2.0, 3.0]], array![[4.0, 5.0]]], |g, v| g.tridiagonal(v[0], v[1]));
    assert_eq!(t, array![[1.0, 4.0, 0.0], [4.0, 2.0, 5.0], [0.0, 5.0, 3.0]]);
    assert_eq!(g[0], array![[1.0, 1.0, 1.0]]);
    assert_eq!(g[1], array![[2.0, 2.0]]);
    assert_gradcheck(
        |g, v| g.tridiagonal(v[0], v[1]),
        &[random_matrix(1, 4, -1.0, 1.0, 25), random_matrix(1, 3, -1.0, 1.0, 26)],
        Tolerance::default(),
    );
}

#[test]
fn slice_and_concat_rows() {
    // L = Σ a[1..2, :]:  ∂a = [[0, 0], [1, 1], [0, 0]]
    let (y, g) = grads_of(&[array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]], |g, v| g.slice_rows(v[0], 1, 1));
    assert_eq!(y, array![[3.0, 4.0]]);
    assert_eq!(g[0], array![[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]]);
    let (a, b) = (random_matrix(2, 3, -1.0, 1.0, 30), random_matrix(1, 3, -1.0, 1.0, 31));
    assert_gradcheck(|g, v| g.slice_rows(v[0], 1, 1), std::slice::from_ref(&a), Tolerance::default());
    assert_gradcheck(|g, v| g.concat_rows(&[v[1], v[0], v[1]]), &[a, b], Tolerance::default());
}

/// A symmetric matrix with well-separated eigenvalues 1, 2, …, n in a random basis.
fn separated_symmetric(n: usize, seed: u64) -> Array2<f64> {
    let q = random_matrix(n, n, -1.0, 1.0, seed);
    let eig = hagcn_linalg::symmetric_eigen((&q + &q.t()).view()).unwrap();
    let basis = eig.vectors;
    let d = Array2::from_diag(&ndarray::Array1::from_iter((1..=n).map(|i| i as f64)));
    basis.dot(&d).dot(&basis.t())
}

#[test]
fn symmetric_eigen_literal() {
    // diag(3, 1): eigenvalues ascending [1, 3], eigenvectors e2, e1 (largest component +).
    let (vals, _) = grads_of(&[array![[3.0, 0.0], [0.0, 1.0]]], |g, v| Ok(g.symmetric_eigen(v[0])?.0));
    assert_eq!(vals, array![[1.0, 3.0]]);
    // L = Σ λ = trace(A):  ∂A = I
    let (_, g) = grads_of(&[separated_symmetric(4, 40)], |g, v| Ok(g.symmetric_eigen(v[0])?.0));
    assert!(close(&g[0], &Array2::eye(4), 1e-10), "{}", g[0]);
}

#[test]
fn symmetric_eigen_gradcheck() {
    // Perturb only through a symmetric parametrisation A = (P + Pᵀ)/2, as the model does.
    let p = separated_symmetric(5, 41);
    for (name, pick_vectors) in [("values", false), ("vectors", true)] {
        let report = crate::test_utils::gradcheck(
            |g, v| {
                let pt = g.matmul(v[0], true, v[1], false)?; // Pᵀ I
                let sum = g.add(v[0], pt)?;
                let a = g.scale(sum, 0.5)?;
                let (vals, vecs) = g.symmetric_eigen(a)?;
                Ok(if pick_vectors { vecs } else { vals })
            },
            &[p.clone(), Array2::eye(5)],
            Tolerance { eps: 1e-6, rtol: 1e-5, atol: 1e-7 },
        )
        .unwrap();
        assert!(report.passed, "{name}: {report:?}");
    }
}

#[test]
fn symmetric_eigen_gradient_stays_finite_on_repeated_eigenvalues() {
    // A = I has one eigenvalue of multiplicity 3: the eigenvector term is masked.
    let (_, g) = grads_of(&[Array2::eye(3)], |g, v| Ok(g.symmetric_eigen(v[0])?.1));
    assert!(g[0].iter().all(|x| x.is_finite()));
}

#[test]
fn bspline_basis_gradcheck() {
    // Four well-separated points, 4 cubic basis functions (as the spline filter with k = 4).
    let x = array![[-0.9, -0.35, 0.2, 0.8]];
    assert_gradcheck(|g, v| g.bspline_basis(v[0], 4, 3), &[x], Tolerance { eps: 1e-7, rtol: 1e-5, atol: 1e-7 });
}

/// Features shaped like a real hidden layer (non-negative, a large common part, small
/// differences between rows), so that the batch graph `Â` of `Z Zᵀ/n + 1` has what real
/// batches have: one eigenvalue 1 and tiny, tightly clustered smallest eigenvalues.
fn real_shaped_features(n: usize, h: usize, spread: f64, seed: u64) -> Array2<f64> {
    random_matrix(n, h, 0.0, 1.0, seed).mapv(|x| 0.5 + spread * x)
}

/// `Â` of `Z Zᵀ/n + 1`, recorded op by op.
fn batch_graph(g: &mut Graph<CpuBackend<f64>>, z: Var) -> crate::Result<Var> {
    let n = g.shape(z)?.0;
    let zz = g.matmul(z, false, z, true)?;
    let s = g.scale(zz, 1.0 / n as f64)?;
    let a = g.add_scalar(s, 1.0)?;
    g.normalized_adjacency(a)
}

fn smallest_spectrum(z: &Array2<f64>) -> ndarray::Array1<f64> {
    let n = z.nrows() as f64;
    let a = z.dot(&z.t()) / n + 1.0;
    let (a_hat, _) = hagcn_linalg::normalized_adjacency(a.view()).unwrap();
    hagcn_linalg::symmetric_eigen(a_hat.view()).unwrap().values
}

#[test]
fn symmetric_eigen_gradcheck_on_a_real_shaped_batch_graph() {
    // Gaps far below the old absolute cut-off of 1e-6: every pair must contribute.
    let z = real_shaped_features(10, 30, 0.02, 50);
    let lambda = smallest_spectrum(&z);
    let gaps: Vec<f64> = lambda.iter().zip(lambda.iter().skip(1)).map(|(a, b)| b - a).take(5).collect();
    assert!(lambda[5] < 1e-5 && gaps.iter().cloned().fold(1.0, f64::min) < 1e-6, "{lambda} {gaps:?}");
    for pick_vectors in [false, true] {
        assert_gradcheck(
            |g, v| {
                let a_hat = batch_graph(g, v[0])?;
                let (vals, vecs) = g.symmetric_eigen(a_hat)?;
                let out = if pick_vectors { vecs } else { vals };
                if pick_vectors { g.slice_cols(out, 0, 5) } else { Ok(out) }
            },
            std::slice::from_ref(&z),
            // central differences lose ε/gap to rounding: a step far above that, far below the gaps
            Tolerance { eps: 1e-5, rtol: 1e-4, atol: 1e-6 },
        );
    }
}

#[test]
fn gram_graph_smallest_eigen_matches_the_composite_ops() {
    let be = be();
    let z0 = real_shaped_features(12, 20, 0.05, 51);
    let w_vec = random_matrix(12, 4, -1.0, 1.0, 52);
    let w_val = random_matrix(1, 4, -1.0, 1.0, 53);
    let run = |fused: bool| {
        let mut g = Graph::new(be.clone());
        let z = g.param(be.upload(z0.view()).unwrap());
        let (vals, vecs) = if fused {
            g.gram_graph_smallest_eigen(z, 1.0 / 12.0, 1.0, 4).unwrap()
        } else {
            let a_hat = batch_graph(&mut g, z).unwrap();
            let (vals, vecs) = g.symmetric_eigen(a_hat).unwrap();
            (g.slice_cols(vals, 0, 4).unwrap(), g.slice_cols(vecs, 0, 4).unwrap())
        };
        let wv = g.constant(be.upload(w_vec.view()).unwrap());
        let wl = g.constant(be.upload(w_val.view()).unwrap());
        let a = g.mul(vecs, wv).unwrap();
        let b = g.mul(vals, wl).unwrap();
        let (sa, sb) = (g.sum(a).unwrap(), g.sum(b).unwrap());
        let loss = g.add(sa, sb).unwrap();
        let grads = g.backward(loss).unwrap();
        (
            be.download(g.value(vals).unwrap()).unwrap(),
            be.download(g.value(vecs).unwrap()).unwrap(),
            be.download(grads.get(z).unwrap()).unwrap(),
        )
    };
    let (fused, composite) = (run(true), run(false));
    assert!(close(&fused.0, &composite.0, 1e-15), "{} vs {}", fused.0, composite.0);
    assert!(close(&fused.1, &composite.1, 1e-8));
    let scale = composite.2.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    assert!(close(&fused.2, &composite.2, 1e-6 * scale), "{}\n{}", fused.2, composite.2);
}

#[test]
fn gram_graph_smallest_eigen_gradcheck() {
    let z = real_shaped_features(10, 30, 0.05, 54);
    for pick_vectors in [false, true] {
        assert_gradcheck(
            |g, v| {
                let (vals, vecs) = g.gram_graph_smallest_eigen(v[0], 0.1, 1.0, 5)?;
                Ok(if pick_vectors { vecs } else { vals })
            },
            std::slice::from_ref(&z),
            Tolerance { eps: 1e-5, rtol: 1e-4, atol: 1e-6 },
        );
    }
}

#[test]
fn gram_graph_smallest_eigen_counts_degenerate_pairs() {
    // n > h + 1: a null space of dimension n − h − 1, whose pairs are skipped (and counted);
    // the gradient stays finite.
    let be = be();
    let mut g = Graph::new(be.clone());
    let z = g.param(be.upload(random_matrix(12, 3, 0.0, 1.0, 55).view()).unwrap());
    let (vals, vecs) = g.gram_graph_smallest_eigen(z, 1.0 / 12.0, 1.0, 4).unwrap();
    assert!(g.degenerate_eigen_pairs(vals).unwrap() > 0);
    assert_eq!(g.degenerate_eigen_pairs(vals), g.degenerate_eigen_pairs(vecs));
    assert_eq!(g.degenerate_eigen_pairs(z), None);
    let s = g.sum(vecs).unwrap();
    let grads = g.backward(s).unwrap();
    assert!(be.download(grads.get(z).unwrap()).unwrap().iter().all(|x| x.is_finite()));
    let mut g = Graph::new(be.clone());
    let z = g.param(be.upload(real_shaped_features(10, 30, 0.05, 56).view()).unwrap());
    let (vals, _) = g.gram_graph_smallest_eigen(z, 0.1, 1.0, 5).unwrap();
    assert_eq!(g.degenerate_eigen_pairs(vals), Some(0));
    assert!(matches!(g.gram_graph_smallest_eigen(z, 0.1, 1.0, 11), Err(Error::Linalg(_))));
}

#[test]
fn gram_literal_and_gradcheck() {
    // [[1, 2], [3, 4]] → ½ A Aᵀ = ½ [[5, 11], [11, 25]]; L = Σ C: ∂A = ½ (1 + 1ᵀ) A = 1 A.
    let a = array![[1.0, 2.0], [3.0, 4.0]];
    let (c, g) = grads_of(std::slice::from_ref(&a), |g, v| g.gram(v[0], 0.5));
    assert_eq!(c, array![[2.5, 5.5], [5.5, 12.5]]);
    assert_eq!(g[0], array![[4.0, 6.0], [4.0, 6.0]]);
    // Sizes around the mirroring tile (64) and BLAS blocking; the result equals a general product.
    for (n, k) in [(1, 3), (63, 5), (65, 130), (130, 7)] {
        let a = random_matrix(n, k, -1.0, 1.0, n as u64);
        let (c, _) = grads_of(std::slice::from_ref(&a), |g, v| g.gram(v[0], 0.25));
        assert!(close(&c, &(0.25 * a.dot(&a.t())), 1e-12), "n = {n}");
    }
    assert_gradcheck(|g, v| g.gram(v[0], 0.7), &[random_matrix(4, 3, -1.0, 1.0, 60)], Tolerance::default());
    // f32 uses ssyrk.
    let be32 = CpuBackend::<f32>::new();
    let a32 = random_matrix(70, 9, -1.0, 1.0, 61).mapv(|x| x as f32);
    let c32 = be32.download(&be32.gram(&be32.upload(a32.view()).unwrap(), 2.0).unwrap()).unwrap();
    let expect = 2.0 * a32.dot(&a32.t());
    assert!(c32.iter().zip(&expect).all(|(x, y)| (x - y).abs() < 1e-4));
}
