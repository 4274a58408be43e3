//! The validated series ([`PSeries`]): x in axis units, with its colour, marker and marker
//! spacing.

use crate::{LineChart, LineStyle, PlotError};

/// A series with more points than this gets markers on about `THINNED_MARKERS` of them only.
const MAX_MARKERS_UNTHINNED: usize = 40;
const THINNED_MARKERS: usize = 25;

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

pub(super) fn validate(chart: &LineChart, log: bool) -> Result<Vec<PSeries<'_>>, PlotError> {
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
