//! Text placement: centred labels (shrunk to fit), and x tick labels spread apart by least
//! squares (pool-adjacent-violators) and thinned when they cannot all fit.

use super::axes::Axis;
use super::frame::Frame;
use super::sizes::{PAD, TICK_EM, TICK_LABEL_GAP};
use crate::PlotError;
use crate::font::text_width;

/// A text with its anchor: horizontal centre / right edge as documented per field, baseline y.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Label {
    pub text: String,
    pub x: f64,
    pub y: f64,
    pub em: f64,
}

pub(super) fn centred_label(
    text: &str,
    em: f64,
    centre: f64,
    baseline: f64,
    min: f64,
    max: f64,
) -> Result<Label, PlotError> {
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
pub(super) fn x_tick_labels(
    axis: &Axis,
    frame: &Frame,
    baseline: f64,
    right_limit: f64,
) -> Result<Vec<Label>, PlotError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
