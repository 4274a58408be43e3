//! Hamming-ranking evaluation of binary hash codes: packing, ranking and mAP.
//!
//! Codes are packed faiss-style ([`PackedCodes`], LSB-first within bytes), compared by
//! Hamming distance ([`hamming_distance`]), ranked with ties broken by database index
//! ([`hamming_rank`], [`hamming_topk`]) and scored by mean average precision over all
//! queries ([`mean_average_precision`]), as specified in §4 of the HAGCN spec.
//! [`StreamingTopK`] gives the same top-`K` over a database that arrives in blocks (one
//! larger than memory), and [`faiss`] reads and writes faiss's `IndexBinaryFlat` files.
//! Baseline hashers implement [`Hasher`]: LSH, PCAH and ITQ ([`baselines`]), spectral
//! hashing ([`SpectralHashing`]) and anchor graph hashing ([`Agh`], one or two layers, and
//! [`AghItq`], its embedding rotated by ITQ), whose anchors come from [`KMeans`].
//!
//! ```
//! use hagcn_eval::{PackedCodes, TopK, hamming_rank, mean_average_precision};
//! use ndarray::array;
//!
//! // Hash-layer logits (X W2ᵀ + b2) of three database items and one query; bit = logit ≥ 0.
//! let db = PackedCodes::from_logits(array![[0.7f32, -0.2, 1.5], [-1.0, -0.3, 0.2], [0.1, 0.4, 0.9]].view());
//! let query = PackedCodes::from_logits(array![[0.5f32, 0.3, 2.0]].view());
//! assert_eq!(db.bytes().column(0).to_vec(), vec![0b101, 0b100, 0b111]);
//!
//! // Distances 1, 2, 0: item 2 first, then item 0, then item 1.
//! let ranking = hamming_rank(&query, &db, TopK::All)?;
//! assert_eq!(ranking, vec![vec![2, 0, 1]]);
//!
//! // Items 0 and 1 share the query's label: AP@all = (1/2)(1/2 + 2/3) = 7/12, AP@1 = 0.
//! let map = mean_average_precision(&query, &[1], &db, &[1, 1, 0], &[TopK::All, TopK::K(1)])?;
//! assert!((map[0] - 7.0 / 12.0).abs() < 1e-15);
//! assert_eq!(map[1], 0.0);
//! # Ok::<(), hagcn_eval::Error>(())
//! ```
#![warn(missing_docs)]

pub mod agh;
pub mod anchors;
pub mod baselines;
pub mod codes;
pub mod error;
pub mod faiss;
pub mod kmeans;
pub mod map;
pub mod metrics;
pub mod rank;
pub mod spectral_hashing;
pub mod streaming;
mod topk;

pub use agh::{Agh, AghItq, AghLayers, AghOptions};
pub use anchors::{AnchorWeights, Anchors};
pub use baselines::{Hasher, Itq, Lsh, Pcah, itq_rotation};
pub use codes::{PackedCodes, hamming_distance};
pub use error::{Error, Result};
pub use faiss::FaissBinaryFlatHeader;
pub use kmeans::KMeans;
pub use map::{average_precisions_per_query, mean_average_precision, mean_over_queries};
pub use metrics::{
    PrCurve, RadiusPr, legacy_map, pr_curve, precision_at, precision_recall_within_radius, tie_aware_map,
};
pub use rank::{TopK, hamming_rank, hamming_topk};
pub use spectral_hashing::{SpectralHashing, SpectralMode};
pub use streaming::StreamingTopK;
