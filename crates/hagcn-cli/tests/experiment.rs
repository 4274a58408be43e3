//! End-to-end: `hagcn experiment` on small synthetic datasets: reproducibility, every output
//! file, config files with overrides, cross-validation, a k sweep and resuming.

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

fn read_csv(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| l.split(',').map(String::from).collect()).collect()
}

fn cell_names(results: &serde_json::Value) -> Vec<String> {
    let cells = results["cells"].as_array().unwrap();
    cells.iter().map(|c| c["method"].as_str().unwrap().to_string() + &format!("-{}", c["bits"])).collect()
}

fn dataset(tmp: &Path, n_samples: usize, dim: usize) -> std::path::PathBuf {
    let data = tmp.join("data");
    GaussianClusters { n_samples, dim, n_classes: 4, spread: 0.3, seed: 5 }.generate().unwrap().save(&data).unwrap();
    data
}

#[test]
fn experiment_writes_a_reproducible_run_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let data = dataset(tmp.path(), 120, 10);
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for out in [&a, &b] {
        let o = run(&data, out, &["--baselines", "lsh,pcah,itq,sh"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let (ra, rb) = (read_json(&a.join("results.json")), read_json(&b.join("results.json")));
    // trained models, then the baselines (pcah and itq need bits ≤ d = 10, so no 12-bit cells)
    assert_eq!(
        cell_names(&ra),
        [
            "gcn-8",
            "gcn-12",
            "cheby-8",
            "cheby-12",
            "lanczos-8",
            "lanczos-12",
            "lsh-8",
            "lsh-12",
            "pcah-8",
            "itq-8",
            "sh-8",
            "sh-12"
        ]
    );
    let cells = ra["cells"].as_array().unwrap();
    assert_eq!(cells[0]["k"], serde_json::Value::Null, "gcn has no order");
    assert_eq!(cells[2]["k"], 3);
    for baseline in &cells[6..] {
        assert_eq!(baseline["baseline"], true);
        assert!(baseline["epochs"].as_array().unwrap().is_empty());
        let map_all = baseline["map"].as_array().unwrap().iter().find(|m| m["at"] == "all").unwrap();
        assert!((0.0..=1.0).contains(&map_all["value"].as_f64().unwrap()));
    }
    assert_eq!(cells[6]["map"], rb["cells"][6]["map"], "baselines are seeded too");
    for key in
        ["precision_at", "precision_within_radius", "recall_within_radius", "tie_aware_map", "legacy_map_invalid"]
    {
        assert!(!cells[0][key].is_null(), "{key} missing");
    }
    // The default cut-offs are the paper's, K = 10 … 5000 and all.
    let ats: Vec<&str> = cells[0]["map"].as_array().unwrap().iter().map(|m| m["at"].as_str().unwrap()).collect();
    assert_eq!(ats, ["10", "100", "200", "500", "1000", "1500", "2000", "2500", "5000", "all"]);
    assert!(a.join("gcn-8-fold1/pr_curve.csv").exists() && a.join("itq-8-fold1/db_codes.npy").exists());
    for (run_a, run_b) in cells[..6].iter().zip(rb["cells"].as_array().unwrap()) {
        assert_eq!(run_a["map"], run_b["map"], "same seed, same mAP");
        assert_eq!(run_a["epochs"].as_array().unwrap().len(), 2);
        for (ea, eb) in run_a["epochs"].as_array().unwrap().iter().zip(run_b["epochs"].as_array().unwrap()) {
            assert_eq!(ea["loss"], eb["loss"]);
            assert!(ea["loss"].as_f64().unwrap().is_finite());
            assert!(!ea["map"].as_array().unwrap().is_empty(), "--eval-every 1 evaluates every epoch");
        }
    }
    // 120 samples: 96 train, 12 database, 12 query; 12 bits → 2 bytes per code
    let dir = a.join("gcn-12-fold1");
    let codes: ndarray::Array2<u8> = ndarray_npy::read_npy(dir.join("db_codes.npy")).unwrap();
    assert_eq!(codes.dim(), (12, 2));
    let codes_b: ndarray::Array2<u8> = ndarray_npy::read_npy(b.join("gcn-12-fold1/db_codes.npy")).unwrap();
    assert_eq!(codes, codes_b);
    let labels: ndarray::Array1<i64> = ndarray_npy::read_npy(dir.join("query_labels.npy")).unwrap();
    assert_eq!(labels.len(), 12);
    assert!(dir.join("checkpoint.npz").exists() && dir.join("losses.csv").exists());
    let record = read_json(&a.join("config.json"));
    assert_eq!(record["seed"], 42);
    assert!(record["git_revision"].is_string() || record["git_revision"].is_null());
    // The saved settings are a config file that reproduces the run.
    let saved = std::fs::read_to_string(a.join("config.toml")).unwrap();
    assert!(saved.contains("epochs = 2") && saved.contains("seed = 42"), "{saved}");

    // Every number is in metrics.csv, with its mean in summary.csv (one fold: no std).
    let metrics = read_csv(&a.join("metrics.csv"));
    assert_eq!(metrics[0], ["method", "bits", "k", "fold", "metric", "at", "value"]);
    let row = metrics.iter().find(|r| r[0] == "cheby" && r[1] == "8" && r[4] == "map" && r[5] == "all").unwrap();
    let cheby8 = &cells[2]["map"].as_array().unwrap().iter().find(|m| m["at"] == "all").unwrap()["value"];
    assert_eq!(row[2], "3");
    assert_eq!(row[6].parse::<f64>().unwrap(), cheby8.as_f64().unwrap());
    let summary = read_csv(&a.join("summary.csv"));
    let row = summary.iter().find(|r| r[0] == "cheby" && r[1] == "8" && r[3] == "map" && r[4] == "all").unwrap();
    assert_eq!((row[5].parse::<f64>().unwrap(), row[6].as_str(), row[7].as_str()), (cheby8.as_f64().unwrap(), "", "1"));
    assert!(read_csv(&a.join("pr_curves.csv")).len() > 12 && read_csv(&a.join("losses.csv")).len() == 1 + 6 * 2);
    let md = std::fs::read_to_string(a.join("results.md")).unwrap();
    for text in ["## mAP@200 by code length", "| itq |", "not a valid mAP", "![", "Tie-aware"] {
        assert!(md.contains(text), "results.md lacks {text:?}:\n{md}");
    }
    for stem in ["map_vs_bits", "map_vs_neighbours_8", "pr_12", "loss_8"] {
        for ext in ["svg", "png"] {
            let path = a.join(format!("plots/{stem}.{ext}"));
            assert!(std::fs::metadata(&path).is_ok_and(|m| m.len() > 1000), "{} missing", path.display());
        }
    }
    assert!(!a.join("plots/map_vs_k_8.svg").exists(), "one order: no k figure");

    // A non-empty output directory is never overwritten.
    let o = run(&data, &a, &[]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("already exists"));
    // A different seed gives different numbers.
    let c = tmp.path().join("c");
    assert!(run(&data, &c, &["--seed", "7", "--plots", "false", "--checkpoints", "false"]).status.success());
    assert!(c.join("gcn-8-fold1/db_codes.npy").exists() && !c.join("gcn-8-fold1/checkpoint.npz").exists());
    assert_ne!(read_json(&c.join("results.json"))["cells"][0]["epochs"], cells[0]["epochs"]);
    assert!(!c.join("plots").exists());
}

#[test]
fn config_file_folds_and_a_k_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let data = dataset(tmp.path(), 90, 6);
    let config = tmp.path().join("sweep.toml");
    std::fs::write(
        &config,
        "filters = [\"gcn\", \"cheby\", \"spline\"]\nbits = [8]\nk = [2, 4]\nfolds = 3\nepochs = 1\n\
         baselines = [\"lsh\"]\nmap_at = [5, \"all\"]\nheadline_map = 5\nprecision_at = [5]\n",
    )
    .unwrap();
    let out = tmp.path().join("run");
    // The flags of run() (epochs 2, bits 8,12, …) would override the file: pass only a few.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hagcn"));
    cmd.args(["experiment", "--dataset"]).arg(&data).arg("--out").arg(&out).arg("--config").arg(&config);
    let o = cmd.args(["--batch-size", "16", "--hidden", "8", "--epochs", "2"]).output().unwrap();
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{log}");
    assert!(log.contains("skipping spline-8-k2"), "spline needs k ≥ 4: {log}");
    let results = read_json(&out.join("results.json"));
    let keys: Vec<String> = results["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{}-{}-{}", c["method"].as_str().unwrap(), c["k"], c["fold"]))
        .collect();
    let mut expected = Vec::new();
    for fold in 1..=3 {
        for cell in ["gcn-null", "cheby-2", "cheby-4", "spline-4", "lsh-null"] {
            expected.push(format!("{cell}-{fold}"));
        }
    }
    assert_eq!(keys, expected);
    // The flag overrode the file; the file overrode the defaults.
    let saved = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(saved.contains("epochs = 2") && saved.contains("folds = 3"), "{saved}");
    assert_eq!(results["cells"][0]["epochs"].as_array().unwrap().len(), 2);
    // 3 folds of 30: 60 train, 15 database, 15 query each, every sample held out once.
    let c0 = &results["cells"][0];
    assert_eq!(
        (c0["n_train"].as_u64(), c0["n_database"].as_u64(), c0["n_query"].as_u64()),
        (Some(60), Some(15), Some(15))
    );
    let mut held: Vec<i64> = Vec::new();
    for fold in 1..=3 {
        let dir = out.join(format!("gcn-8-fold{fold}"));
        for file in ["db_labels.npy", "query_labels.npy"] {
            let l: ndarray::Array1<i64> = ndarray_npy::read_npy(dir.join(file)).unwrap();
            held.extend(l.iter());
        }
    }
    assert_eq!(held.len(), 90);
    // Mean ± std over the folds.
    let summary = read_csv(&out.join("summary.csv"));
    let row = summary.iter().find(|r| r[0] == "cheby" && r[2] == "4" && r[3] == "map" && r[4] == "5").unwrap();
    let fold_values: Vec<f64> = results["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["method"] == "cheby" && c["k"] == 4)
        .map(|c| c["map"][0]["value"].as_f64().unwrap())
        .collect();
    let mean = fold_values.iter().sum::<f64>() / 3.0;
    let std = (fold_values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
    assert!((row[5].parse::<f64>().unwrap() - mean).abs() < 1e-12);
    assert!((row[6].parse::<f64>().unwrap() - std).abs() < 1e-12);
    assert_eq!(row[7], "3");
    let md = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(md.contains("mean ± std over 3 folds") && md.contains(" ± "), "{md}");
    assert!(md.contains("against the filter order k"), "{md}");
    for ext in ["svg", "png"] {
        assert!(out.join(format!("plots/map_vs_k_8.{ext}")).exists());
    }

    // --print-config shows the resolved settings and runs nothing.
    let o = Command::new(env!("CARGO_BIN_EXE_hagcn"))
        .args(["experiment", "--print-config", "--folds", "4", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && text.contains("folds = 4") && text.contains("k = [2, 4]"), "{text}");
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
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("invalid value 'gnc'") && err.contains("lanczos"), "{err}");
    let o = run(&data, &tmp.path().join("o3"), &["--map-at", "0"]);
    assert!(!o.status.success());
    let o = run(&data, &tmp.path().join("o4"), &["--batch-size", "1000"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("larger than the training set"));
    // No GPU here (or no CUDA backend in this build): one line, a non-zero exit, no run folder.
    // Device 999 exists nowhere, so this holds on a GPU machine too.
    let o = run(&data, &tmp.path().join("o5"), &["--device", "cuda:999"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    let line = err.lines().find(|l| l.starts_with("error: ")).unwrap_or_else(|| panic!("no error line in {err}"));
    assert!(line.starts_with("error: --device cuda:999: "), "{err}");
    assert_eq!(err.lines().filter(|l| l.contains("cuda")).count(), 1, "{err}");
    if cfg!(not(feature = "cuda")) {
        assert!(line.contains("--features cuda"), "{err}");
    }
    assert!(!tmp.path().join("o5").exists());
    let o = run(&data, &tmp.path().join("o6"), &["--device", "gpu"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("expected cpu, cuda, cuda:N or cuda-emulated"));
}

/// The CUDA backend's host code behind the CLI, on the CPU emulation of its kernels: every
/// filter trains through `experiment --device cuda-emulated` and lands where the CPU backend
/// does. The step-by-step agreement is hagcn-cuda's `training_step_on_emulator` test; here
/// the end-to-end run may differ from the CPU one only by f32 reduction order.
#[cfg(feature = "cuda")]
#[test]
fn the_cuda_backend_trains_every_filter_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let data = dataset(tmp.path(), 48, 6);
    let flags = ["--bits", "8", "--epochs", "1", "--filters", "gcn,fourier,spline,cheby,lanczos", "--k", "4"];
    let cpu = tmp.path().join("cpu");
    let o = run(&data, &cpu, &flags);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let emu = tmp.path().join("emu");
    let o = run(&data, &emu, &[&flags[..], &["--device", "cuda-emulated"]].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let config = read_json(&emu.join("config.json"));
    assert!(config["backend"].as_str().unwrap().contains("emulated"), "{config}");
    let (cpu, emu) = (read_json(&cpu.join("results.json")), read_json(&emu.join("results.json")));
    let cells = |r: &serde_json::Value| -> Vec<serde_json::Value> {
        r["cells"].as_array().unwrap().iter().filter(|c| c["baseline"] == false).cloned().collect()
    };
    assert_eq!(cell_names(&cpu), cell_names(&emu));
    assert_eq!(cells(&cpu).len(), 5);
    for (c, e) in cells(&cpu).iter().zip(cells(&emu).iter()) {
        let loss = |r: &serde_json::Value| r["epochs"][0]["loss"].as_f64().unwrap();
        let (lc, le) = (loss(c), loss(e));
        assert!(lc.is_finite() && (lc - le).abs() <= 1e-4 * lc.abs().max(1e-3), "{}: loss {lc} vs {le}", c["method"]);
        assert_eq!(e["steps"], c["steps"]);
    }
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
    let ck = out.join("gcn-8-fold1/checkpoint.npz");
    let stamp = std::fs::metadata(&ck).unwrap().modified().unwrap();
    let before = read_json(&out.join("results.json"));

    // A cell that was interrupted mid-way (files but no results.json entry) is recomputed.
    std::fs::create_dir_all(out.join("gcn-12-fold1")).unwrap();
    std::fs::write(out.join("gcn-12-fold1/checkpoint.npz"), b"half-written").unwrap();

    let again = run(&data, &out, &["--bits", "8,12", "--filters", "gcn", "--baselines", "lsh", "--resume", ""]);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert!(String::from_utf8_lossy(&again.stderr).contains("gcn-8-fold1: finished in an earlier run, kept"));
    assert_eq!(std::fs::metadata(&ck).unwrap().modified().unwrap(), stamp, "gcn-8 was not retrained");
    let after = read_json(&out.join("results.json"));
    let record = read_json(&out.join("config.json"));
    assert_eq!(record["resumed"].as_array().unwrap().len(), 1, "the first run's record is kept, the resume appended");
    assert_eq!(record["config"]["bits"], serde_json::json!([8, 12]), "the grid grew");
    assert_eq!(cell_names(&after), ["gcn-8", "lsh-8", "gcn-12", "lsh-12"]);
    assert_eq!(after["cells"][0], before["cells"][0]);
    assert!(hagcn_model::load_checkpoint(&out.join("gcn-12-fold1/checkpoint.npz")).is_ok());

    // Resuming a finished run only redraws the outputs, from results.json, to the last bit.
    let tables = |dir: &Path| ["metrics.csv", "summary.csv", "results.md"].map(|f| std::fs::read(dir.join(f)).unwrap());
    let written = tables(&out);
    let redraw = run(&data, &out, &["--bits", "8,12", "--filters", "gcn", "--baselines", "lsh", "--resume", ""]);
    assert!(redraw.status.success(), "{}", String::from_utf8_lossy(&redraw.stderr));
    assert!(tables(&out) == written, "tables redrawn from results.json differ from the ones first written");

    // Different settings are refused.
    let other = run(&data, &out, &["--epochs", "3", "--filters", "gcn", "--resume", ""]);
    assert!(!other.status.success());
    let err = String::from_utf8_lossy(&other.stderr);
    assert!(err.contains("epochs = 3 (saved: 2)"), "{err}");
}

#[test]
fn knn_objective_with_ablation_rows_and_diagnostics() {
    let tmp = tempfile::tempdir().unwrap();
    let data = dataset(tmp.path(), 100, 8);
    let config = tmp.path().join("ablation.toml");
    std::fs::write(
        &config,
        "objective = \"knn\"\nfilters = [\"gcn\", \"fourier\"]\nbits = [8]\nk = 4\nknn = 3\nepochs = 2\nbatch_size = 16\n\
         hidden = 8\nlr = 1e-3\ngamma = 1.0\nbaselines = [\"itq\"]\nmap_at = [5, \"all\"]\nheadline_map = 5\n\
         precision_at = [5]\nplots = false\n\
         ablations = [[], [\"constant-graph\", \"cosine-target\"], [\"no-hash-loss\"]]\n",
    )
    .unwrap();
    let out = tmp.path().join("run");
    let o = Command::new(env!("CARGO_BIN_EXE_hagcn"))
        .args(["experiment", "--dataset"])
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{log}");
    let results = read_json(&out.join("results.json"));
    let names = cell_names(&results);
    assert_eq!(
        names,
        [
            "gcn-knn-8",
            "gcn-knn.constant-graph.cosine-target-8",
            "gcn-knn.no-hash-loss-8",
            "fourier-knn-8",
            "fourier-knn.constant-graph.cosine-target-8",
            "fourier-knn.no-hash-loss-8",
            "itq-8"
        ]
    );
    // every trained cell has its diagnostics; the constant graph is exactly J/n
    for cell in results["cells"].as_array().unwrap().iter().filter(|c| !c["baseline"].as_bool().unwrap()) {
        let d = &cell["diagnostics"];
        let distinct = d["distinct_codes"].as_u64().unwrap();
        assert!((1..=10).contains(&distinct), "{d}"); // 10 database codes
        assert!((0.0..=1.0).contains(&d["bit_imbalance"].as_f64().unwrap()), "{d}");
        let offset = d["graph_offset"].as_f64().unwrap();
        if cell["method"].as_str().unwrap().contains("constant-graph") {
            assert!(offset < 1e-12, "{d}");
        } else {
            assert!(offset > 0.1, "{d}");
        }
    }
    let md = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(md.contains("## Diagnostics") && md.contains("gcn-knn.no-hash-loss"), "{md}");
    let losses = std::fs::read_to_string(out.join("gcn-knn-8-fold1/losses.csv")).unwrap();
    assert!(losses.starts_with("epoch,loss,reconstruction,hash,regularization,seconds"), "{losses}");

    // ablations need the knn objective
    let o = Command::new(env!("CARGO_BIN_EXE_hagcn"))
        .args(["experiment", "--print-config", "--ablate", "constant-graph", "--objective", "hagcn"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("knn objective only"), "{err}");
    let o = Command::new(env!("CARGO_BIN_EXE_hagcn"))
        .args(["experiment", "--print-config", "--objective", "knn", "--ablate", "no-graph"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("invalid value 'no-graph'") && err.contains("identity-filter"),
        "{err}"
    );
}

#[test]
fn anchor_graph_hashing_baselines_run_beside_the_others_with_diagnostics() {
    let tmp = tempfile::tempdir().unwrap();
    let data = dataset(tmp.path(), 420, 12); // 336 training rows: more than AGH's 300 anchors
    let out = tmp.path().join("run");
    let o = run(&data, &out, &["--filters", "gcn", "--bits", "8,9", "--baselines", "itq,agh,agh2,agh-itq"]);
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{log}");
    assert!(log.contains("skipping agh2-9: agh2 needs an even number of bits"), "{log}");
    let results = read_json(&out.join("results.json"));
    assert_eq!(
        cell_names(&results),
        ["gcn-8", "gcn-9", "itq-8", "itq-9", "agh-8", "agh-9", "agh2-8", "agh-itq-8", "agh-itq-9"]
    );
    for cell in results["cells"].as_array().unwrap() {
        let d = &cell["diagnostics"];
        assert!(d["distinct_codes"].as_u64().unwrap() >= 1, "{cell}");
        assert!((0.0..=1.0).contains(&d["bit_imbalance"].as_f64().unwrap()));
        let baseline = cell["baseline"].as_bool().unwrap();
        assert_eq!(d["graph_offset"].is_null(), baseline, "only trained models have a batch graph");
        let map_all = cell["map"].as_array().unwrap().iter().find(|m| m["at"] == "all").unwrap();
        assert!((0.0..=1.0).contains(&map_all["value"].as_f64().unwrap()));
    }
    let md = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(md.contains("| agh-itq |") && md.contains("## mAP@1000 by code length"), "{md}");
    // Fewer training rows than anchors: AGH is skipped with the reason, the rest runs.
    let small = dataset(&tmp.path().join("small"), 120, 10);
    let o = run(&small, &tmp.path().join("run2"), &["--filters", "gcn", "--bits", "8", "--baselines", "agh"]);
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success() && log.contains("agh needs more training rows than its 300 anchors"), "{log}");
}

#[test]
fn validation_runs_use_a_split_of_the_training_rows_only() {
    let tmp = tempfile::tempdir().unwrap();
    let data = dataset(tmp.path(), 120, 10);
    let out = tmp.path().join("val");
    let o = run(&data, &out, &["--filters", "gcn", "--bits", "8", "--validation", "true", "--baselines", "itq"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let results = read_json(&out.join("results.json"));
    // 120 rows: the fold trains on 96; the validation split takes 76 / 10 / 10 of those 96
    for cell in results["cells"].as_array().unwrap() {
        assert_eq!(
            (cell["n_train"].as_u64(), cell["n_database"].as_u64(), cell["n_query"].as_u64()),
            (Some(76), Some(10), Some(10))
        );
    }
    assert!(std::fs::read_to_string(out.join("results.md")).unwrap().contains("validation splits"));
    // The validation rows are training rows of the fold: its query labels are not the held-out ones.
    let plain = tmp.path().join("plain");
    assert!(run(&data, &plain, &["--filters", "gcn", "--bits", "8", "--baselines", "none"]).status.success());
    let q_val: ndarray::Array1<i64> = ndarray_npy::read_npy(out.join("gcn-8-fold1/query_labels.npy")).unwrap();
    let q_held: ndarray::Array1<i64> = ndarray_npy::read_npy(plain.join("gcn-8-fold1/query_labels.npy")).unwrap();
    assert_eq!((q_val.len(), q_held.len()), (10, 12));
}
