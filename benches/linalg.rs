//! The spectral building blocks of `hagcn-linalg` across sizes: symmetric eigendecomposition,
//! Lanczos (k = 18), and the two Chebyshev filter paths (k = 18, h = 768).
//!
//! Run with `cargo xtask bench -- linalg` or `cargo bench -p hagcn-benches --bench linalg`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion};
use hagcn_linalg::{LanczosOptions, chebyshev_apply, chebyshev_sum, lanczos, normalized_adjacency, symmetric_eigen};
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
    lanczos_steps(&mut c);
    chebyshev(&mut c);
    c.final_summary();
}
