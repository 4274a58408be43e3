//! The figures of a run (`plots/`, each as SVG and PNG), drawn from the grouped results:
//! - `map_vs_bits`: mAP@K (the headline cut-off) against the code length, one line per
//!   filter, baselines dashed, ± one std over folds as error bars;
//! - `map_vs_neighbours_<bits>`: mAP against the number of neighbours K (log axis);
//! - `map_vs_k_<bits>`: mAP against the filter order k, when several orders were run
//!   (gcn and the baselines, which have no order, as flat dashed lines);
//! - `pr_<bits>`: precision against recall over all Hamming radii (mean over folds);
//! - `loss_<bits>`: the training loss per epoch (mean over folds).
//!
//! Where a figure has no k axis it shows the largest order run ([`crate::summary::main_k`]).

use std::path::Path;

use anyhow::{Context, Result};
use hagcn_plot::{LineChart, LineStyle, Scale, Series};

use crate::config::ExperimentConfig;
use crate::output::write_atomic;
use crate::summary::{Group, Stat, all_bits, all_ks, main_k};

/// Draws every figure into `<out>/plots`; returns `(file stem, caption)` of each.
pub fn draw_all(out: &Path, config: &ExperimentConfig, groups: &[Group]) -> Result<Vec<(String, String)>> {
    let dir = out.join("plots");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut figures = Vec::new();
    let mut save = |stem: String, chart: LineChart| -> Result<()> {
        if chart.series.iter().all(|s| s.points.is_empty()) {
            return Ok(());
        }
        let svg = chart.svg().with_context(|| format!("drawing {stem}"))?;
        let png = chart.png().with_context(|| format!("drawing {stem}"))?;
        write_atomic(&dir.join(format!("{stem}.svg")), |w| Ok(std::io::Write::write_all(w, svg.as_bytes())?))?;
        write_atomic(&dir.join(format!("{stem}.png")), |w| Ok(std::io::Write::write_all(w, &png)?))?;
        figures.push((stem, chart.title.clone()));
        Ok(())
    };
    let bits = all_bits(groups);
    let ks = all_ks(groups);
    let main = main_k(groups);
    let main_groups: Vec<&Group> = groups.iter().filter(|g| g.k.is_none() || g.k == main).collect();
    let head = config.headline_map.to_string();
    let folds = groups.iter().map(|g| g.cells.len()).max().unwrap_or(1);
    let spread = if folds > 1 { format!(", mean ± std over {folds} folds") } else { String::new() };
    let k_note = main.filter(|_| ks.len() > 1).map_or(String::new(), |k| format!(", k = {k}"));

    // mAP against code length.
    let mut chart = LineChart::new(
        format!("mAP@{head} against code length{k_note}{spread}"),
        "code length (bits)",
        format!("mAP@{head}"),
    );
    chart.x_ticks = Some(bits.iter().map(|&b| b as f64).collect());
    for (label, gs) in by_method(&main_groups) {
        let stats: Vec<(f64, Stat)> = gs.iter().filter_map(|g| Some((g.bits as f64, g.map(&head)?))).collect();
        chart.series.push(series(label, gs[0].baseline, &stats));
    }
    save("map_vs_bits".into(), chart)?;

    for &b in &bits {
        let at_bits: Vec<&Group> = main_groups.iter().copied().filter(|g| g.bits == b).collect();

        // mAP against the number of neighbours; K beyond the database is the whole database.
        let mut chart = LineChart::new(
            format!("mAP against the number of neighbours, {b} bits{k_note}{spread}"),
            "number of neighbours K (log scale)",
            "mAP@K",
        );
        chart.x_scale = Scale::Log10;
        for g in &at_bits {
            let n_db = g.cells[0].n_database;
            let mut stats: Vec<(f64, Stat)> = Vec::new();
            for c in &config.map_at {
                let x = match c.0 {
                    hagcn_eval::TopK::K(k) => k.min(n_db),
                    hagcn_eval::TopK::All => n_db,
                } as f64;
                if let (Some(s), false) = (g.map(&c.to_string()), stats.iter().any(|(px, _)| *px == x)) {
                    stats.push((x, s));
                }
            }
            stats.sort_by(|a, b| a.0.total_cmp(&b.0));
            chart.series.push(series(g.label(false), g.baseline, &stats));
        }
        save(format!("map_vs_neighbours_{b}"), chart)?;

        // mAP against the filter order.
        if ks.len() > 1 {
            let all_at_bits: Vec<&Group> = groups.iter().filter(|g| g.bits == b).collect();
            let mut chart = LineChart::new(
                format!("mAP@{head} against the filter order k, {b} bits{spread}"),
                "filter order k",
                format!("mAP@{head}"),
            );
            chart.x_ticks = Some(ks.iter().map(|&k| k as f64).collect());
            let (lo, hi) = (ks[0] as f64, ks[ks.len() - 1] as f64);
            for (label, gs) in by_method(&all_at_bits) {
                let stats: Vec<(f64, Stat)> = match gs[0].k {
                    Some(_) => gs.iter().filter_map(|g| Some((g.k? as f64, g.map(&head)?))).collect(),
                    // No order: a flat reference line across the sweep.
                    None => gs[0].map(&head).map(|s| vec![(lo, s), (hi, s)]).unwrap_or_default(),
                };
                let flat = gs[0].k.is_none();
                let mut s = series(label, flat, &stats);
                if flat {
                    s.y_err = None;
                }
                chart.series.push(s);
            }
            save(format!("map_vs_k_{b}"), chart)?;
        }

        // Precision–recall over all radii, averaged over folds radius by radius.
        let mut chart =
            LineChart::new(format!("Precision–recall over Hamming radii, {b} bits{k_note}"), "recall", "precision");
        chart.y_range = Some((0.0, 1.0));
        for g in &at_bits {
            let n = g.cells[0].pr_curve.radius.len();
            let points: Vec<(f64, f64)> =
                (0..n).map(|i| (g.mean(|c| c.pr_curve.recall[i]), g.mean(|c| c.pr_curve.precision[i]))).collect();
            chart.series.push(Series { label: g.label(false), points, y_err: None, style: style(g.baseline) });
        }
        save(format!("pr_{b}"), chart)?;

        // Training loss per epoch.
        let mut chart = LineChart::new(
            format!("Training loss, {b} bits{k_note}{}", if folds > 1 { ", mean over folds" } else { "" }),
            "epoch",
            "loss (reconstruction + γ·hash)",
        );
        for g in at_bits.iter().filter(|g| !g.baseline) {
            let epochs = g.cells.iter().map(|c| c.epochs.len()).min().unwrap_or(0);
            let points: Vec<(f64, f64)> = (0..epochs).map(|e| ((e + 1) as f64, g.mean(|c| c.epochs[e].loss))).collect();
            chart.series.push(Series { label: g.label(false), points, y_err: None, style: LineStyle::Solid });
        }
        chart.x_ticks = epochs_ticks(&chart);
        save(format!("loss_{b}"), chart)?;
    }
    Ok(figures)
}

/// The groups of each method (one per code length or order), in first-seen order.
fn by_method<'a, 'b>(groups: &[&'b Group<'a>]) -> Vec<(String, Vec<&'b Group<'a>>)> {
    let mut out: Vec<(String, Vec<&Group>)> = Vec::new();
    for &g in groups {
        match out.iter_mut().find(|(method, _)| method == g.method) {
            Some((_, gs)) => gs.push(g),
            None => out.push((g.method.to_string(), vec![g])),
        }
    }
    out
}

fn style(baseline: bool) -> LineStyle {
    if baseline { LineStyle::Dashed } else { LineStyle::Solid }
}

/// A series of means with ± std error bars (none with a single fold).
fn series(label: String, dashed: bool, stats: &[(f64, Stat)]) -> Series {
    let points = stats.iter().map(|(x, s)| (*x, s.mean)).collect();
    let y_err =
        stats.iter().all(|(_, s)| s.std.is_some()).then(|| stats.iter().map(|(_, s)| s.std.unwrap_or(0.0)).collect());
    Series { label, points, y_err: if stats.is_empty() { None } else { y_err }, style: style(dashed) }
}

/// Integer epoch ticks when there are few epochs (so 1 and 2 are not drawn as 1.0, 1.2, …).
fn epochs_ticks(chart: &LineChart) -> Option<Vec<f64>> {
    let n = chart.series.iter().map(|s| s.points.len()).max()?;
    (n <= 10 && n > 0).then(|| (1..=n).map(|e| e as f64).collect())
}
