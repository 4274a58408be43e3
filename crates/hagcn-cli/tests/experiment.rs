//! End-to-end: `hagcn experiment` on a small synthetic dataset, twice with the same seed.

use std::path::Path;
use std::process::Command;

use hagcn_data::synthetic::GaussianClusters;

/// Runs `hagcn experiment` with small defaults; `extra` flag/value pairs replace them.
fn run(dataset: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut flags: Vec<(&str, &str)> = vec![
        ("--bits", "8,12"),
        ("--epochs", "2"),
        ("--batch-size", "16"),
        ("--hidden", "16"),
        ("--eval-every", "1"),
        ("--k", "3"),
        ("--filters", "gcn,cheby,lanczos"),
    ];
    for pair in extra.chunks(2) {
        match flags.iter_mut().find(|(f, _)| *f == pair[0]) {
            Some(slot) => slot.1 = pair[1],
            None => flags.push((pair[0], pair[1])),
        }
    }
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hagcn"));
    cmd.args(["experiment", "--dataset"]).arg(dataset).arg("--out").arg(out);
    for (flag, value) in flags {
        cmd.arg(flag);
        if !value.is_empty() {
            cmd.arg(value); // an empty value marks a switch such as --resume
        }
    }
    cmd.output().expect("hagcn runs")
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn experiment_writes_a_reproducible_run_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    GaussianClusters { n_samples: 120, dim: 10, n_classes: 4, spread: 0.3, seed: 5 }
        .generate()
        .unwrap()
        .save(&data)
        .unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for out in [&a, &b] {
        let o = run(&data, out, &[]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let (ra, rb) = (read_json(&a.join("results.json")), read_json(&b.join("results.json")));
    let all_runs = ra["runs"].as_array().unwrap();
    let names: Vec<String> =
        all_runs.iter().map(|r| format!("{}-{}", r["filter"].as_str().unwrap(), r["bits"])).collect();
    // trained models, then the baselines (pcah and itq need bits ≤ d = 10, so no 12-bit cells)
    assert_eq!(
        names,
        ["gcn-8", "gcn-12", "cheby-8", "cheby-12", "lanczos-8", "lanczos-12", "lsh-8", "lsh-12", "pcah-8", "itq-8"]
    );
    for baseline in &all_runs[6..] {
        assert!(baseline["final_loss"].is_null());
        let map_all = baseline["map"]["all"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&map_all));
    }
    assert_eq!(all_runs[6]["map"], rb["runs"][6]["map"], "baselines are seeded too");
    let metrics = &all_runs[0]["metrics"];
    for key in
        ["precision_at", "precision_within_radius", "recall_within_radius", "tie_aware_map", "legacy_map_invalid"]
    {
        assert!(!metrics[key].is_null(), "{key} missing");
    }
    assert!(a.join("gcn-8/pr_curve.csv").exists() && a.join("itq-8/db_codes.npy").exists());
    let runs = &all_runs[..6];
    for (run_a, run_b) in runs.iter().zip(rb["runs"].as_array().unwrap()) {
        assert_eq!(run_a["map"], run_b["map"], "same seed, same mAP");
        assert_eq!(run_a["epoch_loss"], run_b["epoch_loss"]);
        let map200 = run_a["map"]["200"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&map200));
        assert!(run_a["final_loss"].as_f64().unwrap().is_finite());
        assert_eq!(run_a["epoch_seconds"].as_array().unwrap().len(), 2);
        assert_eq!(run_a["map_by_epoch"].as_array().unwrap().len(), 2);
    }
    // 120 samples: 96 train, 12 database, 12 query; 12 bits → 2 bytes per code
    let dir = a.join("gcn-12");
    let codes: ndarray::Array2<u8> = ndarray_npy::read_npy(dir.join("db_codes.npy")).unwrap();
    assert_eq!(codes.dim(), (12, 2));
    let codes_b: ndarray::Array2<u8> = ndarray_npy::read_npy(b.join("gcn-12/db_codes.npy")).unwrap();
    assert_eq!(codes, codes_b);
    let labels: ndarray::Array1<i64> = ndarray_npy::read_npy(dir.join("query_labels.npy")).unwrap();
    assert_eq!(labels.len(), 12);
    assert!(dir.join("checkpoint.npz").exists() && dir.join("losses.csv").exists());
    assert_eq!(read_json(&a.join("config.json"))["seed"], 42);

    // A non-empty output directory is never overwritten.
    let o = run(&data, &a, &[]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("already exists"));
    // A different seed gives different numbers.
    let c = tmp.path().join("c");
    assert!(run(&data, &c, &["--seed", "7"]).status.success());
    assert_ne!(read_json(&c.join("results.json"))["runs"][0]["epoch_loss"], ra["runs"][0]["epoch_loss"]);
}

#[test]
fn bad_arguments_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing");
    let o = run(&missing, &tmp.path().join("out"), &[]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("missing"), "{err}");
    let data = tmp.path().join("data");
    GaussianClusters { n_samples: 40, dim: 4, n_classes: 2, spread: 0.3, seed: 5 }
        .generate()
        .unwrap()
        .save(&data)
        .unwrap();
    let o = run(&data, &tmp.path().join("o2"), &["--filters", "gnc"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown filter"));
    let o = run(&data, &tmp.path().join("o3"), &["--map-at", "0"]);
    assert!(!o.status.success());
    let o = run(&data, &tmp.path().join("o4"), &["--batch-size", "1000"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("larger than the training set"));
}

#[test]
fn resume_keeps_finished_cells_and_checks_settings() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    GaussianClusters { n_samples: 60, dim: 6, n_classes: 3, spread: 0.3, seed: 9 }
        .generate()
        .unwrap()
        .save(&data)
        .unwrap();
    let out = tmp.path().join("run");
    let first = run(&data, &out, &["--bits", "8", "--filters", "gcn", "--baselines", "lsh"]);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let ck = out.join("gcn-8/checkpoint.npz");
    let stamp = std::fs::metadata(&ck).unwrap().modified().unwrap();
    let before = read_json(&out.join("results.json"));

    // A cell that was interrupted mid-way (files but no results.json entry) is recomputed.
    std::fs::create_dir_all(out.join("gcn-12")).unwrap();
    std::fs::write(out.join("gcn-12/checkpoint.npz"), b"half-written").unwrap();

    let again = run(&data, &out, &["--bits", "8,12", "--filters", "gcn", "--baselines", "lsh", "--resume", ""]);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert!(String::from_utf8_lossy(&again.stderr).contains("gcn-8: finished in an earlier run, kept"));
    assert_eq!(std::fs::metadata(&ck).unwrap().modified().unwrap(), stamp, "gcn-8 was not retrained");
    let after = read_json(&out.join("results.json"));
    let names: Vec<String> = after["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{}-{}", r["filter"].as_str().unwrap(), r["bits"]))
        .collect();
    assert_eq!(names, ["gcn-8", "gcn-12", "lsh-8", "lsh-12"]);
    assert_eq!(after["runs"][0], before["runs"][0]);
    assert!(hagcn_model::load_checkpoint(&out.join("gcn-12/checkpoint.npz")).is_ok());

    // Different settings are refused.
    let other = run(&data, &out, &["--epochs", "3", "--filters", "gcn", "--resume", ""]);
    assert!(!other.status.success());
    assert!(String::from_utf8_lossy(&other.stderr).contains("epochs"), "{}", String::from_utf8_lossy(&other.stderr));
}
