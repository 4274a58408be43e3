//! The HAGCN model: a similarity graph inside each mini-batch, a graph filter, an
//! autoencoder and a similarity-preserving hash loss (see `shared/spec/HAGCN.md` §2–§3).
//!
//! ```
//! # use hagcn_openblas as _;
//! use hagcn_autodiff::{AdamConfig, CpuBackend};
//! use hagcn_model::{Filter, Machine, MachineConfig};
//! use ndarray::Array2;
//!
//! let mut config = MachineConfig::new(8, 16, Filter::Gcn); // d = 8, 16-bit codes
//! config.hidden = 12;
//! let mut machine = Machine::new(CpuBackend::<f32>::new(), config, AdamConfig::default(), 42)?;
//! let batch = Array2::from_shape_fn((6, 8), |(i, j)| ((i * 8 + j) as f32).sin());
//! let before = machine.train_step(batch.view())?;
//! assert!(before.loss.is_finite());
//! let logits = machine.hash_logits(batch.view())?; // bit = logit ≥ 0
//! assert_eq!(logits.dim(), (6, 16));
//! # Ok::<(), hagcn_model::Error>(())
//! ```
//!
//! The model talks to its device only through [`hagcn_autodiff::Backend`], so it runs
//! unchanged on any backend; checkpoints use the reference's PyTorch `state_dict` names.
//!
//! Where things are: [`config`] (settings), [`params`] (parameters), [`batch_graph`] (the
//! graph each objective gives a batch), [`forward`] (the one forward pass), [`filters`],
//! [`loss`] (the objectives' losses), [`Machine`] (training and encoding), [`training`] (the
//! training loop and its options), checkpoints.
#![warn(missing_docs)]

pub mod batch_graph;
mod checkpoint;
pub mod config;
mod error;
pub mod filters;
mod fitted;
pub mod forward;
pub mod loss;
mod machine;
pub mod neighbourhood;
pub mod params;
pub mod training;

pub use batch_graph::{BatchGraph, KnnBatch};
pub use checkpoint::{Checkpoint, load_checkpoint, save_checkpoint};
pub use config::{Ablation, DEFAULT_K, Filter, MachineConfig, Objective, Readout};
pub use error::{Error, Result};
pub use loss::{LossParts, record_loss};
pub use machine::{Machine, StateDict};
pub use training::{EpochEnd, TrainingOptions};

#[cfg(test)]
mod tests;
