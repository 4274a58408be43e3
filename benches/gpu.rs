//! The CUDA backend's kernels and whole training steps, timed with criterion on `cuda:0`.
//!
//! Run with `cargo bench -p hagcn-benches --features cuda --bench gpu` on a machine with an
//! NVIDIA GPU and driver (or through `cargo xtask gpu-check --prepare`, which builds this bench
//! for a GPU machine without Rust). The device works asynchronously, so every measured
//! iteration ends with a stream synchronisation: a time covers the work, not its launch.
//!
//! Groups (d = h = 768, 64 bits, k = 18, as the PyTorch table):
//! * `gpu_graph` (n = 128, 1024): the similarity `S = Z Zᵀ/n` with the normalised adjacency of `S + 1`,
//!   forward, and forward + backward;
//! * `gpu_filter` (n = 128, 1024): each filter on a given `Â`, forward, and forward + backward;
//! * `gpu_layer_norm` and `gpu_adam`;
//! * `gpu_linear`: one 4096-row block of the streaming encoder's layers (768 → 768 and
//!   768 → 64) through `linear` (one SGEMM) and `linear_reproducible` (f64 sums in one order, the
//!   CPU's bits), what encoding's reproducibility costs;
//! * `gpu_step`: one whole training step (forward, backward, Adam) per filter at
//!   n = 128, 1024 and 4096;
//! * `gpu_eigen`: the symmetric eigendecomposition of a batch graph on the host (download,
//!   LAPACK, upload) and on the device (cuSOLVER `dsyevd` in f64), which decides the default
//!   `hagcn_cuda::EigenPolicy`;
//! * `gpu_hamming_topk`: the 100 nearest of 64-bit codes for 1k queries × 1M codes and
//!   10k queries × 10M codes (`hagcn_cuda::HammingIndex`, results copied back).
//!
//! Without a GPU, `cargo bench` prints why and measures nothing. `cargo test --benches`
//! (criterion's test mode: each routine once) runs every routine on the emulated device at
//! tiny sizes instead, so CI executes this file's code even though it has no GPU.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput};
use hagcn_autodiff::{AdamConfig, AdamUpdate, Backend, Graph, Var};
use hagcn_cuda::{CudaBackend, EigenPolicy, EigenSolver, EmulatedDevice, HammingIndex, KernelDevice};
use hagcn_data::synthetic::GaussianClusters;
use hagcn_model::params::Params;
use hagcn_model::{Filter, Machine, MachineConfig, filters};
use ndarray::{Array2, s};

/// Sizes of one run: the batch sizes and the layer widths.
struct Sizes {
    batches: Vec<usize>,
    step_batches: Vec<usize>,
    dim: usize,
    hidden: usize,
    bits: usize,
    k: usize,
    n_params: usize,
    /// `(queries, database codes)` of the Hamming top-K bench.
    hamming: Vec<(usize, usize)>,
    /// Rows of one encoder block.
    encode_rows: usize,
}

impl Sizes {
    /// The shapes, on a GPU.
    fn gpu(bench_mode: bool) -> Sizes {
        // Kernels and filters at 128 and 1024; whole steps and the eigensolver also at 4096 (the
        // host-side spectral work there takes seconds per call, which an 8-minute check affords
        // once per filter).
        let (batches, step_batches) =
            if bench_mode { (vec![128, 1024], vec![128, 1024, 4096]) } else { (vec![128], vec![128]) };
        let hamming =
            if bench_mode { vec![(1_000, 1_000_000), (10_000, 10_000_000)] } else { vec![(1_000, 1_000_000)] };
        Sizes {
            batches,
            step_batches,
            dim: 768,
            hidden: 768,
            bits: 64,
            k: 18,
            n_params: 5 * 768 * 768 + 64 * 768,
            hamming,
            encode_rows: 4096,
        }
    }

    /// Tiny shapes for the emulated device (about 50 µs per simulated GPU thread).
    fn emulated() -> Sizes {
        Sizes {
            batches: vec![16],
            step_batches: vec![16],
            dim: 12,
            hidden: 12,
            bits: 8,
            k: 4,
            n_params: 300,
            hamming: vec![(3, 200)],
            encode_rows: 16,
        }
    }
}

/// A backend with a way to wait for its queued work.
struct Target<B> {
    backend: B,
    sync: Box<dyn Fn()>,
    label: &'static str,
}

fn features(n: usize, dim: usize) -> Array2<f32> {
    let data =
        GaussianClusters { n_samples: n, dim, n_classes: 10, spread: 0.5, seed: 1 }.generate().expect("synthetic data");
    data.features.slice(s![..n, ..]).to_owned()
}

/// `Â = normalized_adjacency(Z Zᵀ/n + 1)` recorded on `g`.
fn graph<B: Backend>(g: &mut Graph<B>, z: Var, n: usize) -> Var {
    let s = g.gram(z, 1.0 / n as f64).expect("gram");
    let a = g.add_scalar(s, 1.0).expect("shift");
    g.normalized_adjacency(a).expect("adjacency")
}

fn similarity_and_adjacency<B: Backend<Elem = f32>>(c: &mut Criterion, t: &Target<B>, sizes: &Sizes) {
    let mut group = c.benchmark_group(format!("{}_graph", t.label));
    for &n in &sizes.batches {
        let z = t.backend.upload(features(n, sizes.hidden).view()).expect("upload");
        group.bench_with_input(BenchmarkId::new("forward", n), &n, |bench, _| {
            bench.iter(|| {
                let mut g = Graph::new(t.backend.clone());
                let zv = g.param(z.clone());
                black_box(graph(&mut g, zv, n));
                (t.sync)();
            })
        });
        group.bench_with_input(BenchmarkId::new("forward+backward", n), &n, |bench, _| {
            bench.iter(|| {
                let mut g = Graph::new(t.backend.clone());
                let zv = g.param(z.clone());
                let a_hat = graph(&mut g, zv, n);
                let loss = g.sum(a_hat).expect("sum");
                black_box(g.backward(loss).expect("backward"));
                (t.sync)();
            })
        });
    }
    group.finish();
}

/// One filter's output on `g`, with its parameters as constants.
fn filter<B: Backend<Elem = f32>>(g: &mut Graph<B>, f: Filter, z: Var, n: usize, sizes: &Sizes) -> Var {
    let be = g.backend().clone();
    let h = sizes.hidden;
    let k = sizes.k;
    let a_hat = graph(g, z, n);
    let out = match f {
        Filter::Gcn => {
            let w = g.param(be.full(h, h, 0.01).expect("w"));
            let b = g.param(be.full(1, h, 0.0).expect("b"));
            let lw = g.param(be.full(1, h, 1.0).expect("ln w"));
            let lb = g.param(be.full(1, h, 0.0).expect("ln b"));
            let p =
                Params::from_iter([("w.weight", w), ("w.bias", b), ("layer_norm.weight", lw), ("layer_norm.bias", lb)]);
            filters::gcn(g, a_hat, z, &p, 1e-5)
        }
        Filter::Fourier | Filter::Spline => {
            let w = g.param(be.upload(Array2::<f32>::eye(k).view()).expect("w"));
            let b = g.param(be.full(1, k, 0.0).expect("b"));
            let (lambda_k, u_k) = g.gram_graph_smallest_eigen(z, 1.0 / n as f64, 1.0, k).expect("eigenpairs");
            filters::spectral(g, lambda_k, u_k, z, w, b, f == Filter::Spline)
        }
        Filter::Cheby => filters::chebyshev(g, a_hat, z, k),
        Filter::Lanczos => {
            let start = filters::lanczos_start(n, 0, 0).mapv(|v| v as f32);
            let start = g.constant(be.upload(start.view()).expect("start"));
            filters::lanczos(g, a_hat, z, start, k)
        }
    };
    out.expect("filter")
}

fn filter_passes<B: Backend<Elem = f32>>(c: &mut Criterion, t: &Target<B>, sizes: &Sizes) {
    let mut group = c.benchmark_group(format!("{}_filter", t.label));
    group.sample_size(10);
    for &n in &sizes.batches {
        let z = t.backend.upload(features(n, sizes.hidden).view()).expect("upload");
        for &f in Filter::ALL {
            group.bench_with_input(BenchmarkId::new(format!("{f}-forward"), n), &n, |bench, _| {
                bench.iter(|| {
                    let mut g = Graph::new(t.backend.clone());
                    let zv = g.param(z.clone());
                    black_box(filter(&mut g, f, zv, n, sizes));
                    (t.sync)();
                })
            });
            group.bench_with_input(BenchmarkId::new(format!("{f}-forward+backward"), n), &n, |bench, _| {
                bench.iter(|| {
                    let mut g = Graph::new(t.backend.clone());
                    let zv = g.param(z.clone());
                    let out = filter(&mut g, f, zv, n, sizes);
                    let loss = g.sum(out).expect("sum");
                    black_box(g.backward(loss).expect("backward"));
                    (t.sync)();
                })
            });
        }
    }
    group.finish();
}

fn layer_norm<B: Backend<Elem = f32>>(c: &mut Criterion, t: &Target<B>, sizes: &Sizes) {
    let mut group = c.benchmark_group(format!("{}_layer_norm", t.label));
    let h = sizes.hidden;
    for &n in &sizes.batches {
        let x = t.backend.upload(features(n, h).view()).expect("upload");
        let (w, b) = (t.backend.full(1, h, 1.0).expect("w"), t.backend.full(1, h, 0.0).expect("b"));
        let g = t.backend.full(n, h, 1.0).expect("g");
        group.bench_with_input(BenchmarkId::new("forward", n), &n, |bench, _| {
            bench.iter(|| {
                black_box(t.backend.layer_norm(&x, &w, &b, 1e-5).expect("layer norm"));
                (t.sync)();
            })
        });
        let saved = t.backend.layer_norm(&x, &w, &b, 1e-5).expect("layer norm");
        group.bench_with_input(BenchmarkId::new("backward", n), &n, |bench, _| {
            bench.iter(|| {
                black_box(t.backend.layer_norm_backward(&x, &w, &saved, &g).expect("backward"));
                (t.sync)();
            })
        });
    }
    group.finish();
}

fn adam<B: Backend<Elem = f32>>(c: &mut Criterion, t: &Target<B>, sizes: &Sizes) {
    let mut group = c.benchmark_group(format!("{}_adam", t.label));
    let n = sizes.n_params;
    let be = &t.backend;
    let (mut p, g) = (be.full(1, n, 0.5).expect("p"), be.full(1, n, 0.1).expect("g"));
    let (mut m, mut v) = (be.full(1, n, 0.0).expect("m"), be.full(1, n, 0.0).expect("v"));
    let update =
        AdamUpdate { lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, bias_correction1: 0.1, bias_correction2: 0.001 };
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function(BenchmarkId::from_parameter(n), |bench| {
        bench.iter(|| {
            be.adam_update(&mut p, &g, &mut m, &mut v, &update).expect("adam");
            (t.sync)();
        })
    });
    group.finish();
}

fn linear<B: Backend<Elem = f32>>(c: &mut Criterion, t: &Target<B>, sizes: &Sizes) {
    let mut group = c.benchmark_group(format!("{}_linear", t.label));
    let n = sizes.encode_rows;
    let be = &t.backend;
    let x = be.upload(features(n, sizes.dim).view()).expect("x");
    for (d, out) in [(sizes.dim, sizes.hidden), (sizes.hidden, sizes.bits)] {
        let (w, b) = (be.full(out, d, 0.01).expect("w"), be.full(1, out, 0.1).expect("b"));
        let x = if d == sizes.dim { x.clone() } else { be.full(n, d, 0.5).expect("x") };
        group.throughput(Throughput::Elements((n * d * out) as u64));
        group.bench_function(BenchmarkId::new("gemm", format!("{n}x{d}to{out}")), |bench| {
            bench.iter(|| {
                black_box(be.linear(&x, &w, &b).expect("linear"));
                (t.sync)();
            })
        });
        group.bench_function(BenchmarkId::new("reproducible", format!("{n}x{d}to{out}")), |bench| {
            bench.iter(|| {
                black_box(be.linear_reproducible(&x, &w, &b).expect("linear_reproducible"));
                (t.sync)();
            })
        });
    }
    group.finish();
}

fn train_step<B: Backend<Elem = f32>>(c: &mut Criterion, t: &Target<B>, sizes: &Sizes) {
    let mut group = c.benchmark_group(format!("{}_step", t.label));
    group.sample_size(10);
    for &n in &sizes.step_batches {
        let batch = features(n, sizes.dim);
        for &f in Filter::ALL {
            let mut config = MachineConfig::new(sizes.dim, sizes.bits, f);
            config.hidden = sizes.hidden;
            config.k = sizes.k;
            let mut machine = Machine::new(t.backend.clone(), config, AdamConfig::default(), 0).expect("model");
            group.bench_with_input(BenchmarkId::new(f.to_string(), n), &n, |bench, _| {
                // The loss comes back to the host, which waits for the step.
                bench.iter(|| black_box(machine.train_step(batch.view()).expect("step")))
            });
        }
    }
    group.finish();
}

fn eigen<D: KernelDevice>(c: &mut Criterion, t: &Target<CudaBackend<D>>, sizes: &Sizes) {
    let mut group = c.benchmark_group(format!("{}_eigen", t.label));
    group.sample_size(10);
    for &n in &sizes.step_batches {
        // The batch graph of the spectral filters: Â of Z Zᵀ/n + 1.
        let mut g = Graph::new(t.backend.clone());
        let z = g.param(t.backend.upload(features(n, sizes.hidden).view()).expect("upload"));
        let a_hat = graph(&mut g, z, n);
        let a_hat = g.value(a_hat).expect("Â").clone();
        for (name, policy, want) in
            [("host", EigenPolicy::Host, EigenSolver::Host), ("device", EigenPolicy::Device, EigenSolver::Device)]
        {
            // A device path that fell back to the host would time the host: check first.
            let (_, solver) = t.backend.symmetric_eigen_with(policy, &a_hat).expect("eigen");
            if solver != want {
                eprintln!("{name} eigendecomposition at n = {n} ran as {solver:?}; not timed");
                continue;
            }
            group.bench_with_input(BenchmarkId::new(name, n), &n, |bench, _| {
                bench.iter(|| {
                    black_box(t.backend.symmetric_eigen_with(policy, &a_hat).expect("eigen"));
                    (t.sync)();
                })
            });
        }
    }
    group.finish();
}

/// 64-bit codes from a SplitMix64 stream (distinct, uniformly spread distances).
fn random_codes(n: usize, seed: u64) -> Vec<u64> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        })
        .collect()
}

fn hamming_topk<D: KernelDevice>(c: &mut Criterion, device: &Arc<D>, label: &str, sizes: &Sizes) {
    let mut group = c.benchmark_group(format!("{label}_hamming_topk"));
    group.sample_size(10);
    let k = 100;
    for &(n_queries, n_db) in &sizes.hamming {
        let index = HammingIndex::new(Arc::clone(device), &random_codes(n_db, 7), n_db, 64).expect("index");
        let queries = random_codes(n_queries, 11);
        // One element per query–code distance.
        group.throughput(Throughput::Elements((n_queries * n_db) as u64));
        group.bench_function(BenchmarkId::from_parameter(format!("{n_queries}x{n_db}")), |bench| {
            // The ranking comes back to the host, which waits for the kernels.
            bench.iter(|| black_box(index.topk(&queries, n_queries, k).expect("top-k")))
        });
    }
    group.finish();
}

fn run_all<B: Backend<Elem = f32>>(c: &mut Criterion, t: &Target<B>, sizes: &Sizes) {
    similarity_and_adjacency(c, t, sizes);
    filter_passes(c, t, sizes);
    layer_norm(c, t, sizes);
    adam(c, t, sizes);
    linear(c, t, sizes);
    train_step(c, t, sizes);
}

fn main() {
    hagcn_openblas::ensure_fast_kernels();
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let mut c = Criterion::default().configure_from_args();
    match hagcn_cuda::Device::open(0) {
        Ok(device) => {
            let device = Arc::new(device);
            eprintln!("GPU: {}", device.name().unwrap_or_else(|e| e.to_string()));
            let waiter = Arc::clone(&device);
            let target = Target {
                backend: CudaBackend::new(device),
                sync: Box::new(move || waiter.stream().synchronize().expect("stream synchronisation")),
                label: "gpu",
            };
            let sizes = Sizes::gpu(bench_mode);
            run_all(&mut c, &target, &sizes);
            eigen(&mut c, &target, &sizes);
            hamming_topk(&mut c, target.backend.device(), target.label, &sizes);
        }
        Err(e) if bench_mode => {
            eprintln!("no GPU to benchmark ({e}); the GPU benches measured nothing");
        }
        Err(e) => {
            eprintln!("no GPU ({e}): running each GPU bench routine once on the emulated device");
            let target = Target {
                backend: CudaBackend::new(Arc::new(EmulatedDevice)),
                sync: Box::new(|| {}),
                label: "emulated",
            };
            let sizes = Sizes::emulated();
            run_all(&mut c, &target, &sizes);
            eigen(&mut c, &target, &sizes);
            hamming_topk(&mut c, target.backend.device(), target.label, &sizes);
        }
    }
    c.final_summary();
}
