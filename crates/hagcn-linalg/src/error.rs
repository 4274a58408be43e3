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
    #[error("normalized adjacency: node {node_idx} has degree {degree}, which must be positive and finite")]
    NonPositiveDegree {
        /// The node whose degree is bad.
        node_idx: usize,
        /// Its degree.
        degree: f64,
    },
    /// An input holds a NaN or an infinity.
    #[error("{op}: input contains NaN or infinity")]
    NonFinite {
        /// The routine that complained.
        op: &'static str,
    },
    /// An iterative LAPACK routine did not converge (or LAPACK otherwise failed).
    #[error("{op}: eigensolver failed: {detail}")]
    NoConvergence {
        /// The routine that complained.
        op: &'static str,
        /// What LAPACK reported.
        detail: String,
    },
    /// A requested number of eigenpairs `k` is not in `1..=n`.
    #[error("asked for k = {k} eigenpairs out of n = {n}; need 1 <= k <= n")]
    InvalidK {
        /// The requested count.
        k: usize,
        /// How many are available.
        n: usize,
    },
    /// A vector has the wrong length.
    #[error("{op}: expected a vector of length {expected}, got {got}")]
    LengthMismatch {
        /// The routine that complained.
        op: &'static str,
        /// The length it needs.
        expected: usize,
        /// The length it got.
        got: usize,
    },
    /// A requested number of neighbours `k` is not in `1..=available` (for the graph of a set
    /// `available = n − 1`, since a row is not its own neighbour; for queries `available = n`).
    #[error("{op}: asked for k = {k} neighbours out of {available} candidates; need 1 <= k <= {available}")]
    InvalidNeighborCount {
        /// The routine that complained.
        op: &'static str,
        /// The requested count.
        k: usize,
        /// How many candidates each row has.
        available: usize,
    },
    /// A row of the input cannot be used with the chosen metric (it holds NaN or infinity, it
    /// is zero under the cosine metric, or it is too large for `f32` distances).
    #[error("{op}: row {row} {reason}")]
    BadRow {
        /// The routine that complained.
        op: &'static str,
        /// The first offending row.
        row: usize,
        /// What is wrong with it, for humans.
        reason: &'static str,
    },
    /// Some other argument is out of its domain.
    #[error("{op}: {reason}")]
    InvalidArgument {
        /// The routine that complained.
        op: &'static str,
        /// What is wrong, for humans.
        reason: String,
    },
}
