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
//! Only the ranks `p_1 < p_2 < …` of the relevant items matter: `R_K = #{j : p_j ≤ K}`
//! and `Σ_i rel_i · P@i = Σ_{j : p_j ≤ K} j / p_j`. Each query is scanned once for the
//! largest requested `K` and every `AP@K` is read off those ranks. For a small `K` they
//! come from the top-`K` ranking; for a `K` near `N` (`K = all`) they come from counting,
//! without materialising the ranking: an item at distance `d` with `c` items at distance
//! `d` before it in index order has rank `1 + #{items at distance < d} + c`.
//!
//! Everything is `f64`. The per-query sums run in rank order and the mean adds the
//! per-query values in query order, so the result is bit-for-bit the same for any number
//! of threads (and equal to the definition evaluated term by term in that order).

use crate::codes::PackedCodes;
use crate::error::{Error, Result};
use crate::rank::{Ranker, Ranking, TopK};

/// `mAP@K` of the Hamming ranking of `query` against `database`, one value per entry of
/// `ks`, in the same order.
///
/// An item is relevant to a query when their labels are equal (single-label data; the
/// spec's multi-label "any shared label" relevance is not covered by this function).
/// Each query is ranked once, to the largest `K` in `ks`. An empty `ks` gives an empty
/// vector (after validation).
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
    let per_query = average_precisions_per_query(query, query_labels, database, db_labels, ks)?;
    Ok(mean_over_queries(&per_query, ks.len()))
}

/// The mAP of each of `n_ks` cut-offs from [`average_precisions_per_query`]'s values: the
/// mean over the queries, summed in query order, exactly as [`mean_average_precision`]
/// takes it (so values gathered a block of queries at a time give its numbers, bit for bit).
pub fn mean_over_queries(per_query: &[Vec<f64>], n_ks: usize) -> Vec<f64> {
    (0..n_ks).map(|j| query_mean(per_query, |aps| aps[j])).collect()
}

/// `AP@K` of every query, one value per entry of `ks` in its order: what
/// [`mean_average_precision`] averages, in query order. The queries are independent, so a
/// caller may score them a block of queries at a time (to stay interruptible, as the
/// Python package does) and average the concatenated values in query order with the same
/// result, bit for bit.
///
/// # Errors
///
/// As [`mean_average_precision`].
pub fn average_precisions_per_query(
    query: &PackedCodes,
    query_labels: &[usize],
    database: &PackedCodes,
    db_labels: &[usize],
    ks: &[TopK],
) -> Result<Vec<Vec<f64>>> {
    check_labels("query set", query, query_labels)?;
    check_labels("database", database, db_labels)?;
    for k in ks {
        k.validate()?;
    }
    crate::rank::validate_sets(query, database)?;
    let n_database = database.n_codes();
    let Some(k_max) = ks.iter().map(|k| k.len_for(n_database)).max() else {
        return Ok(vec![Vec::new(); query.n_codes()]);
    };
    // Distinct cut-offs in increasing order; `slot[j]` is where `ks[j]` lands among them.
    let mut cuts: Vec<usize> = ks.iter().map(|k| k.len_for(n_database)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let slot: Vec<usize> =
        ks.iter().map(|k| cuts.binary_search(&k.len_for(n_database)).expect("cut-off listed")).collect();

    // Each query's AP at the distinct cut-offs, then in the order of `ks`.
    let in_order = |aps: Vec<f64>| slot.iter().map(|&s| aps[s]).collect::<Vec<f64>>();
    Ok(if uses_counting(k_max, n_database) {
        let ranker = Ranker::new(query, database, TopK::All)?;
        ranker.par_map_queries(|q_idx| {
            let positions = relevant_positions_counting(&ranker, q_idx, query_labels[q_idx], db_labels);
            in_order(average_precisions(&positions, &cuts))
        })
    } else {
        let ranker = Ranker::new(query, database, TopK::K(k_max))?;
        ranker.map_rankings(|q_idx, ranking| {
            let positions = relevant_positions(ranking, query_labels[q_idx], db_labels);
            in_order(average_precisions(&positions, &cuts))
        })
    })
}

/// The mean of `value` over the per-query results, summed in query order (so the result
/// does not depend on how the queries were split across threads).
pub(crate) fn query_mean<T>(per_query: &[T], value: impl Fn(&T) -> f64) -> f64 {
    let mut total = 0.0f64;
    for q in per_query {
        total += value(q);
    }
    total / per_query.len() as f64
}

/// Whether to score by counting over the whole database rather than through a top-`K`
/// ranking: a top-`K` scan keeps about `K (1 + ln(N / K))` items on the way, each dearer
/// than one counted item, so counting wins once `K` is a sizeable fraction of `N`.
fn uses_counting(k_max: usize, n_database: usize) -> bool {
    k_max.saturating_mul(32) >= n_database
}

/// The 1-based ranks, ascending, of the items in `ranking` labelled `label`.
fn relevant_positions(ranking: &Ranking, label: usize, db_labels: &[usize]) -> Vec<usize> {
    let mut positions = Vec::new();
    let mut rank = 0;
    ranking.for_each(|db_idx, _| {
        rank += 1;
        if db_labels[db_idx] == label {
            positions.push(rank);
        }
    });
    positions
}

/// The 1-based ranks, ascending, of all database items labelled `label`, by counting.
///
/// One scan in index order records, for each relevant item, its distance `d` and how many
/// items at distance `d` came before it (its place within bucket `d`). Its rank is then
/// the number of items at distances `< d` plus that place plus one, and a stable counting
/// sort by `d` puts the relevant items in rank order.
fn relevant_positions_counting(ranker: &Ranker, query_idx: usize, label: usize, db_labels: &[usize]) -> Vec<usize> {
    let n_buckets = ranker.n_bits() + 1;
    // Per distance: items (then, after the prefix sum, the rank offset of the bucket) and
    // relevant items (then the first slot of that bucket among the relevant ranks).
    let mut bucket_start = vec![0usize; n_buckets];
    let mut slot_start = vec![0usize; n_buckets];
    let mut relevant: Vec<(u32, usize)> = Vec::new();
    ranker.for_each_distance(query_idx, |db_idx, dist| {
        let d = dist as usize;
        if db_labels[db_idx] == label {
            relevant.push((dist, bucket_start[d]));
            slot_start[d] += 1;
        }
        bucket_start[d] += 1;
    });
    exclusive_prefix_sum(&mut bucket_start);
    exclusive_prefix_sum(&mut slot_start);
    let mut positions = vec![0usize; relevant.len()];
    for (dist, place) in relevant {
        let slot = &mut slot_start[dist as usize];
        positions[*slot] = bucket_start[dist as usize] + place + 1;
        *slot += 1;
    }
    positions
}

/// Turns counts into the running total before each entry.
fn exclusive_prefix_sum(counts: &mut [usize]) {
    let mut total = 0;
    for c in counts {
        let n = *c;
        *c = total;
        total += n;
    }
}

/// `AP@K` for each cut-off in `cuts` (increasing), from the ascending 1-based ranks of
/// the relevant items: `AP@K = (1 / R_K) Σ_{j : p_j ≤ K} j / p_j`, 0 when `R_K = 0`.
fn average_precisions(positions: &[usize], cuts: &[usize]) -> Vec<f64> {
    let ap = |sum: f64, hits: usize| if hits == 0 { 0.0 } else { sum / hits as f64 };
    let mut aps = Vec::with_capacity(cuts.len());
    let (mut hits, mut sum) = (0usize, 0.0f64);
    for &p in positions {
        while aps.len() < cuts.len() && cuts[aps.len()] < p {
            aps.push(ap(sum, hits));
        }
        if aps.len() == cuts.len() {
            break;
        }
        hits += 1;
        sum += hits as f64 / p as f64;
    }
    while aps.len() < cuts.len() {
        aps.push(ap(sum, hits));
    }
    aps
}

fn check_labels(set: &'static str, codes: &PackedCodes, labels: &[usize]) -> Result<()> {
    if labels.len() != codes.n_codes() {
        return Err(Error::LabelsLength { set, n_codes: codes.n_codes(), n_labels: labels.len() });
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
    fn brute_map(q: &PackedCodes, q_labels: &[usize], db: &PackedCodes, db_labels: &[usize], k: TopK) -> f64 {
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
            assert_eq!(g.to_bits(), brute.to_bits(), "mAP@{k}: {g} vs brute force {brute}");
        }
    }

    #[test]
    fn per_query_values_average_to_the_map_bit_for_bit_in_any_blocks_of_queries() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (q, db) = (random_codes(&mut rng, 37, 12), random_codes(&mut rng, 300, 12));
        let q_labels: Vec<usize> = (0..37).map(|_| rng.random_range(0..3)).collect();
        let db_labels: Vec<usize> = (0..300).map(|_| rng.random_range(0..3)).collect();
        for ks in [vec![TopK::K(5), TopK::All, TopK::K(5)], vec![TopK::K(250), TopK::K(1)]] {
            let want = mean_average_precision(&q, &q_labels, &db, &db_labels, &ks).unwrap();
            let mut per_query = Vec::new();
            for start in (0..37).step_by(8) {
                let end = (start + 8).min(37);
                let block =
                    PackedCodes::from_bytes(q.bytes().slice(ndarray::s![start..end, ..]).to_owned(), 12).unwrap();
                per_query
                    .extend(average_precisions_per_query(&block, &q_labels[start..end], &db, &db_labels, &ks).unwrap());
            }
            let got = mean_over_queries(&per_query, ks.len());
            assert_eq!(
                got.iter().map(|m| m.to_bits()).collect::<Vec<_>>(),
                want.iter().map(|m| m.to_bits()).collect::<Vec<_>>()
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
        check(&q, &[4, 2], &db, &labels, &[TopK::K(1), TopK::All], &[1.0, 1.0]);
        // Relevant items last: AP@2 = 0, AP@all = (1/2)(1/3 + 2/4) = 5/12.
        check(&q, &[2, 4], &db, &labels, &[TopK::K(2), TopK::All], &[0.0, 5.0 / 12.0]);
    }

    #[test]
    fn matches_brute_force_with_many_ties() {
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        for (n_bits, n_db, n_classes) in [(3, 40, 2), (4, 200, 3), (6, 500, 5), (8, 333, 4), (28, 120, 3), (70, 64, 2)]
        {
            let n_q = 23;
            let q = random_codes(&mut rng, n_q, n_bits);
            let db = random_codes(&mut rng, n_db, n_bits);
            // Some queries carry a label no database item has (R_K = 0 at every K).
            let q_labels: Vec<usize> =
                (0..n_q).map(|i| if i % 5 == 0 { 99 } else { rng.random_range(0..n_classes) }).collect();
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
            let expect: Vec<f64> = ks.iter().map(|&k| brute_map(&q, &q_labels, &db, &db_labels, k)).collect();
            check(&q, &q_labels, &db, &db_labels, &ks, &expect);
            // Each K alone agrees with the joint computation.
            for (&k, &e) in ks.iter().zip(&expect) {
                check(&q, &q_labels, &db, &db_labels, &[k], &[e]);
            }
        }
    }

    #[test]
    fn counting_and_ranking_agree() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        for n_bits in [3, 9, 64, 100] {
            let q = random_codes(&mut rng, 9, n_bits);
            let db = random_codes(&mut rng, 1500, n_bits);
            let q_labels: Vec<usize> = (0..9).map(|_| rng.random_range(0..4)).collect();
            let db_labels: Vec<usize> = (0..1500).map(|_| rng.random_range(0..4)).collect();
            let full = Ranker::new(&q, &db, TopK::All).unwrap();
            let by_counting: Vec<Vec<usize>> =
                full.par_map_queries(|i| relevant_positions_counting(&full, i, q_labels[i], &db_labels));
            let by_ranking = full.map_rankings(|i, r| relevant_positions(r, q_labels[i], &db_labels));
            assert_eq!(by_counting, by_ranking);
            for (i, positions) in by_counting.iter().enumerate() {
                let brute: Vec<usize> = brute_rank(&q, i, &db)
                    .iter()
                    .enumerate()
                    .filter(|&(_, &(_, idx))| db_labels[idx] == q_labels[i])
                    .map(|(r, _)| r + 1)
                    .collect();
                assert_eq!(positions, &brute);
            }
        }
    }

    #[test]
    fn average_precision_from_ranks() {
        // Relevant at ranks 2 and 5: AP@1 = 0, AP@2 = (1/1)(1/2), AP@4 = 1/2,
        // AP@5 = AP@9 = (1/2)(1/2 + 2/5) = 0.45.
        let aps = average_precisions(&[2, 5], &[1, 2, 4, 5, 9]);
        assert_eq!(aps, vec![0.0, 0.5, 0.5, 0.45, 0.45]);
        assert_eq!(average_precisions(&[], &[1, 3]), vec![0.0, 0.0]);
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
        let map = |ql: &[usize], dl: &[usize], ks: &[TopK]| mean_average_precision(&q, ql, &db, dl, ks);
        assert_eq!(
            map(&[0], &[0, 1, 2], &[TopK::All]),
            Err(Error::LabelsLength { set: "query set", n_codes: 2, n_labels: 1 })
        );
        assert_eq!(map(&[0, 1], &[0, 1], &[TopK::All]).unwrap_err().to_string(), "database has 3 codes but 2 labels");
        assert_eq!(map(&[0, 1], &[0, 1, 2], &[TopK::K(5), TopK::K(0)]), Err(Error::ZeroK));
        assert_eq!(map(&[0, 1], &[0, 1, 2], &[]), Ok(vec![]));
        let wide = codes(&["01010"]);
        assert_eq!(
            mean_average_precision(&q, &[0, 1], &wide, &[0], &[TopK::All]),
            Err(Error::BitsMismatch { query_bits: 4, database_bits: 5 })
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
