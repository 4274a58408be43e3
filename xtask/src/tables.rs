//! `cargo xtask tables`: every results table of the README and `docs/` made from the committed
//! result files under `docs/results/<run>/`, so anyone can check a number against the CSV it
//! came from. `cargo xtask publish RUN_DIR NAME` copies a run's `summary.csv`, `metrics.csv`
//! and `config.json` (its settings, revision and BLAS thread count) there.
//!
//! A generated table sits between two markers in a Markdown file:
//!
//! ```text
//! <!-- table kind=main runs=nbr-mnist,knn-mnist metric=map at=200 -->
//! …replaced on every run…
//! <!-- end table -->
//! ```
//!
//! Kinds (options after the kind; `metric` defaults to `map`):
//! - `main`: one row per method of `runs` (or of `methods`, in that order), one column per
//!   code length: mean ± std over folds of `metric`@`at`; the best mean of a column in bold.
//! - `paired`: the per-fold difference `reference − method` for every other method of `runs`
//!   (or `methods`), mean ± std over the folds they share; ✓ where the mean exceeds one std.
//! - `ablation`: the per-fold difference `ablated − reference` for every `reference.<ablation>`
//!   method of `runs`; ✓ where the loss exceeds one std (the part switched off matters).
//! - `diagnostics`: at `bits`, each method's distinct codes, bit imbalance, bit correlation,
//!   graph offset and training seconds (or the numbers named by `metrics=`), means over folds.
//!
//! Below each table a line names the files and the revision and thread count behind it.
//! `--check` fails when a file is not what regeneration would make (the lint runs it).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

const BEGIN: &str = "<!-- table ";
const END: &str = "<!-- end table -->";

/// `cargo xtask tables [--check]`.
pub fn run(root: &Path, check: bool) -> Result<()> {
    let mut stale = Vec::new();
    let mut n_tables = 0;
    for file in markdown_files(root)? {
        let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
        let (new, n) = regenerate(root, &text).with_context(|| format!("in {}", file.display()))?;
        n_tables += n;
        if new != text {
            if check {
                stale.push(file.strip_prefix(root).unwrap_or(&file).display().to_string());
            } else {
                write_atomic(&file, &new)?;
                eprintln!("xtask: regenerated the tables of {}", file.display());
            }
        }
    }
    if !stale.is_empty() {
        bail!("tables out of date in {} (run `cargo xtask tables`)", stale.join(", "));
    }
    eprintln!("xtask: {n_tables} tables {}", if check { "up to date" } else { "written" });
    Ok(())
}

/// `cargo xtask publish RUN_DIR NAME [--force]`: a run's result files into `docs/results/NAME`.
pub fn publish(root: &Path, run_dir: &Path, name: &str, force: bool) -> Result<()> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        bail!("publish: NAME must be letters, digits, '-' or '_', got {name:?}");
    }
    let dest = root.join("docs").join("results").join(name);
    if dest.exists() && !force {
        bail!("{} exists; pass --force to replace it", dest.display());
    }
    std::fs::create_dir_all(&dest).with_context(|| format!("cannot create {}", dest.display()))?;
    for file in ["summary.csv", "metrics.csv", "config.json"] {
        let from = run_dir.join(file);
        let text = std::fs::read_to_string(&from)
            .with_context(|| format!("cannot read {} (is {} a finished run?)", from.display(), run_dir.display()))?;
        write_atomic(&dest.join(file), &text)?;
    }
    Run::load(root, name)?;
    eprintln!("xtask: published {} as {}", run_dir.display(), dest.display());
    Ok(())
}

fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp-xtask");
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
}

/// `README.md` and every Markdown file under `docs/`.
fn markdown_files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut files = vec![root.join("README.md")];
    let mut stack = vec![root.join("docs")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The text with every marked table rebuilt, and the number of tables.
fn regenerate(root: &Path, text: &str) -> Result<(String, usize)> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut n = 0;
    while let Some(start) = rest.find(BEGIN) {
        let line_end = rest[start..].find('\n').map(|i| start + i + 1).context("a table marker without a line end")?;
        let header = rest[start..line_end].trim_end();
        let spec = header
            .strip_prefix(BEGIN)
            .and_then(|s| s.strip_suffix("-->"))
            .with_context(|| format!("malformed marker {header:?}"))?;
        let end = rest[line_end..].find(END).with_context(|| format!("{header:?} has no {END:?}"))? + line_end;
        out.push_str(&rest[..line_end]);
        out.push_str(&render(root, spec).with_context(|| format!("table {header:?}"))?);
        out.push_str(END);
        rest = &rest[end + END.len()..];
        n += 1;
    }
    out.push_str(rest);
    Ok((out, n))
}

/// One row of `summary.csv`.
struct Summary {
    method: String,
    bits: usize,
    metric: String,
    at: String,
    mean: f64,
    std: Option<f64>,
}

/// A published run: its summary, its per-fold numbers and its record.
struct Run {
    name: String,
    summary: Vec<Summary>,
    /// (method, bits, metric, at) → fold → value
    folds: BTreeMap<(String, usize, String, String), BTreeMap<usize, f64>>,
    config: serde_json::Value,
}

fn csv_rows(path: &Path, header: &str) -> Result<Vec<Vec<String>>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines = text.lines();
    if lines.next() != Some(header) {
        bail!("{}: expected the header {header:?}", path.display());
    }
    let width = header.split(',').count();
    lines
        .enumerate()
        .map(|(i, line)| {
            let fields: Vec<String> = line.split(',').map(str::to_string).collect();
            if fields.len() != width {
                bail!("{} line {}: {} fields, expected {width}", path.display(), i + 2, fields.len());
            }
            Ok(fields)
        })
        .collect()
}

fn number<T: std::str::FromStr>(field: &str, what: &str) -> Result<T> {
    field.parse().map_err(|_| anyhow::anyhow!("{what}: not a number: {field:?}"))
}

impl Run {
    fn load(root: &Path, name: &str) -> Result<Run> {
        let dir = root.join("docs").join("results").join(name);
        let mut summary = Vec::new();
        for f in csv_rows(&dir.join("summary.csv"), "method,bits,k,metric,at,mean,std,folds")? {
            summary.push(Summary {
                method: f[0].clone(),
                bits: number(&f[1], "bits")?,
                metric: f[3].clone(),
                at: f[4].clone(),
                mean: number(&f[5], "mean")?,
                std: if f[6].is_empty() { None } else { Some(number(&f[6], "std")?) },
            });
        }
        let mut folds: BTreeMap<_, BTreeMap<usize, f64>> = BTreeMap::new();
        for f in csv_rows(&dir.join("metrics.csv"), "method,bits,k,fold,metric,at,value")? {
            let key = (f[0].clone(), number(&f[1], "bits")?, f[4].clone(), f[5].clone());
            folds.entry(key).or_default().insert(number(&f[3], "fold")?, number(&f[6], "value")?);
        }
        let path = dir.join("config.json");
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let config = serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
        Ok(Run { name: name.to_string(), summary, folds, config })
    }

    fn methods(&self) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        for s in &self.summary {
            if !seen.contains(&s.method) {
                seen.push(s.method.clone());
            }
        }
        seen
    }

    fn bits(&self) -> Vec<usize> {
        let mut b: Vec<usize> = self.summary.iter().map(|s| s.bits).collect();
        b.sort_unstable();
        b.dedup();
        b
    }

    fn stat(&self, method: &str, bits: usize, metric: &str, at: &str) -> Option<&Summary> {
        self.summary.iter().find(|s| s.method == method && s.bits == bits && s.metric == metric && s.at == at)
    }

    fn per_fold(&self, method: &str, bits: usize, metric: &str, at: &str) -> Option<&BTreeMap<usize, f64>> {
        self.folds.get(&(method.to_string(), bits, metric.to_string(), at.to_string()))
    }

    /// What makes two runs' folds the same rows: dataset, seed, fold count, validation.
    fn split_identity(&self) -> String {
        let c = &self.config["config"];
        format!("dataset {} · seed {} · folds {} · validation {}", c["dataset"], c["seed"], c["folds"], c["validation"])
    }

    fn provenance(&self) -> String {
        let rev =
            self.config["git_revision"].as_str().map_or("unrecorded".to_string(), |r| r.chars().take(10).collect());
        let threads = self.config["blas"]["threads"].as_u64().map_or("?".to_string(), |t| t.to_string());
        format!("revision {rev}, {threads} BLAS thread{}", if threads == "1" { "" } else { "s" })
    }
}

/// The options of a marker: `kind=… key=value …`.
struct Spec {
    options: BTreeMap<String, String>,
}

impl Spec {
    fn parse(spec: &str) -> Result<Spec> {
        let mut options = BTreeMap::new();
        for word in spec.split_whitespace() {
            let (k, v) = word.split_once('=').with_context(|| format!("expected key=value, got {word:?}"))?;
            if options.insert(k.to_string(), v.to_string()).is_some() {
                bail!("{k} given twice");
            }
        }
        Ok(Spec { options })
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.options.get(key).map(String::as_str)
    }

    fn need(&self, key: &str) -> Result<&str> {
        self.get(key).with_context(|| format!("missing {key}="))
    }

    fn list(&self, key: &str) -> Option<Vec<String>> {
        self.get(key).map(|v| v.split(',').map(str::to_string).collect())
    }

    fn check_keys(&self, allowed: &[&str]) -> Result<()> {
        match self.options.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => bail!("unknown option {k:?} (this kind takes {})", allowed.join(", ")),
            None => Ok(()),
        }
    }
}

fn render(root: &Path, spec: &str) -> Result<String> {
    let spec = Spec::parse(spec)?;
    let runs: Vec<Run> =
        spec.list("runs").context("missing runs=")?.iter().map(|r| Run::load(root, r)).collect::<Result<_>>()?;
    let metric = spec.get("metric").unwrap_or("map");
    let mut body = match spec.need("kind")? {
        "main" => {
            spec.check_keys(&["kind", "runs", "metric", "at", "methods"])?;
            main_table(&runs, &spec, metric, spec.need("at")?)?
        }
        "paired" | "ablation" => {
            spec.check_keys(&["kind", "runs", "metric", "at", "methods", "reference"])?;
            paired_table(&runs, &spec, metric, spec.need("at")?)?
        }
        "diagnostics" => {
            spec.check_keys(&["kind", "runs", "bits", "methods", "metrics"])?;
            diagnostics_table(&runs, &spec, number(spec.need("bits")?, "bits")?)?
        }
        other => bail!("unknown kind {other:?} (main, paired, ablation, diagnostics)"),
    };
    // runs of the same revision and thread count named together
    let mut sources: Vec<(String, Vec<&str>)> = Vec::new();
    for r in &runs {
        let p = r.provenance();
        match sources.iter_mut().find(|(q, _)| *q == p) {
            Some((_, names)) => names.push(&r.name),
            None => sources.push((p, vec![&r.name])),
        }
    }
    let sources: Vec<String> =
        sources.iter().map(|(p, names)| format!("`docs/results/` {} ({p})", names.join(", "))).collect();
    writeln!(body, "\n<sub>Generated by `cargo xtask tables` from {}.</sub>", sources.join("; "))?;
    Ok(body)
}

/// One row of a table: a run's method and how the row is labelled.
struct Row<'a> {
    run: &'a Run,
    method: String,
    label: String,
}

/// The rows: `methods=` in its order, else every method of every run.
fn rows<'a>(runs: &'a [Run], spec: &Spec) -> Result<Vec<Row<'a>>> {
    match spec.list("methods") {
        Some(list) => list
            .into_iter()
            .map(|entry| {
                // `run:method` picks the run, and the row is labelled `method (run)`
                let (run, m, label) = match entry.split_once(':') {
                    Some((r, m)) => (runs.iter().find(|run| run.name == r), m.to_string(), format!("{m} ({r})")),
                    None => (runs.iter().find(|run| run.methods().contains(&entry)), entry.clone(), entry.clone()),
                };
                let run = run.filter(|r| r.methods().contains(&m)).with_context(|| format!("no run has {entry:?}"))?;
                Ok(Row { run, method: m, label })
            })
            .collect(),
        None => {
            let mut out: Vec<Row> = Vec::new();
            for run in runs {
                for m in run.methods() {
                    if out.iter().any(|row| row.method == m) {
                        bail!("method {m:?} is in two runs; choose with methods=run:method");
                    }
                    out.push(Row { run, label: m.clone(), method: m });
                }
            }
            Ok(out)
        }
    }
}

fn all_bits(runs: &[Run]) -> Vec<usize> {
    let mut b: Vec<usize> = runs.iter().flat_map(Run::bits).collect();
    b.sort_unstable();
    b.dedup();
    b
}

fn header(corner: &str, columns: &[String]) -> String {
    format!("| {corner} | {} |\n|---|{}\n", columns.join(" | "), "---|".repeat(columns.len()))
}

fn metric_label(metric: &str, at: &str) -> String {
    match metric {
        "map" => format!("mAP@{at}"),
        "map_tie_aware" => format!("tie-aware mAP@{at}"),
        other => format!("{other}@{at}"),
    }
}

/// `x` (below 100 in magnitude) to `digits` significant digits: 54.9, 2.56, 0.0671.
fn significant(x: f64, digits: i32) -> String {
    let magnitude = if x == 0.0 { 0 } else { x.abs().log10().floor() as i32 };
    format!("{:.*}", (digits - 1 - magnitude).max(0) as usize, x)
}

fn main_table(runs: &[Run], spec: &Spec, metric: &str, at: &str) -> Result<String> {
    let rows = rows(runs, spec)?;
    let bits = all_bits(runs);
    let best: Vec<Option<f64>> = bits
        .iter()
        .map(|&b| rows.iter().filter_map(|r| r.run.stat(&r.method, b, metric, at)).map(|s| s.mean).reduce(f64::max))
        .collect();
    let columns: Vec<String> = bits.iter().map(|b| format!("{b} bits")).collect();
    let spread = rows.iter().any(|r| r.run.summary.iter().any(|x| x.std.is_some()));
    let corner = format!("{}{}", metric_label(metric, at), if spread { " (mean ± std over folds)" } else { "" });
    let mut s = header(&corner, &columns);
    for row in &rows {
        write!(s, "| {} |", row.label)?;
        for (&b, best) in bits.iter().zip(&best) {
            match row.run.stat(&row.method, b, metric, at) {
                Some(x) => {
                    let cell = match x.std {
                        Some(std) => format!("{:.3} ± {std:.3}", x.mean),
                        None => format!("{:.3}", x.mean),
                    };
                    if Some(x.mean) == *best && rows.len() > 1 {
                        write!(s, " **{cell}** |")?;
                    } else {
                        write!(s, " {cell} |")?;
                    }
                }
                None => s.push_str(" – |"),
            }
        }
        s.push('\n');
    }
    Ok(s)
}

/// Paired differences over the folds two methods share; `None` when they share none.
fn paired(a: &BTreeMap<usize, f64>, b: &BTreeMap<usize, f64>) -> Option<(f64, Option<f64>, usize)> {
    let d: Vec<f64> = a.iter().filter_map(|(f, x)| b.get(f).map(|y| x - y)).collect();
    let n = d.len();
    if n == 0 {
        return None;
    }
    let mean = d.iter().sum::<f64>() / n as f64;
    let std = (n > 1).then(|| (d.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt());
    Some((mean, std, n))
}

fn paired_table(runs: &[Run], spec: &Spec, metric: &str, at: &str) -> Result<String> {
    let ablation = spec.need("kind")? == "ablation";
    // `reference=method` or `reference=run:method`
    let (ref_run, reference) = match spec.need("reference")?.split_once(':') {
        Some((r, m)) => (runs.iter().find(|run| run.name == r && run.methods().iter().any(|x| x == m)), m),
        None => {
            let m = spec.need("reference")?;
            (runs.iter().find(|run| run.methods().iter().any(|x| x == m)), m)
        }
    };
    let ref_run = ref_run.with_context(|| format!("no run has the reference method {reference:?}"))?;
    let identity = ref_run.split_identity();
    let prefix = format!("{reference}.");
    let mut others = rows(runs, spec)?;
    others.retain(|r| {
        let same = r.method == reference && std::ptr::eq(r.run, ref_run);
        !same && (!ablation || r.method.starts_with(&prefix))
    });
    if others.is_empty() {
        bail!("nothing to compare {reference:?} with");
    }
    for r in &others {
        if r.run.split_identity() != identity {
            bail!("{:?} ({}) was not run on the folds of {reference:?} ({identity})", r.label, r.run.split_identity());
        }
    }
    let bits = all_bits(runs);
    let columns: Vec<String> = bits.iter().map(|b| format!("{b} bits")).collect();
    let corner = if ablation {
        format!("{} of the ablated model − {reference}", metric_label(metric, at))
    } else {
        format!("{} of {reference} − method", metric_label(metric, at))
    };
    let mut s = header(&corner, &columns);
    for r in &others {
        let label = if ablation { r.method.strip_prefix(&prefix).unwrap_or(&r.label) } else { &r.label };
        write!(s, "| {label} |")?;
        for &b in &bits {
            let pair = ref_run.per_fold(reference, b, metric, at).zip(r.run.per_fold(&r.method, b, metric, at));
            let diff = pair.and_then(|(r, o)| if ablation { paired(o, r) } else { paired(r, o) });
            match diff {
                Some((mean, Some(std), n)) => {
                    // ✓: the reference wins (or, in an ablation, the ablated model loses) by more than one std
                    let clear = if ablation { -mean > std } else { mean > std };
                    write!(s, " {mean:+.3} ± {std:.3}{} (n={n}) |", if clear { " ✓" } else { "" })?;
                }
                Some((mean, None, n)) => write!(s, " {mean:+.3} (n={n}) |")?,
                None => s.push_str(" – |"),
            }
        }
        s.push('\n');
    }
    Ok(s)
}

fn diagnostics_table(runs: &[Run], spec: &Spec, bits: usize) -> Result<String> {
    let defaults = ["distinct_codes", "bit_imbalance", "bit_correlation", "graph_offset", "train_seconds"];
    let columns: Vec<String> = spec.list("metrics").unwrap_or_else(|| defaults.map(String::from).to_vec());
    let names: Vec<String> = columns.iter().map(|c| c.replace('_', " ")).collect();
    let mut s = header(&format!("{bits} bits, means over folds"), &names);
    for row in rows(runs, spec)? {
        write!(s, "| {} |", row.label)?;
        for metric in &columns {
            // large numbers without decimals, counts and measurements to three significant
            // digits, the rest to three places
            let coarse = ["codes", "seconds", "mib", "second"].iter().any(|unit| metric.ends_with(unit));
            match row.run.stat(&row.method, bits, metric, "") {
                Some(x) if x.mean.abs() >= 100.0 => write!(s, " {:.0} |", x.mean)?,
                Some(x) if coarse => write!(s, " {} |", significant(x.mean, 3))?,
                Some(x) => write!(s, " {:.3} |", x.mean)?,
                None => s.push_str(" – |"),
            }
        }
        s.push('\n');
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measurements_keep_three_significant_digits() {
        assert_eq!(significant(54.86, 3), "54.9");
        assert_eq!(significant(2.56, 3), "2.56");
        assert_eq!(significant(0.0671, 3), "0.0671");
        assert_eq!(significant(0.0, 3), "0.00");
        assert_eq!(significant(-1.5, 3), "-1.50");
    }

    #[test]
    fn paired_differences_use_shared_folds_only() {
        let a: BTreeMap<usize, f64> = [(1, 0.5), (2, 0.6), (3, 0.7)].into();
        let b: BTreeMap<usize, f64> = [(1, 0.4), (2, 0.4), (4, 0.0)].into();
        let (mean, std, n) = paired(&a, &b).unwrap();
        assert_eq!(n, 2);
        assert!((mean - 0.15).abs() < 1e-12);
        assert!((std.unwrap() - (0.005f64).sqrt()).abs() < 1e-12);
        assert!(paired(&a, &BTreeMap::new()).is_none());
    }

    #[test]
    fn markers_are_replaced_and_text_around_kept() {
        let root = std::env::temp_dir().join(format!("xtask-tables-{}", std::process::id()));
        let dir = root.join("docs/results/r1");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("summary.csv"),
            "method,bits,k,metric,at,mean,std,folds\na,16,,map,200,0.7,0.01,2\nb,16,,map,200,0.6,0.02,2\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("metrics.csv"),
            "method,bits,k,fold,metric,at,value\na,16,,1,map,200,0.71\na,16,,2,map,200,0.69\nb,16,,1,map,200,0.58\nb,16,,2,map,200,0.62\n",
        )
        .unwrap();
        std::fs::write(dir.join("config.json"), r#"{"git_revision":"abc","blas":{"threads":1},"config":{"seed":1}}"#)
            .unwrap();
        let text = "before\n<!-- table kind=main runs=r1 at=200 -->\nstale row\n<!-- end table -->\nafter\n\
                    <!-- table kind=paired runs=r1 at=200 reference=a -->\n<!-- end table -->\n";
        let (new, n) = regenerate(&root, text).unwrap();
        assert_eq!(n, 2);
        assert!(new.starts_with("before\n") && new.contains("\nafter\n") && !new.contains("stale row"));
        assert!(new.contains("| a | **0.700 ± 0.010** |"), "{new}");
        assert!(new.contains("| b | +0.100 ± 0.042 ✓ (n=2) |"), "{new}");
        // regenerating is idempotent
        assert_eq!(regenerate(&root, &new).unwrap().0, new);
        assert!(regenerate(&root, "<!-- table kind=main runs=missing at=200 -->\n<!-- end table -->").is_err());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
