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

    /// Too few training embeddings: fewer than SH needs to estimate the data's spread, or
    /// than the clusters of k-means or the anchors of AGH.
    #[error("{method} needs at least {min} training embeddings, got {rows}")]
    TooFewEmbeddings {
        /// `"SH"`, `"k-means"` or `"AGH"`.
        method: &'static str,
        /// The least number of rows the method accepts.
        min: usize,
        /// The number of rows given.
        rows: usize,
    },

    /// k-means asked for more clusters than the data have distinct points.
    #[error("{method} needs at least {k} distinct embeddings, got {distinct}")]
    TooFewDistinctEmbeddings {
        /// `"k-means"`.
        method: &'static str,
        /// The number of clusters asked for.
        k: usize,
        /// The number of distinct rows found.
        distinct: usize,
    },

    /// k-means asked for zero clusters.
    #[error("k-means needs at least one cluster")]
    ZeroClusters,

    /// An anchor-graph hasher given a number of nearest anchors `s` outside `1..=m`.
    #[error("the number of nearest anchors must be between 1 and the number of anchors ({n_anchors}), got {nearest}")]
    NearestAnchors {
        /// The requested `s`.
        nearest: usize,
        /// The number of anchors `m`.
        n_anchors: usize,
    },

    /// A hasher that makes two bits per projection, asked for an odd number of bits.
    #[error("{method} needs an even number of bits (two per eigenvector), got {n_bits}")]
    OddBits {
        /// `"two-layer AGH"`.
        method: &'static str,
        /// The requested number of bits.
        n_bits: usize,
    },

    /// An anchor-graph hasher asked for more bits than its `m − 1` non-trivial
    /// eigenvectors can give.
    #[error("{method} with {n_anchors} anchors gives at most {max_bits} bits, got {n_bits}")]
    TooManyBitsForAnchors {
        /// `"AGH"`, `"two-layer AGH"` or `"AGH+ITQ"`.
        method: &'static str,
        /// The requested number of bits.
        n_bits: usize,
        /// The most bits this number of anchors allows.
        max_bits: usize,
        /// The number of anchors `m`.
        n_anchors: usize,
    },

    /// An anchor graph with fewer usable eigenvectors (eigenvalue in `(0, 1 − 10⁻³)`) than
    /// the hasher needs.
    #[error(
        "{method} needs {needed} eigenvectors of the anchor graph with eigenvalues in (0, 1 - 1e-3), \
         but the graph has only {available}"
    )]
    TooFewEigenvectors {
        /// `"AGH"`, `"two-layer AGH"` or `"AGH+ITQ"`.
        method: &'static str,
        /// Eigenvectors needed (one per bit, or one per two bits for two layers).
        needed: usize,
        /// Eigenvectors found.
        available: usize,
    },

    /// An anchor graph on which the hasher is undefined (a zero kernel bandwidth, or a
    /// second-layer threshold that divides by zero).
    #[error("degenerate anchor graph: {0}")]
    DegenerateAnchorGraph(String),

    /// Anchors that are not a non-empty matrix of the embeddings' dimension.
    #[error("anchors must be a non-empty matrix of {dim}-dimensional rows, got {rows}×{cols}")]
    AnchorShape {
        /// Rows of the anchor matrix.
        rows: usize,
        /// Its columns.
        cols: usize,
        /// The dimension of the training embeddings.
        dim: usize,
    },

    /// A `NaN` or infinite anchor coordinate.
    #[error("anchor {row} has a non-finite value in dimension {col}")]
    NonFiniteAnchor {
        /// The anchor (row) of the first offending entry.
        row: usize,
        /// Its column (dimension).
        col: usize,
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

    /// A block's ranked candidates are not a top-`K` of that block.
    #[error("ranked candidates of a database block: {0}")]
    RankedCandidates(String),

    /// The legacy mAP with no query that found a "relevant" item in its top `K`: the
    /// reference divides by zero.
    #[error("legacy mAP@{top_k} is undefined: no query has a relevant item in its top {top_k}")]
    LegacyNoHits {
        /// The cut-off.
        top_k: TopK,
    },
}
