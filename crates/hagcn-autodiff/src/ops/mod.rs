//! Every op in one place: a folder per op family holding, together, the
//! [`Graph`](crate::Graph) methods that record it, its backward rule, its host math and its tests.
//!
//! Each `ops/<op>/` folder has
//! * `mod.rs`: the module docs (the math, the PyTorch reference, the
//!   [`Backend`](crate::Backend) methods, where the CUDA code is), the
//!   `impl<B: Backend> Graph<B>` block that records the op, its backward rule(s)
//!   `backward_<op>` (called from the one exhaustive `match` in `backward.rs`, so an op without
//!   a rule does not compile), and its tests (a literal example with the derivative worked
//!   out, and a finite-difference gradient check in `f64`);
//! * `host.rs`: the host math, the one reference implementation: `CpuBackend` calls it
//!   directly and the `Backend` trait's provided methods call it between a download and an
//!   upload. It imports neither the graph nor the backend trait, so `backend.rs` and `cpu.rs`
//!   import `host.rs` files only and no file imports one that imports it back.
//!
//! The modules, their graph ops, and their CUDA side under `crates/hagcn-cuda/`:
//! * `matmul`: `matmul`, `gram` (`syrk.rs`: the Gram matrix through BLAS `?syrk`); cuBLAS
//!   SGEMM, no kernel file.
//! * `linear`: `linear` (`reproducible.rs`: the reproducible layer, public as
//!   [`crate::reproducible`]); `kernels/linear.cu`, `src/ops/linear.rs`.
//! * `elementwise`: `add`, `sub`, `mul`, `affine`, `add_row`, `sum`, `scale_by`, `sqrt`,
//!   `recip`, and `square`, `scale`, `add_scalar`, `mean`, `mse` made of them;
//!   `kernels/elementwise.cu`, `src/ops/elementwise.rs`.
//! * `activations`: `gelu`, `sigmoid` (`scalar.rs`: GELU on one value, with the `f32` `erf`
//!   and `exp` approximations); `kernels/activations.cu`, `src/ops/activations.rs`.
//! * `slicing`: `slice_cols`, `concat_cols`, `slice_rows`, `concat_rows`; block copies of
//!   `kernels/elementwise.cu`.
//! * `layer_norm`: `layer_norm`; `kernels/layer_norm.cu`, `src/ops/layer_norm.rs`.
//! * `adjacency`: `normalized_adjacency`; `kernels/adjacency.cu`, `src/ops/adjacency.rs`.
//! * `eigen`: `symmetric_eigen`, `gram_graph_smallest_eigen`, `degenerate_eigen_pairs`
//!   (`gram_graph.rs`: the fused `f64` host op); `kernels/eigen.cu`, `src/ops/eigen.rs`.
//! * `bspline`: `bspline_basis`; `kernels/bspline.cu`, `src/ops/bspline.rs`.
//! * `tridiagonal`: `tridiagonal`; the `tridiagonal_fwd` and `tridiagonal_bwd` kernels.
//! * `adam`: no graph op: the optimiser [`crate::Adam`] and [`crate::Backend::adam_update`];
//!   `kernels/adam.cu`, `src/ops/adam.rs`.
//!
//! `par.rs` holds the parallel elementwise maps several host kernels share; `testing.rs` the
//! helpers of the op tests.

pub(crate) mod activations;
pub(crate) mod adam;
pub(crate) mod adjacency;
pub(crate) mod bspline;
pub(crate) mod eigen;
pub(crate) mod elementwise;
pub(crate) mod layer_norm;
pub(crate) mod linear;
pub(crate) mod matmul;
pub(crate) mod par;
pub(crate) mod slicing;
pub(crate) mod tridiagonal;

#[cfg(test)]
pub(crate) mod testing;
