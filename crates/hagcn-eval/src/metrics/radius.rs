//! Precision and recall within a Hamming radius `ρ`: a query retrieves the items at distance
//! `d ≤ ρ`; with `T_ρ` retrieved items, `A_ρ` of them relevant, and `R` relevant items in
//! the whole database,
//!
//! ```text
//! precision_ρ = A_ρ / T_ρ   (0 when T_ρ = 0),     recall_ρ = A_ρ / R   (0 when R = 0),
//! ```
//!
//! each averaged over all queries; [`pr_curve`] gives every `ρ = 0..=n_bits` from one pass
//! per query (the counts per distance, then their cumulative sums).

use super::inputs::{check_inputs, distance_counts};
use crate::codes::PackedCodes;
use crate::error::Result;
use crate::rank::{Ranker, TopK};

/// Precision and recall within a Hamming radius, averaged over all queries.
///
/// See the [module docs](crate::metrics) for the definitions.
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
/// As [`precision_at`](crate::precision_at) (except for the cut-off).
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

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::super::testing::{close, random_labels};
    use super::*;
    use crate::rank::tests::{brute_rank, codes, random_codes};

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
}
