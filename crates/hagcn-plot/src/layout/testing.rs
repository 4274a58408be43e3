//! Helpers the layout tests share.

use crate::LineChart;

pub(super) fn chart(series: Vec<crate::Series>) -> LineChart {
    let mut c = LineChart::new("t", "x", "y");
    c.series = series;
    c
}
