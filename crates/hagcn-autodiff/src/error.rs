//! Errors of graph construction, backends and optimisers.

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// What can go wrong while building or differentiating a graph.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The operands of an op have incompatible shapes.
    #[error("{op}: incompatible shapes {left:?} and {right:?}")]
    Shape {
        /// The op being recorded.
        op: &'static str,
        /// Shape of the first operand.
        left: (usize, usize),
        /// Shape of the second operand (or the expected shape).
        right: (usize, usize),
    },
    /// `backward` was called on a value that is not a 1×1 scalar.
    #[error("backward needs a 1×1 scalar, got {rows}×{cols}")]
    NotScalar {
        /// Rows of the value.
        rows: usize,
        /// Columns of the value.
        cols: usize,
    },
    /// A value handle from another graph, or from before a reset, was used.
    #[error("value #{0} does not belong to this graph")]
    UnknownVar(usize),
    /// A linear-algebra routine failed (for example a graph with a non-positive degree).
    #[error(transparent)]
    Linalg(#[from] hagcn_linalg::Error),
    /// A device backend failed (driver, out of memory, kernel launch).
    #[error("backend: {0}")]
    Backend(Box<dyn std::error::Error + Send + Sync>),
}
