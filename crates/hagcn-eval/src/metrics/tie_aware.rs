//! Tie-aware mAP (McSherry & Najork, ECIR 2008): the expected `AP@K` when each group of equal
//! Hamming distance is put in a uniformly random order. A tie group of `m` positions holding
//! `x` relevant items, after `c` items of which `c_rel` are relevant, contributes
//!
//! ```text
//! E(c, c_rel, m, x) = (x / m) ((c_rel + 1) H + (x - 1)/(m - 1) J),
//! H = Σ_{i=1}^{m} 1 / (c + i),     J = Σ_{i=1}^{m} (i - 1) / (c + i),
//! ```
//!
//! and the group that straddles rank `K` is summed over the hypergeometric number of its
//! relevant items inside the top `K`; the derivation is in the [`metrics`](crate::metrics)
//! docs.

use super::inputs::{check_inputs, distance_counts};
use crate::codes::PackedCodes;
use crate::error::Result;
use crate::map::query_mean;
use crate::rank::{Ranker, TopK};

/// Tie-aware `mAP@K`: the expected `AP@K` over uniformly random orders within each group of
/// equal Hamming distance, averaged over all queries; one value per entry of `ks`.
///
/// The computation is exact for every `K`, `K = all` included (see the
/// [module docs](crate::metrics)): closed-form expectations for the tie groups inside the top `K`,
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

#[cfg(test)]
mod tests {
    use ndarray::Array2;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::super::testing::{close, random_labels};
    use super::*;
    use crate::mean_average_precision;
    use crate::rank::tests::{brute_rank, codes, random_codes};

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
}
