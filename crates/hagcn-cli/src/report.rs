//! Tables, CSV files and figures of a run, made from its `results.json` records alone.
//!
//! Files written into the run directory:
//! - `metrics.csv`: every number of every cell, one per row
//!   (`method,bits,k,fold,metric,at,value`);
//! - `summary.csv`: mean and sample standard deviation over folds
//!   (`method,bits,k,metric,at,mean,std,folds`);
//! - `pr_curves.csv` and `losses.csv`: the precision–recall curves and per-epoch losses
//!   of every cell;
//! - `results.md`: the Markdown summary, with the figures of `plots/` linked.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use hagcn_model::Objective;

use crate::config::ExperimentConfig;
use crate::output::write_text;
use crate::results::{CellResult, Results};
use crate::summary::{Group, Stat, all_bits, all_ks, groups, main_k};

/// Every number of one cell as `(metric, at, value)`.
fn numbers(c: &CellResult) -> Vec<(&'static str, String, f64)> {
    let mut rows = Vec::new();
    rows.extend(c.map.iter().map(|m| ("map", m.at.clone(), m.value)));
    rows.extend(c.tie_aware_map.iter().map(|m| ("map_tie_aware", m.at.clone(), m.value)));
    rows.extend(c.legacy_map_invalid.iter().filter_map(|m| Some(("map_legacy_invalid", m.at.clone(), m.value?))));
    rows.extend(c.precision_at.iter().map(|m| ("precision_at", m.at.clone(), m.value)));
    let r = c.lookup_radius.to_string();
    rows.push(("precision_within_radius", r.clone(), c.precision_within_radius));
    rows.push(("recall_within_radius", r, c.recall_within_radius));
    if let Some(loss) = c.final_loss() {
        rows.push(("final_loss", String::new(), loss));
        rows.push(("seconds_per_epoch", String::new(), c.train_seconds / c.epochs.len() as f64));
    }
    if let Some(d) = &c.diagnostics {
        rows.push(("distinct_codes", String::new(), d.distinct_codes as f64));
        rows.push(("bit_imbalance", String::new(), d.bit_imbalance));
        rows.push(("bit_correlation", String::new(), d.bit_correlation));
        if let Some(offset) = d.graph_offset {
            rows.push(("graph_offset", String::new(), offset));
        }
    }
    rows.push(("train_seconds", String::new(), c.train_seconds));
    rows.push(("eval_seconds", String::new(), c.eval_seconds));
    rows
}

fn k_field(k: Option<usize>) -> String {
    k.map_or(String::new(), |k| k.to_string())
}

/// Writes the CSV files, `results.md` and (when enabled) the figures; returns the main
/// Markdown table for the terminal.
pub fn write_all(out: &Path, config: &ExperimentConfig, results: &Results) -> Result<String> {
    let groups = groups(results);
    write_csvs(out, &groups)?;
    let figures = if config.plots { crate::plots::draw_all(out, config, &groups)? } else { Vec::new() };
    let (markdown, headline) = markdown(config, &groups, &figures);
    write_text(&out.join("results.md"), &markdown)?;
    Ok(headline)
}

fn write_csvs(out: &Path, groups: &[Group]) -> Result<()> {
    let mut metrics = String::from("method,bits,k,fold,metric,at,value\n");
    let mut summary = String::from("method,bits,k,metric,at,mean,std,folds\n");
    let mut pr = String::from("method,bits,k,fold,radius,precision,recall\n");
    let mut losses = String::from("method,bits,k,fold,epoch,loss,reconstruction,hash,seconds\n");
    for g in groups {
        let k = k_field(g.k);
        // (metric, at) in first-seen order → the values of each fold
        let mut by_metric: Vec<((&str, String), Vec<f64>)> = Vec::new();
        for c in &g.cells {
            let f = c.key.fold;
            for (metric, at, value) in numbers(c) {
                writeln!(metrics, "{},{},{k},{f},{metric},{at},{value}", g.method, g.bits)?;
                match by_metric.iter_mut().find(|(key, _)| key.0 == metric && key.1 == at) {
                    Some((_, values)) => values.push(value),
                    None => by_metric.push(((metric, at), vec![value])),
                }
            }
            let curve = &c.pr_curve;
            for ((r, p), rec) in curve.radius.iter().zip(&curve.precision).zip(&curve.recall) {
                writeln!(pr, "{},{},{k},{f},{r},{p},{rec}", g.method, g.bits)?;
            }
            for e in &c.epochs {
                let (l, rc, h, s) = (e.loss, e.reconstruction, e.hash, e.seconds);
                writeln!(losses, "{},{},{k},{f},{},{l},{rc},{h},{s}", g.method, g.bits, e.epoch)?;
            }
        }
        for ((metric, at), values) in by_metric {
            let s = Stat::of(&values).expect("at least one value");
            let std = s.std.map_or(String::new(), |x| x.to_string());
            writeln!(summary, "{},{},{k},{metric},{at},{},{std},{}", g.method, g.bits, s.mean, s.n)?;
        }
    }
    write_text(&out.join("metrics.csv"), &metrics)?;
    write_text(&out.join("summary.csv"), &summary)?;
    write_text(&out.join("pr_curves.csv"), &pr)?;
    write_text(&out.join("losses.csv"), &losses)?;
    Ok(())
}

/// Rows of a Markdown table: a label and one cell per column (`None` shown as `–`).
type Rows = Vec<(String, Vec<Option<String>>)>;

/// A Markdown table: one row per label, one column per header, `–` where missing.
fn table(corner: &str, headers: &[String], rows: &[(String, Vec<Option<String>>)]) -> String {
    let mut s = format!("| {corner} |");
    for h in headers {
        write!(s, " {h} |").unwrap();
    }
    s.push_str("\n|---|");
    s.push_str(&"---|".repeat(headers.len()));
    s.push('\n');
    for (label, cells) in rows {
        write!(s, "| {label} |").unwrap();
        for c in cells {
            write!(s, " {} |", c.as_deref().unwrap_or("–")).unwrap();
        }
        s.push('\n');
    }
    s
}

/// Rows (one per method and order) × columns (one per code length) of `value`.
fn by_bits(
    groups: &[Group],
    bits: &[usize],
    with_k: bool,
    value: impl Fn(&Group) -> Option<String>,
) -> (Vec<String>, Rows) {
    let mut rows: Rows = Vec::new();
    for g in groups {
        let label = g.label(with_k);
        let col = bits.iter().position(|&b| b == g.bits);
        let row = match rows.iter().position(|(l, _)| *l == label) {
            Some(i) => i,
            None => {
                rows.push((label, vec![None; bits.len()]));
                rows.len() - 1
            }
        };
        if let Some(col) = col {
            rows[row].1[col] = value(g);
        }
    }
    (bits.iter().map(|b| format!("{b} bits")).collect(), rows)
}

/// The full `results.md`, and its first table for the terminal.
fn markdown(config: &ExperimentConfig, groups: &[Group], figures: &[(String, String)]) -> (String, String) {
    let bits = all_bits(groups);
    let ks = all_ks(groups);
    let main = main_k(groups);
    // Rows at the main order (and every order-free method).
    let main_groups: Vec<Group> = groups.iter().filter(|g| g.k.is_none() || g.k == main).cloned().collect();
    let folds = groups.iter().map(|g| g.cells.len()).max().unwrap_or(0);
    let mut spread = if folds > 1 { format!("mean ± std over {folds} folds") } else { "one split".to_string() };
    if config.validation {
        spread.push_str(", on validation splits carved from the training rows");
    }
    let head = config.headline_map.to_string();
    let t = &config.training;
    let mut md = String::new();
    let title = if config.name.is_empty() { "Results".to_string() } else { format!("Results: {}", config.name) };
    writeln!(md, "# {title}\n").unwrap();
    writeln!(
        md,
        "Dataset `{}`; objective `{}`{}; {} epochs, batch {}, h = {}, lr {}, γ = {}, seed {}; {}. Ties in the \
         Hamming ranking are broken by database index (spec §4). Every number is also in `metrics.csv` (per fold) \
         and `summary.csv` (mean, std).\n",
        config.dataset,
        t.objective,
        if t.objective == Objective::Knn {
            format!(" (knn = {}, λ = {})", t.knn, t.regularization)
        } else {
            String::new()
        },
        t.epochs,
        t.batch_size,
        t.hidden,
        t.lr,
        t.gamma,
        t.seed,
        spread
    )
    .unwrap();

    let show = |s: Option<Stat>| s.map(|s| s.show(4));
    let (h, rows) = by_bits(&main_groups, &bits, false, |g| show(g.map(&head)));
    let headline = format!(
        "mAP@{head} ({spread}{})\n\n{}",
        main.map_or(String::new(), |k| format!(", k = {k}")),
        table("method", &h, &rows)
    );
    writeln!(md, "## mAP@{head} by code length\n").unwrap();
    if let Some(k) = main {
        writeln!(md, "Filters at order k = {k}.\n").unwrap();
    }
    md.push_str(&table("method", &h, &rows));

    // The other standard cut-offs, where the run computed them.
    for other in ["1000", "all"] {
        let computed = main_groups.iter().any(|g| g.map(other).is_some());
        if other != head && computed {
            writeln!(md, "\n## mAP@{other} by code length\n").unwrap();
            let (h, rows) = by_bits(&main_groups, &bits, false, |g| show(g.map(other)));
            md.push_str(&table("method", &h, &rows));
        }
    }

    if ks.len() > 1 {
        writeln!(md, "\n## mAP@{head} against the filter order k\n").unwrap();
        for &b in &bits {
            writeln!(md, "{b} bits:\n").unwrap();
            let headers: Vec<String> = ks.iter().map(|k| format!("k = {k}")).collect();
            let mut rows: Rows = Vec::new();
            for g in groups.iter().filter(|g| g.bits == b) {
                let cells: Vec<Option<String>> = match g.k {
                    Some(k) => ks.iter().map(|&kk| if kk == k { show(g.map(&head)) } else { None }).collect(),
                    None => vec![show(g.map(&head)); ks.len()], // no order: the same at every k
                };
                match rows.iter_mut().find(|(l, _)| l == g.method) {
                    Some((_, row)) => row.iter_mut().zip(cells).for_each(|(r, c)| *r = r.take().or(c)),
                    None => rows.push((g.method.to_string(), cells)),
                }
            }
            md.push_str(&table("method", &headers, &rows));
            md.push('\n');
        }
        writeln!(md, "gcn and the baselines have no order; their value is repeated across k.").unwrap();
    }

    writeln!(md, "\n## mAP against the number of neighbours K\n").unwrap();
    let cutoffs: Vec<String> = config.map_at.iter().map(|c| c.to_string()).collect();
    let n_db = groups.first().and_then(|g| g.cells.first()).map_or(0, |c| c.n_database);
    writeln!(md, "The database holds {n_db} items; K beyond it is the whole database.\n").unwrap();
    for &b in &bits {
        writeln!(md, "{b} bits:\n").unwrap();
        let headers: Vec<String> = cutoffs.iter().map(|k| format!("K = {k}")).collect();
        let rows: Rows = main_groups
            .iter()
            .filter(|g| g.bits == b)
            .map(|g| (g.label(false), cutoffs.iter().map(|k| show(g.map(k))).collect()))
            .collect();
        md.push_str(&table("method", &headers, &rows));
        md.push('\n');
    }

    writeln!(md, "## Hash lookup and precision@N\n").unwrap();
    let r = config.lookup_radius;
    let mut headers = vec![format!("P@r≤{r}"), format!("R@r≤{r}")];
    headers.extend(config.precision_at.iter().map(|n| format!("P@{n}")));
    let rows: Rows = main_groups
        .iter()
        .map(|g| {
            let mut cells =
                vec![show(g.stat(|c| Some(c.precision_within_radius))), show(g.stat(|c| Some(c.recall_within_radius)))];
            for n in &config.precision_at {
                let n = n.to_string();
                cells.push(show(g.stat(|c| c.precision_at.iter().find(|p| p.at == n).map(|p| p.value))));
            }
            (format!("{} / {} bits", g.method, g.bits), cells)
        })
        .collect();
    md.push_str(&table("method / bits", &headers, &rows));

    if config.tie_aware {
        writeln!(md, "\n## Tie-aware mAP@{head}\n").unwrap();
        writeln!(
            md,
            "The expected AP over random orders of items at equal Hamming distance; the gap to the table above is how \
             much the tie-breaking rule alone moves the number.\n"
        )
        .unwrap();
        let ats = if head == "all" { vec!["all"] } else { vec![head.as_str(), "all"] };
        for at in ats {
            let tie = |g: &Group| show(g.stat(|c| c.tie_aware_map.iter().find(|m| m.at == at).map(|m| m.value)));
            let (h, rows) = by_bits(&main_groups, &bits, false, tie);
            if at != head {
                writeln!(md, "\nTie-aware mAP@{at}:\n").unwrap();
            }
            md.push_str(&table("method", &h, &rows));
        }
    }

    let last = cutoffs.last().cloned().unwrap_or_else(|| "all".into());
    writeln!(md, "\n## The reference script's number (not a valid mAP)\n").unwrap();
    writeln!(
        md,
        "Legacy mAP@{last}, computed as the reference does (integer labels 1..C in a dot product, so every pair is \
         \"relevant\"; queries without a hit dropped). Shown only so published figures can be compared; do not report it.\n"
    )
    .unwrap();
    let legacy = |g: &Group| show(g.stat(|c| c.legacy_map_invalid.iter().find(|m| m.at == last).and_then(|m| m.value)));
    let (h, rows) = by_bits(&main_groups, &bits, false, legacy);
    md.push_str(&table("method", &h, &rows));

    let trained: Vec<Group> = main_groups.iter().filter(|g| !g.baseline).cloned().collect();
    if !trained.is_empty() {
        writeln!(md, "\n## Training: final loss and seconds per epoch\n").unwrap();
        let cell = |g: &Group| {
            let loss = g.stat(CellResult::final_loss)?;
            let secs = g.stat(|c| Some(c.train_seconds / c.epochs.len().max(1) as f64))?;
            Some(format!("{:.5} ({:.2} s)", loss.mean, secs.mean))
        };
        let (h, rows) = by_bits(&trained, &bits, false, cell);
        md.push_str(&table("filter", &h, &rows));
    }

    writeln!(md, "\n## Diagnostics: codes and batch graph\n").unwrap();
    writeln!(
        md,
        "Mean over folds of: distinct database codes / bit imbalance (mean `|2p−1|`, 0 = balanced) / mean \
         `|corr|` between bits / `‖Â − J/n‖_F` of the filter's graph on a training batch (1 = as far as `J/n` is \
         from 0; – for the baselines, which have none).\n"
    )
    .unwrap();
    let diag = |g: &Group| {
        let d = |f: fn(&crate::results::Diagnostics) -> Option<f64>| g.stat(|c| c.diagnostics.as_ref().and_then(f));
        let offset = d(|d| d.graph_offset).map_or("–".to_string(), |s| format!("{:.3}", s.mean));
        Some(format!(
            "{:.0} / {:.3} / {:.3} / {offset}",
            d(|d| Some(d.distinct_codes as f64))?.mean,
            d(|d| Some(d.bit_imbalance))?.mean,
            d(|d| Some(d.bit_correlation))?.mean,
        ))
    };
    let (h, rows) = by_bits(&main_groups, &bits, false, diag);
    md.push_str(&table("method", &h, &rows));

    if !figures.is_empty() {
        writeln!(md, "\n## Figures\n").unwrap();
        writeln!(md, "Each figure is in `plots/` as SVG and PNG.\n").unwrap();
        for (file, caption) in figures {
            writeln!(md, "### {caption}\n\n![{caption}](plots/{file}.png)\n").unwrap();
        }
    }
    (md, headline)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_is_the_mean_and_sample_std() {
        let s = Stat::of(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(s.mean, 2.5);
        assert!((s.std.unwrap() - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(s.show(2), "2.50 ± 1.29");
        let one = Stat::of(&[0.25]).unwrap();
        assert_eq!((one.std, one.show(3)), (None, "0.250".to_string()));
        assert!(Stat::of(&[]).is_none());
    }
}
