//! What one experiment cell measured, as stored in `results.json`; the tables, CSV files and
//! figures are all made from these records alone.

use std::fmt;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::output::write_text;

/// How a method's codes look (whether they collapse, are balanced, are independent), and for
/// a trained model whether its batch graph carries more than the batch mean.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// Distinct codes among the database codes.
    pub distinct_codes: usize,
    /// Mean over bits of `|2 p_j − 1|`, `p_j` the fraction of database codes with bit `j` set:
    /// 0 when every bit splits the database in half, 1 when every bit is constant.
    pub bit_imbalance: f64,
    /// Mean `|corr(bit_i, bit_j)|` over pairs of non-constant bits of the database codes.
    pub bit_correlation: f64,
    /// `‖Â − J/n‖_F` of the filter's batch graph on the first training batch of the last
    /// epoch (`‖J/n‖_F = 1`): how far the graph is from the constant one; `None` for the
    /// baselines, which have no batch graph.
    #[serde(default)]
    pub graph_offset: Option<f64>,
}

/// One cell of the experiment grid: a method at one code length, filter order and fold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellKey {
    /// A graph filter (`gcn`, …) or a baseline (`lsh`, …).
    pub method: String,
    /// Code length.
    pub bits: usize,
    /// Filter order; `None` for gcn and the baselines, which have none.
    pub k: Option<usize>,
    /// Fold, from 1 (1 is the only one without cross-validation).
    pub fold: usize,
}

impl CellKey {
    /// The cell's folder in the run directory, e.g. `cheby-32-k18-fold1`, `itq-32-fold1`.
    pub fn dir_name(&self) -> String {
        match self.k {
            Some(k) => format!("{}-{}-k{k}-fold{}", self.method, self.bits, self.fold),
            None => format!("{}-{}-fold{}", self.method, self.bits, self.fold),
        }
    }
}

impl fmt::Display for CellKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.dir_name())
    }
}

/// A value at a cut-off (`K` of mAP@K, `N` of precision@N).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct At<T = f64> {
    /// The cut-off, as written in the config (`200`, `all`).
    pub at: String,
    /// The value there.
    pub value: T,
}

/// One training epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// From 1.
    pub epoch: usize,
    /// Mean loss over the epoch's batches.
    pub loss: f64,
    /// Mean reconstruction term.
    pub reconstruction: f64,
    /// Mean bit-balance plus decorrelation term before its weight (knn objective; 0 otherwise).
    #[serde(default)]
    pub regularization: f64,
    /// Mean hash term (before γ).
    pub hash: f64,
    /// Wall time of the epoch.
    pub seconds: f64,
    /// mAP after this epoch, when evaluated (`eval_every`, and always after the last).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub map: Vec<At>,
}

/// Precision and recall of a Hamming-radius lookup, for every radius `0..=bits`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrCurve {
    /// Radii.
    pub radius: Vec<u32>,
    /// Mean precision over queries.
    pub precision: Vec<f64>,
    /// Mean recall over queries.
    pub recall: Vec<f64>,
}

/// Everything measured in one cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellResult {
    /// What the trained codes and the batch graph look like (trained models only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<Diagnostics>,
    /// Which cell.
    #[serde(flatten)]
    pub key: CellKey,
    /// Whether the method is a baseline rather than a trained HAGCN model.
    pub baseline: bool,
    /// Training rows.
    pub n_train: usize,
    /// Database rows (mAP@K for K beyond it is mAP@all).
    pub n_database: usize,
    /// Query rows.
    pub n_query: usize,
    /// mAP@K, ties by database index (spec §4).
    pub map: Vec<At>,
    /// The tie-aware mAP@K (empty when not computed).
    pub tie_aware_map: Vec<At>,
    /// The reference script's number (not a valid mAP); `None` where it is undefined.
    pub legacy_map_invalid: Vec<At<Option<f64>>>,
    /// precision@N.
    pub precision_at: Vec<At>,
    /// Radius of the lookup precision and recall.
    pub lookup_radius: u32,
    /// Precision of the items within `lookup_radius`.
    pub precision_within_radius: f64,
    /// Recall of the items within `lookup_radius`.
    pub recall_within_radius: f64,
    /// Precision and recall against the radius.
    pub pr_curve: PrCurve,
    /// Training epochs (empty for baselines).
    pub epochs: Vec<EpochRecord>,
    /// Training (or fitting) time.
    pub train_seconds: f64,
    /// Encoding and evaluation time.
    pub eval_seconds: f64,
    /// Optimiser steps.
    pub steps: u64,
}

impl CellResult {
    /// mAP at cut-off `at`, if measured.
    pub fn map_at(&self, at: &str) -> Option<f64> {
        self.map.iter().find(|m| m.at == at).map(|m| m.value)
    }

    /// Mean loss of the last epoch (`None` for baselines).
    pub fn final_loss(&self) -> Option<f64> {
        self.epochs.last().map(|e| e.loss)
    }
}

/// The contents of `results.json`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Results {
    /// Finished cells, in the order they were run.
    pub cells: Vec<CellResult>,
}

impl Results {
    /// Reads `results.json`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not a results file of this version", path.display()))
    }

    /// Writes `results.json` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_text(path, &serde_json::to_string_pretty(self)?)
    }

    /// The finished cell `key`, if any.
    pub fn get(&self, key: &CellKey) -> Option<&CellResult> {
        self.cells.iter().find(|c| c.key == *key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_survive_results_json_to_the_last_bit() {
        // Tables redrawn by --resume are made from the parsed file: they must equal the
        // ones written from the values in memory.
        let values: Vec<At> = (1..20_000).map(|i| At { at: i.to_string(), value: (i as f64).ln() / 3.0 }).collect();
        let text = serde_json::to_string(&values).unwrap();
        let back: Vec<At> = serde_json::from_str(&text).unwrap();
        let changed = values.iter().zip(&back).filter(|(a, b)| a.value.to_bits() != b.value.to_bits()).count();
        assert_eq!(changed, 0, "{changed} of {} values changed in a JSON round trip", values.len());
    }
}
