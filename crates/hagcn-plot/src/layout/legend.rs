//! The legend: its size, and a place inside the frame where it covers no data (corners and
//! edge midpoints in order of preference), or else to the right of a narrowed frame.

use super::frame::{Frame, clipped_pieces, error_bar};
use super::labels::Label;
use super::series::PSeries;
use super::sizes::{CAP_HALF_WIDTH, LINE_WIDTH, MARKER_RADIUS, PAD, W};
use crate::PlotError;
use crate::font::text_width;

/// Legend font size (em, in pixels).
const LEGEND_EM: f64 = 15.5;
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
    /// Index into [`Plan::series`](super::plan::Plan::series).
    pub series: usize,
    /// Left end of the line sample.
    pub handle_x: f64,
    /// Vertical centre of the row.
    pub y: f64,
    pub label: Label,
}

/// Sizes the legend and places it inside the frame where it covers no data (trying the corners and
/// edge midpoints); when no such place exists, shrinks the frame and puts the legend to its right.
pub(super) fn legend(series: &[PSeries<'_>], frame: &mut Frame) -> Result<Option<Legend>, PlotError> {
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
    use super::super::plan::{Plan, plan};
    use super::super::sizes::H;
    use super::super::testing::chart;
    use super::*;

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
}
