//! Axis ranges and ticks. A range is the data's (error bars included for y, explicit ticks
//! for x) padded by 5 % on each side, the y range clamped to `[0, 1]` when the data lie in it;
//! linear ticks are the multiples of a "nice" step `{1, 2, 2.5, 5} × 10^k` (about 4 to 8 of
//! them), log ticks the decades (or 1-2-5 multiples within less than two decades).

use super::series::PSeries;
use crate::{LineChart, PlotError};

/// A tick with its label.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tick {
    /// Position in axis units.
    pub pos: f64,
    pub label: String,
}

/// One axis: range in axis units and its ticks.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Axis {
    pub lo: f64,
    pub hi: f64,
    pub major: Vec<Tick>,
    /// Unlabelled minor grid positions (log axes only).
    pub minor: Vec<f64>,
    /// Whether minor positions also get (short) tick marks.
    pub minor_marks: bool,
}

pub(super) fn x_axis(chart: &LineChart, series: &[PSeries<'_>], log: bool) -> Result<Axis, PlotError> {
    let user_ticks = match &chart.x_ticks {
        None => None,
        Some(ticks) => {
            if let Some(t) = ticks.iter().find(|t| !t.is_finite()) {
                return Err(PlotError::InvalidXTicks(format!("tick {t} is not finite")));
            }
            if log && let Some(t) = ticks.iter().find(|&&t| t <= 0.0) {
                return Err(PlotError::InvalidXTicks(format!("tick {t} is not > 0, as a logarithmic axis needs")));
            }
            let mut ticks: Vec<Tick> =
                ticks.iter().map(|&t| Tick { pos: if log { t.log10() } else { t }, label: format_value(t) }).collect();
            ticks.sort_by(|a, b| a.pos.total_cmp(&b.pos));
            ticks.dedup_by(|a, b| a.pos == b.pos);
            Some(ticks)
        }
    };
    let xs = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let xs = xs.chain(user_ticks.iter().flatten().map(|t| t.pos));
    let (lo, hi) = min_max(xs).ok_or(PlotError::NoData)?;
    let (lo, hi) = if hi - lo > span_epsilon(lo, hi) {
        let pad = 0.05 * (hi - lo);
        (lo - pad, hi + pad)
    } else if log {
        (lo - 0.1, hi + 0.1)
    } else {
        let half = if lo != 0.0 { 0.1 * lo.abs() } else { 1.0 };
        (lo - half, hi + half)
    };
    Ok(match user_ticks {
        Some(major) => {
            let minor = if log { log_minor(lo, hi, &major) } else { Vec::new() };
            Axis { lo, hi, major, minor, minor_marks: false }
        }
        None if log => log_ticks(lo, hi),
        None => Axis { lo, hi, major: linear_ticks(lo, hi), minor: Vec::new(), minor_marks: false },
    })
}

pub(super) fn y_axis(chart: &LineChart, series: &[PSeries<'_>]) -> Result<Axis, PlotError> {
    let (lo, hi) = match chart.y_range {
        Some((lo, hi)) => {
            if !lo.is_finite() || !hi.is_finite() {
                return Err(PlotError::InvalidYRange(format!("({lo}, {hi}) is not finite")));
            }
            if lo >= hi {
                return Err(PlotError::InvalidYRange(format!("min {lo} is not below max {hi}")));
            }
            (lo, hi)
        }
        None => {
            let ys = series.iter().flat_map(|s| {
                let errs = s.err.unwrap_or(&[]);
                s.points.iter().enumerate().flat_map(move |(i, &(_, y))| {
                    let e = errs.get(i).copied().unwrap_or(0.0);
                    [y - e, y + e]
                })
            });
            let (dlo, dhi) = min_max(ys).ok_or(PlotError::NoData)?;
            let (lo, hi) = if dhi - dlo > span_epsilon(dlo, dhi) {
                let pad = 0.05 * (dhi - dlo);
                (dlo - pad, dhi + pad)
            } else {
                let half = if dlo != 0.0 { 0.1 * dlo.abs() } else { 1.0 };
                (dlo - half, dhi + half)
            };
            if dlo >= 0.0 && dhi <= 1.0 { (lo.max(0.0), hi.min(1.0)) } else { (lo, hi) }
        }
    };
    Ok(Axis { lo, hi, major: linear_ticks(lo, hi), minor: Vec::new(), minor_marks: false })
}

fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// Spans below this are treated as a single value (guards against ranges of a few ulps).
fn span_epsilon(lo: f64, hi: f64) -> f64 {
    1e-12 * lo.abs().max(hi.abs()).max(f64::MIN_POSITIVE)
}

/// "Nice" tick positions (multiples of 1, 2, 2.5 or 5 × 10^k) inside `[lo, hi]`, about 4 to 8 of them,
/// labelled with a common number of decimals.
pub(crate) fn linear_ticks(lo: f64, hi: f64) -> Vec<Tick> {
    let span = hi - lo;
    let mut step = nice_step_at_least(span / 7.0);
    let mut values = multiples(lo, hi, step);
    for _ in 0..4 {
        if values.len() >= 4 {
            break;
        }
        step = nice_step_below(step);
        values = multiples(lo, hi, step);
    }
    let largest = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let scientific = largest >= 1e7 || (step < 1e-4 && largest < 1e-3);
    let decimals = decimals_needed(step).unwrap_or(6);
    values
        .into_iter()
        .map(|v| {
            let label = if scientific { format_scientific(v) } else { format_fixed(v, decimals) };
            Tick { pos: v, label }
        })
        .collect()
}

fn multiples(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let k0 = (lo / step - 1e-9).ceil();
    let k1 = (hi / step + 1e-9).floor();
    if !(k0.is_finite() && k1.is_finite()) || k1 - k0 > 1000.0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut k = k0;
    while k <= k1 {
        // Snap values that should be zero (e.g. -1e-17) to zero.
        let v = k * step;
        out.push(if v.abs() < 1e-9 * step { 0.0 } else { v });
        k += 1.0;
    }
    out
}

/// Smallest step of the form {1, 2, 2.5, 5} × 10^k that is ≥ `raw`.
fn nice_step_at_least(raw: f64) -> f64 {
    let exp = raw.log10().floor();
    let base = 10f64.powf(exp);
    let m = raw / base;
    let nice = [1.0, 2.0, 2.5, 5.0, 10.0].into_iter().find(|&n| m <= n * (1.0 + 1e-9)).unwrap_or(10.0);
    nice * base
}

/// The next step of the form {1, 2, 5} × 10^k below `step`.
fn nice_step_below(step: f64) -> f64 {
    let exp = step.log10().floor();
    let base = 10f64.powf(exp);
    let m = (step / base * 10.0).round() / 10.0;
    if m > 5.0 {
        5.0 * base
    } else if m > 2.0 {
        2.0 * base
    } else if m > 1.0 {
        base
    } else {
        0.5 * base
    }
}

/// Ticks of a logarithmic axis whose range is `[lo, hi]` in log10 units: the decades when at least two
/// fall inside (with the other multiples of each decade as minor grid), otherwise 1-2-5 or 1…9 multiples.
fn log_ticks(lo: f64, hi: f64) -> Axis {
    let decades: Vec<i32> = ((lo - 1e-9).ceil() as i32..=(hi + 1e-9).floor() as i32).collect();
    let candidates = |mults: &[f64]| -> Vec<f64> {
        let mut v = Vec::new();
        for e in (lo.floor() as i32)..=(hi.ceil() as i32) {
            for &m in mults {
                let x = m * 10f64.powi(e);
                let u = x.log10();
                if u >= lo - 1e-9 && u <= hi + 1e-9 {
                    v.push(x);
                }
            }
        }
        v
    };
    let all: Vec<f64> = candidates(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    let (major_values, minor_marks) = if decades.len() >= 2 {
        // Keep the labels readable over many decades.
        let every = decades.len().div_ceil(8);
        let first = decades[0];
        let values: Vec<f64> =
            decades.iter().filter(|&&e| (e - first) % every as i32 == 0).map(|&e| 10f64.powi(e)).collect();
        (values, decades.len() <= 8)
    } else {
        let one_two_five = candidates(&[1.0, 2.0, 5.0]);
        if one_two_five.len() >= 2 {
            (one_two_five, true)
        } else if all.len() >= 2 {
            (all.clone(), false)
        } else {
            // Less than a factor of two in range: plain nice ticks on the values.
            let values: Vec<f64> =
                linear_ticks(10f64.powf(lo), 10f64.powf(hi)).into_iter().map(|t| t.pos).filter(|&v| v > 0.0).collect();
            (values, false)
        }
    };
    let major: Vec<Tick> = major_values.iter().map(|&v| Tick { pos: v.log10(), label: format_value(v) }).collect();
    let minor = if minor_marks {
        all.iter().map(|v| v.log10()).filter(|u| !is_major(*u, &major)).collect()
    } else {
        Vec::new()
    };
    Axis { lo, hi, major, minor, minor_marks }
}

/// Light grid positions (2…9 × 10^k) of a log axis with user ticks; no tick marks.
fn log_minor(lo: f64, hi: f64, major: &[Tick]) -> Vec<f64> {
    if hi - lo > 8.0 {
        return Vec::new();
    }
    let mut v = Vec::new();
    for e in (lo.floor() as i32)..=(hi.ceil() as i32) {
        for m in 1..=9 {
            let u = (f64::from(m) * 10f64.powi(e)).log10();
            if u >= lo && u <= hi && !is_major(u, major) {
                v.push(u);
            }
        }
    }
    v
}

fn is_major(u: f64, major: &[Tick]) -> bool {
    major.iter().any(|t| (t.pos - u).abs() < 1e-9)
}

/// Smallest number of decimals (0…6) that represents `v` exactly enough for a tick label.
fn decimals_needed(v: f64) -> Option<usize> {
    (0..=6usize).find(|&d| {
        let scaled = v * 10f64.powi(d as i32);
        (scaled.round() - scaled).abs() <= 1e-6 * scaled.abs().max(1.0)
    })
}

fn format_fixed(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    match s.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_owned(),
        _ => s,
    }
}

fn format_scientific(v: f64) -> String {
    if v == 0.0 { "0".to_owned() } else { format!("{v:.1e}") }
}

/// Label of a single tick value: an integer when integral, otherwise the fewest decimals that show it.
pub(crate) fn format_value(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e7 || v.abs() < 1e-4) {
        return format_scientific(v);
    }
    match decimals_needed(v) {
        Some(d) => format_fixed(v, d),
        None => format_fixed(v, 6),
    }
}

#[cfg(test)]
mod tests {
    use super::super::plan::plan;
    use super::super::testing::chart;
    use super::*;

    fn labels(ticks: &[Tick]) -> Vec<&str> {
        ticks.iter().map(|t| t.label.as_str()).collect()
    }

    #[test]
    fn linear_ticks_are_nice_and_uniformly_formatted() {
        assert_eq!(labels(&linear_ticks(0.13, 0.62)), ["0.2", "0.3", "0.4", "0.5", "0.6"]);
        assert_eq!(labels(&linear_ticks(0.0, 1.0)), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        assert_eq!(labels(&linear_ticks(10.4, 133.6)), ["20", "40", "60", "80", "100", "120"]);
        assert_eq!(labels(&linear_ticks(-0.26, 0.26)), ["-0.2", "-0.1", "0.0", "0.1", "0.2"]);
        let t = linear_ticks(0.4, 0.5);
        assert!(t.len() >= 4, "{t:?}");
        assert!(t.iter().all(|t| t.label.len() == 4), "{t:?}");
    }

    #[test]
    fn log_ticks_use_decades_with_minor_grid() {
        let axis = log_ticks(0.9, 3.8);
        assert_eq!(labels(&axis.major), ["10", "100", "1000"]);
        assert!(axis.minor.iter().any(|u| (u - 50f64.log10()).abs() < 1e-12));
        assert!(axis.minor.iter().all(|u| *u >= 0.9 && *u <= 3.8));
        // Less than a decade: 1-2-5 multiples.
        assert_eq!(labels(&log_ticks(1.2, 1.8).major), ["20", "50"]);
    }

    #[test]
    fn values_format_as_integers_when_integral() {
        assert_eq!(format_value(28.0), "28");
        assert_eq!(format_value(0.25), "0.25");
        assert_eq!(format_value(-0.0), "0");
        assert_eq!(format_value(5000.0), "5000");
    }

    #[test]
    fn default_y_range_is_padded_and_clamped_to_the_unit_interval() {
        crate::font::ensure_registered().unwrap();
        let c = chart(vec![crate::Series::solid("a", vec![(0.0, 0.2), (1.0, 0.6)])]);
        let y = &plan(&c).unwrap().y_axis;
        assert!((y.lo - 0.18).abs() < 1e-12 && (y.hi - 0.62).abs() < 1e-12, "{y:?}");
        let c = chart(vec![crate::Series::solid("a", vec![(0.0, 0.0), (1.0, 1.0)])]);
        let y = &plan(&c).unwrap().y_axis;
        assert_eq!((y.lo, y.hi), (0.0, 1.0));
        // Not clamped when the data leave [0, 1] (here through an error bar).
        let c = chart(vec![crate::Series::solid("a", vec![(0.0, 0.0), (1.0, 1.0)]).with_y_err(vec![0.0, 0.1])]);
        let y = &plan(&c).unwrap().y_axis;
        assert!(y.lo < 0.0 && y.hi > 1.1, "{y:?}");
    }
}
