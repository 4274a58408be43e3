//! One full HAGCN training step (forward, backward, Adam) on the CPU, next to the
//! machine's sgemm throughput so the two can be compared.
//!
//! Run with `cargo xtask bench` (or `cargo bench -p hagcn-benches --bench train_step`).
//! Throughput is reported as elements/s where one element is one floating-point operation,
//! so "Gelem/s" reads as GFLOP/s.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput};
use hagcn_autodiff::{AdamConfig, AdamUpdate, Backend, CpuBackend};
use hagcn_data::synthetic::GaussianClusters;
use hagcn_model::{Filter, Machine, MachineConfig};
use ndarray::{Array2, linalg::general_mat_mul, s};

/// FLOPs of one training step at batch `n`, input `d`, hidden `h`, `b` bits (GCN): the GEMMs
/// only, forward and backward (each forward GEMM costs two more backward).
fn gcn_step_flops(n: u64, d: u64, h: u64, b: u64) -> u64 {
    let fwd = 2 * n * d * h // W1
        + 2 * n * n * h // S = Z Zᵀ
        + 2 * n * d * b // W2
        + 2 * n * n * h // Â Z
        + 2 * n * h * h // w
        + 2 * n * h * h * 2 // W4, W5a
        + 2 * n * h * d // W5b
        + 2 * n * n * b; // C Cᵀ
    3 * fwd - 2 * n * d * h - 2 * n * d * b // no gradient for the input X
}

fn sgemm(c: &mut Criterion) {
    let mut group = c.benchmark_group("sgemm");
    for &(m, k, n) in &[(128usize, 768usize, 768usize), (1024, 768, 768)] {
        let a = Array2::<f32>::from_shape_fn((m, k), |(i, j)| ((i * 7 + j) % 13) as f32 / 13.0);
        let b = Array2::<f32>::from_shape_fn((k, n), |(i, j)| ((i * 5 + j) % 11) as f32 / 11.0);
        let mut out = Array2::<f32>::zeros((m, n));
        group.throughput(Throughput::Elements((2 * m * k * n) as u64));
        group.bench_with_input(BenchmarkId::from_parameter(format!("{m}x{k}x{n}")), &(), |bench, _| {
            bench.iter(|| general_mat_mul(1.0, black_box(&a), black_box(&b), 0.0, &mut out))
        });
    }
    group.finish();
}

fn train_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("train_step");
    group.sample_size(10);
    let (d, h, bits, k) = (768usize, 768usize, 64usize, 18usize);
    // `cargo test --benches` (no `--bench`) runs each bench once: keep that to the small size.
    let sizes: &[usize] = if std::env::args().any(|a| a == "--bench") { &[128, 1024] } else { &[128] };
    for &n in sizes {
        let data = GaussianClusters { n_samples: n, dim: d, n_classes: 10, spread: 0.5, seed: 1 }
            .generate()
            .expect("synthetic data");
        let batch = data.features.slice(s![..n, ..]).to_owned();
        for &filter in Filter::ALL {
            let mut config = MachineConfig::new(d, bits, filter);
            config.hidden = h;
            config.k = k;
            let mut machine = Machine::new(CpuBackend::<f32>::new(), config, AdamConfig::default(), 0).expect("model");
            // GCN's GEMM count as the common yardstick (cheby adds k n²h products per pass).
            group.throughput(Throughput::Elements(gcn_step_flops(n as u64, d as u64, h as u64, bits as u64)));
            group.bench_with_input(BenchmarkId::new(filter.to_string(), n), &n, |bench, _| {
                bench.iter(|| machine.train_step(black_box(batch.view())).expect("step"))
            });
            if filter == Filter::Gcn {
                // Where the time goes: the forward pass alone (Adam has its own group).
                group.bench_with_input(BenchmarkId::new("gcn-forward-only", n), &n, |bench, _| {
                    bench.iter(|| machine.loss(black_box(batch.view())).expect("forward"))
                });
            }
        }
    }
    group.finish();
}

fn adam(c: &mut Criterion) {
    // The GCN model's parameters at d = h = 768, b = 64: about 3.2 M values.
    let mut group = c.benchmark_group("adam");
    let backend = CpuBackend::<f32>::new();
    let n_params = 5 * 768 * 768 + 64 * 768;
    let mut p = backend.full(1, n_params, 0.5).expect("alloc");
    let g = backend.full(1, n_params, 0.1).expect("alloc");
    let mut m = backend.full(1, n_params, 0.0).expect("alloc");
    let mut v = backend.full(1, n_params, 0.0).expect("alloc");
    let update =
        AdamUpdate { lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, bias_correction1: 0.1, bias_correction2: 0.001 };
    group.throughput(Throughput::Elements(n_params as u64));
    group.bench_function(BenchmarkId::from_parameter(n_params), |bench| {
        bench.iter(|| backend.adam_update(&mut p, &g, &mut m, &mut v, &update).expect("adam"))
    });
    group.finish();
}

fn main() {
    hagcn_openblas::ensure_fast_kernels();
    hagcn_openblas::keep_freed_memory();
    eprintln!(
        "OpenBLAS kernel: {} ({} threads; OPENBLAS_CORETYPE={})",
        hagcn_openblas::corename(),
        hagcn_openblas::num_threads(),
        std::env::var("OPENBLAS_CORETYPE").unwrap_or_else(|_| "unset".into())
    );
    let mut c = Criterion::default().configure_from_args();
    sgemm(&mut c);
    train_step(&mut c);
    adam(&mut c);
    c.final_summary();
}
