//! Validation, axis ranges, ticks and the pixel layout of a chart.
//!
//! Everything here is pure geometry in *logical* pixels (the [`WIDTH`](crate::WIDTH) ×
//! [`HEIGHT`](crate::HEIGHT) canvas); the renderer multiplies by its supersampling factor. The x
//! coordinate of the data is kept in *axis units*: the value itself on a linear axis, `log10(x)` on
//! a logarithmic one.
//!
//! [`plan()`] computes the whole layout ([`Plan`]) from the sizes in `sizes.rs`, the validated series
//! (`series.rs`), the axes and their ticks (`axes.rs`), the axes frame and clipping (`frame.rs`),
//! the text positions (`labels.rs`) and the legend (`legend.rs`).

mod axes;
mod frame;
mod labels;
mod legend;
mod plan;
mod series;
mod sizes;
#[cfg(test)]
mod testing;

pub(crate) use frame::{clipped_pieces, error_bar};
pub(crate) use labels::Label;
pub(crate) use legend::LEGEND_HANDLE;
pub(crate) use plan::{Plan, plan};
pub(crate) use series::Marker;
pub(crate) use sizes::{CAP_HALF_WIDTH, LINE_WIDTH, MARKER_RADIUS, MINOR_TICK_LEN, TICK_LEN};
