//! Errors of the model, training and checkpoints.

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// What can go wrong while building, training or saving a model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An autodiff or backend failure.
    #[error(transparent)]
    Autodiff(#[from] hagcn_autodiff::Error),
    /// A linear-algebra failure (the eigensolver of a spectral filter).
    #[error(transparent)]
    Linalg(#[from] hagcn_linalg::Error),
    /// The anchor graph of the neighbourhood filter, or the ITQ read-out, failed.
    #[error(transparent)]
    Anchors(#[from] hagcn_eval::Error),
    /// A data-handling failure (the batch schedule).
    #[error(transparent)]
    Data(#[from] hagcn_data::Error),
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A batch does not match the model's input size, or has too few rows.
    #[error("batch of shape {rows}×{cols} does not fit a model with input size {in_size}")]
    BatchShape {
        /// Rows of the batch.
        rows: usize,
        /// Columns of the batch.
        cols: usize,
        /// The model's input size `d`.
        in_size: usize,
    },
    /// The filter needs at least `k` rows in a batch (fourier and spline keep `k` eigenpairs).
    #[error("filter order k = {k} exceeds the {rows} rows of this batch; use a larger batch or a smaller k")]
    KTooLarge {
        /// The filter order.
        k: usize,
        /// Rows in the batch.
        rows: usize,
    },
    /// The input holds NaN or infinite values.
    #[error("non-finite value at row {row}, column {col} of the input")]
    NonFiniteInput {
        /// Row of the first bad value.
        row: usize,
        /// Column of the first bad value.
        col: usize,
    },
    /// Training diverged: the loss is NaN or infinite.
    #[error("the loss became {value} at step {step}; lower the learning rate or check the inputs")]
    NonFiniteLoss {
        /// Optimiser step (1-based) at which it happened.
        step: u64,
        /// The loss value.
        value: f64,
    },
    /// The model centres or filters its inputs, or reads its codes out with ITQ, but has
    /// not fitted them on a training set.
    #[error(
        "this model fits its input mean, neighbourhood filter or read-out on the training set: call \
         Machine::fit_inputs (and Machine::fit_readout after training) first"
    )]
    InputsNotFitted,
    /// A checkpoint could not be read or written.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl Error {
    pub(crate) fn checkpoint(path: &std::path::Path, message: impl std::fmt::Display) -> Self {
        Error::Checkpoint { path: path.to_path_buf(), message: message.to_string() }
    }
}
