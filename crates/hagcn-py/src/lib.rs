//! `import hagcn`: the Python package, a thin layer over the workspace crates.
//!
//! ```python
//! import hagcn
//! h = hagcn.Hasher(bits=64, objective="knn", filter="gcn", seed=42)
//! h.fit(X)                                    # X: (n, d) float32/float64 NumPy array
//! codes = h.encode(X)                         # uint8 (n, bits/8), faiss's binary layout
//! h.save("model.npz"); h = hagcn.Hasher.load("model.npz")   # the CLI's checkpoint file
//! D, I = hagcn.search(codes[:10], codes, k=10)               # like IndexBinaryFlat.search
//! hagcn.evaluate(q_codes, db_codes, q_labels, db_labels, map_at=[200, "all"])
//! ```
//!
//! Every computation is the CLI's: `Hasher.fit` is `hagcn train`
//! ([`hagcn_model::TrainingOptions::try_train`]), `Hasher.encode` is `hagcn encode`
//! ([`hagcn_model::Machine::hash_logits_block`] on the same 4096-row blocks), `search` is
//! `hagcn search` ([`hagcn_eval::StreamingTopK`] over database blocks) and `evaluate` is
//! `hagcn eval` ([`hagcn_eval::mean_average_precision`], as [`hagcn_eval::average_precisions_per_query`]
//! over blocks of queries averaged in query order), so the same inputs give the same checkpoints, codes,
//! neighbours and numbers (the pytest suite in `tests/` compares them with the binary).
//!
//! The module's files: `arrays.rs` (NumPy inputs, checked and viewed without copies where
//! the layout allows), `errors.rs` (how errors become Python exceptions), `interrupt.rs`
//! (Ctrl-C while the GIL is released), `hasher.rs` (`Hasher`), `search.rs` (`search`,
//! `evaluate`). The Python side (`python/hagcn/`) holds `__init__.py`, which picks
//! OpenBLAS's kernels before the extension loads, and the type stubs.

use pyo3::prelude::*;

mod arrays;
mod errors;
mod hasher;
mod interrupt;
mod search;

/// The extension module `hagcn._hagcn`, re-exported by the package `hagcn`.
#[pymodule]
fn _hagcn(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<hasher::Hasher>()?;
    m.add_function(wrap_pyfunction!(search::search, m)?)?;
    m.add_function(wrap_pyfunction!(search::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(openblas_corename, m)?)?;
    Ok(())
}

/// The compute kernel OpenBLAS chose when it was loaded (for example `SkylakeX`,
/// `Haswell`; `Prescott` is its slowest fallback).
#[pyfunction]
fn openblas_corename() -> String {
    hagcn_openblas::corename()
}
