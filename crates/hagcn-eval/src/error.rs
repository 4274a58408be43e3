//! The error type of `hagcn-eval`.
//!
//! Every function that takes codes, labels or cut-offs from a caller validates them and
//! returns one of these variants instead of panicking.

use thiserror::Error;

use crate::topk::TopK;

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong when packing codes, ranking or scoring them.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// A code length of zero bits was given where codes must carry at least one bit.
    #[error("codes must have at least one bit")]
    ZeroBits,

    /// A byte matrix whose width is not `ceil(n_bits / 8)`.
    #[error("{n_bits}-bit codes need {expected} bytes per code, got {got}")]
    ByteWidth {
        /// The declared number of bits per code.
        n_bits: usize,
        /// `ceil(n_bits / 8)`.
        expected: usize,
        /// The number of columns of the byte matrix.
        got: usize,
    },

    /// A packed code with a one in the padding bits of its last byte.
    #[error(
        "code {code_idx} has nonzero padding bits in byte {byte_idx} (value {byte:#010b}); \
         bits {n_bits} and above must be zero"
    )]
    NonZeroPadding {
        /// The row of the offending code.
        code_idx: usize,
        /// The column of the offending byte (always the last one).
        byte_idx: usize,
        /// The value of that byte.
        byte: u8,
        /// The declared number of bits per code.
        n_bits: usize,
    },

    /// Query and database codes of different lengths.
    #[error("query codes have {query_bits} bits but database codes have {database_bits}")]
    BitsMismatch {
        /// Bits per query code.
        query_bits: usize,
        /// Bits per database code.
        database_bits: usize,
    },

    /// A label slice whose length differs from the number of codes it describes.
    #[error("{set} has {n_codes} codes but {n_labels} labels")]
    LabelsLength {
        /// `"query set"` or `"database"`.
        set: &'static str,
        /// Number of codes in that set.
        n_codes: usize,
        /// Number of labels given for it.
        n_labels: usize,
    },

    /// An empty query set or database.
    #[error("{set} is empty")]
    EmptySet {
        /// `"query set"` or `"database"`.
        set: &'static str,
    },

    /// A faiss index file that is not a well-formed `IndexBinaryFlat`.
    #[error("not a faiss IndexBinaryFlat file: {0}")]
    FaissFormat(String),

    /// A cut-off `K = 0`; ranks are counted from 1.
    #[error("top-K cut-off must be at least 1, got 0")]
    ZeroK,

    /// A string that is neither `all` nor a positive integer, given as a cut-off.
    #[error("invalid top-K cut-off {0:?}: expected \"all\" or an integer >= 1")]
    ParseTopK(String),

    /// Embeddings with no rows or no columns, given to a hashing baseline.
    #[error("embeddings must have at least one row and one column, got {rows}×{cols}")]
    EmptyEmbeddings {
        /// Number of rows (items).
        rows: usize,
        /// Number of columns (dimensions).
        cols: usize,
    },

    /// A `NaN` or infinite entry in embeddings given to a hashing baseline.
    #[error("embedding {row} has a non-finite value in dimension {col}")]
    NonFiniteEmbedding {
        /// The row (item) of the first offending entry.
        row: usize,
        /// Its column (dimension).
        col: usize,
    },

    /// A PCA-based hashing baseline asked for more bits than the embeddings have dimensions.
    #[error("{method} needs at most as many bits as embedding dimensions, got {n_bits} bits for {dim} dimensions")]
    TooManyBits {
        /// `"PCAH"` or `"ITQ"`.
        method: &'static str,
        /// The requested number of bits.
        n_bits: usize,
        /// The dimension of the training embeddings.
        dim: usize,
    },

    /// Too few training embeddings for a baseline that estimates the data's spread.
    #[error("{method} needs at least {min} training embeddings, got {rows}")]
    TooFewEmbeddings {
        /// `"SH"`.
        method: &'static str,
        /// The least number of rows the method accepts.
        min: usize,
        /// The number of rows given.
        rows: usize,
    },

    /// Embeddings whose dimension differs from the one a hasher was fit on.
    #[error("the hasher was fit on {expected}-dimensional embeddings but got {got}-dimensional ones")]
    DimensionMismatch {
        /// The training dimension.
        expected: usize,
        /// The dimension of the embeddings given to `encode`.
        got: usize,
    },

    /// A LAPACK routine (eigendecomposition or SVD) failed while fitting a baseline.
    #[error("{op} failed: {detail}")]
    Linalg {
        /// What was being computed.
        op: &'static str,
        /// The backend's error message.
        detail: String,
    },

    /// The legacy mAP with no query that found a "relevant" item in its top `K`: the
    /// reference divides by zero.
    #[error("legacy mAP@{top_k} is undefined: no query has a relevant item in its top {top_k}")]
    LegacyNoHits {
        /// The cut-off.
        top_k: TopK,
    },
}
