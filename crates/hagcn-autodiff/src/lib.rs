//! Hand-written reverse-mode automatic differentiation over a pluggable tensor backend.
//!
//! Record a computation on a [`Graph`], then ask for gradients of a scalar output:
//!
//! ```
//! # use hagcn_openblas as _;
//! use hagcn_autodiff::{Backend, CpuBackend, Graph};
//! use ndarray::array;
//!
//! let be = CpuBackend::<f64>::new();
//! let mut g = Graph::new(be.clone());
//! let x = g.constant(be.upload(array![[1.0, 2.0], [3.0, 4.0]].view())?);
//! let w = g.param(be.upload(array![[0.5, -1.0]].view())?);
//! let b = g.param(be.upload(array![[0.25]].view())?);
//! let y = g.linear(x, w, b)?; // x wᵀ + b, like torch.nn.Linear
//! let loss = g.mean(y)?;
//! let grads = g.backward(loss)?;
//! // ∂loss/∂w = mean of the rows of x = [2, 3]; ∂loss/∂b = 1.
//! assert_eq!(be.download(grads.get(w).unwrap())?, array![[2.0, 3.0]]);
//! assert_eq!(be.download(grads.get(b).unwrap())?, array![[1.0]]);
//! # Ok::<(), hagcn_autodiff::Error>(())
//! ```
//!
//! Every value is a row-major matrix (vectors are `1 × n`, scalars `1 × 1`). The graph talks
//! to the device only through the [`Backend`] trait, so the same model code runs on the
//! [`CpuBackend`] (ndarray + BLAS, `f32` or `f64`) and on a GPU backend. Each op's backward
//! rule is checked against finite differences in `f64` with [`test_utils::gradcheck`],
//! which other crates use for their own ops too.
//!
//! Each op lives in one place: `src/ops/<op>/` holds the [`Graph`] method that records it, its
//! backward rule, its host math (what [`CpuBackend`] runs and what the [`Backend`] trait's
//! fused-op defaults run between a download and an upload) and its tests, and its docs name
//! the CUDA side (`crates/hagcn-cuda`).
#![warn(missing_docs)]

mod backend;
mod backward;
mod cpu;
mod element;
mod error;
mod gradients;
mod graph;
mod ops;
pub mod test_utils;

pub use backend::Backend;
pub use cpu::{CpuBackend, CpuTensor};
pub use element::Element;
pub use error::{Error, Result};
pub use gradients::Gradients;
pub use graph::{Arithmetic, Graph, Var};
pub use ops::adam::host::AdamUpdate;
pub use ops::adam::{Adam, AdamConfig};
pub use ops::layer_norm::host::{LayerNormGrads, LayerNormOutput};
pub use ops::linear::reproducible;

#[cfg(test)]
use hagcn_openblas as _;
