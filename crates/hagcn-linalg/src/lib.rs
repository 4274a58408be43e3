//! Spectral graph building blocks and k-nearest-neighbour graphs on [`ndarray`], usable
//! without the rest of hagcn.
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
//! # What it offers
//!
//! Every spectral routine is generic over [`Real`] (`f32`, `f64`); the kNN routines take `f32`
//! rows. All return [`Result`].
//!
//! | area | items | module docs |
//! |---|---|---|
//! | normalised adjacency `D^-1/2 A D^-1/2` | [`normalized_adjacency`], [`normalized_adjacency_backward`] | [`adjacency`] |
//! | symmetric eigendecomposition (in `f64`, fixed eigenvector signs) and its exact gradient | [`symmetric_eigen`], [`symmetric_eigen_backward`], [`eigen_gap_tolerance`], [`smallest`], [`largest`], [`canonicalize_signs`], [`SymmetricEigen`] | [`eigh`] |
//! | the `k` smallest eigenpairs without a full decomposition, and the gradient through them | [`smallest_eigen()`], [`SmallestEigen`] | [`smallest_eigen`](mod@smallest_eigen) |
//! | Lanczos with reorthogonalisation and breakdown handling, Ritz pairs | [`LinOp`], [`lanczos`](fn@lanczos), [`lanczos_eigen`], [`Lanczos`], [`LanczosOptions`], [`Which`] | [`lanczos`](mod@lanczos) |
//! | Chebyshev polynomials of a matrix and the filter `Σ_j T_j(A) Z` | [`chebyshev_matrices`], [`chebyshev_sum`], [`chebyshev_apply`], [`chebyshev_filter`], [`chebyshev_polynomial`] | [`chebyshev`] |
//! | B-spline basis (Cox–de Boor) and its gradient | [`bspline_basis`], [`bspline_basis_backward`], [`BsplineBasis`] | [`bspline`] |
//! | k-nearest-neighbour graphs (cosine, Euclidean; `f32` rows): exact by blocked GEMM, queries, NN-descent, automatic choice | [`knn_graph_exact`], [`knn_query_exact`], [`knn_graph_nn_descent`], [`knn_graph`], [`KnnGraph`], [`Metric`], [`NnDescentOptions`], [`knn_graph_gemm_floor`], [`EXACT_BLOCK_ROWS`], [`EXACT_MAX_ROWS`] | [`knn`], [`nn_descent`] |
//!
//! The spectral areas in one example: the Fourier basis of a graph, its spline basis, the
//! Chebyshev filter, and a Lanczos approximation of the top of the spectrum.
//!
//! ```
//! # extern crate openblas_src;
//! use hagcn_linalg::{
//!     LanczosOptions, Which, bspline_basis, chebyshev_apply, chebyshev_filter, lanczos_eigen,
//!     normalized_adjacency, smallest, symmetric_eigen,
//! };
//! use ndarray::Array2;
//!
//! let n = 6;
//! let a = Array2::from_shape_fn((n, n), |(i, j)| 1.0 + ((i * j) % 3) as f64);
//! let (a_hat, _) = normalized_adjacency(a.view()).unwrap();
//!
//! // Eigenvalues ascending; the 3 smallest with their (sign-fixed) eigenvectors.
//! let eig = symmetric_eigen(a_hat.view()).unwrap();
//! assert!((eig.values[n - 1] - 1.0).abs() < 1e-12); // Â's top eigenvalue is 1
//! let low = smallest(&eig, 3).unwrap();
//!
//! // Quadratic B-spline basis (K = 3 functions, degree 2) at those eigenvalues.
//! let b = bspline_basis(low.values.view(), 3, 2).unwrap();
//! assert_eq!(b.values.dim(), (3, 3));
//!
//! // Chebyshev filter of order 4 on features Z; both evaluation orders agree.
//! let z = Array2::from_shape_fn((n, 2), |(i, j)| (i + j) as f64);
//! let f = chebyshev_filter(a_hat.view(), z.view(), 4).unwrap();
//! let g = chebyshev_apply(a_hat.view(), z.view(), 4).unwrap();
//! assert!((&f - &g).iter().all(|x| x.abs() < 1e-10));
//!
//! // Lanczos from the all-ones vector with n steps finds the top eigenvalue exactly.
//! let start = ndarray::Array1::ones(n);
//! let top = lanczos_eigen(&a_hat, start.view(), &LanczosOptions::new(n), 1, Which::Largest)
//!     .unwrap();
//! assert!((top.values[0] - 1.0).abs() < 1e-10);
//! ```
//!
//! # Backend
//!
//! The crate never chooses a BLAS/LAPACK backend: the final binary does (for example by
//! depending on `openblas-src` with its `system` feature, as the tests and doctests here do
//! with `extern crate openblas_src;`). Matrix products go through ndarray's `blas` feature and
//! [`symmetric_eigen`] calls LAPACK `dsyev` through `ndarray-linalg`, so a binary that uses
//! this crate must link exactly one backend.
#![warn(missing_docs)]

pub mod adjacency;
pub mod bspline;
pub mod chebyshev;
pub mod eigh;
mod error;
pub mod knn;
pub mod lanczos;
pub mod nn_descent;
mod real;
pub mod smallest_eigen;

pub use adjacency::{normalized_adjacency, normalized_adjacency_backward};
pub use bspline::{BsplineBasis, bspline_basis, bspline_basis_backward};
pub use chebyshev::{
    chebyshev_apply, chebyshev_filter, chebyshev_matrices, chebyshev_polynomial, chebyshev_prefers_matrix,
    chebyshev_sum,
};
pub use eigh::{
    SymmetricEigen, canonicalize_signs, eigen_gap_tolerance, largest, smallest, symmetric_eigen,
    symmetric_eigen_backward,
};
pub use error::{Error, Result};
pub use knn::{
    EXACT_BLOCK_ROWS, EXACT_MAX_ROWS, KnnGraph, Metric, knn_graph_exact, knn_graph_gemm_floor, knn_query_exact,
};
pub use lanczos::{
    Lanczos, LanczosOptions, LinOp, REORTHOGONALIZATION_PASSES, Which, breakdown_threshold, lanczos, lanczos_eigen,
};
pub use nn_descent::{NnDescentOptions, knn_graph, knn_graph_nn_descent};
pub use real::Real;
pub use smallest_eigen::{SmallestEigen, smallest_eigen};
