//! Hamming ranking and mAP at retrieval scale: 64-bit codes, 1,000 queries against
//! 1,000,000 database codes, top 1,000 (and 10,000 queries for the ranking alone, about
//! 7.5 s per iteration on two cores).
//!
//! Run with `cargo bench -p hagcn-benches --bench hamming`. Throughput is reported as
//! elements/s where one element is one (query, database code) pair.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput};
use hagcn_eval::{PackedCodes, TopK, hamming_topk, mean_average_precision};
use ndarray::Array2;

const N_BITS: usize = 64;
/// Sizes when measuring (`--bench`); `cargo test --benches` runs every bench once on a
/// hundredth of them, to check that the benches still work without spending CI minutes.
const N_DATABASE: usize = 1_000_000;
const N_QUERIES: usize = 1_000;
/// The larger query set, ranked only.
const N_QUERIES_LARGE: usize = 10_000;
const K: usize = 1_000;
const N_CLASSES: u64 = 10;

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
}

/// `n` random 64-bit codes.
fn random_codes(rng: &mut SplitMix64, n: usize) -> PackedCodes {
    let bytes: Vec<u8> = (0..n).flat_map(|_| rng.next().to_le_bytes()).collect();
    let bytes = Array2::from_shape_vec((n, N_BITS / 8), bytes).expect("n × 8 bytes");
    PackedCodes::from_bytes(bytes, N_BITS).expect("64-bit codes")
}

fn random_labels(rng: &mut SplitMix64, n: usize) -> Vec<usize> {
    (0..n).map(|_| (rng.next() % N_CLASSES) as usize).collect()
}

fn main() {
    let scale = if std::env::args().any(|a| a == "--bench") { 1 } else { 100 };
    let (n_database, n_queries, n_queries_large) = (N_DATABASE / scale, N_QUERIES / scale, N_QUERIES_LARGE / scale);
    let mut c = Criterion::default().configure_from_args();
    let mut rng = SplitMix64(0x0048_4147_434e);
    let database = random_codes(&mut rng, n_database);
    let db_labels = random_labels(&mut rng, n_database);
    let queries = random_codes(&mut rng, n_queries);
    let query_labels = random_labels(&mut rng, n_queries);
    let large_queries = random_codes(&mut rng, n_queries_large);
    let id = format!("{n_queries}x{n_database}/k{K}/{N_BITS}bit");

    let mut group = c.benchmark_group("hamming_topk");
    group.sample_size(10);
    group.throughput(Throughput::Elements((n_queries * n_database) as u64));
    group.bench_function(BenchmarkId::from_parameter(&id), |bench| {
        bench.iter(|| hamming_topk(black_box(&queries), black_box(&database), TopK::K(K)).expect("ranking"))
    });
    group.throughput(Throughput::Elements((n_queries_large * n_database) as u64));
    group.bench_function(
        BenchmarkId::from_parameter(format!("{n_queries_large}x{n_database}/k{K}/{N_BITS}bit")),
        |bench| {
            bench.iter(|| hamming_topk(black_box(&large_queries), black_box(&database), TopK::K(K)).expect("ranking"))
        },
    );
    group.finish();

    let mut group = c.benchmark_group("map");
    group.sample_size(10);
    group.throughput(Throughput::Elements((n_queries * n_database) as u64));
    group.bench_function(BenchmarkId::from_parameter(&id), |bench| {
        bench.iter(|| {
            mean_average_precision(black_box(&queries), &query_labels, black_box(&database), &db_labels, &[TopK::K(K)])
                .expect("mAP")
        })
    });
    group.finish();

    c.final_summary();
}
