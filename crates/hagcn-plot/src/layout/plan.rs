//! The complete layout of a chart ([`Plan`]): validation, axes, then the frame from the
//! outside in (title, x tick labels and label at the bottom, y label and tick labels on the
//! left), the legend, and the text positions.

use super::axes::{Axis, x_axis, y_axis};
use super::frame::Frame;
use super::labels::{Label, centred_label, x_tick_labels};
use super::legend::{Legend, legend};
use super::series::{PSeries, validate};
use super::sizes::{
    ASCENT, DESCENT, DIGIT_HEIGHT, H, LABEL_EM, LABEL_PAD, PAD, PAD_RIGHT, TICK_EM, TICK_LEN, TICK_PAD, TITLE_EM,
    TITLE_PAD, W,
};
use crate::font::text_width;
use crate::{LineChart, PlotError, Scale};

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
