//! Encoding: what a row costs at `hagcn encode` time. One block of
//! [`Machine::HASH_CHUNK`] = 4,096 rows of 768 dimensions to 64-bit logits, through
//! [`Machine::hash_logits`] (the reproducible arithmetic: every logit summed in `f64` in one
//! fixed order), for the knn variant, for the neighbourhood variant (300 anchors, 3 nearest,
//! 3 hops, ITQ read-out: the anchor distances, the propagation and the rotation on top), and for
//! it with its logits propagated (`code_hops = 5`: a new point's logits are read off its anchors,
//! so the network does not run at encoding time); and
//! the first layer alone (`4096 × 768 → 768`) through the backend's GEMM `linear` and its
//! `linear_reproducible`, which is what reproducible codes cost.
//!
//! Run with `cargo bench -p hagcn-benches --bench encode`; throughput is in rows per second.
//! Without `--bench` (as `cargo test --benches` runs it) each routine runs once on 64 rows.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput};
use hagcn_autodiff::{AdamConfig, Backend, CpuBackend};
use hagcn_data::synthetic::GaussianClusters;
use hagcn_model::{Filter, Machine, MachineConfig, Objective, Readout};
use ndarray::{Array2, s};

fn main() {
    hagcn_openblas::ensure_fast_kernels();
    hagcn_openblas::keep_freed_memory();
    let mut c = Criterion::default().configure_from_args().sample_size(10);
    let full = std::env::args().any(|a| a == "--bench");
    let (rows, train_rows) = if full { (Machine::<CpuBackend<f32>>::HASH_CHUNK, 4000) } else { (64, 400) };
    let (d, h, bits) = (768usize, 768usize, 64usize);
    let data = GaussianClusters { n_samples: train_rows + rows, dim: d, n_classes: 10, spread: 0.7, seed: 3 }
        .generate()
        .expect("synthetic data");
    let train = data.features.slice(s![..train_rows, ..]).to_owned();
    let block = data.features.slice(s![train_rows.., ..]).to_owned();

    let mut group = c.benchmark_group("encode_d768_b64");
    group.throughput(Throughput::Elements(rows as u64));
    for (name, anchors, code_hops) in
        [("gcn-knn", 0usize, 0usize), ("gcn-knn-nbr-itq", 300, 0), ("gcn-knn-nbr-cp-itq", 300, 5)]
    {
        let mut config = MachineConfig::new(d, bits, Filter::Gcn);
        config.hidden = h;
        config.objective = Objective::Knn;
        config.anchors = anchors.min(train_rows / 2);
        config.hops = 3;
        config.code_hops = code_hops;
        if anchors > 0 {
            config.readout = Readout::Itq;
        }
        let mut machine = Machine::new(CpuBackend::<f32>::new(), config, AdamConfig::default(), 0).expect("model");
        machine.fit_inputs(train.view()).expect("anchors");
        machine.fit_readout(train.view()).expect("read-out");
        group.bench_with_input(BenchmarkId::new(name, rows), &rows, |bench, _| {
            bench.iter(|| machine.hash_logits(black_box(block.view())).expect("logits"))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("first_layer_d768_h768");
    group.throughput(Throughput::Elements(rows as u64));
    let backend = CpuBackend::<f32>::new();
    let w = Array2::from_shape_fn((h, d), |(i, j)| (((i * 31 + j * 17) % 97) as f32 - 48.0) / 970.0);
    let b = Array2::from_shape_fn((1, h), |(_, j)| (j % 7) as f32 / 70.0);
    let (x, w, b) = (
        backend.upload(block.view()).expect("x"),
        backend.upload(w.view()).expect("w"),
        backend.upload(b.view()).expect("b"),
    );
    group.bench_function(BenchmarkId::new("linear_gemm", rows), |bench| {
        bench.iter(|| backend.linear(black_box(&x), &w, &b).expect("linear"))
    });
    group.bench_function(BenchmarkId::new("linear_reproducible", rows), |bench| {
        bench.iter(|| backend.linear_reproducible(black_box(&x), &w, &b).expect("linear"))
    });
    group.finish();
    c.final_summary();
}
