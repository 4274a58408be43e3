//! The k-nearest-neighbour graph of embedding-like rows (`d = 768`, `k = 10`, cosine) at
//! 20,000, 50,000 and 100,000 rows: the exact build (`knn_graph_exact`), its GEMM floor (the
//! same block products with no selection, `knn_graph_gemm_floor`), and NN-descent
//! (`knn_graph_nn_descent`, default options), whose recall against the exact graph is printed
//! before its timings. At 20,000 rows the Euclidean exact build is measured too.
//!
//! Run with `cargo bench -p hagcn-benches --bench knn` (about half an hour on two cores: one
//! exact build of 100,000 rows is about a minute). Rayon parallelises over tiles, so a
//! single-threaded BLAS (`OPENBLAS_NUM_THREADS=1`) avoids oversubscribing the cores; the
//! floor runs under the same setting, so their ratio is fair either way. Without `--bench`
//! (as `cargo test --benches` runs it) every routine runs once on 600 × 64.
//! `KNN_BENCH_SIZES=20000,50000` measures other row counts; `KNN_BENCH_CPU_TIME=1` measures
//! the process's CPU time instead of wall time (group `knn_d768_k10_cpu`), which other work
//! on shared cores disturbs much less.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use hagcn_linalg::{Metric, NnDescentOptions, knn_graph_exact, knn_graph_gemm_floor, knn_graph_nn_descent};
use ndarray::Array2;

const K: usize = 10;

/// SplitMix64: a small seeded generator, enough for benchmark inputs.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal sample (Box–Muller).
    fn normal(&mut self) -> f64 {
        let (u, v) = (1.0 - self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// Embedding-like rows: clusters of 500 around centres drawn from `N(0, 0.3²)` per
/// coordinate, each point its centre plus noise of scale `12 / √(j + 1)` on coordinate `j` (a
/// decaying spectrum, about 30 effective dimensions). The clusters overlap, which makes the
/// neighbourhoods hard for NN-descent (with centres from `N(0, 1)` its recall is 0.9999).
fn embeddings(n: usize, d: usize, seed: u64) -> Array2<f32> {
    let mut rng = SplitMix64(seed);
    let clusters = n.div_ceil(500);
    let centres = Array2::from_shape_fn((clusters, d), |_| 0.3 * rng.normal());
    let scale: Vec<f64> = (0..d).map(|j| 12.0 / ((j + 1) as f64).sqrt()).collect();
    Array2::from_shape_fn((n, d), |(i, j)| (centres[[i % clusters, j]] + scale[j] * rng.normal()) as f32)
}

/// Process CPU time (user + system, all threads) as a criterion measurement, from
/// `/proc/self/stat` in clock ticks of 10 ms (Linux's fixed `USER_HZ`), for a machine whose
/// cores are shared with other work: waiting for a core does not count. (Busy-waiting threads
/// do, so run it with `OPENBLAS_NUM_THREADS=1`.)
struct CpuTime;

fn process_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat (Linux)");
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).expect("utime/stime in /proc/self/stat");
    (ticks(11) + ticks(12)) / 100.0
}

impl Measurement for CpuTime {
    type Intermediate = f64;
    type Value = f64;

    fn start(&self) -> f64 {
        process_cpu_seconds()
    }
    fn end(&self, start: f64) -> f64 {
        (process_cpu_seconds() - start) * 1e9
    }
    fn add(&self, a: &f64, b: &f64) -> f64 {
        a + b
    }
    fn zero(&self) -> f64 {
        0.0
    }
    fn to_f64(&self, value: &f64) -> f64 {
        *value
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuSecondsFormatter
    }
}

/// Nanoseconds of CPU time, printed in seconds.
struct CpuSecondsFormatter;

impl ValueFormatter for CpuSecondsFormatter {
    fn scale_values(&self, _typical: f64, values: &mut [f64]) -> &'static str {
        values.iter_mut().for_each(|v| *v *= 1e-9);
        "s (CPU)"
    }
    fn scale_throughputs(&self, _typical: f64, _throughput: &Throughput, values: &mut [f64]) -> &'static str {
        values.iter_mut().for_each(|v| *v *= 1e-9);
        "s (CPU)"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

fn main() {
    hagcn_openblas::ensure_fast_kernels();
    hagcn_openblas::keep_freed_memory();
    eprintln!(
        "OpenBLAS kernel: {} ({} threads); RAYON_NUM_THREADS={}, {} cores",
        hagcn_openblas::corename(),
        hagcn_openblas::num_threads(),
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "unset".into()),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    );
    let measuring = std::env::args().any(|a| a == "--bench");
    let (mut sizes, d) = if measuring { (vec![20_000, 50_000, 100_000], 768) } else { (vec![600], 64) };
    if let Some(chosen) = std::env::var("KNN_BENCH_SIZES").ok().filter(|_| measuring) {
        sizes =
            chosen.split(',').map(|n| n.trim().parse().expect("KNN_BENCH_SIZES: comma-separated row counts")).collect();
    }
    if std::env::var_os("KNN_BENCH_CPU_TIME").is_some() {
        let mut c = Criterion::default().with_measurement(CpuTime).configure_from_args();
        run(&mut c, &sizes, d, "_cpu");
        c.final_summary();
    } else {
        let mut c = Criterion::default().configure_from_args();
        run(&mut c, &sizes, d, "");
        c.final_summary();
    }
}

fn run<M: Measurement>(c: &mut Criterion<M>, sizes: &[usize], d: usize, suffix: &str) {
    let mut group = c.benchmark_group(format!("knn_d{d}_k{K}{suffix}"));
    group.sample_size(10).sampling_mode(SamplingMode::Flat).warm_up_time(Duration::from_millis(1));
    for &n in sizes {
        let x = embeddings(n, d, 0x6b6e_6e00 + n as u64);
        let options = NnDescentOptions::new(1);
        // Recall, once, outside the timings.
        let exact = knn_graph_exact(x.view(), K, Metric::Cosine).expect("exact graph");
        let approx = knn_graph_nn_descent(x.view(), K, Metric::Cosine, &options).expect("NN-descent");
        eprintln!("n = {n}: NN-descent recall against exact (cosine): {:.4}", approx.recall(&exact).expect("recall"));
        drop((exact, approx));

        group.bench_function(BenchmarkId::new("gemm-floor", n), |b| {
            b.iter(|| knn_graph_gemm_floor(black_box(x.view())).expect("floor"))
        });
        group.bench_function(BenchmarkId::new("exact-cosine", n), |b| {
            b.iter(|| knn_graph_exact(black_box(x.view()), K, Metric::Cosine).expect("exact"))
        });
        if n == sizes[0] {
            group.bench_function(BenchmarkId::new("exact-euclidean", n), |b| {
                b.iter(|| knn_graph_exact(black_box(x.view()), K, Metric::Euclidean).expect("exact"))
            });
        }
        group.bench_function(BenchmarkId::new("nn-descent-cosine", n), |b| {
            b.iter(|| knn_graph_nn_descent(black_box(x.view()), K, Metric::Cosine, &options).expect("NN-descent"))
        });
    }
    group.finish();
}
