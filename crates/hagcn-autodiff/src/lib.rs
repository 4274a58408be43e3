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
#![warn(missing_docs)]

mod backend;
mod backward;
mod cpu;
mod element;
mod error;
mod gram_eigen;
mod graph;
mod host;
mod optim;
pub mod reproducible;
pub mod test_utils;

pub use backend::{AdamUpdate, Backend, LayerNormGrads, LayerNormOutput};
pub use backward::Gradients;
pub use cpu::{CpuBackend, CpuTensor};
pub use element::Element;
pub use error::{Error, Result};
pub use graph::{Arithmetic, Graph, Var};
pub use optim::{Adam, AdamConfig};

#[cfg(test)]
mod tests;
