//! In-memory datasets and their two on-disk layouts.
//!
//! A [`Dataset`] is an `N × d` matrix of `f32` features `X` (one row per sample), one
//! label `y_i ∈ {0, …, C−1}` per row, and the `C` class names (`class_names[y_i]` is the
//! original name of sample `i`'s class).
//!
//! # Fast layout
//!
//! A folder with
//! - `features.npy`: shape `(N, d)`, dtype float32, float64 or uint8 (values converted to
//!   `f32` as they are, no rescaling), C or Fortran order;
//! - `labels.npy`: shape `(N,)`, any integer dtype (int8..int64, uint8..uint64), no
//!   negative values;
//! - `classes.json` (optional): a JSON list of the class names, index = label. Every
//!   label must then be `< len`. A class may have no samples (so that a saved subset
//!   round-trips).
//!
//! Without `classes.json`, the distinct label values are sorted and mapped to
//! `0..C−1`, and the class names are their decimal strings (labels `{3, 7, 9}` become
//! `{0, 1, 2}` named `"3"`, `"7"`, `"9"`).
//!
//! [`Dataset::save`] writes this layout (labels as int64, plus `classes.json`).
//!
//! # Class-folder layout (the reference's, spec §1)
//!
//! A root folder with one sub-folder per class, each holding one `.npy` file per sample:
//! a float32 or float64 (or uint8) vector of shape `(d,)` or `(1, d)`.
//! - Class folders are sorted numerically when every name parses as an integer, else
//!   lexicographically; labels are `0..C−1` in that order, and `class_names` are the
//!   folder names.
//! - Within a class, files are taken in sorted file-name order.
//! - Entries starting with `.` are ignored everywhere, as are files at the root and
//!   files inside a class folder that do not end in `.npy` (and sub-folders of class
//!   folders). A class folder without any `.npy` file is an error.
//!
//! # Detection
//!
//! [`Dataset::load`] uses the fast layout when `features.npy` exists in the folder,
//! else the class-folder layout when the folder has sub-folders, else it fails with
//! [`Error::UnknownLayout`].

mod fast;
mod folder;

use std::path::Path;

use ndarray::{Array2, Axis};

use crate::error::{Error, Result};

/// File name of the features matrix in the fast layout.
pub const FEATURES_FILE: &str = "features.npy";
/// File name of the labels vector in the fast layout.
pub const LABELS_FILE: &str = "labels.npy";
/// File name of the optional class-name list in the fast layout.
pub const CLASSES_FILE: &str = "classes.json";

/// Embeddings with one integer class label each.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// `N × d` features, one row per sample.
    pub features: Array2<f32>,
    /// `N` labels, each in `0..class_names.len()`.
    pub labels: Vec<usize>,
    /// Original class names, index = label.
    pub class_names: Vec<String>,
}

impl Dataset {
    /// Builds a dataset after checking it is consistent.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidDataset`] when the number of rows differs from the number of
    /// labels, a label is `>= class_names.len()`, there are no rows or no columns, or a
    /// feature is NaN or infinite. Classes without samples are allowed (a subset may
    /// lack classes).
    pub fn new(features: Array2<f32>, labels: Vec<usize>, class_names: Vec<String>) -> Result<Self> {
        let ds = Dataset { features, labels, class_names };
        ds.validate()?;
        Ok(ds)
    }

    /// Checks the invariants documented on [`Dataset::new`].
    fn validate(&self) -> Result<()> {
        let invalid = |reason: String| Err(Error::InvalidDataset { reason });
        let (n, d) = self.features.dim();
        if n != self.labels.len() {
            return invalid(format!("{n} feature rows but {} labels", self.labels.len()));
        }
        if n == 0 || d == 0 {
            return invalid(format!("empty dataset ({n} samples of dimension {d})"));
        }
        if let Some((i, &y)) = self.labels.iter().enumerate().find(|&(_, &y)| y >= self.class_names.len()) {
            return invalid(format!("label {y} at index {i} but only {} class names", self.class_names.len()));
        }
        if let Some(((row, col), &v)) = self.features.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return invalid(format!("non-finite value {v} at row {row}, column {col}"));
        }
        Ok(())
    }

    /// Number of samples `N`.
    pub fn n_samples(&self) -> usize {
        self.features.nrows()
    }

    /// Feature dimension `d`.
    pub fn dim(&self) -> usize {
        self.features.ncols()
    }

    /// Number of classes `C` (the length of `class_names`, including classes without
    /// samples).
    pub fn n_classes(&self) -> usize {
        self.class_names.len()
    }

    /// Number of samples of each class, index = label.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.n_classes()];
        for &y in &self.labels {
            counts[y] += 1;
        }
        counts
    }

    /// The rows `idx`, in that order (repeats allowed), with the same class names.
    ///
    /// # Panics
    ///
    /// When an index is `>= n_samples()`, like slice indexing.
    pub fn subset(&self, idx: &[usize]) -> Dataset {
        Dataset {
            features: self.features.select(Axis(0), idx),
            labels: idx.iter().map(|&i| self.labels[i]).collect(),
            class_names: self.class_names.clone(),
        }
    }

    /// Loads a dataset folder in either layout (see the [module docs](self)).
    ///
    /// # Errors
    ///
    /// A clear error naming the file for a missing path, an unknown layout, an
    /// unreadable or malformed `.npy`, a wrong dtype or shape, NaN/Inf values,
    /// mismatched counts, bad labels, an empty class folder or an empty dataset.
    pub fn load(path: &Path) -> Result<Dataset> {
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound { path: path.to_path_buf() });
            }
            Err(e) => return Err(Error::io("read", path, e)),
        };
        if !meta.is_dir() {
            return Err(Error::NotADirectory { path: path.to_path_buf() });
        }
        if path.join(FEATURES_FILE).exists() { fast::load(path) } else { folder::load(path) }
    }

    /// Saves in the fast layout (`features.npy` as float32, `labels.npy` as int64,
    /// `classes.json`), creating `dir` if needed.
    ///
    /// Each file is written to a hidden temporary file in `dir`, flushed to disk, then
    /// renamed into place (`features.npy` last, so a folder is never detected as a fast
    /// layout before its labels are in place).
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`] when any of the three files already exists (use
    /// [`Dataset::save_overwrite`] to replace them), [`Error::InvalidDataset`] when the
    /// dataset is inconsistent, [`Error::Io`] on write failures.
    pub fn save(&self, dir: &Path) -> Result<()> {
        fast::save(self, dir, false)
    }

    /// As [`Dataset::save`], but replaces existing files.
    ///
    /// # Errors
    ///
    /// As [`Dataset::save`], except [`Error::AlreadyExists`].
    pub fn save_overwrite(&self, dir: &Path) -> Result<()> {
        fast::save(self, dir, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| i.to_string()).collect()
    }

    #[test]
    fn new_accepts_a_consistent_dataset_and_reports_sizes() {
        let ds = Dataset::new(array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], vec![1, 0, 1], names(3)).unwrap();
        assert_eq!((ds.n_samples(), ds.dim(), ds.n_classes()), (3, 2, 3));
        assert_eq!(ds.class_counts(), vec![1, 2, 0]);
    }

    #[test]
    fn new_rejects_inconsistent_datasets() {
        let cases = [
            (Dataset::new(array![[1.0], [2.0]], vec![0], names(1)), "2 feature rows but 1 labels"),
            (Dataset::new(Array2::zeros((0, 3)), vec![], names(1)), "empty dataset"),
            (Dataset::new(Array2::zeros((2, 0)), vec![0, 0], names(1)), "empty dataset"),
            (Dataset::new(array![[1.0], [2.0]], vec![0, 2], names(2)), "label 2 at index 1"),
            (Dataset::new(array![[1.0, 2.0], [f32::NAN, 1.0]], vec![0, 0], names(1)), "NaN at row 1, column 0"),
            (Dataset::new(array![[1.0, f32::INFINITY]], vec![0], names(1)), "inf at row 0, column 1"),
        ];
        for (res, needle) in cases {
            let err = res.unwrap_err();
            assert!(matches!(err, Error::InvalidDataset { .. }), "{err:?}");
            assert!(err.to_string().contains(needle), "{err} lacks {needle}");
        }
    }

    #[test]
    fn subset_keeps_order_and_class_names() {
        let ds = Dataset::new(array![[0.0], [1.0], [2.0], [3.0]], vec![0, 1, 2, 0], names(3)).unwrap();
        let sub = ds.subset(&[3, 1, 3]);
        assert_eq!(sub.features, array![[3.0], [1.0], [3.0]]);
        assert_eq!(sub.labels, vec![0, 1, 0]);
        assert_eq!(sub.class_names, ds.class_names);
        assert_eq!(sub.class_counts(), vec![2, 1, 0]);
    }

    #[test]
    fn load_reports_missing_paths_files_and_unknown_layouts() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let err = Dataset::load(&missing).unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
        assert!(err.to_string().contains("missing"));

        let file = dir.path().join("file.txt");
        std::fs::write(&file, "x").unwrap();
        let err = Dataset::load(&file).unwrap_err();
        assert!(matches!(err, Error::NotADirectory { .. }), "{err:?}");
        assert!(err.to_string().contains("file.txt"));

        let err = Dataset::load(dir.path()).unwrap_err();
        assert!(matches!(err, Error::UnknownLayout { .. }), "{err:?}");
        assert_eq!(err.to_string(), format!("no features.npy and no class folders in {}", dir.path().display()));
    }
}
