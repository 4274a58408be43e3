//! The reference implementation's legacy "mAP", which is **not a valid mAP** (integer class
//! ids multiplied as relevance, queries without a hit skipped): see [`legacy_map`].

use super::inputs::check_inputs;
use crate::codes::PackedCodes;
use crate::error::{Error, Result};
use crate::rank::{Ranker, TopK};

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

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::super::testing::{close, random_labels};
    use super::*;
    use crate::mean_average_precision;
    use crate::rank::tests::{brute_rank, codes, random_codes};

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
}
