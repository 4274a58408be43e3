//! Spectral graph building blocks on [`ndarray`], usable without the rest of hagcn.
//!
//! ```
//! # extern crate openblas_src;
//! use hagcn_linalg::normalized_adjacency;
//! use ndarray::array;
//!
//! // A path graph on three nodes with self-loops.
//! let a = array![[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]];
//! let (a_hat, d) = normalized_adjacency(a.view()).unwrap();
//! // Â = D^-1/2 A D^-1/2 is symmetric and its largest eigenvalue is 1.
//! assert!((a_hat[[0, 1]] - 1.0 / (2.0f64 * 3.0).sqrt()).abs() < 1e-12);
//! assert!((d[1] - 1.0 / 3.0f64.sqrt()).abs() < 1e-12);
//! ```
//!
//! The crate never chooses a BLAS/LAPACK backend: the final binary does (for example by
//! depending on `openblas-src` with its `system` feature, as the doctests here do).
#![warn(missing_docs)]

mod adjacency;
mod error;
mod real;

pub use adjacency::{normalized_adjacency, normalized_adjacency_backward};
pub use error::{Error, Result};
pub use real::Real;
