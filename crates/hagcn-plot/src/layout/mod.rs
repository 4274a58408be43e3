//! Validation, axis ranges, ticks and the pixel layout of a chart.
//!
//! Everything here is pure geometry in *logical* pixels (the [`WIDTH`] × [`HEIGHT`] canvas); the
//! renderer multiplies by its supersampling factor. The x coordinate of the data is kept in *axis
//! units*: the value itself on a linear axis, `log10(x)` on a logarithmic one.

use crate::font::text_width;
use crate::{HEIGHT, LineChart, LineStyle, PlotError, Scale, WIDTH};

pub(crate) const W: f64 = WIDTH as f64;
pub(crate) const H: f64 = HEIGHT as f64;

/// Outer margin of the canvas.
const PAD: f64 = 10.0;
/// Right margin when nothing but the axes is on the right (room for the last x tick label).
const PAD_RIGHT: f64 = 24.0;

/// Font sizes (em, in pixels).
pub(crate) const TITLE_EM: f64 = 21.0;
pub(crate) const LABEL_EM: f64 = 18.0;
pub(crate) const TICK_EM: f64 = 15.5;
const LEGEND_EM: f64 = 15.5;

/// DejaVu Sans vertical metrics in em: height of ascenders/digits above the baseline and depth of
/// descenders below it.
pub(crate) const ASCENT: f64 = 0.76;
pub(crate) const DIGIT_HEIGHT: f64 = 0.73;
pub(crate) const DESCENT: f64 = 0.24;

pub(crate) const TICK_LEN: f64 = 6.0;
pub(crate) const MINOR_TICK_LEN: f64 = 3.5;
/// Space between a tick mark and its label.
const TICK_PAD: f64 = 5.0;
/// Space between the tick labels and the axis label.
const LABEL_PAD: f64 = 10.0;
/// Space between the title and the axes.
const TITLE_PAD: f64 = 14.0;
/// Minimum horizontal space between two x tick labels.
const TICK_LABEL_GAP: f64 = 8.0;

/// Legend metrics.
const LEGEND_ROW: f64 = 1.45 * LEGEND_EM;
const LEGEND_PAD_X: f64 = 10.0;
const LEGEND_PAD_Y: f64 = 6.0;
pub(crate) const LEGEND_HANDLE: f64 = 38.0;
const LEGEND_HANDLE_GAP: f64 = 8.0;
const LEGEND_COL_GAP: f64 = 18.0;
/// Distance of an inside legend from the axes frame, and of an outside legend from the axes.
const LEGEND_INSET: f64 = 10.0;
const LEGEND_MAX_ROWS: usize = 12;

/// A series with more points than this gets markers on about `THINNED_MARKERS` of them only.
const MAX_MARKERS_UNTHINNED: usize = 40;
const THINNED_MARKERS: usize = 25;

/// Series style metrics shared with the renderer (they matter for legend placement too).
pub(crate) const LINE_WIDTH: f64 = 2.0;
pub(crate) const MARKER_RADIUS: f64 = 4.5;
pub(crate) const CAP_HALF_WIDTH: f64 = 4.0;

/// Okabe & Ito (2008) colour-blind-safe palette, reordered so that the first colours are the most
/// distinct; its pale yellow is replaced by a neutral grey, which stays visible on white.
pub(crate) const PALETTE: [(u8, u8, u8); 8] = [
    (0, 114, 178),   // blue
    (213, 94, 0),    // vermillion
    (0, 158, 115),   // bluish green
    (204, 121, 167), // reddish purple
    (230, 159, 0),   // orange
    (86, 180, 233),  // sky blue
    (0, 0, 0),       // black
    (128, 128, 128), // grey
];

/// Marker shape of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marker {
    Circle,
    Diamond,
    Square,
    Triangle,
}

/// A validated series, x in axis units.
#[derive(Debug)]
pub(crate) struct PSeries<'a> {
    pub label: &'a str,
    pub points: Vec<(f64, f64)>,
    pub err: Option<&'a [f64]>,
    pub style: LineStyle,
    pub color: (u8, u8, u8),
    pub marker: Marker,
    /// Markers are drawn at every `marker_every`-th point (long curves would drown in markers).
    pub marker_every: usize,
}

impl PSeries<'_> {
    /// The points that get a marker.
    pub(crate) fn marked_points(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.points.iter().copied().step_by(self.marker_every)
    }
}

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

/// The axes rectangle in logical pixels together with the data ranges it shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Frame {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
    pub x_lo: f64,
    pub x_hi: f64,
    pub y_lo: f64,
    pub y_hi: f64,
}

impl Frame {
    pub(crate) fn px(&self, u: f64) -> f64 {
        self.left + (u - self.x_lo) / (self.x_hi - self.x_lo) * (self.right - self.left)
    }

    pub(crate) fn py(&self, v: f64) -> f64 {
        self.bottom - (v - self.y_lo) / (self.y_hi - self.y_lo) * (self.bottom - self.top)
    }

    pub(crate) fn contains(&self, (x, y): (f64, f64)) -> bool {
        const EPS: f64 = 0.5;
        x >= self.left - EPS && x <= self.right + EPS && y >= self.top - EPS && y <= self.bottom + EPS
    }
}

/// Legend box (logical pixels) and its entries.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Legend {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub items: Vec<LegendItem>,
    pub outside: bool,
}

/// One legend row: a line sample with a marker, and the label (left-aligned at `label.x`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LegendItem {
    /// Index into [`Plan::series`].
    pub series: usize,
    /// Left end of the line sample.
    pub handle_x: f64,
    /// Vertical centre of the row.
    pub y: f64,
    pub label: Label,
}

/// A text with its anchor: horizontal centre / right edge as documented per field, baseline y.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Label {
    pub text: String,
    pub x: f64,
    pub y: f64,
    pub em: f64,
}

/// Everything the renderer needs.
#[derive(Debug)]
pub(crate) struct Plan<'a> {
    pub series: Vec<PSeries<'a>>,
    pub x_axis: Axis,
    pub y_axis: Axis,
    pub frame: Frame,
    /// Centred at `x`, baseline `y`.
    pub title: Option<Label>,
    /// Centred at `x`, baseline `y`.
    pub x_label: Option<Label>,
    /// Rotated 90° counter-clockwise: baseline at `x`, centred at `y`.
    pub y_label: Option<Label>,
    /// Centred at `x`, baseline `y`.
    pub x_tick_labels: Vec<Label>,
    /// Right-aligned at `x`, baseline `y`.
    pub y_tick_labels: Vec<Label>,
    pub legend: Option<Legend>,
}

/// Validates the chart and computes its complete layout.
pub(crate) fn plan(chart: &LineChart) -> Result<Plan<'_>, PlotError> {
    let log = chart.x_scale == Scale::Log10;
    let series = validate(chart, log)?;

    let x_axis = x_axis(chart, &series, log)?;
    let y_axis = y_axis(chart, &series)?;

    // Vertical layout, top to bottom.
    let title_baseline = PAD + ASCENT * TITLE_EM;
    let top = if chart.title.is_empty() {
        PAD + 0.5 * TICK_EM + 4.0
    } else {
        title_baseline + DESCENT * TITLE_EM + TITLE_PAD
    };
    let x_label_space = if chart.x_label.is_empty() { 0.0 } else { LABEL_PAD + LABEL_EM };
    let bottom = H - PAD - x_label_space - DIGIT_HEIGHT * TICK_EM - TICK_PAD - TICK_LEN;
    let x_tick_baseline = bottom + TICK_LEN + TICK_PAD + DIGIT_HEIGHT * TICK_EM;
    let x_label_baseline = x_tick_baseline + LABEL_PAD + ASCENT * LABEL_EM;

    // Horizontal layout, left to right.
    let y_label_baseline = PAD + ASCENT * LABEL_EM + 1.0;
    let y_label_space =
        if chart.y_label.is_empty() { 0.0 } else { ASCENT * LABEL_EM + 1.0 + DESCENT * LABEL_EM + LABEL_PAD };
    let y_tick_widths = y_axis.major.iter().map(|t| text_width(&t.label, TICK_EM)).collect::<Result<Vec<_>, _>>()?;
    let max_y_tick = y_tick_widths.iter().copied().fold(0.0, f64::max);
    let left = PAD + y_label_space + max_y_tick + TICK_PAD + TICK_LEN;

    let mut frame = Frame {
        left,
        top,
        right: W - PAD_RIGHT,
        bottom,
        x_lo: x_axis.lo,
        x_hi: x_axis.hi,
        y_lo: y_axis.lo,
        y_hi: y_axis.hi,
    };

    let legend = legend(&series, &mut frame)?;

    // Tick labels.
    let right_limit = match &legend {
        Some(l) if l.outside => l.x - 4.0,
        _ => W - PAD,
    };
    let x_tick_labels = x_tick_labels(&x_axis, &frame, x_tick_baseline, right_limit)?;
    let y_tick_labels = y_axis
        .major
        .iter()
        .map(|t| Label {
            text: t.label.clone(),
            x: frame.left - TICK_LEN - TICK_PAD,
            y: frame.py(t.pos) + 0.5 * DIGIT_HEIGHT * TICK_EM,
            em: TICK_EM,
        })
        .collect();

    let plot_centre_x = 0.5 * (frame.left + frame.right);
    let title = if chart.title.is_empty() {
        None
    } else {
        Some(centred_label(&chart.title, TITLE_EM, plot_centre_x, title_baseline, PAD, W - PAD)?)
    };
    let x_label = if chart.x_label.is_empty() {
        None
    } else {
        Some(centred_label(&chart.x_label, LABEL_EM, plot_centre_x, x_label_baseline, PAD, right_limit)?)
    };
    let y_label = if chart.y_label.is_empty() {
        None
    } else {
        // Rotated: "x" of the centring is the vertical position.
        let l = centred_label(&chart.y_label, LABEL_EM, 0.5 * (frame.top + frame.bottom), 0.0, PAD, H - PAD)?;
        Some(Label { text: l.text, x: y_label_baseline, y: l.x, em: l.em })
    };

    Ok(Plan { series, x_axis, y_axis, frame, title, x_label, y_label, x_tick_labels, y_tick_labels, legend })
}

fn validate(chart: &LineChart, log: bool) -> Result<Vec<PSeries<'_>>, PlotError> {
    if chart.series.iter().all(|s| s.points.is_empty()) {
        return Err(PlotError::NoData);
    }
    let mut out = Vec::with_capacity(chart.series.len());
    for (i, s) in chart.series.iter().enumerate() {
        let name = || s.label.clone();
        if let Some(err) = &s.y_err
            && err.len() != s.points.len()
        {
            return Err(PlotError::ErrLength { series: name(), points: s.points.len(), errs: err.len() });
        }
        let errs = s.y_err.as_deref().unwrap_or(&[]);
        if s.points.iter().any(|&(x, y)| !x.is_finite() || !y.is_finite()) || errs.iter().any(|e| !e.is_finite()) {
            return Err(PlotError::NonFinite { series: name() });
        }
        if let Some(&e) = errs.iter().find(|&&e| e < 0.0) {
            return Err(PlotError::NegativeErr { series: name(), value: e });
        }
        if log && let Some(&(x, _)) = s.points.iter().find(|&&(x, _)| x <= 0.0) {
            return Err(PlotError::NonPositiveLogX { series: name(), x });
        }
        let points = s.points.iter().map(|&(x, y)| (if log { x.log10() } else { x }, y)).collect();
        let round = i / PALETTE.len();
        let marker = match (s.style, round % 2) {
            (LineStyle::Solid, 0) => Marker::Circle,
            (LineStyle::Solid, _) => Marker::Diamond,
            (LineStyle::Dashed, 0) => Marker::Square,
            (LineStyle::Dashed, _) => Marker::Triangle,
        };
        out.push(PSeries {
            label: &s.label,
            points,
            err: s.y_err.as_deref(),
            style: s.style,
            color: PALETTE[i % PALETTE.len()],
            marker,
            marker_every: if s.points.len() > MAX_MARKERS_UNTHINNED {
                s.points.len().div_ceil(THINNED_MARKERS)
            } else {
                1
            },
        });
    }
    Ok(out)
}

fn x_axis(chart: &LineChart, series: &[PSeries<'_>], log: bool) -> Result<Axis, PlotError> {
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

fn y_axis(chart: &LineChart, series: &[PSeries<'_>]) -> Result<Axis, PlotError> {
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

fn centred_label(text: &str, em: f64, centre: f64, baseline: f64, min: f64, max: f64) -> Result<Label, PlotError> {
    let mut em = em;
    let mut w = text_width(text, em)?;
    let avail = max - min;
    if w > avail {
        // Shrink an over-long text to fit, but keep it readable.
        let shrunk = ((em * avail / w * 10.0).floor() / 10.0).max(11.0);
        w *= shrunk / em;
        em = shrunk;
    }
    let half = 0.5 * w;
    let x = if w >= avail { 0.5 * (min + max) } else { centre.clamp(min + half, max - half) };
    Ok(Label { text: text.to_owned(), x, y: baseline, em })
}

/// X tick labels centred under their ticks, pushed apart where neighbours would touch and thinned
/// (every second, third, … label) when they cannot all fit.
fn x_tick_labels(axis: &Axis, frame: &Frame, baseline: f64, right_limit: f64) -> Result<Vec<Label>, PlotError> {
    let widths = axis.major.iter().map(|t| text_width(&t.label, TICK_EM)).collect::<Result<Vec<_>, _>>()?;
    let centres: Vec<f64> = axis.major.iter().map(|t| frame.px(t.pos)).collect();
    for every in 1..=axis.major.len().max(1) {
        let keep: Vec<usize> = (0..axis.major.len()).filter(|i| i % every == 0).collect();
        let c: Vec<f64> = keep.iter().map(|&i| centres[i]).collect();
        let w: Vec<f64> = keep.iter().map(|&i| widths[i]).collect();
        if let Some(placed) = spread_labels(&c, &w, TICK_LABEL_GAP, PAD, right_limit) {
            return Ok(keep
                .iter()
                .zip(placed)
                .map(|(&i, x)| Label { text: axis.major[i].label.clone(), x, y: baseline, em: TICK_EM })
                .collect());
        }
    }
    Ok(Vec::new())
}

/// Moves label centres as little as possible (least squares, pool-adjacent-violators) so that
/// neighbouring labels of the given widths are at least `gap` apart and all lie in `[lo, hi]`.
/// `centres` must be sorted. Returns `None` when the labels cannot fit at all.
pub(crate) fn spread_labels(centres: &[f64], widths: &[f64], gap: f64, lo: f64, hi: f64) -> Option<Vec<f64>> {
    let n = centres.len();
    if n == 0 {
        return Some(Vec::new());
    }
    let total = widths.iter().sum::<f64>() + gap * (n - 1) as f64;
    if total > hi - lo {
        return None;
    }
    // Offset of each label's centre from the left edge of a cluster starting at `first`.
    let offset =
        |first: usize, i: usize| -> f64 { widths[first..i].iter().map(|w| w + gap).sum::<f64>() + 0.5 * widths[i] };
    let width_of =
        |first: usize, last: usize| -> f64 { widths[first..=last].iter().sum::<f64>() + gap * (last - first) as f64 };
    let best_left = |first: usize, last: usize| -> f64 {
        let mean = (first..=last).map(|i| centres[i] - offset(first, i)).sum::<f64>() / (last - first + 1) as f64;
        mean.clamp(lo, hi - width_of(first, last))
    };
    // (first, last, left edge)
    let mut clusters: Vec<(usize, usize, f64)> = Vec::new();
    for i in 0..n {
        clusters.push((i, i, best_left(i, i)));
        while clusters.len() >= 2 {
            let (_, last1, x1) = clusters[clusters.len() - 1];
            let (first0, last0, x0) = clusters[clusters.len() - 2];
            if x0 + width_of(first0, last0) + gap <= x1 + 1e-9 {
                break;
            }
            clusters.truncate(clusters.len() - 2);
            clusters.push((first0, last1, best_left(first0, last1)));
        }
    }
    let mut out = Vec::with_capacity(n);
    for (first, last, left) in clusters {
        for i in first..=last {
            out.push(left + offset(first, i));
        }
    }
    Some(out)
}

/// Splits the polyline through `points` (axis units) into pixel-space pieces clipped to the frame.
pub(crate) fn clipped_pieces(frame: &Frame, points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let px: Vec<(f64, f64)> = points.iter().map(|&(u, v)| (frame.px(u), frame.py(v))).collect();
    let mut pieces: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    for pair in px.windows(2) {
        match clip_segment(frame, pair[0], pair[1]) {
            Some((a, b)) => {
                if current.last() != Some(&a) {
                    if current.len() >= 2 {
                        pieces.push(std::mem::take(&mut current));
                    }
                    current.clear();
                    current.push(a);
                }
                current.push(b);
            }
            None => {
                if current.len() >= 2 {
                    pieces.push(std::mem::take(&mut current));
                }
                current.clear();
            }
        }
    }
    if current.len() >= 2 {
        pieces.push(current);
    }
    pieces
}

/// Liang–Barsky clipping of a pixel-space segment to the frame.
fn clip_segment(f: &Frame, a: (f64, f64), b: (f64, f64)) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let mut t0: f64 = 0.0;
    let mut t1: f64 = 1.0;
    for (p, q) in [(-dx, a.0 - f.left), (dx, f.right - a.0), (-dy, a.1 - f.top), (dy, f.bottom - a.1)] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
        }
    }
    if t0 > t1 {
        return None;
    }
    let at = |t: f64| {
        if t == 0.0 {
            a
        } else if t == 1.0 {
            b
        } else {
            (a.0 + t * dx, a.1 + t * dy)
        }
    };
    Some((at(t0), at(t1)))
}

/// The pixel-space extent of error bar `i` of a series, clipped to the frame: `(x, y_top, y_bottom)`.
pub(crate) fn error_bar(frame: &Frame, (u, v): (f64, f64), e: f64) -> Option<(f64, f64, f64)> {
    let x = frame.px(u);
    if e <= 0.0 || x < frame.left - 0.5 || x > frame.right + 0.5 {
        return None;
    }
    let top = frame.py(v + e).max(frame.top);
    let bottom = frame.py(v - e).min(frame.bottom);
    (top < bottom).then_some((x, top, bottom))
}

/// Sizes the legend and places it inside the frame where it covers no data (trying the corners and
/// edge midpoints); when no such place exists, shrinks the frame and puts the legend to its right.
fn legend(series: &[PSeries<'_>], frame: &mut Frame) -> Result<Option<Legend>, PlotError> {
    let entries: Vec<usize> = series.iter().enumerate().filter(|(_, s)| !s.label.is_empty()).map(|(i, _)| i).collect();
    if entries.is_empty() {
        return Ok(None);
    }
    let text_w = entries.iter().map(|&i| text_width(series[i].label, LEGEND_EM)).collect::<Result<Vec<_>, _>>()?;
    let max_text = text_w.iter().copied().fold(0.0, f64::max);
    let cols = entries.len().div_ceil(LEGEND_MAX_ROWS);
    let rows = entries.len().div_ceil(cols);
    let col_w = LEGEND_HANDLE + LEGEND_HANDLE_GAP + max_text;
    let w = 2.0 * LEGEND_PAD_X + cols as f64 * col_w + (cols - 1) as f64 * LEGEND_COL_GAP;
    let h = 2.0 * LEGEND_PAD_Y + rows as f64 * LEGEND_ROW;

    let obstacles = obstacles(series, frame);
    let f = *frame;
    let (l, r) = (f.left + LEGEND_INSET, f.right - LEGEND_INSET - w);
    let (t, b) = (f.top + LEGEND_INSET, f.bottom - LEGEND_INSET - h);
    let (cx, cy) = (0.5 * (f.left + f.right - w), 0.5 * (f.top + f.bottom - h));
    let fits = w <= f.right - f.left - 2.0 * LEGEND_INSET && h <= f.bottom - f.top - 2.0 * LEGEND_INSET;
    // Preference order: upper right, upper left, lower right, lower left, right, left, top, bottom.
    let candidates = [(r, t), (l, t), (r, b), (l, b), (r, cy), (l, cy), (cx, t), (cx, b)];
    let inside = |(x, y): (f64, f64)| {
        let items = legend_items(series, &entries, x, y, rows, col_w);
        Ok(Some(Legend { x, y, w, h, items, outside: false }))
    };
    if fits && let Some(&free) = candidates.iter().find(|&&(x, y)| covered(&obstacles, x, y, w, h) == 0) {
        return inside(free);
    }
    // Outside, to the right of the axes, top-aligned; unless that would squeeze the axes too much
    // (very long labels), in which case the least covering place inside is used.
    let right = W - PAD - w - LEGEND_INSET;
    if fits && right - f.left < 0.45 * (W - f.left) {
        let mut best = candidates[0];
        let mut best_count = usize::MAX;
        for &(x, y) in &candidates {
            let count = covered(&obstacles, x, y, w, h);
            if count < best_count {
                (best, best_count) = ((x, y), count);
            }
        }
        return inside(best);
    }
    frame.right = right.max(frame.left + 0.3 * (W - frame.left));
    let (x, y) = (frame.right + LEGEND_INSET, frame.top);
    let items = legend_items(series, &entries, x, y, rows, col_w);
    Ok(Some(Legend { x, y, w, h, items, outside: true }))
}

/// Rows of a legend whose top-left corner is `(x, y)`, filled column by column.
fn legend_items(series: &[PSeries<'_>], entries: &[usize], x: f64, y: f64, rows: usize, col_w: f64) -> Vec<LegendItem> {
    entries
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let (col, row) = (k / rows, k % rows);
            let handle_x = x + LEGEND_PAD_X + col as f64 * (col_w + LEGEND_COL_GAP);
            let yc = y + LEGEND_PAD_Y + (row as f64 + 0.5) * LEGEND_ROW;
            let label = Label {
                text: series[i].label.to_owned(),
                x: handle_x + LEGEND_HANDLE + LEGEND_HANDLE_GAP,
                // Centres lower-case text with ascenders on the row.
                y: yc + 0.32 * LEGEND_EM,
                em: LEGEND_EM,
            };
            LegendItem { series: i, handle_x, y: yc, label }
        })
        .collect()
}

/// Pixel-space discs `(x, y, r)` covering everything a series draws inside the frame.
fn obstacles(series: &[PSeries<'_>], frame: &Frame) -> Vec<(f64, f64, f64)> {
    const STEP: f64 = 2.0;
    let mut out = Vec::new();
    for s in series {
        for piece in clipped_pieces(frame, &s.points) {
            for seg in piece.windows(2) {
                let (a, b) = (seg[0], seg[1]);
                let len = (b.0 - a.0).hypot(b.1 - a.1);
                let n = (len / STEP).ceil().max(1.0) as usize;
                for k in 0..=n {
                    let t = k as f64 / n as f64;
                    out.push((a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1), LINE_WIDTH));
                }
            }
        }
        for p in s.marked_points() {
            let c = (frame.px(p.0), frame.py(p.1));
            if frame.contains(c) {
                out.push((c.0, c.1, MARKER_RADIUS + 1.5));
            }
        }
        for (i, &p) in s.points.iter().enumerate() {
            if let Some(e) = s.err.and_then(|e| e.get(i).copied())
                && let Some((x, top, bottom)) = error_bar(frame, p, e)
            {
                let n = ((bottom - top) / STEP).ceil().max(1.0) as usize;
                for k in 0..=n {
                    out.push((x, top + (bottom - top) * k as f64 / n as f64, CAP_HALF_WIDTH));
                }
            }
        }
    }
    out
}

/// How many obstacles a legend box at `(x, y)` of size `w` × `h` would touch.
fn covered(obstacles: &[(f64, f64, f64)], x: f64, y: f64, w: f64, h: f64) -> usize {
    const MARGIN: f64 = 3.0;
    obstacles
        .iter()
        .filter(|&&(ox, oy, r)| {
            let m = r + MARGIN;
            ox >= x - m && ox <= x + w + m && oy >= y - m && oy <= y + h + m
        })
        .count()
}

#[cfg(test)]
mod tests {
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
    fn spread_labels_separates_overlaps_symmetrically() {
        let out = spread_labels(&[100.0, 104.0], &[20.0, 20.0], 8.0, 0.0, 800.0).unwrap();
        assert!((out[1] - out[0] - 28.0).abs() < 1e-9);
        assert!((0.5 * (out[0] + out[1]) - 102.0).abs() < 1e-9);
        // Already separated labels stay put.
        assert_eq!(spread_labels(&[10.0, 100.0], &[10.0, 10.0], 8.0, 0.0, 800.0).unwrap(), [10.0, 100.0]);
        // Pushed inside the bounds.
        assert_eq!(spread_labels(&[2.0], &[10.0], 8.0, 0.0, 800.0).unwrap(), [5.0]);
        assert!(spread_labels(&[1.0, 2.0], &[10.0, 10.0], 1.0, 0.0, 15.0).is_none());
    }

    fn chart(series: Vec<crate::Series>) -> LineChart {
        let mut c = LineChart::new("t", "x", "y");
        c.series = series;
        c
    }

    fn marker_free(plan: &Plan<'_>) -> bool {
        let l = plan.legend.as_ref().unwrap();
        plan.series.iter().flat_map(|s| &s.points).all(|&(u, v)| {
            let (x, y) = (plan.frame.px(u), plan.frame.py(v));
            x < l.x - MARKER_RADIUS
                || x > l.x + l.w + MARKER_RADIUS
                || y < l.y - MARKER_RADIUS
                || y > l.y + l.h + MARKER_RADIUS
        })
    }

    #[test]
    fn legend_sits_in_a_free_corner() {
        crate::font::ensure_registered().unwrap();
        // Precision-recall-like curves leave the upper right empty.
        let pr = |k: f64| (0..=10).map(|i| f64::from(i) / 10.0).map(|r| (r, 1.0 - r.powf(k))).collect::<Vec<_>>();
        let c = chart(vec![crate::Series::solid("a", pr(0.5)), crate::Series::dashed("b", pr(1.0))]);
        let p = plan(&c).unwrap();
        let l = p.legend.as_ref().unwrap();
        assert!(!l.outside);
        assert!(marker_free(&p));
        assert_eq!(l.items.len(), 2);
        // Increasing curves: upper right is taken, upper left is free.
        let up = |o: f64| (0..=10).map(|i| (f64::from(i), o + 0.05 * f64::from(i))).collect::<Vec<_>>();
        let c = chart(vec![crate::Series::solid("a", up(0.1)), crate::Series::solid("b", up(0.0))]);
        let p = plan(&c).unwrap();
        let l = p.legend.as_ref().unwrap();
        assert!(!l.outside && l.x < 0.5 * (p.frame.left + p.frame.right));
        assert!(marker_free(&p));
    }

    #[test]
    fn legend_moves_outside_when_every_place_is_taken() {
        crate::font::ensure_registered().unwrap();
        // Zig-zags fill the whole axes.
        let zig = |o: f64| (0..=40).map(|i| (f64::from(i), o + f64::from(i % 2))).collect::<Vec<_>>();
        let c = chart((0..6).map(|i| crate::Series::solid(format!("s{i}"), zig(0.1 * f64::from(i)))).collect());
        let p = plan(&c).unwrap();
        let l = p.legend.as_ref().unwrap();
        assert!(l.outside);
        assert!(l.x >= p.frame.right + 1.0 && l.x + l.w <= W);
        assert!(l.y + l.h <= H);
    }

    #[test]
    fn very_long_legend_labels_stay_inside_the_canvas() {
        crate::font::ensure_registered().unwrap();
        let zig = |o: f64| (0..=40).map(|i| (f64::from(i), o + f64::from(i % 2))).collect::<Vec<_>>();
        let long = "a very long legend label that would squeeze the axes to nothing".to_owned();
        let c = chart(vec![crate::Series::solid(long, zig(0.0)), crate::Series::solid("b", zig(0.5))]);
        let p = plan(&c).unwrap();
        let l = p.legend.as_ref().unwrap();
        assert!(!l.outside);
        assert!(l.x >= p.frame.left && l.x + l.w <= p.frame.right);
        assert!(p.frame.right - p.frame.left > 0.6 * W);
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

    #[test]
    fn clipping_splits_lines_leaving_the_frame() {
        let frame =
            Frame { left: 0.0, top: 0.0, right: 100.0, bottom: 100.0, x_lo: 0.0, x_hi: 1.0, y_lo: 0.0, y_hi: 1.0 };
        // Goes above the top (y = 2) and comes back.
        let pieces = clipped_pieces(&frame, &[(0.0, 0.5), (0.5, 2.0), (1.0, 0.5)]);
        assert_eq!(pieces.len(), 2);
        assert!(pieces.iter().flatten().all(|&p| frame.contains(p)));
        assert_eq!(clipped_pieces(&frame, &[(0.0, 0.5), (1.0, 0.5)]).len(), 1);
    }
}
