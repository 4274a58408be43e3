//! Mean average precision of a Hamming ranking.
//!
//! For one query, let `rel_i = 1` when the `i`-th ranked database item (1-based, ranking
//! as in [`crate::rank`]) has the query's label, and `P@i = (Σ_{j ≤ i} rel_j) / i`. Among
//! the top `K`,
//!
//! ```text
//! AP@K = (1 / R_K) Σ_{i=1}^{min(K, N)} rel_i · P@i,    R_K = Σ_{i=1}^{min(K, N)} rel_i,
//! ```
//!
//! and `AP@K = 0` when `R_K = 0`. `mAP@K` is the mean of `AP@K` over **all** queries,
//! including those with no relevant item in their top `K` (spec §4 and §7; the legacy
//! reference divides by the queries with a hit instead). `K = all` means `K = N`.
//!
//! Each query is ranked once, to the largest requested `K`, and every `AP@K` is read off
//! one walk down that ranking. Everything is `f64`; the per-query sums run in rank order
//! and the mean sums the per-query values in query order, so the result is bit-for-bit
//! the same for any number of threads.

use crate::codes::PackedCodes;
use crate::error::{Error, Result};
use crate::rank::{Ranker, TopK};

/// `mAP@K` of the Hamming ranking of `query` against `database`, one value per entry of
/// `ks`, in the same order.
///
/// An item is relevant to a query when their labels are equal. Each query is ranked once,
/// to the largest `K` in `ks`. An empty `ks` gives an empty vector (after validation).
///
/// ```
/// use hagcn_eval::{PackedCodes, TopK, mean_average_precision};
/// use ndarray::array;
///
/// let db = PackedCodes::from_bits(array![[true, true], [false, false], [true, false]].view());
/// let q = PackedCodes::from_bits(array![[false, false]].view());
/// // Ranking 1 (d = 0), 2 (d = 1), 0 (d = 2); relevant: items 0 and 2 (label 3).
/// // AP@all = (1/2)(1/2 + 2/3) = 7/12; AP@1 = 0.
/// let map = mean_average_precision(&q, &[3], &db, &[3, 5, 3], &[TopK::All, TopK::K(1)]).unwrap();
/// assert!((map[0] - 7.0 / 12.0).abs() < 1e-15);
/// assert_eq!(map[1], 0.0);
/// ```
///
/// # Errors
///
/// [`Error::ZeroK`] if `ks` holds `K(0)`; [`Error::LabelsLength`] if a label slice's
/// length differs from its number of codes; and the errors of
/// [`hamming_rank`](crate::hamming_rank) for the codes.
pub fn mean_average_precision(
    query: &PackedCodes,
    query_labels: &[usize],
    database: &PackedCodes,
    db_labels: &[usize],
    ks: &[TopK],
) -> Result<Vec<f64>> {
    check_labels("query set", query, query_labels)?;
    check_labels("database", database, db_labels)?;
    for k in ks {
        k.validate()?;
    }
    crate::rank::validate_sets(query, database)?;
    let n_database = database.n_codes();
    let Some(k_max) = ks.iter().map(|k| k.len_for(n_database)).max() else {
        return Ok(Vec::new());
    };
    // Distinct cut-offs in increasing order; `slot[j]` is where `ks[j]` lands among them.
    let mut cuts: Vec<usize> = ks.iter().map(|k| k.len_for(n_database)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let slot: Vec<usize> = ks
        .iter()
        .map(|k| {
            cuts.binary_search(&k.len_for(n_database))
                .expect("cut-off listed")
        })
        .collect();

    let ranker = Ranker::new(query, database, TopK::K(k_max))?;
    let per_query: Vec<Vec<f64>> = ranker.map_rankings(|q_idx, ranking| {
        let label = query_labels[q_idx];
        let mut aps = Vec::with_capacity(cuts.len());
        let (mut hits, mut sum) = (0usize, 0.0f64);
        let mut rank = 0usize;
        ranking.for_each(|db_idx, _| {
            rank += 1;
            if db_labels[db_idx] == label {
                hits += 1;
                sum += hits as f64 / rank as f64;
            }
            if cuts.get(aps.len()) == Some(&rank) {
                aps.push(if hits == 0 { 0.0 } else { sum / hits as f64 });
            }
        });
        assert_eq!(aps.len(), cuts.len(), "the ranking reaches every cut-off");
        aps
    });
    let n_queries = per_query.len() as f64;
    Ok(slot
        .iter()
        .map(|&s| {
            let mut total = 0.0f64;
            for aps in &per_query {
                total += aps[s];
            }
            total / n_queries
        })
        .collect())
}

fn check_labels(set: &'static str, codes: &PackedCodes, labels: &[usize]) -> Result<()> {
    if labels.len() != codes.n_codes() {
        return Err(Error::LabelsLength {
            set,
            n_codes: codes.n_codes(),
            n_labels: labels.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rank::tests::{brute_rank, codes, random_codes};
    use ndarray::Array2;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `mAP@K` straight from the definition, over a full stable sort of `(distance, index)`.
    fn brute_map(
        q: &PackedCodes,
        q_labels: &[usize],
        db: &PackedCodes,
        db_labels: &[usize],
        k: TopK,
    ) -> f64 {
        let mut total = 0.0f64;
        for (q_idx, &label) in q_labels.iter().enumerate() {
            let ranking = brute_rank(q, q_idx, db);
            let (mut r_k, mut sum) = (0usize, 0.0f64);
            for i in 1..=k.len_for(db.n_codes()) {
                if db_labels[ranking[i - 1].1] == label {
                    r_k += 1;
                    sum += r_k as f64 / i as f64;
                }
            }
            total += if r_k == 0 { 0.0 } else { sum / r_k as f64 };
        }
        total / q_labels.len() as f64
    }

    /// Checks `mean_average_precision` against `expect` (to rounding) and against the
    /// brute-force definition (exactly).
    fn check(
        query: &PackedCodes,
        query_labels: &[usize],
        database: &PackedCodes,
        db_labels: &[usize],
        ks: &[TopK],
        expect: &[f64],
    ) {
        let got = mean_average_precision(query, query_labels, database, db_labels, ks).unwrap();
        assert_eq!(got.len(), ks.len());
        for ((&k, &g), &e) in ks.iter().zip(&got).zip(expect) {
            assert!((g - e).abs() < 1e-12, "mAP@{k}: got {g}, expected {e}");
            let brute = brute_map(query, query_labels, database, db_labels, k);
            assert_eq!(
                g.to_bits(),
                brute.to_bits(),
                "mAP@{k}: {g} vs brute force {brute}"
            );
        }
    }

    #[test]
    fn hand_computed_map() {
        // Database (bits as written, bit 0 first) and labels:
        //   d0 = 11 (0), d1 = 01 (1), d2 = 00 (1), d3 = 10 (0).
        // Query 00, label 0: distances 2 1 0 1 → ranking d2 d1 d3 d0, rel 0 0 1 1.
        //   AP@1 = AP@2 = 0; AP@3 = (1/1)(1/3) = 1/3; AP@all = (1/2)(1/3 + 2/4) = 5/12.
        // Query 11, label 1: distances 0 1 2 1 → ranking d0 d1 d3 d2, rel 0 1 0 1.
        //   AP@1 = 0; AP@2 = AP@3 = 1/2; AP@all = (1/2)(1/2 + 2/4) = 1/2.
        // Query 01, label 9: nothing relevant, AP = 0 at every K, but it still counts.
        // With the first two queries: mAP@1 = 0, @2 = 1/4, @3 = 5/12, @all = @10 = 11/24.
        let db = codes(&["11", "01", "00", "10"]);
        let db_labels = [0, 1, 1, 0];
        let ks = [TopK::K(1), TopK::K(2), TopK::K(3), TopK::All, TopK::K(10)];
        let two = codes(&["00", "11"]);
        let expect = [0.0, 0.25, 5.0 / 12.0, 11.0 / 24.0, 11.0 / 24.0];
        check(&two, &[0, 1], &db, &db_labels, &ks, &expect);
        let three = codes(&["00", "11", "01"]);
        let expect = expect.map(|m| m * 2.0 / 3.0);
        check(&three, &[0, 1, 9], &db, &db_labels, &ks, &expect);
    }

    #[test]
    fn perfect_and_hopeless_rankings() {
        // Relevant items all ahead of the rest: AP = 1 at every K with a hit.
        let db = codes(&["000", "001", "111", "110"]);
        let labels = [4, 4, 2, 2];
        let q = codes(&["000", "111"]);
        check(
            &q,
            &[4, 2],
            &db,
            &labels,
            &[TopK::K(1), TopK::All],
            &[1.0, 1.0],
        );
        // Relevant items last: AP@2 = 0, AP@all = (1/2)(1/3 + 2/4) = 5/12.
        check(
            &q,
            &[2, 4],
            &db,
            &labels,
            &[TopK::K(2), TopK::All],
            &[0.0, 5.0 / 12.0],
        );
    }

    #[test]
    fn matches_brute_force_with_many_ties() {
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        for (n_bits, n_db, n_classes) in [
            (3, 40, 2),
            (4, 200, 3),
            (6, 500, 5),
            (8, 333, 4),
            (28, 120, 3),
            (70, 64, 2),
        ] {
            let n_q = 23;
            let q = random_codes(&mut rng, n_q, n_bits);
            let db = random_codes(&mut rng, n_db, n_bits);
            // Some queries carry a label no database item has (R_K = 0 at every K).
            let q_labels: Vec<usize> = (0..n_q)
                .map(|i| {
                    if i % 5 == 0 {
                        99
                    } else {
                        rng.random_range(0..n_classes)
                    }
                })
                .collect();
            let db_labels: Vec<usize> = (0..n_db).map(|_| rng.random_range(0..n_classes)).collect();
            let ks = [
                TopK::K(7),
                TopK::All,
                TopK::K(1),
                TopK::K(n_db + 10),
                TopK::K(2),
                TopK::K(n_db - 1),
                TopK::K(7),
                TopK::K(n_db),
                TopK::K(n_db / 3),
            ];
            let expect: Vec<f64> = ks
                .iter()
                .map(|&k| brute_map(&q, &q_labels, &db, &db_labels, k))
                .collect();
            check(&q, &q_labels, &db, &db_labels, &ks, &expect);
            // Each K alone agrees with the joint computation.
            for (&k, &e) in ks.iter().zip(&expect) {
                check(&q, &q_labels, &db, &db_labels, &[k], &[e]);
            }
        }
    }

    #[test]
    fn same_bits_for_any_thread_count() {
        let mut rng = ChaCha8Rng::seed_from_u64(33);
        let q = random_codes(&mut rng, 300, 16);
        let db = random_codes(&mut rng, 5000, 16);
        let q_labels: Vec<usize> = (0..300).map(|_| rng.random_range(0..10)).collect();
        let db_labels: Vec<usize> = (0..5000).map(|_| rng.random_range(0..10)).collect();
        let ks = [TopK::K(100), TopK::All];
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| mean_average_precision(&q, &q_labels, &db, &db_labels, &ks).unwrap())
        };
        let one: Vec<u64> = run(1).iter().map(|m| m.to_bits()).collect();
        let four: Vec<u64> = run(4).iter().map(|m| m.to_bits()).collect();
        assert_eq!(one, four);
    }

    #[test]
    fn errors() {
        let q = codes(&["0101", "0000"]);
        let db = codes(&["0101", "1111", "0011"]);
        let map =
            |ql: &[usize], dl: &[usize], ks: &[TopK]| mean_average_precision(&q, ql, &db, dl, ks);
        assert_eq!(
            map(&[0], &[0, 1, 2], &[TopK::All]),
            Err(Error::LabelsLength {
                set: "query set",
                n_codes: 2,
                n_labels: 1
            })
        );
        assert_eq!(
            map(&[0, 1], &[0, 1], &[TopK::All]).unwrap_err().to_string(),
            "database has 3 codes but 2 labels"
        );
        assert_eq!(
            map(&[0, 1], &[0, 1, 2], &[TopK::K(5), TopK::K(0)]),
            Err(Error::ZeroK)
        );
        assert_eq!(map(&[0, 1], &[0, 1, 2], &[]), Ok(vec![]));
        let wide = codes(&["01010"]);
        assert_eq!(
            mean_average_precision(&q, &[0, 1], &wide, &[0], &[TopK::All]),
            Err(Error::BitsMismatch {
                query_bits: 4,
                database_bits: 5
            })
        );
        let empty = PackedCodes::from_bits(Array2::from_elem((0, 4), false).view());
        assert_eq!(
            mean_average_precision(&empty, &[], &db, &[0, 1, 2], &[TopK::All]),
            Err(Error::EmptySet { set: "query set" })
        );
        assert_eq!(
            mean_average_precision(&q, &[0, 1], &empty, &[], &[TopK::K(1)]),
            Err(Error::EmptySet { set: "database" })
        );
    }
}
