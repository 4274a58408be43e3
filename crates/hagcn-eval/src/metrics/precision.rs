//! Precision at `N` of the Hamming ranking: with `rel_i` as in [`crate::map`] and
//! `N' = min(N, |database|)`,
//!
//! ```text
//! P@N = (1 / N') Σ_{i=1}^{N'} rel_i,
//! ```
//!
//! averaged over all queries in query order.

use super::inputs::check_inputs;
use crate::codes::PackedCodes;
use crate::error::{Error, Result};
use crate::map::query_mean;
use crate::rank::{Ranker, TopK};

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

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::super::testing::{close, random_labels};
    use super::*;
    use crate::rank::tests::{brute_rank, codes, random_codes};

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
}
