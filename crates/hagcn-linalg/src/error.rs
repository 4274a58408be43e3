//! Errors of the linear-algebra routines.

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// What can go wrong in a linear-algebra routine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A matrix that must be square is not.
    #[error("{op}: expected a square matrix, got {rows}×{cols}")]
    NotSquare {
        /// The routine that complained.
        op: &'static str,
        /// Rows of the offending matrix.
        rows: usize,
        /// Columns of the offending matrix.
        cols: usize,
    },
    /// Two operands have incompatible shapes.
    #[error("{op}: shape mismatch, {left:?} vs {right:?}")]
    ShapeMismatch {
        /// The routine that complained.
        op: &'static str,
        /// Shape of the first operand.
        left: (usize, usize),
        /// Shape of the second operand.
        right: (usize, usize),
    },
    /// A node of the graph has a degree that is not positive (or not finite), so
    /// `D^-1/2` does not exist.
    #[error(
        "normalized adjacency: node {node_idx} has degree {degree}, which must be positive and finite"
    )]
    NonPositiveDegree {
        /// The node whose degree is bad.
        node_idx: usize,
        /// Its degree.
        degree: f64,
    },
}
