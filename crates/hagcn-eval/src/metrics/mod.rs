//! Further retrieval metrics of a Hamming ranking: precision at `N`, precision and recall
//! within a Hamming radius (and the whole precision–recall curve), tie-aware mAP, and the
//! reference implementation's legacy "mAP".
//!
//! Relevance is single-label: database item `i` is relevant to a query with label `l`
//! when `db_labels[i] == l` (except in [`legacy_map`], which reproduces the reference's
//! own test). Rankings are those of [`crate::rank`]: by Hamming distance, ties broken by
//! database index. Every mean is over **all** queries, added up in query order, so
//! results are the same for any number of threads. Each query's distances to the
//! database are computed once.
//!
//! # Precision at `N`
//!
//! With `rel_i` as in [`crate::map`] and `N' = min(N, |database|)`,
//!
//! ```text
//! P@N = (1 / N') Σ_{i=1}^{N'} rel_i,
//! ```
//!
//! so a cut-off beyond the database size counts the whole database and divides by its
//! size (not by `N`).
//!
//! # Precision and recall within a Hamming radius
//!
//! For radius `ρ`, a query retrieves the items at distance `d ≤ ρ`. With `T_ρ` retrieved
//! items, `A_ρ` of them relevant, and `R` relevant items in the whole database,
//!
//! ```text
//! precision_ρ = A_ρ / T_ρ   (0 when T_ρ = 0),     recall_ρ = A_ρ / R   (0 when R = 0).
//! ```
//!
//! An empty retrieval scores precision 0, the convention of DeepHash's
//! `precision_recall_within_hamming_radius` (rather than leaving such queries out). Both
//! are averaged over all queries. [`pr_curve`] gives them for every `ρ = 0..=n_bits` from
//! one pass per query: the number of items and of relevant items at each distance, then
//! their cumulative sums, `T_ρ = Σ_{d ≤ ρ} n_d` and `A_ρ = Σ_{d ≤ ρ} r_d`.
//!
//! # Tie-aware mAP
//!
//! [`tie_aware_map`] is the *expected* `AP@K` (as in [`crate::map`]) when the items of
//! each group of equal Hamming distance are put in a uniformly random order, independently
//! per group, averaged over all queries (McSherry & Najork, "Computing information
//! retrieval performance measures efficiently in the presence of tied scores", ECIR 2008).
//! It no longer depends on how ties are broken.
//!
//! Take a tie group of `m` consecutive ranks `c + 1, …, c + m`, holding `x` relevant items,
//! after `c` items of which `c_rel` are relevant. Position `i` of the group is relevant
//! with probability `x / m`, and given that, the expected number of relevant items at the
//! group's positions `1 … i-1` is `(i - 1)(x - 1)/(m - 1)`. So the expected sum of the
//! precisions at the relevant ranks in the group is
//!
//! ```text
//! E(c, c_rel, m, x) = (x / m) Σ_{i=1}^{m} (c_rel + 1 + (i - 1)(x - 1)/(m - 1)) / (c + i)
//!                   = (x / m) ((c_rel + 1) H + (x - 1)/(m - 1) J),
//! H = Σ_{i=1}^{m} 1 / (c + i),     J = Σ_{i=1}^{m} (i - 1) / (c + i)
//! ```
//!
//! (`(c_rel + 1) / (c + 1)` for `m = 1`, and 0 for `x = 0`). For `K ≥ N` (`K = all`) the
//! number of relevant items `R_K = R` is fixed, so by linearity
//! `E[AP] = (1 / R) Σ_groups E(c, c_rel, g, r)` over the groups (size `g`, `r` relevant).
//!
//! For a finite `K < N` the computation is also **exact**. Groups that end at or before
//! rank `K` contribute as above. If a group of size `g` with `r` relevant items starts
//! after rank `c < K` and ends after rank `K`, only its first `m = K - c` positions are in
//! the top `K`, and the number `X` of relevant items among them is hypergeometric,
//! `P(X = x) = C(r, x) C(g - r, m - x) / C(g, m)`. Given `X = x`, `R_K = c_rel + x` is
//! fixed and the `x` relevant items lie uniformly at random among those `m` positions, so
//!
//! ```text
//! E[AP@K] = Σ_x P(X = x) · (S + E(c, c_rel, m, x)) / (c_rel + x),   (the term is 0 when c_rel + x = 0)
//! ```
//!
//! where `S` is the sum of the expectations of the groups before (independent of the
//! straddling group's order). With no ties every group has one item, and the result equals
//! [`mean_average_precision`](crate::mean_average_precision) (the same operations, in the
//! same order).
//!
//! # Legacy mAP
//!
//! [`legacy_map`] reproduces the number the reference implementation prints. It is **not
//! a valid mAP**: see its documentation.

mod inputs;
mod legacy;
mod precision;
mod radius;
#[cfg(test)]
mod testing;
mod tie_aware;

pub use legacy::legacy_map;
pub use precision::precision_at;
pub use radius::{PrCurve, RadiusPr, pr_curve, precision_recall_within_radius};
pub use tie_aware::tie_aware_map;
