//! The chart's fixed sizes in logical pixels: canvas, margins, font sizes and the DejaVu Sans
//! metrics, ticks, and the series style metrics the renderer shares.

use crate::{HEIGHT, WIDTH};

pub(crate) const W: f64 = WIDTH as f64;
pub(crate) const H: f64 = HEIGHT as f64;

/// Outer margin of the canvas.
pub(super) const PAD: f64 = 10.0;
/// Right margin when nothing but the axes is on the right (room for the last x tick label).
pub(super) const PAD_RIGHT: f64 = 24.0;

/// Font sizes (em, in pixels).
pub(crate) const TITLE_EM: f64 = 21.0;
pub(crate) const LABEL_EM: f64 = 18.0;
pub(crate) const TICK_EM: f64 = 15.5;

/// DejaVu Sans vertical metrics in em: height of ascenders/digits above the baseline and depth of
/// descenders below it.
pub(crate) const ASCENT: f64 = 0.76;
pub(crate) const DIGIT_HEIGHT: f64 = 0.73;
pub(crate) const DESCENT: f64 = 0.24;

pub(crate) const TICK_LEN: f64 = 6.0;
pub(crate) const MINOR_TICK_LEN: f64 = 3.5;
/// Space between a tick mark and its label.
pub(super) const TICK_PAD: f64 = 5.0;
/// Space between the tick labels and the axis label.
pub(super) const LABEL_PAD: f64 = 10.0;
/// Space between the title and the axes.
pub(super) const TITLE_PAD: f64 = 14.0;
/// Minimum horizontal space between two x tick labels.
pub(super) const TICK_LABEL_GAP: f64 = 8.0;

/// Series style metrics shared with the renderer (they matter for legend placement too).
pub(crate) const LINE_WIDTH: f64 = 2.0;
pub(crate) const MARKER_RADIUS: f64 = 4.5;
pub(crate) const CAP_HALF_WIDTH: f64 = 4.0;
