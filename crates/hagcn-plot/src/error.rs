//! [`PlotError`]: why a chart could not be rendered.

/// Why a chart could not be rendered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PlotError {
    /// The chart has no series, or every series has no points.
    #[error("nothing to plot: the chart has no series or every series is empty")]
    NoData,
    /// A point or error-bar value of the named series is NaN or infinite.
    #[error("series {series:?} contains a non-finite value (NaN or infinity) in its points or error bars")]
    NonFinite {
        /// Label of the offending series.
        series: String,
    },
    /// The error bars of the named series do not have one value per point.
    #[error("series {series:?} has {points} points but {errs} error-bar values")]
    ErrLength {
        /// Label of the offending series.
        series: String,
        /// Number of points.
        points: usize,
        /// Number of error-bar values.
        errs: usize,
    },
    /// An error-bar value of the named series is negative.
    #[error("series {series:?} has a negative error-bar value {value}")]
    NegativeErr {
        /// Label of the offending series.
        series: String,
        /// The negative value.
        value: f64,
    },
    /// A point of the named series has x ≤ 0, which a logarithmic x axis cannot show.
    #[error("series {series:?} has x = {x}, but a logarithmic x axis needs x > 0")]
    NonPositiveLogX {
        /// Label of the offending series.
        series: String,
        /// The offending x value.
        x: f64,
    },
    /// The explicit x ticks are unusable (non-finite, or ≤ 0 on a logarithmic axis).
    #[error("invalid x ticks: {0}")]
    InvalidXTicks(String),
    /// The explicit y range is unusable (non-finite, or min ≥ max).
    #[error("invalid y range: {0}")]
    InvalidYRange(String),
    /// plotters failed to draw (or the bundled font could not be loaded).
    #[error("drawing failed: {0}")]
    Draw(String),
    /// The rendered image could not be encoded as PNG.
    #[error("PNG encoding failed: {0}")]
    Encode(String),
}
