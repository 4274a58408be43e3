//! Pinned numbers: `hagcn experiment` on a fixed synthetic dataset must give these exact
//! losses, mAPs and codes, bit for bit, for both objectives and every filter.
//!
//! The values were recorded before the model, the settings and the backends were
//! restructured (issue 17), so a refactor that changes any arithmetic fails here. OpenBLAS
//! is pinned to its `Haswell` kernels on one thread and rayon to one thread, so the numbers
//! are those of any x86-64-v3 machine with Debian 12's OpenBLAS 0.3.21.
//!
//! When a change is *meant* to alter the numbers, run this test with `HAGCN_PRINT_PINNED=1`
//! to print the new table, and say in the commit why the numbers moved.

use std::path::Path;
use std::process::Command;

use hagcn_data::synthetic::GaussianClusters;

/// FNV-1a of a file's bytes: a compact fingerprint of a codes file.
fn fnv1a(path: &Path) -> u64 {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// One cell's pinned numbers: method, bits, the loss of each epoch, mAP@10 and mAP@all (as
/// f64 bit patterns), and the fingerprints of its query and database codes.
type Pinned = (&'static str, u64, [u64; 2], u64, u64, u64, u64);

/// What one cell of a run measured, in the form of [`Pinned`].
struct Measured {
    method: String,
    bits: u64,
    losses: Vec<u64>,
    maps: (u64, u64),
    codes: (u64, u64),
}

fn run_and_collect(objective: &str, out: &Path, data: &Path) -> Vec<Measured> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hagcn"));
    cmd.args(["experiment", "--dataset"]).arg(data).arg("--out").arg(out);
    cmd.args([
        "--objective",
        objective,
        "--filters",
        "gcn,fourier,spline,cheby,lanczos",
        "--bits",
        "16",
        "--k",
        "4",
        "--epochs",
        "2",
        "--batch-size",
        "32",
        "--hidden",
        "24",
        "--baselines",
        "none",
        "--map-at",
        "10,all",
        "--headline-map",
        "10",
        "--plots",
        "false",
        "--checkpoints",
        "false",
        "--tie-aware",
        "false",
    ]);
    if objective == "knn" {
        cmd.args(["--lr", "1e-3", "--gamma", "1"]);
    }
    cmd.env("OPENBLAS_CORETYPE", "Haswell").env("OPENBLAS_NUM_THREADS", "1").env("RAYON_NUM_THREADS", "1");
    let o = cmd.output().expect("hagcn runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let map_at = |cell: &serde_json::Value, at: &str| {
        let m = cell["map"].as_array().unwrap().iter().find(|m| m["at"] == at).unwrap();
        m["value"].as_f64().unwrap().to_bits()
    };
    results["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cell| {
            let method = cell["method"].as_str().unwrap().to_string();
            let bits = cell["bits"].as_u64().unwrap();
            let k = if cell["k"].is_null() { String::new() } else { format!("-k{}", cell["k"]) };
            let dir = out.join(format!("{method}-{bits}{k}-fold1"));
            let losses =
                cell["epochs"].as_array().unwrap().iter().map(|e| e["loss"].as_f64().unwrap().to_bits()).collect();
            let (q, db) = (fnv1a(&dir.join("query_codes.npy")), fnv1a(&dir.join("db_codes.npy")));
            Measured { method, bits, losses, maps: (map_at(cell, "10"), map_at(cell, "all")), codes: (q, db) }
        })
        .collect()
}

fn check(objective: &str, expected: &[Pinned]) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    GaussianClusters { n_samples: 240, dim: 20, n_classes: 5, spread: 0.6, seed: 11 }
        .generate()
        .unwrap()
        .save(&data)
        .unwrap();
    let got = run_and_collect(objective, &tmp.path().join("run"), &data);
    if std::env::var_os("HAGCN_PRINT_PINNED").is_some() {
        for Measured { method, bits, losses, maps: (m10, mall), codes: (q, db) } in &got {
            println!(
                "(\"{method}\", {bits}, [{:#018x}, {:#018x}], {m10:#018x}, {mall:#018x}, {q:#018x}, {db:#018x}),",
                losses[0], losses[1]
            );
        }
    }
    assert_eq!(got.len(), expected.len(), "one cell per filter");
    for (g, e) in got.iter().zip(expected) {
        let what = format!("{}-{}", g.method, g.bits);
        assert_eq!((g.method.as_str(), g.bits), (e.0, e.1), "cell order");
        assert_eq!(g.losses, e.2, "{what}: per-epoch losses (f64 bits)");
        assert_eq!(g.maps, (e.3, e.4), "{what}: mAP@10 and mAP@all (f64 bits)");
        assert_eq!(g.codes, (e.5, e.6), "{what}: query and database codes (FNV-1a)");
    }
}

#[test]
fn the_faithful_objective_gives_the_pinned_numbers() {
    check(
        "hagcn",
        &[
            (
                "gcn",
                16,
                [0x3ff7f7685aaaaaab, 0x3ff7ea4d00000000],
                0x3fec349f49f49f49,
                0x3feba18ac95d4685,
                0xc4876af978c4d0cc,
                0x00438813abed2857,
            ),
            (
                "fourier",
                16,
                [0x3ff7f35b70000000, 0x3ff7eeb78aaaaaab],
                0x3fec417d6d2c2817,
                0x3febad7632be8743,
                0xc4876af978c4d0cc,
                0x228db73d800a6e70,
            ),
            (
                "spline",
                16,
                [0x3ff7f35985555555, 0x3ff7eeb15aaaaaab],
                0x3fec417d6d2c2817,
                0x3febad7632be8743,
                0xc4876af978c4d0cc,
                0x228db73d800a6e70,
            ),
            (
                "cheby",
                16,
                [0x3ff813a7e0000000, 0x3ff80351aaaaaaab],
                0x3fec417d6d2c2817,
                0x3febad7632be8743,
                0xc4876af978c4d0cc,
                0x228db73d800a6e70,
            ),
            (
                "lanczos",
                16,
                [0x3ff80cbcdaaaaaab, 0x3ff8067350000000],
                0x3fec417d6d2c2817,
                0x3febad7632be8743,
                0xc4876af978c4d0cc,
                0x228db73d800a6e70,
            ),
        ],
    );
}

#[test]
fn the_knn_objective_gives_the_pinned_numbers() {
    check(
        "knn",
        &[
            (
                "gcn-knn",
                16,
                [0x3ff8424765555555, 0x3ff7944c8aaaaaab],
                0x3fec63c9aa518087,
                0x3feaa4d868d3b92b,
                0xc87174b204da8dd8,
                0xf8360b0b80f3e6ed,
            ),
            (
                "fourier-knn",
                16,
                [0x3ff83fd7c0000000, 0x3ff815e3d0000000],
                0x3febc1db0c9fb8eb,
                0x3feaa0d24c2f21d5,
                0xe3abe2db2aa85841,
                0xfc983620b75b1200,
            ),
            (
                "spline-knn",
                16,
                [0x3ff83fd655555555, 0x3ff815e7aaaaaaab],
                0x3febc1db0c9fb8eb,
                0x3feaa0d24c2f21d5,
                0xe3abe2db2aa85841,
                0xfc983620b75b1200,
            ),
            (
                "cheby-knn",
                16,
                [0x3ff83c7acaaaaaab, 0x3ff77b7f75555555],
                0x3fe9a17fe73b6787,
                0x3fe904845cc1df34,
                0xad9900dfec39652b,
                0x32fade1ddbb44803,
            ),
            (
                "lanczos-knn",
                16,
                [0x3ff836ac8aaaaaab, 0x3ff80aed20000000],
                0x3feaed671ab5efa3,
                0x3fe9e5820ea2c087,
                0x4912200fe2f61312,
                0x69f4b9d62bbda0df,
            ),
        ],
    );
}
