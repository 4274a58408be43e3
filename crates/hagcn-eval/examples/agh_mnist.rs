//! AGH (one and two layers), AGH+ITQ and ITQ on MNIST-10k, the experiment's split.
//!
//! ```text
//! cargo run --release -p hagcn-cli -- data mnist --out /tmp/mnist
//! cargo run --release -p hagcn-eval --example agh_mnist -- /tmp/mnist [nearest_anchors [seed]]
//! ```
//!
//! Reads `features.npy` (`N × 784` float32) and `labels.npy` (`N` integers), splits with
//! `hagcn_data::split(N, 42)` (80 % train, 10 % database, 10 % queries), fits every hasher
//! on the training set (300 k-means anchors, shared by the AGH variants; `s = 3` unless
//! given; k-means and ITQ seeded with 42 unless given), encodes the database and the
//! queries, and prints mAP@200 and mAP@all at 16, 32 and 64 bits with the wall time of
//! fitting and encoding. Not part of the test suite.

use std::path::PathBuf;
use std::time::Instant;

use hagcn_eval::{Agh, AghItq, AghLayers, AghOptions, Hasher, Itq, KMeans, TopK, mean_average_precision};
use hagcn_openblas as _;
use ndarray::{Array1, Array2, Axis};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "/tmp/mnist".into()));
    let options = AghOptions {
        nearest_anchors: args.next().map(|s| s.parse()).transpose()?.unwrap_or(AghOptions::default().nearest_anchors),
        ..AghOptions::default()
    };
    let seed: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(42);
    let features: Array2<f32> = ndarray_npy::read_npy(dir.join("features.npy"))?;
    let labels: Array1<i64> = ndarray_npy::read_npy(dir.join("labels.npy"))?;
    let labels: Vec<usize> = labels.iter().map(|&l| usize::try_from(l)).collect::<Result<_, _>>()?;
    let split = hagcn_data::split(features.nrows(), 42)?;
    let part = |idx: &[usize]| (features.select(Axis(0), idx), idx.iter().map(|&i| labels[i]).collect::<Vec<_>>());
    let (train, _) = part(&split.train);
    let (db, db_labels) = part(&split.database);
    let (q, q_labels) = part(&split.query);
    println!(
        "MNIST: {} train, {} database, {} queries; {} anchors, s = {}, seed {seed}; {} rayon threads",
        train.nrows(),
        db.nrows(),
        q.nrows(),
        options.n_anchors,
        options.nearest_anchors,
        rayon::current_num_threads()
    );

    let start = Instant::now();
    let kmeans = KMeans::fit(train.view(), options.n_anchors, options.kmeans_iterations, seed)?;
    let kmeans_seconds = start.elapsed().as_secs_f64();
    println!(
        "k-means: {:.2} s, {} iterations (converged: {}), inertia {:.1} -> {:.1}",
        kmeans_seconds,
        kmeans.iterations(),
        kmeans.converged(),
        kmeans.inertia_history()[0],
        kmeans.inertia()
    );
    let anchors = kmeans.centres();

    println!();
    println!("| method | bits | mAP@200 | mAP@all | fit (s) | encode db+query (s) |");
    println!("|---|---:|---:|---:|---:|---:|");
    for bits in [16, 32, 64] {
        for method in ["AGH, one layer", "AGH, two layers", "AGH+ITQ", "ITQ"] {
            let start = Instant::now();
            let s = options.nearest_anchors;
            let hasher: Box<dyn Hasher> = match method {
                "AGH, one layer" => Box::new(Agh::fit_with_anchors(train.view(), anchors, bits, AghLayers::One, s)?),
                "AGH, two layers" => Box::new(Agh::fit_with_anchors(train.view(), anchors, bits, AghLayers::Two, s)?),
                "AGH+ITQ" => Box::new(AghItq::fit_with_anchors(train.view(), anchors, bits, s, 50, seed)?),
                _ => Box::new(Itq::fit(train.view(), bits, 50, seed)?),
            };
            let mut fit_seconds = start.elapsed().as_secs_f64();
            if method.starts_with("AGH") {
                fit_seconds += kmeans_seconds;
            }
            let start = Instant::now();
            let db_codes = hasher.encode(db.view())?;
            let q_codes = hasher.encode(q.view())?;
            let encode_seconds = start.elapsed().as_secs_f64();
            let map = mean_average_precision(&q_codes, &q_labels, &db_codes, &db_labels, &[TopK::K(200), TopK::All])?;
            println!("| {method} | {bits} | {:.3} | {:.3} | {fit_seconds:.2} | {encode_seconds:.3} |", map[0], map[1]);
        }
    }
    println!();
    println!("AGH fit times include the shared k-means ({kmeans_seconds:.2} s).");
    Ok(())
}
