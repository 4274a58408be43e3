//! `CudaBackend`'s symmetric eigendecomposition: the device path (conversion kernel, the
//! device's `dsyevd`, packing kernel) against `CpuBackend<f32>` (hagcn_linalg), its fallback to
//! the host, its policy, and the backward on its output.
//!
//! Tolerances. On the emulated device the solver is the host's LAPACK `dsyevd` on the same f64
//! matrix, so the device path must reproduce the CPU path **bit for bit**, and every test
//! checks that. A GPU's cuSOLVER rounds differently, so the same cases are also checked by
//! [`check_against_cpu`] to tolerances that hold for any backward-stable f64 solver whose
//! output is rounded to f32 (`ε = f32::EPSILON`, `‖A‖ = max |λ|`; the f64 solvers contribute a
//! term `n · ε64 · ‖A‖` with a factor 64 of headroom, far below the f32 terms):
//! * eigenvalues within `ε |λ|` (one f32 rounding each side of a tie) `+ 64 n ε64 ‖A‖`;
//! * the reconstruction `U diag(λ) Uᵀ` within `4 ε ‖A‖` of `(A + Aᵀ)/2` entrywise: rounding each
//!   entry of `U` and `λ` to f32 (relative `ε/2`) moves an entry by at most
//!   `(3/2) ε ‖A‖ Σ_k |u_ik u_jk| ≤ (3/2) ε ‖A‖`;
//! * `UᵀU` within `4 ε` of `I`, by the same argument;
//! * an eigenvector within `2 ε + 64 n ε64 ‖A‖ / gap` of the CPU's (the f64 solvers' angle error
//!   is `O(n ε64 ‖A‖ / gap)`), compared only where that bound is below 0.01: where eigenvalues
//!   repeat or cluster, eigenvectors are not unique and only the reconstruction says anything.
//!   Where the two largest magnitudes of a column are within the bound of each other, the sign
//!   convention itself may go either way on another solver, so that column is compared up to
//!   sign.
//!
//! `device_eigen_on_a_gpu_or_a_clear_error` runs these checks on a real GPU when there is one.

use std::sync::Arc;

use hagcn_openblas as _;

mod common;
use common::{Fault, Recording};

use hagcn_autodiff::{Backend, CpuBackend, Graph};
use hagcn_cuda::device::Syevd;
use hagcn_cuda::device::emulated::EmuBuffer;
use hagcn_cuda::{CudaBackend, Device, EigenPolicy, EigenSolver, EmulatedDevice, Error, KernelDevice};
use ndarray::{Array1, Array2, s};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

// ---------------------------------------------------------------------------------------------
// Inputs.

fn random(rows: usize, cols: usize, lo: f64, hi: f64, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((rows, cols), |_| rng.random_range(lo..hi))
}

/// `Q diag(λ) Qᵀ` in f64 for a random orthogonal `Q` (the eigenvectors of a random symmetric
/// matrix), rounded to f32.
fn with_spectrum(lambda: &[f64], seed: u64) -> Array2<f32> {
    let n = lambda.len();
    let r = random(n, n, -1.0, 1.0, seed);
    let q = hagcn_linalg::symmetric_eigen((&r + &r.t()).view()).unwrap().vectors;
    let a = q.dot(&Array2::from_diag(&Array1::from(lambda.to_vec()))).dot(&q.t());
    a.mapv(|x| x as f32)
}

/// The batch graph of a training step: `Â` of `Z Zᵀ/n + 1` for features shaped like a hidden
/// layer (non-negative, a large common part, small differences between rows), so that it has
/// one eigenvalue 1 and tiny, tightly clustered smallest eigenvalues, as real batches do.
fn batch_graph(n: usize, seed: u64) -> Array2<f32> {
    let z = random(n, 48, 0.0, 1.0, seed).mapv(|x| 0.5 + 0.02 * x);
    let a = z.dot(&z.t()) / n as f64 + 1.0;
    hagcn_linalg::normalized_adjacency(a.view()).unwrap().0.mapv(|x| x as f32)
}

// ---------------------------------------------------------------------------------------------
// Running both paths.

fn emulated() -> CudaBackend<EmulatedDevice> {
    CudaBackend::new(Arc::new(EmulatedDevice)).with_eigen_policy(EigenPolicy::Device)
}

/// The packed decomposition from the device path, which must not have fallen back.
fn on_device<D: KernelDevice>(be: &CudaBackend<D>, a: &Array2<f32>) -> Array2<f32> {
    let (packed, solver) = be.symmetric_eigen_with(EigenPolicy::Device, &be.upload(a.view()).unwrap()).unwrap();
    assert_eq!(solver, EigenSolver::Device, "the device path fell back");
    be.download(&packed).unwrap()
}

fn on_cpu(a: &Array2<f32>) -> Array2<f32> {
    let cpu = CpuBackend::<f32>::new();
    cpu.download(&cpu.symmetric_eigen(&cpu.upload(a.view()).unwrap()).unwrap()).unwrap()
}

/// The tolerance checks of the module docs; returns how many eigenvectors were compared.
fn check_against_cpu(what: &str, a: &Array2<f32>, got: &Array2<f32>, want: &Array2<f32>) -> usize {
    let n = a.nrows();
    assert_eq!(got.dim(), (n + 1, n), "{what}: shape");
    let (eps, eps64) = (f64::from(f32::EPSILON), f64::EPSILON);
    let lambda = got.row(n).mapv(f64::from);
    let lambda_cpu = want.row(n).mapv(f64::from);
    let norm = lambda_cpu.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let solver = 64.0 * n as f64 * eps64 * norm;
    for j in 0..n {
        if j > 0 {
            assert!(lambda[j - 1] <= lambda[j], "{what}: eigenvalues not ascending at {j}");
        }
        let d = (lambda[j] - lambda_cpu[j]).abs();
        assert!(
            d <= eps * lambda_cpu[j].abs() + solver,
            "{what}: λ_{j} {} vs {} (|Δ| {d:e})",
            lambda[j],
            lambda_cpu[j]
        );
    }
    let u = got.slice(s![..n, ..]).mapv(f64::from);
    let sym = Array2::from_shape_fn((n, n), |(i, j)| 0.5 * (f64::from(a[[i, j]]) + f64::from(a[[j, i]])));
    let rebuilt = u.dot(&Array2::from_diag(&lambda)).dot(&u.t());
    let worst = (&rebuilt - &sym).iter().fold(0.0f64, |m, x| m.max(x.abs()));
    assert!(worst <= 4.0 * eps * norm + solver, "{what}: ‖U Λ Uᵀ − A‖_max = {worst:e} (‖A‖ = {norm:e})");
    let gram = u.t().dot(&u) - Array2::<f64>::eye(n);
    let worst = gram.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    assert!(worst <= 4.0 * eps + 64.0 * n as f64 * eps64, "{what}: ‖UᵀU − I‖_max = {worst:e}");
    let u_cpu = want.slice(s![..n, ..]).mapv(f64::from);
    let mut compared = 0;
    for j in 0..n {
        let gap =
            (0..n).filter(|&k| k != j).map(|k| (lambda_cpu[j] - lambda_cpu[k]).abs()).fold(f64::INFINITY, f64::min);
        let tol = 2.0 * eps + solver / gap;
        if tol > 0.01 {
            continue;
        }
        let (col, col_cpu) = (u.column(j), u_cpu.column(j));
        let mut mags: Vec<f64> = col_cpu.iter().map(|x| x.abs()).collect();
        mags.sort_by(|x, y| y.total_cmp(x));
        let signed = mags.len() < 2 || mags[0] - mags[1] > tol;
        let diff = |sign: f64| col.iter().zip(&col_cpu).fold(0.0f64, |m, (x, y)| m.max((x - sign * y).abs()));
        let d = if signed { diff(1.0) } else { diff(1.0).min(diff(-1.0)) };
        assert!(d <= tol, "{what}: eigenvector {j} differs by {d:e} > {tol:e} (gap {gap:e})");
        compared += 1;
    }
    compared
}

/// The device path on the emulator against the CPU: bit for bit, and the tolerance checks.
fn check_emulated(what: &str, a: &Array2<f32>) -> usize {
    let (got, want) = (on_device(&emulated(), a), on_cpu(a));
    assert_eq!(got, want, "{what}: the emulated device path differs from the CPU path");
    let compared = check_against_cpu(what, a, &got, &want);
    eprintln!("{what}: bit for bit; {compared} of {} eigenvectors within the gap bound", a.nrows());
    compared
}

// ---------------------------------------------------------------------------------------------
// The device path against the CPU.

#[test]
fn random_matrices_match_the_cpu_path() {
    // Not symmetric: both paths decompose (A + Aᵀ)/2.
    for (n, seed) in [(2, 1), (3, 2), (31, 3), (64, 4), (130, 5)] {
        let a = random(n, n, -2.0, 2.0, seed).mapv(|x| x as f32);
        let compared = check_emulated(&format!("random n = {n}"), &a);
        assert!(compared >= n / 2, "n = {n}: only {compared} eigenvectors compared");
    }
}

#[test]
fn clustered_eigenvalues_match_the_cpu_path() {
    // The spectrum of a real batch graph: one eigenvalue 1, the rest from 1e-5 in steps of 1e-7.
    let n = 48;
    let lambda: Vec<f64> = (0..n).map(|i| if i + 1 == n { 1.0 } else { 1e-5 + 1e-7 * i as f64 }).collect();
    let compared = check_emulated("clustered", &with_spectrum(&lambda, 10));
    assert!(compared >= 1, "the isolated eigenvector was not compared");
}

#[test]
fn repeated_eigenvalues_match_the_cpu_path() {
    // Eigenvectors are not unique: the reconstruction and the eigenvalues say it all, and only
    // the simple eigenvalues' vectors (2.5 and 9 here) are compared.
    check_emulated("identity", &Array2::eye(16));
    let lambda = [1.0, 1.0, 1.0, 2.5, 4.0, 4.0, 4.0, 4.0, -3.0, -3.0, 9.0, 6.0, 6.0];
    let compared = check_emulated("repeated", &with_spectrum(&lambda, 11));
    assert!(compared >= 2, "only {compared} eigenvectors compared");
}

#[test]
fn batch_graphs_match_the_cpu_path() {
    for (n, seed) in [(64, 20), (128, 21)] {
        let a = batch_graph(n, seed);
        let want = on_cpu(&a);
        assert!((want[[n, n - 1]] - 1.0).abs() < 1e-5 && want[[n, n - 2]] < 5e-3, "not shaped like a batch graph");
        check_emulated(&format!("batch graph n = {n}"), &a);
    }
}

#[test]
fn order_one_and_empty_matrices() {
    let be = emulated();
    assert_eq!(on_device(&be, &ndarray::array![[-2.5f32]]), ndarray::array![[1.0f32], [-2.5]]);
    let (packed, solver) =
        be.symmetric_eigen_with(EigenPolicy::Device, &be.upload(Array2::zeros((0, 0)).view()).unwrap()).unwrap();
    assert_eq!((be.shape(&packed), solver), ((1, 0), EigenSolver::Host));
}

#[test]
fn bad_inputs_give_the_cpu_paths_errors() {
    let be = emulated();
    let cpu = CpuBackend::<f32>::new();
    let mut nan = random(5, 5, -1.0, 1.0, 30).mapv(|x| x as f32);
    nan[[3, 1]] = f32::NAN;
    for a in [nan, Array2::zeros((2, 3))] {
        let err = be.symmetric_eigen(&be.upload(a.view()).unwrap()).unwrap_err();
        let want = cpu.symmetric_eigen(&cpu.upload(a.view()).unwrap()).unwrap_err();
        assert_eq!(err.to_string(), want.to_string());
    }
}

#[test]
fn the_backward_runs_on_the_device_output() {
    // Backend::symmetric_eigen_backward keeps the trait's default (the host, spec §5.1): on the
    // device path's packed output it gives the CPU's gradient, bit for bit on the emulator.
    let (be, cpu) = (emulated(), CpuBackend::<f32>::new());
    let a = batch_graph(40, 40);
    let g = random(41, 40, -1.0, 1.0, 41).mapv(|x| x as f32);
    let run = |policy_device: bool| {
        let be = be.clone().with_eigen_policy(if policy_device { EigenPolicy::Device } else { EigenPolicy::Host });
        let mut graph = Graph::new(be.clone());
        let x = graph.param(be.upload(a.view()).unwrap());
        let packed = graph.symmetric_eigen(x).unwrap();
        let (values, vectors) = packed;
        let w = graph.constant(be.upload(g.slice(s![..40, ..]).view()).unwrap());
        let wl = graph.constant(be.upload(g.slice(s![40.., ..]).view()).unwrap());
        let (pv, pl) = (graph.mul(vectors, w).unwrap(), graph.mul(values, wl).unwrap());
        let (sv, sl) = (graph.sum(pv).unwrap(), graph.sum(pl).unwrap());
        let loss = graph.add(sv, sl).unwrap();
        let grads = graph.backward(loss).unwrap();
        be.download(grads.get(x).unwrap()).unwrap()
    };
    let (on_device_path, on_host_path) = (run(true), run(false));
    assert!(on_device_path.iter().all(|x| x.is_finite()));
    assert_eq!(on_device_path, on_host_path);
    // And the trait method itself, on the device path's output, against the CPU backend.
    let packed = be.symmetric_eigen(&be.upload(a.view()).unwrap()).unwrap();
    let got = be.download(&be.symmetric_eigen_backward(&packed, &be.upload(g.view()).unwrap()).unwrap()).unwrap();
    let cpu_packed = cpu.symmetric_eigen(&cpu.upload(a.view()).unwrap()).unwrap();
    let want =
        cpu.download(&cpu.symmetric_eigen_backward(&cpu_packed, &cpu.upload(g.view()).unwrap()).unwrap()).unwrap();
    assert_eq!(got, want);
}

// ---------------------------------------------------------------------------------------------
// The solver primitive.

#[test]
fn dsyevd_reads_one_triangle_of_a_column_major_matrix() {
    // A = [[4, 1, 0], [1, 3, 1], [0, 1, 2]] stored column-major with lda = 4 (one padding row),
    // the unread triangle and the padding set to garbage.
    let dev = EmulatedDevice;
    let full = ndarray::array![[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]];
    let want = hagcn_linalg::symmetric_eigen(full.view()).unwrap().values;
    for lower in [true, false] {
        let mut a = vec![f64::NAN; 4 * 3];
        for col in 0..3 {
            for row in 0..3 {
                let keep = if lower { row >= col } else { row <= col };
                a[col * 4 + row] = if keep { full[[row, col]] } else { 1e6 };
            }
        }
        let (mut a, mut w, mut info) =
            (EmuBuffer(a), dev.alloc_zeros::<f64>(3).unwrap(), dev.upload(&[-99i32]).unwrap());
        dev.dsyevd(Syevd { vectors: true, lower, n: 3, lda: 4 }, &mut a, &mut w, &mut info).unwrap();
        assert_eq!(info.0, [0]);
        for (j, (&got, &want)) in w.0.iter().zip(&want).enumerate() {
            assert!((got - want).abs() < 1e-13, "lower = {lower}: λ_{j} {got} vs {want}");
            // A v = λ v for the column-major eigenvector j.
            let v = &a.0[j * 4..j * 4 + 3];
            for row in 0..3 {
                let av: f64 = (0..3).map(|k| full[[row, k]] * v[k]).sum();
                assert!((av - got * v[row]).abs() < 1e-13, "lower = {lower}: residual of vector {j}");
            }
        }
    }
    // Eigenvalues only, and calls that do not fit their buffers.
    let mut a = EmuBuffer(vec![2.0, 0.0, 0.0, 5.0]);
    let (mut w, mut info) = (dev.alloc_zeros::<f64>(2).unwrap(), dev.upload(&[7i32]).unwrap());
    dev.dsyevd(Syevd { vectors: false, lower: true, n: 2, lda: 2 }, &mut a, &mut w, &mut info).unwrap();
    assert_eq!((w.0.as_slice(), info.0.as_slice()), ([2.0, 5.0].as_slice(), [0].as_slice()));
    let err = dev.dsyevd(Syevd { vectors: true, lower: true, n: 3, lda: 3 }, &mut a, &mut w, &mut info).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Fallback and policy, through a device whose eigensolver fails on demand.

/// The shared test device with its eigensolver failing as `fault` says.
fn faulty_backend(fault: Fault, policy: EigenPolicy) -> CudaBackend<Recording> {
    CudaBackend::new(Arc::new(Recording::with_eigen_fault(fault))).with_eigen_policy(policy)
}

#[test]
fn a_failing_device_solver_falls_back_to_the_host() {
    let a = batch_graph(24, 50);
    let want = on_cpu(&a);
    for (fault, reason) in [
        (Fault::Info(13), "did not converge (dsyevd info = 13)"),
        (Fault::Info(-4), "rejected argument 4 (dsyevd info = -4)"),
        (Fault::NanValue, "NaN or an infinity"),
        (Fault::InfVector, "NaN or an infinity"),
        (Fault::Error, "injected: CUSOLVER_STATUS_INTERNAL_ERROR"),
    ] {
        let be = faulty_backend(fault, EigenPolicy::Device);
        let t = be.upload(a.view()).unwrap();
        let (packed, solver) = be.symmetric_eigen_with(EigenPolicy::Device, &t).unwrap();
        match &solver {
            EigenSolver::HostFallback(why) => assert!(why.contains(reason), "{fault:?}: {why}"),
            other => panic!("{fault:?}: {other:?}"),
        }
        assert_eq!(be.download(&packed).unwrap(), want, "{fault:?}");
        // Through the trait, as training calls it: the CPU's result, not an error.
        assert_eq!(be.download(&be.symmetric_eigen(&t).unwrap()).unwrap(), want, "{fault:?}");
        assert_eq!(be.device().eigen_calls(), 2, "{fault:?}");
    }
}

#[test]
fn the_policy_decides_which_path_runs() {
    let small = random(8, 8, -1.0, 1.0, 60).mapv(|x| x as f32);
    let large = random(12, 12, -1.0, 1.0, 61).mapv(|x| x as f32);
    for (policy, small_on_device, large_on_device) in [
        (EigenPolicy::Host, false, false),
        (EigenPolicy::Device, true, true),
        (EigenPolicy::Auto { min_device_n: 10 }, false, true),
    ] {
        let be = faulty_backend(Fault::None, policy);
        assert_eq!(be.eigen_policy(), policy);
        for (a, device) in [(&small, small_on_device), (&large, large_on_device)] {
            let before = be.device().eigen_calls();
            let t = be.upload(a.view()).unwrap();
            assert_eq!(be.download(&be.symmetric_eigen(&t).unwrap()).unwrap(), on_cpu(a));
            assert_eq!(be.device().eigen_calls() - before, usize::from(device), "{policy}");
            let (_, solver) = be.symmetric_eigen_with(policy, &t).unwrap();
            assert_eq!(solver, if device { EigenSolver::Device } else { EigenSolver::Host }, "{policy}");
        }
    }
    // A NaN input never reaches the solver: the conversion kernel flags it first.
    let be = faulty_backend(Fault::None, EigenPolicy::Device);
    let mut nan = large.clone();
    nan[[0, 11]] = f32::INFINITY;
    assert!(be.symmetric_eigen(&be.upload(nan.view()).unwrap()).is_err());
    assert_eq!(be.device().eigen_calls(), 0);
    // Without an explicit policy: the default, the host.
    let unset = CudaBackend::new(Arc::new(EmulatedDevice));
    assert_eq!(unset.eigen_policy(), EigenPolicy::Host);
    let a = unset.upload(large.view()).unwrap();
    assert_eq!(unset.symmetric_eigen_with(unset.eigen_policy(), &a).unwrap().1, EigenSolver::Host);
}

// ---------------------------------------------------------------------------------------------
// A real GPU, when there is one.

#[test]
fn without_a_gpu_opening_one_is_a_clear_error() {
    if let Err(e) = Device::open(0) {
        assert!(matches!(e, Error::NoDriver | Error::NoDevice { .. } | Error::Cuda(_)), "{e}");
        assert!(!e.to_string().contains('\n'), "{e}");
    }
}

/// cuSOLVER on `cuda:0` against the CPU, to tolerances; run by `gpu-check`'s `run.sh`.
#[test]
#[ignore = "needs an NVIDIA GPU: run by gpu-check's run.sh"]
fn device_eigen_matches_the_cpu_on_gpu() {
    let device = Device::open(0).expect("this test needs cuda:0");
    // cuSOLVER rounds differently from LAPACK: tolerances, not bit equality.
    let be = CudaBackend::new(Arc::new(device)).with_eigen_policy(EigenPolicy::Device);
    let mut cases = vec![
        ("order one".to_string(), ndarray::array![[-2.5f32]]),
        ("random n = 130".to_string(), random(130, 130, -2.0, 2.0, 5).mapv(|x| x as f32)),
        ("identity".to_string(), Array2::eye(16)),
        ("repeated".to_string(), with_spectrum(&[1.0, 1.0, 1.0, 2.5, 4.0, 4.0, -3.0, 9.0], 11)),
    ];
    for n in [128, 1024] {
        cases.push((format!("batch graph n = {n}"), batch_graph(n, 20)));
    }
    for (what, a) in &cases {
        let started = std::time::Instant::now();
        let got = on_device(&be, a);
        let elapsed = started.elapsed();
        check_against_cpu(what, a, &got, &on_cpu(a));
        eprintln!("{what}: device path {:.1} ms", elapsed.as_secs_f64() * 1e3);
    }
}
