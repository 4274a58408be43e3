//! The spectral building blocks of `hagcn-linalg` across sizes: symmetric eigendecomposition,
//! Lanczos (k = 18), and the two Chebyshev filter paths (k = 18, h = 768).
//!
//! Run with `cargo xtask bench -- linalg` or `cargo bench -p hagcn-benches --bench linalg`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion};
use hagcn_linalg::{
    LanczosOptions, chebyshev_apply, chebyshev_sum, lanczos, normalized_adjacency, smallest_eigen, symmetric_eigen,
};
use ndarray::{Array1, Array2};

/// A batch-like normalised adjacency: `Â` of `Z Zᵀ / n + 1` for a smooth `n × 64` `Z`.
fn batch_graph(n: usize) -> Array2<f64> {
    let z = Array2::from_shape_fn((n, 64), |(i, j)| ((i * 31 + j * 17) as f64 * 0.013).sin());
    let a = z.dot(&z.t()) / n as f64 + 1.0;
    normalized_adjacency(a.view()).expect("positive degrees").0
}

fn eigh(c: &mut Criterion) {
    let mut group = c.benchmark_group("symmetric_eigen");
    group.sample_size(10);
    for n in [64usize, 128, 256, 512, 1024] {
        let a = batch_graph(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| symmetric_eigen(black_box(a.view())).expect("eigh"))
        });
    }
    group.finish();
}

/// `Â` of `Z Zᵀ / n + 1` for non-negative `n × 768` features with a common part, as a hidden
/// layer gives: tiny, clustered smallest eigenvalues (and a null space once `n > 769`).
fn hidden_layer_graph(n: usize) -> Array2<f64> {
    let z = Array2::from_shape_fn((n, 768), |(i, j)| {
        // a splitmix-style hash of (i, j): pseudo-random entries in [0.5, 0.55)
        let mut x = (i as u64) << 32 | j as u64;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        0.5 + 0.05 * ((x ^ (x >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    });
    let a = z.dot(&z.t()) / n as f64 + 1.0;
    normalized_adjacency(a.view()).expect("positive degrees").0
}

fn smallest_eigenpairs(c: &mut Criterion) {
    // What the fourier and spline filters need: the k = 18 smallest eigenpairs and the
    // gradient through them, against the full decomposition above.
    let mut group = c.benchmark_group("smallest_eigen_k18");
    group.sample_size(10);
    for n in [128usize, 1024] {
        let a = hidden_layer_graph(n);
        group.bench_with_input(BenchmarkId::new("forward", n), &n, |b, _| {
            b.iter(|| smallest_eigen(black_box(a.view()), 18).expect("smallest_eigen"))
        });
        let eig = smallest_eigen(a.view(), 18).expect("smallest_eigen");
        let (gl, gu) = (Array1::from_elem(18, 0.1), Array2::from_elem((n, 18), 0.01));
        group.bench_with_input(BenchmarkId::new("backward", n), &n, |b, _| {
            b.iter(|| eig.backward(black_box(gl.view()), gu.view()).expect("backward"))
        });
    }
    group.finish();
}

fn lanczos_steps(c: &mut Criterion) {
    let mut group = c.benchmark_group("lanczos_k18");
    group.sample_size(10);
    for n in [128usize, 1024, 4096] {
        let a = batch_graph(n);
        let start = Array1::from_shape_fn(n, |i| 1.0 + (i as f64 * 0.7).cos());
        let opts = LanczosOptions::new(18);
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| lanczos(&a.view(), black_box(start.view()), &opts).expect("lanczos"))
        });
    }
    group.finish();
}

fn chebyshev(c: &mut Criterion) {
    let mut group = c.benchmark_group("chebyshev_k18_h768");
    group.sample_size(10);
    for n in [128usize, 1024] {
        let a = batch_graph(n).mapv(|v| v as f32);
        let z = Array2::from_shape_fn((n, 768), |(i, j)| ((i + 3 * j) as f32 * 0.01).cos());
        group.bench_with_input(BenchmarkId::new("block-recurrence", n), &n, |b, _| {
            b.iter(|| chebyshev_apply(black_box(a.view()), z.view(), 18).expect("cheby"))
        });
        group.bench_with_input(BenchmarkId::new("matrix-sum-then-product", n), &n, |b, _| {
            b.iter(|| chebyshev_sum(black_box(a.view()), 18).expect("cheby").dot(&z))
        });
    }
    group.finish();
}

fn main() {
    hagcn_openblas::ensure_fast_kernels();
    hagcn_openblas::keep_freed_memory();
    eprintln!("OpenBLAS kernel: {} ({} threads)", hagcn_openblas::corename(), hagcn_openblas::num_threads());
    let mut c = Criterion::default().configure_from_args();
    eigh(&mut c);
    smallest_eigenpairs(&mut c);
    lanczos_steps(&mut c);
    chebyshev(&mut c);
    c.final_summary();
}
