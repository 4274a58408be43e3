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

use crate::codes::PackedCodes;
use crate::error::{Error, Result};
use crate::map::query_mean;
use crate::rank::{Ranker, TopK};

/// Precision and recall within a Hamming radius, averaged over all queries.
///
/// See the [module docs](self) for the definitions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RadiusPr {
    /// Mean over queries of the fraction of retrieved items that are relevant (0 for a
    /// query that retrieves nothing).
    pub precision: f64,
    /// Mean over queries of the fraction of the query's relevant items that are retrieved
    /// (0 for a query with no relevant item in the database).
    pub recall: f64,
}

/// Precision and recall within every Hamming radius `0..=n_bits`.
///
/// The three vectors have `n_bits + 1` entries; entry `ρ` is
/// [`precision_recall_within_radius`] at radius `radius[ρ] = ρ`.
#[derive(Debug, Clone, PartialEq)]
pub struct PrCurve {
    /// The radii, `0, 1, …, n_bits`.
    pub radius: Vec<u32>,
    /// Mean precision within each radius.
    pub precision: Vec<f64>,
    /// Mean recall within each radius.
    pub recall: Vec<f64>,
}

/// Precision at `N` (`P@N`) of the Hamming ranking, one value per entry of `ns`, in order.
///
/// For each query, the fraction of its top `min(N, |database|)` items that share its
/// label, averaged over all queries. A cut-off larger than the database uses the database
/// size as the denominator. An empty `ns` gives an empty vector (after validation).
///
/// ```
/// use hagcn_eval::{PackedCodes, precision_at};
/// use ndarray::array;
///
/// let db = PackedCodes::from_bits(array![[true, true], [false, false], [true, false]].view());
/// let q = PackedCodes::from_bits(array![[false, false]].view());
/// // Ranking 1, 2, 0; relevant (label 3): items 0 and 2.
/// let p = precision_at(&q, &[3], &db, &[3, 5, 3], &[1, 2, 3, 10]).unwrap();
/// assert_eq!(p, vec![0.0, 0.5, 2.0 / 3.0, 2.0 / 3.0]);
/// ```
///
/// # Errors
///
/// [`Error::ZeroK`] if `ns` holds 0; [`Error::LabelsLength`] if a label slice's length
/// differs from its number of codes; and the errors of [`hamming_rank`](crate::hamming_rank).
pub fn precision_at(
    query: &PackedCodes,
    query_labels: &[usize],
    database: &PackedCodes,
    db_labels: &[usize],
    ns: &[usize],
) -> Result<Vec<f64>> {
    check_inputs(query, query_labels, database, db_labels)?;
    if ns.contains(&0) {
        return Err(Error::ZeroK);
    }
    let n_database = database.n_codes();
    let cuts: Vec<usize> = ns.iter().map(|&n| n.min(n_database)).collect();
    let Some(&k_max) = cuts.iter().max() else {
        return Ok(Vec::new());
    };
    let ranker = Ranker::new(query, database, TopK::K(k_max))?;
    // Per query: the number of relevant items among the first `i` ranks, `i = 0..=k_max`.
    let per_query: Vec<Vec<usize>> = ranker.map_rankings(|q_idx, ranking| {
        let label = query_labels[q_idx];
        let mut hits = Vec::with_capacity(ranking.len() + 1);
        hits.push(0);
        let mut count = 0;
        ranking.for_each(|db_idx, _| {
            count += usize::from(db_labels[db_idx] == label);
            hits.push(count);
        });
        hits
    });
    Ok(cuts.iter().map(|&n| query_mean(&per_query, |hits| hits[n] as f64 / n as f64)).collect())
}

/// Mean precision and recall of retrieving the database items within Hamming distance
/// `radius` (inclusive) of each query.
///
/// A query that retrieves nothing has precision 0 (DeepHash's convention), and one with no
/// relevant item in the database has recall 0; both still count in the means. A radius at
/// or above `n_bits` retrieves the whole database.
///
/// ```
/// use hagcn_eval::{PackedCodes, RadiusPr, precision_recall_within_radius};
/// use ndarray::array;
///
/// let db = PackedCodes::from_bits(array![[true, true], [false, false], [true, false]].view());
/// let q = PackedCodes::from_bits(array![[false, false]].view());
/// // Distances 2, 0, 1; relevant (label 3): items 0 and 2. Radius 1 retrieves items 1, 2.
/// let pr = precision_recall_within_radius(&q, &[3], &db, &[3, 5, 3], 1).unwrap();
/// assert_eq!(pr, RadiusPr { precision: 0.5, recall: 0.5 });
/// ```
///
/// # Errors
///
/// As [`precision_at`] (except for the cut-off).
pub fn precision_recall_within_radius(
    query: &PackedCodes,
    query_labels: &[usize],
    database: &PackedCodes,
    db_labels: &[usize],
    radius: u32,
) -> Result<RadiusPr> {
    let curve = pr_curve(query, query_labels, database, db_labels)?;
    let r = (radius as usize).min(curve.radius.len() - 1);
    Ok(RadiusPr { precision: curve.precision[r], recall: curve.recall[r] })
}

/// Mean precision and recall within every Hamming radius `0..=n_bits`.
///
/// One pass over the database per query counts the items and the relevant items at each
/// distance; cumulative sums give every radius at once. Each entry equals
/// [`precision_recall_within_radius`] at that radius.
///
/// ```
/// use hagcn_eval::{PackedCodes, pr_curve};
/// use ndarray::array;
///
/// let db = PackedCodes::from_bits(array![[true, true], [false, false], [true, false]].view());
/// let q = PackedCodes::from_bits(array![[false, false]].view());
/// let curve = pr_curve(&q, &[3], &db, &[3, 5, 3]).unwrap();
/// assert_eq!(curve.radius, vec![0, 1, 2]);
/// assert_eq!(curve.precision, vec![0.0, 0.5, 2.0 / 3.0]);
/// assert_eq!(curve.recall, vec![0.0, 0.5, 1.0]);
/// ```
///
/// # Errors
///
/// As [`precision_recall_within_radius`].
pub fn pr_curve(
    query: &PackedCodes,
    query_labels: &[usize],
    database: &PackedCodes,
    db_labels: &[usize],
) -> Result<PrCurve> {
    check_inputs(query, query_labels, database, db_labels)?;
    let ranker = Ranker::new(query, database, TopK::All)?;
    let n_radii = ranker.n_bits() + 1;
    let per_query: Vec<(Vec<f64>, Vec<f64>)> = ranker.par_map_queries(|q_idx| {
        let (items, relevant) = distance_counts(&ranker, q_idx, query_labels[q_idx], db_labels);
        let n_relevant: usize = relevant.iter().sum();
        let (mut retrieved, mut hits) = (0usize, 0usize);
        let mut precision = Vec::with_capacity(n_radii);
        let mut recall = Vec::with_capacity(n_radii);
        for (n, r) in items.iter().zip(&relevant) {
            retrieved += n;
            hits += r;
            precision.push(if retrieved == 0 { 0.0 } else { hits as f64 / retrieved as f64 });
            recall.push(if n_relevant == 0 { 0.0 } else { hits as f64 / n_relevant as f64 });
        }
        (precision, recall)
    });
    let n_queries = per_query.len() as f64;
    let mut precision = vec![0.0f64; n_radii];
    let mut recall = vec![0.0f64; n_radii];
    for (p, r) in &per_query {
        for (acc, v) in precision.iter_mut().zip(p) {
            *acc += v;
        }
        for (acc, v) in recall.iter_mut().zip(r) {
            *acc += v;
        }
    }
    precision.iter_mut().chain(recall.iter_mut()).for_each(|v| *v /= n_queries);
    let radius = (0..n_radii).map(|r| u32::try_from(r).expect("code length fits in u32")).collect();
    Ok(PrCurve { radius, precision, recall })
}

/// Tie-aware `mAP@K`: the expected `AP@K` over uniformly random orders within each group of
/// equal Hamming distance, averaged over all queries; one value per entry of `ks`.
///
/// The computation is exact for every `K`, `K = all` included (see the
/// [module docs](self)): closed-form expectations for the tie groups inside the top `K`,
/// and, for the group that straddles rank `K`, a sum over the hypergeometric distribution
/// of the number of its relevant items that fall inside the top `K`. Without ties it
/// equals [`mean_average_precision`](crate::mean_average_precision). An empty `ks` gives an
/// empty vector (after validation).
///
/// ```
/// use hagcn_eval::{PackedCodes, TopK, tie_aware_map};
/// use ndarray::array;
///
/// // Both database items are at distance 1 from the query; one is relevant.
/// let db = PackedCodes::from_bits(array![[true, false], [false, true]].view());
/// let q = PackedCodes::from_bits(array![[false, false]].view());
/// // Orders (rel, not) and (not, rel) are equally likely: AP@all = (1 + 1/2) / 2,
/// // AP@1 = (1 + 0) / 2.
/// let map = tie_aware_map(&q, &[7], &db, &[0, 7], &[TopK::All, TopK::K(1)]).unwrap();
/// assert_eq!(map, vec![0.75, 0.5]);
/// ```
///
/// # Errors
///
/// As [`mean_average_precision`](crate::mean_average_precision).
pub fn tie_aware_map(
    query: &PackedCodes,
    query_labels: &[usize],
    database: &PackedCodes,
    db_labels: &[usize],
    ks: &[TopK],
) -> Result<Vec<f64>> {
    check_inputs(query, query_labels, database, db_labels)?;
    for k in ks {
        k.validate()?;
    }
    let ranker = Ranker::new(query, database, TopK::All)?;
    let n_database = database.n_codes();
    let cuts: Vec<usize> = ks.iter().map(|k| k.len_for(n_database)).collect();
    if cuts.is_empty() {
        return Ok(Vec::new());
    }
    let per_query: Vec<Vec<f64>> = ranker.par_map_queries(|q_idx| {
        let (items, relevant) = distance_counts(&ranker, q_idx, query_labels[q_idx], db_labels);
        cuts.iter().map(|&k| expected_ap(&items, &relevant, k)).collect()
    });
    Ok((0..cuts.len()).map(|j| query_mean(&per_query, |aps| aps[j])).collect())
}

/// The expected `AP@k` (`1 ≤ k ≤ N`) of one query from the number of items (`items[d]`)
/// and of relevant items (`relevant[d]`) at each distance `d`.
fn expected_ap(items: &[usize], relevant: &[usize], k: usize) -> f64 {
    let (mut before, mut rel_before) = (0usize, 0usize);
    let mut sum = 0.0f64;
    for (&g, &r) in items.iter().zip(relevant) {
        if g == 0 {
            continue;
        }
        if before + g <= k {
            sum += expected_precision_sum(before, rel_before, g, r, None);
            before += g;
            rel_before += r;
            if before == k {
                break;
            }
            continue;
        }
        // The group straddles rank `k`: `m` of its `g` positions are in the top `k`.
        let m = k - before;
        if r == 0 {
            break;
        }
        let sums = Some(harmonic_sums(before, m));
        let (x_lo, x_hi) = (m.saturating_sub(g - r), r.min(m));
        let weights = hypergeometric(g, r, m, x_lo, x_hi);
        let mut ap = 0.0f64;
        for (x, w) in (x_lo..=x_hi).zip(weights) {
            let hits = rel_before + x;
            if hits > 0 {
                ap += w * (sum + expected_precision_sum(before, rel_before, m, x, sums)) / hits as f64;
            }
        }
        return ap;
    }
    if rel_before == 0 { 0.0 } else { sum / rel_before as f64 }
}

/// `E(c, c_rel, m, x)` of the module docs: the expected sum of the precisions at the
/// relevant ranks among `m` tied positions holding `x` relevant items in uniformly random
/// order, after `c` items of which `c_rel` are relevant. `sums` is `(H, J)` when already
/// known.
fn expected_precision_sum(c: usize, c_rel: usize, m: usize, x: usize, sums: Option<(f64, f64)>) -> f64 {
    if x == 0 {
        return 0.0;
    }
    if m == 1 {
        return (c_rel + 1) as f64 / (c + 1) as f64;
    }
    let (h, j) = sums.unwrap_or_else(|| harmonic_sums(c, m));
    let b = (x - 1) as f64 / (m - 1) as f64;
    x as f64 / m as f64 * ((c_rel + 1) as f64 * h + b * j)
}

/// `(H, J) = (Σ_{i=1}^{m} 1 / (c + i), Σ_{i=1}^{m} (i - 1) / (c + i))`.
fn harmonic_sums(c: usize, m: usize) -> (f64, f64) {
    let (mut h, mut j) = (0.0f64, 0.0f64);
    for i in 1..=m {
        let inv = 1.0 / (c + i) as f64;
        h += inv;
        j += (i - 1) as f64 * inv;
    }
    (h, j)
}

/// The hypergeometric probabilities `P(X = x)`, `x = x_lo..=x_hi`, of `x` successes in
/// `m` draws without replacement from `g` items of which `r` are successes.
///
/// Built in log space from the ratio `P(x + 1) / P(x) = (r - x)(m - x) / ((x + 1)(g - r - m + x + 1))`
/// and normalised, so large groups neither overflow nor underflow.
fn hypergeometric(g: usize, r: usize, m: usize, x_lo: usize, x_hi: usize) -> Vec<f64> {
    let mut log_w = Vec::with_capacity(x_hi - x_lo + 1);
    let mut lw = 0.0f64;
    log_w.push(lw);
    for x in x_lo..x_hi {
        lw += (((r - x) * (m - x)) as f64).ln() - (((x + 1) * (g - r + x + 1 - m)) as f64).ln();
        log_w.push(lw);
    }
    let max = log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = log_w.iter().map(|&l| (l - max).exp()).collect();
    let total: f64 = w.iter().sum();
    w.into_iter().map(|v| v / total).collect()
}

/// The reference implementation's "mAP@`top_k`", reproduced as its code computes it.
///
/// **This is not a valid mean average precision**; it is here only so the reference's
/// published numbers can be reproduced and reported beside the real metric
/// ([`mean_average_precision`](crate::mean_average_precision)), clearly labelled. The
/// reference (DeepHash's `CalcTopMap` with a defect) does, per query:
///
/// 1. `gnd = dot(qLabel, dbLabel) > 0` on the **integer class ids** (not one-hot). For
///    scalar labels the dot product is the product, so an item is "relevant" exactly when
///    the query's label **and** the item's label are both non-zero, whatever the classes.
///    With this crate's labels `0..C`, class 0 is relevant to nothing and every other
///    pair counts as relevant; with the reference's own numbering `1..=10` for ten classes
///    every pair is relevant.
/// 2. Ranks the database by Hamming distance (`argsort`). The reference uses numpy's
///    default unstable quicksort; here ties are broken by database index (stable), so the
///    result is reproducible but may differ from a given numpy run when ties straddle the
///    cut-off.
/// 3. `tgnd = gnd[ranking][:top_k]`, `tsum = Σ tgnd`; if `tsum = 0` the query is
///    **skipped** (not counted at all).
/// 4. Otherwise adds `mean_j(j / p_j)`, `j = 1..=tsum`, `p_j` the 1-based rank of the
///    `j`-th "relevant" item in `tgnd`.
///
/// The result is the sum divided by the number of queries that were **not** skipped.
///
/// ```
/// use hagcn_eval::{PackedCodes, TopK, legacy_map};
/// use ndarray::array;
///
/// let db = PackedCodes::from_bits(array![[true, true], [false, false], [true, false]].view());
/// let q = PackedCodes::from_bits(array![[false, false], [true, true]].view());
/// // Query 0 has label 0, so nothing is "relevant" to it and it is skipped. Query 1
/// // (label 2) ranks 0, 2, 1; items with non-zero labels (0 and 1) are at ranks 1 and 3:
/// // (1/1 + 2/3) / 2 = 5/6.
/// let legacy = legacy_map(&q, &[0, 2], &db, &[4, 1, 0], TopK::All).unwrap();
/// assert!((legacy - 5.0 / 6.0).abs() < 1e-15);
/// ```
///
/// # Errors
///
/// [`Error::LegacyNoHits`] if every query is skipped (the reference divides by zero);
/// otherwise as [`mean_average_precision`](crate::mean_average_precision).
pub fn legacy_map(
    query_codes: &PackedCodes,
    query_labels: &[usize],
    database: &PackedCodes,
    db_labels: &[usize],
    top_k: TopK,
) -> Result<f64> {
    check_inputs(query_codes, query_labels, database, db_labels)?;
    let ranker = Ranker::new(query_codes, database, top_k)?;
    let per_query: Vec<Option<f64>> = ranker.map_rankings(|q_idx, ranking| {
        let q_label = query_labels[q_idx];
        let (mut rank, mut tsum, mut sum) = (0usize, 0usize, 0.0f64);
        ranking.for_each(|db_idx, _| {
            rank += 1;
            // `q_label * db_label > 0` for non-negative integers, without overflow.
            if q_label != 0 && db_labels[db_idx] != 0 {
                tsum += 1;
                sum += tsum as f64 / rank as f64;
            }
        });
        (tsum > 0).then(|| sum / tsum as f64)
    });
    let (mut total, mut counted) = (0.0f64, 0usize);
    for ap in per_query.into_iter().flatten() {
        total += ap;
        counted += 1;
    }
    if counted == 0 {
        return Err(Error::LegacyNoHits { top_k });
    }
    Ok(total / counted as f64)
}

/// For one query: the number of database items (`.0`) and of items labelled `label`
/// (`.1`) at each Hamming distance `0..=n_bits`.
fn distance_counts(ranker: &Ranker, query_idx: usize, label: usize, db_labels: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let n_buckets = ranker.n_bits() + 1;
    let mut items = vec![0usize; n_buckets];
    let mut relevant = vec![0usize; n_buckets];
    ranker.for_each_distance(query_idx, |db_idx, dist| {
        items[dist as usize] += 1;
        relevant[dist as usize] += usize::from(db_labels[db_idx] == label);
    });
    (items, relevant)
}

/// Validates the label lengths and the code sets.
fn check_inputs(
    query: &PackedCodes,
    query_labels: &[usize],
    database: &PackedCodes,
    db_labels: &[usize],
) -> Result<()> {
    for (set, codes, labels) in [("query set", query, query_labels), ("database", database, db_labels)] {
        if labels.len() != codes.n_codes() {
            return Err(Error::LabelsLength { set, n_codes: codes.n_codes(), n_labels: labels.len() });
        }
    }
    crate::rank::validate_sets(query, database)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mean_average_precision;
    use crate::rank::tests::{brute_rank, codes, random_codes};
    use ndarray::Array2;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    fn random_labels(rng: &mut ChaCha8Rng, n: usize, n_classes: usize) -> Vec<usize> {
        (0..n).map(|_| rng.random_range(0..n_classes)).collect()
    }

    /// `P@N` from a full sort, item by item.
    fn brute_precision_at(q: &PackedCodes, ql: &[usize], db: &PackedCodes, dl: &[usize], n: usize) -> f64 {
        let n = n.min(db.n_codes());
        let mut total = 0.0;
        for (q_idx, &label) in ql.iter().enumerate() {
            let ranking = brute_rank(q, q_idx, db);
            let hits = ranking[..n].iter().filter(|&&(_, i)| dl[i] == label).count();
            total += hits as f64 / n as f64;
        }
        total / ql.len() as f64
    }

    /// Precision and recall within `radius`, item by item.
    fn brute_radius(q: &PackedCodes, ql: &[usize], db: &PackedCodes, dl: &[usize], radius: u32) -> (f64, f64) {
        let (mut p, mut r) = (0.0, 0.0);
        for (q_idx, &label) in ql.iter().enumerate() {
            let ranking = brute_rank(q, q_idx, db);
            let retrieved: Vec<usize> = ranking.iter().filter(|&&(d, _)| d <= radius).map(|&(_, i)| i).collect();
            let hits = retrieved.iter().filter(|&&i| dl[i] == label).count();
            let all = dl.iter().filter(|&&l| l == label).count();
            p += if retrieved.is_empty() { 0.0 } else { hits as f64 / retrieved.len() as f64 };
            r += if all == 0 { 0.0 } else { hits as f64 / all as f64 };
        }
        (p / ql.len() as f64, r / ql.len() as f64)
    }

    /// `AP@k` of one ranking given as relevance flags.
    fn ap_at(rel: &[bool], k: usize) -> f64 {
        let (mut hits, mut sum) = (0usize, 0.0);
        for (i, &r) in rel.iter().take(k).enumerate() {
            if r {
                hits += 1;
                sum += hits as f64 / (i + 1) as f64;
            }
        }
        if hits == 0 { 0.0 } else { sum / hits as f64 }
    }

    /// Every permutation of `items` (with repeats when items are equal), by Heap's algorithm.
    fn permutations(items: &[bool]) -> Vec<Vec<bool>> {
        fn heap(k: usize, a: &mut Vec<bool>, out: &mut Vec<Vec<bool>>) {
            if k <= 1 {
                out.push(a.clone());
                return;
            }
            for i in 0..k - 1 {
                heap(k - 1, a, out);
                if k.is_multiple_of(2) { a.swap(i, k - 1) } else { a.swap(0, k - 1) }
            }
            heap(k - 1, a, out);
        }
        let mut out = Vec::new();
        heap(items.len(), &mut items.to_vec(), &mut out);
        out
    }

    /// Tie-aware `mAP@K` by averaging `AP@K` over every order of every tie group.
    fn brute_tie_aware(q: &PackedCodes, ql: &[usize], db: &PackedCodes, dl: &[usize], k: TopK) -> f64 {
        fn walk(groups: &[Vec<Vec<bool>>], prefix: &mut Vec<bool>, k: usize, acc: &mut (f64, usize)) {
            let Some((first, rest)) = groups.split_first() else {
                acc.0 += ap_at(prefix, k);
                acc.1 += 1;
                return;
            };
            for perm in first {
                let len = prefix.len();
                prefix.extend_from_slice(perm);
                walk(rest, prefix, k, acc);
                prefix.truncate(len);
            }
        }
        let k = k.len_for(db.n_codes());
        let mut total = 0.0;
        for (q_idx, &label) in ql.iter().enumerate() {
            let ranking = brute_rank(q, q_idx, db);
            let mut groups: Vec<Vec<bool>> = Vec::new();
            let mut last = None;
            for &(d, i) in &ranking {
                if last != Some(d) {
                    groups.push(Vec::new());
                    last = Some(d);
                }
                groups.last_mut().unwrap().push(dl[i] == label);
            }
            let perms: Vec<Vec<Vec<bool>>> = groups.iter().map(|g| permutations(g)).collect();
            let mut acc = (0.0, 0usize);
            walk(&perms, &mut Vec::new(), k, &mut acc);
            total += acc.0 / acc.1 as f64;
        }
        total / ql.len() as f64
    }

    /// The legacy metric written as the reference's numpy code reads (stable ranking).
    fn brute_legacy(q: &PackedCodes, ql: &[usize], db: &PackedCodes, dl: &[usize], k: TopK) -> Option<f64> {
        let (mut map, mut counted) = (0.0, 0usize);
        for (q_idx, &label) in ql.iter().enumerate() {
            let ranking = brute_rank(q, q_idx, db);
            let tgnd: Vec<bool> =
                ranking.iter().take(k.len_for(db.n_codes())).map(|&(_, i)| label * dl[i] > 0).collect();
            let tindex: Vec<usize> = tgnd.iter().enumerate().filter(|&(_, &g)| g).map(|(p, _)| p + 1).collect();
            if tindex.is_empty() {
                continue;
            }
            let terms: f64 = tindex.iter().enumerate().map(|(j, &p)| (j + 1) as f64 / p as f64).sum();
            map += terms / tindex.len() as f64;
            counted += 1;
        }
        (counted > 0).then(|| map / counted as f64)
    }

    #[test]
    fn precision_at_literal() {
        // Database d0 = 11 (0), d1 = 01 (1), d2 = 00 (1), d3 = 10 (0).
        // Query 00, label 0: ranking d2 d1 d3 d0, rel 0 0 1 1 → P@1 = 0, P@2 = 0, P@3 = 1/3, P@4 = 1/2.
        // Query 11, label 1: ranking d0 d1 d3 d2, rel 0 1 0 1 → P@1 = 0, P@2 = 1/2, P@3 = 1/3, P@4 = 1/2.
        // Query 01, label 9: nothing relevant, P = 0, still counted.
        let db = codes(&["11", "01", "00", "10"]);
        let q = codes(&["00", "11", "01"]);
        let p = precision_at(&q, &[0, 1, 9], &db, &[0, 1, 1, 0], &[1, 2, 3, 4, 100]).unwrap();
        let expect = [0.0, 0.5 / 3.0, (2.0 / 3.0) / 3.0, 1.0 / 3.0, 1.0 / 3.0];
        for (g, e) in p.iter().zip(expect) {
            assert!(close(*g, e, 1e-15), "{p:?}");
        }
        assert_eq!(precision_at(&q, &[0, 1, 9], &db, &[0, 1, 1, 0], &[]), Ok(vec![]));
    }

    #[test]
    fn precision_at_matches_brute_force() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for (n_bits, n_db) in [(4, 150), (5, 90), (6, 300), (8, 257)] {
            let q = random_codes(&mut rng, 17, n_bits);
            let db = random_codes(&mut rng, n_db, n_bits);
            let ql = random_labels(&mut rng, 17, 4);
            let dl = random_labels(&mut rng, n_db, 4);
            let ns = [1, 7, n_db / 2, 3, n_db, n_db + 5, 7];
            let got = precision_at(&q, &ql, &db, &dl, &ns).unwrap();
            for (&n, &g) in ns.iter().zip(&got) {
                let e = brute_precision_at(&q, &ql, &db, &dl, n);
                assert!(close(g, e, 1e-12), "{n_bits} bits, P@{n}: {g} vs {e}");
            }
        }
    }

    #[test]
    fn radius_literal() {
        // Query 00 against d0 = 11 (0), d1 = 01 (1), d2 = 00 (1), d3 = 10 (0): distances 2 1 0 1.
        // Label 1 (relevant d1, d2): ρ = 0: P 1, R 1/2; ρ = 1: P 2/3, R 1; ρ = 2: P 1/2, R 1.
        // Query 11, label 7 (nothing relevant): distances 0 1 2 1 → P 0 and R 0 everywhere.
        let db = codes(&["11", "01", "00", "10"]);
        let dl = [0, 1, 1, 0];
        let q = codes(&["00", "11"]);
        let curve = pr_curve(&q, &[1, 7], &db, &dl).unwrap();
        assert_eq!(curve.radius, vec![0, 1, 2]);
        assert_eq!(curve.precision, vec![0.5, 1.0 / 3.0, 0.25]);
        assert_eq!(curve.recall, vec![0.25, 0.5, 0.5]);
        // Query 01 retrieves only d1 at ρ = 0; with label 0 that is precision 0, recall 0.
        let q = codes(&["01"]);
        let pr = precision_recall_within_radius(&q, &[0], &db, &dl, 0).unwrap();
        assert_eq!(pr, RadiusPr { precision: 0.0, recall: 0.0 });
        // Nothing retrieved at ρ = 0 (no database code equals 0 0 1 with 3 bits): precision 0.
        let db3 = codes(&["110", "111"]);
        let pr = precision_recall_within_radius(&codes(&["001"]), &[5], &db3, &[5, 5], 0).unwrap();
        assert_eq!(pr, RadiusPr { precision: 0.0, recall: 0.0 });
        let pr = precision_recall_within_radius(&codes(&["001"]), &[5], &db3, &[5, 5], 2).unwrap();
        assert_eq!(pr, RadiusPr { precision: 1.0, recall: 0.5 });
        // A radius beyond the code length retrieves everything.
        let pr = precision_recall_within_radius(&codes(&["001"]), &[5], &db3, &[5, 4], 1000).unwrap();
        assert_eq!(pr, RadiusPr { precision: 0.5, recall: 1.0 });
    }

    #[test]
    fn radius_matches_brute_force() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for (n_bits, n_db) in [(4, 60), (6, 200), (8, 123), (7, 5)] {
            let q = random_codes(&mut rng, 13, n_bits);
            let db = random_codes(&mut rng, n_db, n_bits);
            let ql: Vec<usize> = (0..13).map(|i| if i % 4 == 0 { 99 } else { rng.random_range(0..3) }).collect();
            let dl = random_labels(&mut rng, n_db, 3);
            let curve = pr_curve(&q, &ql, &db, &dl).unwrap();
            assert_eq!(curve.radius.len(), n_bits + 1);
            for rho in 0..=n_bits as u32 + 2 {
                let (p, r) = brute_radius(&q, &ql, &db, &dl, rho);
                let got = precision_recall_within_radius(&q, &ql, &db, &dl, rho).unwrap();
                assert!(close(got.precision, p, 1e-12) && close(got.recall, r, 1e-12), "ρ = {rho}");
                let c = (rho as usize).min(n_bits);
                assert_eq!(got, RadiusPr { precision: curve.precision[c], recall: curve.recall[c] });
            }
            // Recall is non-decreasing and ends at the fraction of queries with a relevant item.
            assert!(curve.recall.windows(2).all(|w| w[0] <= w[1]));
        }
    }

    #[test]
    fn tie_aware_literal() {
        // Query 000; d0 = 000 (relevant) at distance 0; d1 = 100 (relevant), d2 = 010 (not),
        // d3 = 001 (relevant) tied at distance 1. Orders of the tie group (r r n, r n r, n r r)
        // are equally likely: AP@all = (1 + 11/12 + 29/36) / 3 = 49/54. At K = 3 the group's
        // first two places hold 2 relevant items with probability 1/3 (AP 1) and 1 with
        // probability 2/3 (AP (1 + (1 + 2/3)/2) / 2 = 11/12): 1/3 + 2/3 · 11/12 = 17/18.
        // At K = 2 the second place is relevant with probability 2/3: AP@2 = 1.
        let db = codes(&["000", "100", "010", "001"]);
        let q = codes(&["000"]);
        let dl = [1, 1, 0, 1];
        let ks = [TopK::All, TopK::K(3), TopK::K(2), TopK::K(1), TopK::K(4)];
        let got = tie_aware_map(&q, &[1], &db, &dl, &ks).unwrap();
        let expect = [49.0 / 54.0, 17.0 / 18.0, 1.0, 1.0, 49.0 / 54.0];
        for (g, e) in got.iter().zip(expect) {
            assert!(close(*g, e, 1e-15), "{got:?}");
        }
        // A query with no relevant item in the top K scores 0 (here label 0: relevant is
        // only d2, second or later; at K = 1 the group is not reached).
        let got = tie_aware_map(&q, &[0], &db, &dl, &[TopK::K(1), TopK::All]).unwrap();
        // d2 sits in a group of three after one item: E[1 / rank] = (1/2 + 1/3 + 1/4) / 3.
        assert_eq!(got[0], 0.0);
        assert!(close(got[1], (0.5 + 1.0 / 3.0 + 0.25) / 3.0, 1e-15));
        assert_eq!(tie_aware_map(&q, &[0], &db, &dl, &[]), Ok(vec![]));
    }

    #[test]
    fn tie_aware_matches_permutation_brute_force() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for case in 0..300 {
            let n_bits = 1 + case % 4;
            let n_db = 1 + rng.random_range(0..7);
            let n_q = 1 + rng.random_range(0..3);
            let q = random_codes(&mut rng, n_q, n_bits);
            let db = random_codes(&mut rng, n_db, n_bits);
            let ql = random_labels(&mut rng, n_q, 3);
            let dl = random_labels(&mut rng, n_db, 3);
            let ks: Vec<TopK> = (1..=n_db + 1).map(TopK::K).chain([TopK::All]).collect();
            let got = tie_aware_map(&q, &ql, &db, &dl, &ks).unwrap();
            for (&k, &g) in ks.iter().zip(&got) {
                let e = brute_tie_aware(&q, &ql, &db, &dl, k);
                assert!(close(g, e, 1e-12), "case {case}, K = {k}: {g} vs {e}");
            }
        }
    }

    #[test]
    fn tie_aware_without_ties_is_map() {
        // Query 0…0 and 1…1 against codes with distinct popcounts: every distance distinct.
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let n_bits = 40;
        let mut counts: Vec<usize> = (0..=n_bits).collect();
        for i in (1..counts.len()).rev() {
            counts.swap(i, rng.random_range(0..=i));
        }
        let n_db = 30;
        let bits = Array2::from_shape_fn((n_db, n_bits), |(i, j)| j < counts[i]);
        let db = PackedCodes::from_bits(bits.view());
        let q = PackedCodes::from_bits(Array2::from_shape_fn((2, n_bits), |(i, _)| i == 1).view());
        for _ in 0..20 {
            let ql = random_labels(&mut rng, 2, 3);
            let dl = random_labels(&mut rng, n_db, 3);
            let ks = [TopK::K(1), TopK::K(5), TopK::K(17), TopK::K(29), TopK::All, TopK::K(100)];
            let tie = tie_aware_map(&q, &ql, &db, &dl, &ks).unwrap();
            let map = mean_average_precision(&q, &ql, &db, &dl, &ks).unwrap();
            for (t, m) in tie.iter().zip(&map) {
                assert!(close(*t, *m, 1e-12), "{tie:?} vs {map:?}");
            }
        }
    }

    #[test]
    fn tie_aware_large_groups() {
        // Many ties (4–8 bits, hundreds of items, groups straddling K): K = N and K = all agree
        // exactly, and each value matches a Monte Carlo mean over random tie orders.
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for n_bits in [4, 6, 8] {
            let n_db = 400;
            let q = random_codes(&mut rng, 5, n_bits);
            let db = random_codes(&mut rng, n_db, n_bits);
            let ql = random_labels(&mut rng, 5, 3);
            let dl = random_labels(&mut rng, n_db, 3);
            let ks = [TopK::K(10), TopK::K(100), TopK::K(n_db), TopK::All];
            let got = tie_aware_map(&q, &ql, &db, &dl, &ks).unwrap();
            assert_eq!(got[2].to_bits(), got[3].to_bits());
            // Monte Carlo over random tie orders: 2000 draws, standard error well under 0.01.
            let n_draws = 2000;
            for (&k, &g) in ks.iter().zip(&got) {
                let mut total = 0.0;
                for (q_idx, &label) in ql.iter().enumerate() {
                    let ranking = brute_rank(&q, q_idx, &db);
                    let mut sum = 0.0;
                    for _ in 0..n_draws {
                        let mut keyed: Vec<(u32, u64, bool)> =
                            ranking.iter().map(|&(d, i)| (d, rng.random::<u64>(), dl[i] == label)).collect();
                        keyed.sort_unstable_by_key(|&(d, key, _)| (d, key));
                        let rel: Vec<bool> = keyed.iter().map(|&(_, _, r)| r).collect();
                        sum += ap_at(&rel, k.len_for(n_db));
                    }
                    total += sum / n_draws as f64;
                }
                let mc = total / ql.len() as f64;
                assert!((0.0..=1.0).contains(&g));
                assert!(close(g, mc, 0.01), "{n_bits} bits, K = {k}: {g} vs Monte Carlo {mc}");
            }
        }
    }

    #[test]
    fn hypergeometric_probabilities() {
        // g = 5, r = 2, m = 3: P(X = 0..=2) = (1, 6, 3) / 10.
        let p = hypergeometric(5, 2, 3, 0, 2);
        assert!(close(p[0], 0.1, 1e-15) && close(p[1], 0.6, 1e-15) && close(p[2], 0.3, 1e-15), "{p:?}");
        // g = 5, r = 4, m = 3: X ≥ 2; P(X = 2) = C(4,2) C(1,1) / C(5,3) = 6/10, P(X = 3) = 4/10.
        let p = hypergeometric(5, 4, 3, 2, 3);
        assert!(close(p[0], 0.6, 1e-15) && close(p[1], 0.4, 1e-15), "{p:?}");
        // Huge groups do not underflow.
        let p = hypergeometric(1_000_000, 500_000, 1000, 0, 1000);
        assert!(close(p.iter().sum::<f64>(), 1.0, 1e-12));
        assert!(p.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn legacy_literal() {
        // Database (3 bits, bit 0 first) and labels:
        //   d0 = 000 (0), d1 = 001 (2), d2 = 011 (1), d3 = 111 (3), d4 = 100 (0).
        // "Relevant" = both labels non-zero, i.e. d1, d2, d3 for any query with a label ≠ 0.
        // Query A = 000, label 1: distances 0 1 2 3 1 → ranking d0 d1 d4 d2 d3,
        //   tgnd = 0 1 0 1 1: all → (1/2 + 2/4 + 3/5) / 3 = 8/15; top 3 → 0 1 0 → 1/2;
        //   top 1 → 0: skipped.
        // Query B = 111, label 0: nothing is "relevant", always skipped.
        // Query C = 110, label 5: distances 2 3 2 1 1 → ranking d3 d4 d0 d2 d1,
        //   tgnd = 1 0 0 1 1: all → (1 + 2/4 + 3/5) / 3 = 7/10; top 3 and top 1 → 1.
        // Legacy: all → (8/15 + 7/10) / 2 = 37/60; top 3 → (1/2 + 1) / 2 = 3/4; top 1 → 1 / 1.
        let db = codes(&["000", "001", "011", "111", "100"]);
        let dl = [0, 2, 1, 3, 0];
        let q = codes(&["000", "111", "110"]);
        let ql = [1, 0, 5];
        let all = legacy_map(&q, &ql, &db, &dl, TopK::All).unwrap();
        assert!(close(all, 37.0 / 60.0, 1e-15), "{all}");
        assert!(close(legacy_map(&q, &ql, &db, &dl, TopK::K(3)).unwrap(), 0.75, 1e-15));
        assert_eq!(legacy_map(&q, &ql, &db, &dl, TopK::K(1)).unwrap(), 1.0);
        // The valid mAP of the same data, for contrast (same-class relevance, all queries).
        let map = mean_average_precision(&q, &ql, &db, &dl, &[TopK::All]).unwrap()[0];
        assert!(map < all);
        // With labels 1..=10 every pair counts as relevant: the legacy value is 1 for any codes.
        let dl10 = [1, 2, 3, 4, 10];
        assert_eq!(legacy_map(&q, &[1, 7, 10], &db, &dl10, TopK::All).unwrap(), 1.0);
        // Every query skipped: undefined.
        let err = legacy_map(&q, &[0, 0, 0], &db, &dl, TopK::K(2)).unwrap_err();
        assert_eq!(err, Error::LegacyNoHits { top_k: TopK::K(2) });
        assert_eq!(err.to_string(), "legacy mAP@2 is undefined: no query has a relevant item in its top 2");
    }

    #[test]
    fn legacy_matches_brute_force() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        for (n_bits, n_db) in [(4, 50), (6, 200), (8, 99)] {
            let q = random_codes(&mut rng, 15, n_bits);
            let db = random_codes(&mut rng, n_db, n_bits);
            let ql = random_labels(&mut rng, 15, 4);
            let dl: Vec<usize> =
                (0..n_db).map(|_| if rng.random_range(0..5) == 0 { rng.random_range(1..4) } else { 0 }).collect();
            for k in [TopK::K(1), TopK::K(3), TopK::K(20), TopK::All] {
                let got = legacy_map(&q, &ql, &db, &dl, k).ok();
                let expect = brute_legacy(&q, &ql, &db, &dl, k);
                match (got, expect) {
                    (Some(g), Some(e)) => assert!(close(g, e, 1e-12), "K = {k}: {g} vs {e}"),
                    (None, None) => {}
                    other => panic!("K = {k}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn errors() {
        let q = codes(&["0101", "0000"]);
        let db = codes(&["0101", "1111", "0011"]);
        let (ql, dl) = ([0, 1], [0, 1, 2]);
        let labels_err = Some(Error::LabelsLength { set: "query set", n_codes: 2, n_labels: 1 });
        assert_eq!(precision_at(&q, &[0], &db, &dl, &[1]).err(), labels_err);
        assert_eq!(precision_recall_within_radius(&q, &[0], &db, &dl, 1).err(), labels_err);
        assert_eq!(pr_curve(&q, &[0], &db, &dl).err(), labels_err);
        assert_eq!(tie_aware_map(&q, &[0], &db, &dl, &[TopK::All]).err(), labels_err);
        assert_eq!(legacy_map(&q, &[0], &db, &dl, TopK::All).err(), labels_err);
        assert_eq!(
            tie_aware_map(&q, &ql, &db, &[0, 1], &[TopK::All]),
            Err(Error::LabelsLength { set: "database", n_codes: 3, n_labels: 2 })
        );
        assert_eq!(precision_at(&q, &ql, &db, &dl, &[3, 0]), Err(Error::ZeroK));
        assert_eq!(tie_aware_map(&q, &ql, &db, &dl, &[TopK::K(0)]), Err(Error::ZeroK));
        assert_eq!(legacy_map(&q, &ql, &db, &dl, TopK::K(0)), Err(Error::ZeroK));
        let wide = codes(&["01010"]);
        let mismatch = Error::BitsMismatch { query_bits: 4, database_bits: 5 };
        assert_eq!(precision_at(&q, &ql, &wide, &[0], &[1]), Err(mismatch.clone()));
        assert_eq!(pr_curve(&q, &ql, &wide, &[0]).err(), Some(mismatch.clone()));
        assert_eq!(tie_aware_map(&q, &ql, &wide, &[0], &[TopK::All]), Err(mismatch.clone()));
        assert_eq!(legacy_map(&q, &ql, &wide, &[0], TopK::All), Err(mismatch));
        let empty = PackedCodes::from_bits(Array2::from_elem((0, 4), false).view());
        assert_eq!(precision_at(&empty, &[], &db, &dl, &[1]), Err(Error::EmptySet { set: "query set" }));
        assert_eq!(pr_curve(&q, &ql, &empty, &[]).err(), Some(Error::EmptySet { set: "database" }));
        assert_eq!(tie_aware_map(&q, &ql, &empty, &[], &[TopK::All]), Err(Error::EmptySet { set: "database" }));
        assert_eq!(legacy_map(&empty, &[], &db, &dl, TopK::All), Err(Error::EmptySet { set: "query set" }));
    }
}
