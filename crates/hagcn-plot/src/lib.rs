//! Line charts of retrieval results as SVG and PNG.
//!
//! A [`LineChart`] holds a title, axis labels and a list of [`Series`]; [`LineChart::svg`] returns the
//! chart as SVG text and [`LineChart::png`] as PNG bytes. This crate does no file I/O: the caller
//! decides where (and how atomically) the bytes are written.
//!
//! Both outputs are [`WIDTH`] × [`HEIGHT`] pixels on a white background, with a title, labelled axes,
//! a light grid, one colour and marker per series (colour-blind-friendly palette, dashed lines for
//! [`LineStyle::Dashed`]), optional ± error bars and a legend that is placed where it hides no data
//! (inside the axes when a free corner exists, otherwise to the right of them).
//!
//! Text is drawn with DejaVu Sans, which is compiled into the crate (see `fonts/LICENSE`), so PNG output
//! does not depend on system fonts. SVG output names the font family [`FONT_FAMILY`] and leaves the
//! rendering of text to the viewer.
//!
//! ```
//! use hagcn_plot::{LineChart, Series};
//!
//! let mut chart = LineChart::new("mAP@200 vs code length", "code length (bits)", "mAP@200");
//! chart.x_ticks = Some(vec![16.0, 32.0, 64.0]);
//! chart.series.push(Series::solid("gcn", vec![(16.0, 0.31), (32.0, 0.38), (64.0, 0.42)]));
//! chart.series.push(Series::dashed("LSH", vec![(16.0, 0.18), (32.0, 0.22), (64.0, 0.27)]));
//! let svg = chart.svg()?;
//! assert!(svg.contains("mAP@200 vs code length"));
//! let png = chart.png()?;
//! assert!(png.starts_with(b"\x89PNG"));
//! # Ok::<(), hagcn_plot::PlotError>(())
//! ```
#![warn(missing_docs)]

mod error;
mod font;
mod layout;
mod render;

pub use error::PlotError;
pub use font::FONT_FAMILY;

/// Width of the rendered chart in pixels (SVG user units and PNG pixels).
pub const WIDTH: u32 = 800;
/// Height of the rendered chart in pixels (SVG user units and PNG pixels).
pub const HEIGHT: u32 = 560;

/// Scale of the x axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scale {
    /// Evenly spaced values.
    #[default]
    Linear,
    /// Logarithmic (base 10) axis, e.g. for a number of neighbours from 10 to 5000. Every x value
    /// (and every explicit tick) must be strictly positive.
    Log10,
}

/// How the line of a series is stroked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LineStyle {
    /// Continuous line with circle markers (diamonds once the palette has been used up).
    #[default]
    Solid,
    /// Dashed line with square markers (triangles once the palette has been used up); meant for
    /// baselines such as LSH, PCAH, ITQ or SH.
    Dashed,
}

/// One line of a [`LineChart`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// Legend entry. A series with an empty label is drawn but left out of the legend.
    pub label: String,
    /// `(x, y)` points, connected in the given order. Each point gets a marker, except on long curves
    /// (more than 40 points, e.g. a fine precision–recall curve), where about 25 evenly spaced points get one.
    pub points: Vec<(f64, f64)>,
    /// Optional symmetric error bars (e.g. the standard deviation over folds): `y ± y_err[i]` is drawn
    /// at point `i`. Must have the same length as `points`; values must be finite and non-negative.
    pub y_err: Option<Vec<f64>>,
    /// Solid or dashed line.
    pub style: LineStyle,
}

impl Series {
    /// A series with the given label, points and line style, without error bars.
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>, style: LineStyle) -> Self {
        Self { label: label.into(), points, y_err: None, style }
    }

    /// A solid series (see [`LineStyle::Solid`]).
    pub fn solid(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self::new(label, points, LineStyle::Solid)
    }

    /// A dashed series (see [`LineStyle::Dashed`]).
    pub fn dashed(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self::new(label, points, LineStyle::Dashed)
    }

    /// The same series with ± error bars (one value per point).
    #[must_use]
    pub fn with_y_err(mut self, y_err: Vec<f64>) -> Self {
        self.y_err = Some(y_err);
        self
    }
}

/// A line chart: title, axis labels, axis options and the series to draw.
///
/// Build one with [`LineChart::new`], then set the public fields and render it with
/// [`LineChart::svg`] or [`LineChart::png`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LineChart {
    /// Title drawn centred above the axes (may be empty).
    pub title: String,
    /// Label of the x axis (may be empty).
    pub x_label: String,
    /// Label of the y axis, drawn vertically (may be empty).
    pub y_label: String,
    /// Linear or base-10 logarithmic x axis.
    pub x_scale: Scale,
    /// When `Some`, ticks are put exactly at these x values (labelled as integers when integral) and the
    /// x range is widened to include them; when `None`, "nice" ticks are chosen automatically (decades
    /// on a [`Scale::Log10`] axis).
    pub x_ticks: Option<Vec<f64>>,
    /// Explicit `(min, max)` of the y axis; data outside it are clipped. When `None`, the data range
    /// (error bars included) padded by 5 % on each side, clamped to `[0, 1]` when all data lie in
    /// `[0, 1]`.
    pub y_range: Option<(f64, f64)>,
    /// The series, drawn and coloured in this order.
    pub series: Vec<Series>,
}

impl LineChart {
    /// An empty chart with a linear x axis, automatic ticks, automatic y range and no series.
    pub fn new(title: impl Into<String>, x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            x_scale: Scale::Linear,
            x_ticks: None,
            y_range: None,
            series: Vec::new(),
        }
    }

    /// Renders the chart as a standalone SVG document of [`WIDTH`] × [`HEIGHT`] user units.
    ///
    /// # Errors
    /// A [`PlotError`] describing invalid input (no data, non-finite values, mismatched error bars,
    /// non-positive x on a log axis, an invalid range or ticks) or a drawing failure.
    pub fn svg(&self) -> Result<String, PlotError> {
        render::svg(self)
    }

    /// Renders the chart as PNG bytes (8-bit RGB, [`WIDTH`] × [`HEIGHT`] pixels, anti-aliased by
    /// supersampling).
    ///
    /// # Errors
    /// As for [`LineChart::svg`], plus [`PlotError::Encode`] if PNG encoding fails.
    pub fn png(&self) -> Result<Vec<u8>, PlotError> {
        render::png(self)
    }
}
