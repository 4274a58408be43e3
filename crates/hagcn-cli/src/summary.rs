//! The cells of a run grouped over folds: mean and spread of each number, for the tables
//! ([`crate::report`]) and the figures ([`crate::plots`]).

use crate::results::{CellResult, Results};

/// Mean and spread of one number over the folds of a cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stat {
    /// Mean over folds.
    pub mean: f64,
    /// Sample standard deviation (n − 1); `None` with a single fold.
    pub std: Option<f64>,
    /// Number of folds.
    pub n: usize,
}

impl Stat {
    /// The mean and sample standard deviation of `values` (`None` when empty).
    pub fn of(values: &[f64]) -> Option<Stat> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let std = (n > 1).then(|| (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt());
        Some(Stat { mean, std, n })
    }

    /// `0.1234 ± 0.0056`, or `0.1234` with a single fold.
    pub fn show(&self, digits: usize) -> String {
        match self.std {
            Some(s) => format!("{:.*} ± {:.*}", digits, self.mean, digits, s),
            None => format!("{:.*}", digits, self.mean),
        }
    }
}

/// The folds of one (method, bits, k).
#[derive(Clone)]
pub struct Group<'a> {
    /// Method name.
    pub method: &'a str,
    /// Code length.
    pub bits: usize,
    /// Filter order, if the method has one.
    pub k: Option<usize>,
    /// Whether the method is a baseline.
    pub baseline: bool,
    /// One record per finished fold.
    pub cells: Vec<&'a CellResult>,
}

impl Group<'_> {
    /// The method with its order when it has one, e.g. `cheby (k=4)`.
    pub fn label(&self, with_k: bool) -> String {
        match self.k {
            Some(k) if with_k => format!("{} (k={k})", self.method),
            _ => self.method.to_string(),
        }
    }

    /// One number of each fold, aggregated.
    pub fn stat(&self, value: impl Fn(&CellResult) -> Option<f64>) -> Option<Stat> {
        let values: Vec<f64> = self.cells.iter().filter_map(|c| value(c)).collect();
        Stat::of(&values)
    }

    /// The mean over folds of a number every cell has.
    pub fn mean(&self, value: impl Fn(&CellResult) -> f64) -> f64 {
        self.stat(|c| Some(value(c))).expect("a group has at least one cell").mean
    }

    /// mAP@`at` over folds.
    pub fn map(&self, at: &str) -> Option<Stat> {
        self.stat(|c| c.map_at(at))
    }
}

/// The cells grouped over folds, in the order of first appearance, models before baselines.
pub fn groups(results: &Results) -> Vec<Group<'_>> {
    let mut groups: Vec<Group> = Vec::new();
    for c in &results.cells {
        let k = &c.key;
        match groups.iter_mut().find(|g| g.method == k.method && g.bits == k.bits && g.k == k.k) {
            Some(g) => g.cells.push(c),
            None => {
                groups.push(Group { method: &k.method, bits: k.bits, k: k.k, baseline: c.baseline, cells: vec![c] })
            }
        }
    }
    groups.sort_by_key(|g| g.baseline); // stable: keeps the run order within each kind
    for g in &mut groups {
        g.cells.sort_by_key(|c| c.key.fold);
    }
    groups
}

/// The code lengths present in `groups`, ascending.
pub fn all_bits(groups: &[Group]) -> Vec<usize> {
    let mut bits: Vec<usize> = groups.iter().map(|g| g.bits).collect();
    bits.sort_unstable();
    bits.dedup();
    bits
}

/// The filter orders present in `groups`, ascending.
pub fn all_ks(groups: &[Group]) -> Vec<usize> {
    let mut ks: Vec<usize> = groups.iter().filter_map(|g| g.k).collect();
    ks.sort_unstable();
    ks.dedup();
    ks
}

/// The order shown where a figure or table has no k axis: the largest one run.
pub fn main_k(groups: &[Group]) -> Option<usize> {
    all_ks(groups).last().copied()
}
