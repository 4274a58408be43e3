//! An approximate k-nearest-neighbour graph by NN-descent (Dong, Charikar and Li, "Efficient
//! k-nearest neighbor graph construction for generic similarity measures", WWW 2011).
//!
//! # The method
//!
//! NN-descent rests on "a neighbour of a neighbour is likely a neighbour". Every point `v`
//! keeps a pool `B[v]` of its `K` best candidates so far (`K ≥ k`,
//! [`NnDescentOptions::pool`]), each flagged *new* until it has taken part in a join.
//!
//! **Start.** As in PyNNDescent, the pools start from random-projection trees
//! ([`NnDescentOptions::trees`]): each node of a tree splits its points by the hyperplane
//! halfway between two of them, chosen at random, down to leaves of at most `K` points, and
//! every pair within a leaf is offered to both pools. Pools still short of `K` are filled with
//! random points. (Random pools alone, `trees = 0`, reach about the same recall in more
//! rounds: on 20,000 × 768 embeddings, about 63 million keys instead of 36 million.)
//!
//! **Rounds.** Each round
//!
//! 1. samples up to `⌈ρK⌉` of the new entries of `B[v]` into `new[v]` (and flags them old);
//!    the entries that were already old form `old[v]`;
//! 2. adds the reverse lists, `new'[v] = {u : v ∈ new[u]}` and likewise `old'[v]`, each
//!    sampled down to `⌈ρK⌉` ([`NnDescentOptions::sample_rate`]);
//! 3. *local join*: for every pair `(u₁, u₂)` with `u₁, u₂ ∈ new[v]`, or `u₁ ∈ new[v]`,
//!    `u₂ ∈ old[v]`, computes their key once and offers `u₂` to `B[u₁]` and `u₁` to `B[u₂]`;
//! 4. stops when fewer than `δ n K` pool entries changed in the round
//!    ([`NnDescentOptions::delta`]), or after [`NnDescentOptions::max_rounds`].
//!
//! The result is the best `k` of each pool. Keys are those of the exact search in
//! [`knn`](crate::knn): `â·b̂` for cosine (rows normalised) and `2a·b − ‖a‖² − ‖b‖²` for
//! Euclidean, here from `f32` dot products computed four at a time; the reported values are
//! recomputed in `f64` and sorted the same way (see the [`knn`](crate::knn) module docs).
//!
//! # Determinism
//!
//! All randomness is ChaCha8 from [`NnDescentOptions::seed`], one stream per (phase, round,
//! point or tree), so it does not depend on which thread handles a point. A key is a function
//! of the unordered pair alone (the dot product's summation order is fixed and symmetric), so
//! it does not matter which join computes it. The rounds are synchronous: the candidate lists
//! of a round are computed from the pools at its start (each pool read in its sorted order),
//! and the joins then only offer candidates to pools. A pool is a bounded heap under the
//! strict total order (key descending, index ascending), and the best `K` of a set do not
//! depend on the order the set arrives in; a candidate evicted during a round ranks below the
//! pool's threshold, which only rises, so it cannot come back. Hence the pools after a round,
//! with their flags (an entry inserted in the round is new; one present at its start keeps its
//! flag), are the same for any thread count and schedule; so are the pools after the trees'
//! leaves, and the random filling then depends only on them. The joins run in parallel with
//! one lock per pool; a pool's threshold is also kept in an atomic for a lock-free early
//! rejection, which may read a stale (lower) value and so only lets more candidates through
//! to the exact test.
//!
//! # Cost and quality
//!
//! A round computes at most `n (ρK)(3ρK)` keys of `d` multiply–adds, fewer as the pools
//! settle; a few rounds suffice and their number grows slowly with `n`. Recall against the
//! exact graph ([`KnnGraph::recall`]) depends on the data; a pool larger than `k` buys much of
//! it (on the overlapping clusters of `tests/knn.rs`, 10,000 × 64, `k = 10`: 0.82 with a
//! pool of 10, 0.995 with the default 30). On the overlapping clusters of `benches/knn.rs`
//! (768 dimensions, cosine) it falls as `n` grows at a fixed pool: 0.978, 0.952, 0.925 and
//! 0.893 at 20,000, 50,000, 100,000 and 200,000 rows; a pool of 40 gives 0.979 at 50,000 and
//! 0.964 at 100,000 rows for about 1.5× the time. On well-separated clusters it is 0.9999.
//! The times are in [`EXACT_MAX_ROWS`]'s docs.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::Result;
use crate::knn::{
    Candidate, EXACT_MAX_ROWS, KnnGraph, Metric, Prepared, Ranked, check_k, knn_graph_exact, offer, sorted_graph,
};

/// Settings of [`knn_graph_nn_descent`].
#[derive(Clone, Debug, PartialEq)]
pub struct NnDescentOptions {
    /// Seed of all the randomness (the initial pools and the samples of every round).
    pub seed: u64,
    /// Candidates kept per point while building (`K`), at least `k`; the graph keeps the best
    /// `k`. `None` takes `max(2k, k + 20)`, capped at `n − 1`.
    pub pool: Option<usize>,
    /// Sample rate `ρ ∈ (0, 1]`: each round joins up to `⌈ρK⌉` new candidates per point and
    /// as many from each reverse list.
    pub sample_rate: f64,
    /// Stop when fewer than `delta · n · K` pool entries changed in a round.
    pub delta: f64,
    /// Stop after this many rounds at the latest.
    pub max_rounds: usize,
    /// Random-projection trees whose leaves seed the pools (0: random pools only).
    pub trees: usize,
}

impl NnDescentOptions {
    /// The defaults with the given seed: automatic pool, `ρ = 1`, `δ = 0.001`, at most
    /// 20 rounds, 8 trees.
    pub fn new(seed: u64) -> Self {
        NnDescentOptions { seed, pool: None, sample_rate: 1.0, delta: 0.001, max_rounds: 20, trees: 8 }
    }
}

impl Default for NnDescentOptions {
    /// [`NnDescentOptions::new`] with seed 0.
    fn default() -> Self {
        NnDescentOptions::new(0)
    }
}

/// The approximate `k`-nearest-neighbour graph of the rows of `data` (`n × d`) by NN-descent
/// (see the [module docs](self)); a row is not its own neighbour.
///
/// Deterministic for a given `options.seed`, and identical for any thread count. Fails like
/// [`knn_graph_exact`] on bad input, and with
/// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for a pool smaller than `k`, a
/// sample rate outside `(0, 1]` or a negative or NaN `delta`.
pub fn knn_graph_nn_descent(
    data: ndarray::ArrayView2<f32>,
    k: usize,
    metric: Metric,
    options: &NnDescentOptions,
) -> Result<KnnGraph> {
    const OP: &str = "knn_graph_nn_descent";
    let rows = Prepared::new(OP, data, metric)?;
    let n = rows.n();
    check_k(OP, k, n - 1)?;
    let pool = options.pool.unwrap_or((2 * k).max(k + 20)).min(n - 1);
    if pool < k {
        return Err(crate::Error::InvalidArgument {
            op: OP,
            reason: format!("the pool ({pool}) must hold at least k = {k} candidates"),
        });
    }
    if !(options.sample_rate > 0.0 && options.sample_rate <= 1.0) {
        return Err(crate::Error::InvalidArgument {
            op: OP,
            reason: format!("the sample rate must be in (0, 1], got {}", options.sample_rate),
        });
    }
    if options.delta.is_nan() || options.delta < 0.0 {
        return Err(crate::Error::InvalidArgument {
            op: OP,
            reason: format!("delta must be a non-negative number, got {}", options.delta),
        });
    }
    let pools = Pools::build(&rows, pool, options);
    let chosen: Vec<Candidate> = pools
        .lists
        .into_iter()
        .flat_map(|list| {
            let mut list = list.into_inner().unwrap_or_else(PoisonError::into_inner);
            list.entries.truncate(list.len);
            list.entries.sort_unstable_by(canonical);
            list.entries.into_iter().take(k).map(|e| Candidate { key: e.key, id: e.id })
        })
        .collect();
    Ok(sorted_graph(&rows, &rows, k, &chosen))
}

/// A pool entry: candidate `id` with its key, flagged new until it has joined, stamped with
/// the round that inserted it (0 for the initial pool).
#[derive(Clone, Copy, Debug)]
struct Entry {
    key: f32,
    id: u32,
    new: bool,
    round: u32,
}

impl Ranked for Entry {
    #[inline]
    fn key(&self) -> f32 {
        self.key
    }
    #[inline]
    fn id(&self) -> u32 {
        self.id
    }
}

/// Best first: key descending, index ascending (the strict total order of the heaps).
fn canonical(a: &Entry, b: &Entry) -> std::cmp::Ordering {
    b.key.total_cmp(&a.key).then(a.id.cmp(&b.id))
}

/// One point's pool: a bounded heap `entries[..len]` of capacity `entries.len()`, worst at
/// the root.
struct List {
    entries: Vec<Entry>,
    len: usize,
}

/// The random streams: ChaCha8 from the seed, one stream per (phase, round, point).
#[derive(Clone, Copy)]
enum Phase {
    Init = 0,
    Forward = 1,
    Reverse = 2,
    Tree = 3,
}

fn stream(base: &ChaCha8Rng, phase: Phase, round: usize, point: usize) -> ChaCha8Rng {
    let mut rng = base.clone();
    rng.set_stream(((round as u64) << 34) | ((phase as u64) << 32) | point as u64);
    rng
}

/// Moves a uniform sample of `m` of `items` (without replacement) to its front; returns them.
fn sample_front<'a>(items: &'a mut [u32], m: usize, rng: &mut ChaCha8Rng) -> &'a mut [u32] {
    let m = m.min(items.len());
    for i in 0..m {
        let j = rng.random_range(i..items.len());
        items.swap(i, j);
    }
    &mut items[..m]
}

/// Lanes of [`dot4`]'s accumulators.
const LANES: usize = 16;

/// The four products `a·b_p` in `f32` (all rows of one length). Lane `l` of pair `p`
/// accumulates `fma(a_i, b_p,i, ·)` over the coordinates `i ≡ l (mod 16)` in order, the
/// coordinates past the last multiple of 16 go to a sequential tail, and the result is the
/// lanes summed in order plus the tail. Each product thus depends only on its two rows, and
/// not on their order (`fma(x, y, s) = fma(y, x, s)`), so a key is a function of the
/// unordered pair. With AVX2 and FMA (detected at run time) the lanes are two 8-wide
/// registers per pair, the same arithmetic bit for bit; LLVM does not vectorise the portable
/// loop well for a run-time length. Four at a time, `a` is loaded once per four products.
fn dot4(a: &[f32], b: [&[f32]; 4]) -> [f32; 4] {
    let len = b.iter().fold(a.len(), |m, r| m.min(r.len()));
    let (a, b) = (&a[..len], b.map(|r| &r[..len]));
    let body = len / LANES * LANES;
    #[cfg(target_arch = "x86_64")]
    let acc = if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has the features the function is compiled for.
        unsafe { lanes_avx2(a, b, body) }
    } else {
        lanes_portable(a, b, body)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let acc = lanes_portable(a, b, body);
    let mut out = [0f32; 4];
    for p in 0..4 {
        let mut tail = 0f32;
        for (&x, &y) in a[body..].iter().zip(&b[p][body..]) {
            tail = x.mul_add(y, tail);
        }
        out[p] = acc[p].iter().sum::<f32>() + tail;
    }
    out
}

/// The lane sums of [`dot4`] over the first `body` coordinates (a multiple of [`LANES`], at
/// most every row's length).
fn lanes_portable(a: &[f32], b: [&[f32]; 4], body: usize) -> [[f32; LANES]; 4] {
    let mut acc = [[0f32; LANES]; 4];
    for c in (0..body).step_by(LANES) {
        for p in 0..4 {
            for l in 0..LANES {
                acc[p][l] = a[c + l].mul_add(b[p][c + l], acc[p][l]);
            }
        }
    }
    acc
}

/// [`lanes_portable`] with AVX2 and FMA: lanes `0..8` and `8..16` of each pair in two
/// registers, the same fused multiply–adds in the same order.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn lanes_avx2(a: &[f32], b: [&[f32]; 4], body: usize) -> [[f32; LANES]; 4] {
    use std::arch::x86_64::{__m256, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_setzero_ps, _mm256_storeu_ps};
    assert!(body <= a.len() && b.iter().all(|r| body <= r.len()));
    let mut acc: [__m256; 8] = [_mm256_setzero_ps(); 8];
    for c in (0..body).step_by(LANES) {
        // SAFETY: c + 16 ≤ body ≤ the length of every row (asserted above), so each
        // unaligned 8-float load reads inside its slice.
        unsafe {
            let x0 = _mm256_loadu_ps(a.as_ptr().add(c));
            let x1 = _mm256_loadu_ps(a.as_ptr().add(c + 8));
            for p in 0..4 {
                acc[2 * p] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(b[p].as_ptr().add(c)), acc[2 * p]);
                acc[2 * p + 1] = _mm256_fmadd_ps(x1, _mm256_loadu_ps(b[p].as_ptr().add(c + 8)), acc[2 * p + 1]);
            }
        }
    }
    let mut out = [[0f32; LANES]; 4];
    for p in 0..4 {
        // SAFETY: each store writes 8 floats into a 16-float array, at offset 0 or 8.
        unsafe {
            _mm256_storeu_ps(out[p].as_mut_ptr(), acc[2 * p]);
            _mm256_storeu_ps(out[p].as_mut_ptr().add(8), acc[2 * p + 1]);
        }
    }
    out
}

/// The NN-descent state: the rows, one locked pool per point and the pools' thresholds.
struct Pools<'r> {
    rows: &'r [f32],
    d: usize,
    metric: Metric,
    sq_norms: &'r [f32],
    lists: Vec<Mutex<List>>,
    /// Per point, the bits of the `f32` key a candidate must reach (`−∞` until the pool is
    /// full); a lower bound of the true threshold while other threads insert.
    threshold: Vec<AtomicU32>,
}

impl<'r> Pools<'r> {
    /// Runs NN-descent to convergence (see the module docs).
    fn build(prepared: &'r Prepared, capacity: usize, options: &NnDescentOptions) -> Self {
        let n = prepared.n();
        // Prepared rows are in standard layout, so this always succeeds.
        let rows = prepared.rows.as_slice().expect("prepared rows are row-major");
        let mut pools = Pools {
            rows,
            d: prepared.rows.ncols(),
            metric: prepared.metric,
            sq_norms: &prepared.sq_norms,
            lists: Vec::new(),
            threshold: (0..n).map(|_| AtomicU32::new(f32::NEG_INFINITY.to_bits())).collect(),
        };
        let base = ChaCha8Rng::seed_from_u64(options.seed);
        let empty = Entry { key: f32::NEG_INFINITY, id: u32::MAX, new: true, round: 0 };
        pools.lists = (0..n).map(|_| Mutex::new(List { entries: vec![empty; capacity], len: 0 })).collect();
        // The initial pools: every pair within a leaf of a random-projection tree…
        let leaves: Vec<Vec<u32>> =
            (0..options.trees).into_par_iter().flat_map_iter(|t| pools.tree_leaves(&base, t, capacity)).collect();
        leaves.par_iter().for_each_init(Vec::new, |partners, leaf| {
            for (a, &u) in leaf.iter().enumerate() {
                partners.clear();
                partners.extend_from_slice(&leaf[a + 1..]);
                for chunk in partners.chunks(4) {
                    pools.join(u, chunk, 0);
                }
            }
        });
        // …then random points up to the capacity.
        (0..n).into_par_iter().for_each(|v| {
            let mut guard = pools.lists[v].lock().unwrap_or_else(PoisonError::into_inner);
            let list = &mut *guard;
            let mut rng = stream(&base, Phase::Init, 0, v);
            let missing = capacity - list.len;
            let mut picked: Vec<u32> = Vec::with_capacity(missing);
            let known = |u: u32, list: &List, picked: &[u32]| {
                u as usize == v || list.entries[..list.len].iter().any(|e| e.id == u) || picked.contains(&u)
            };
            if capacity + 1 >= n {
                picked.extend((0..n as u32).filter(|&u| !known(u, list, &[])));
            } else {
                while picked.len() < missing {
                    let u = rng.random_range(0..n as u32);
                    if !known(u, list, &picked) {
                        picked.push(u);
                    }
                }
            }
            let mut threshold = f32::NEG_INFINITY;
            for chunk in picked.chunks(4) {
                for (&u, key) in chunk.iter().zip(pools.keys(v as u32, chunk)) {
                    threshold = offer(&mut list.entries, &mut list.len, Entry { key, id: u, ..empty });
                }
            }
            if missing > 0 {
                pools.threshold[v].store(threshold.to_bits(), Ordering::Relaxed);
            }
        });

        let per_sample = ((options.sample_rate * capacity as f64).ceil() as usize).max(1);
        for round in 1..=options.max_rounds {
            let (new, old) = pools.candidates(&base, round, per_sample);
            new.par_iter().zip(&old).for_each_init(Vec::new, |partners, (new, old)| {
                for (a, &u1) in new.iter().enumerate() {
                    partners.clear();
                    partners.extend_from_slice(&new[a + 1..]);
                    partners.extend_from_slice(old);
                    for chunk in partners.chunks(4) {
                        pools.join(u1, chunk, round);
                    }
                }
            });
            let changed: usize = pools
                .lists
                .par_iter_mut()
                .map(|l| {
                    let l = l.get_mut().unwrap_or_else(PoisonError::into_inner);
                    l.entries.iter().filter(|e| e.round == round as u32).count()
                })
                .sum();
            if (changed as f64) < options.delta * (n * capacity) as f64 {
                break;
            }
        }
        pools
    }

    /// The keys of `u` with each of `vs` (1 to 4 points) in the first `vs.len()` entries.
    /// A key is a function of the unordered pair (see [`dot4`]; the two squared norms are
    /// subtracted lower index first).
    #[inline]
    fn keys(&self, u: u32, vs: &[u32]) -> [f32; 4] {
        let d = self.d;
        let row = |i: u32| &self.rows[i as usize * d..(i as usize + 1) * d];
        let last = vs.len() - 1;
        let ab = dot4(row(u), [0, 1, 2, 3].map(|p| row(vs[p.min(last)])));
        let mut keys = ab;
        if self.metric == Metric::Euclidean {
            for (key, &v) in keys.iter_mut().zip(vs) {
                let (lo, hi) = (u.min(v) as usize, u.max(v) as usize);
                *key = 2.0 * *key - self.sq_norms[lo] - self.sq_norms[hi];
            }
        }
        keys
    }

    /// The leaves (at most `leaf_size` points each) of random-projection tree `tree`: each
    /// node splits its points by the hyperplane halfway between two of them, picked at random
    /// (`x · (x_a − x_b)` against its value at `(x_a + x_b) / 2`; points on it go to a random
    /// side, and a split that leaves a side empty halves the node instead).
    fn tree_leaves(&self, base: &ChaCha8Rng, tree: usize, leaf_size: usize) -> Vec<Vec<u32>> {
        let (n, d) = (self.lists.len(), self.d);
        let row = |i: u32| &self.rows[i as usize * d..(i as usize + 1) * d];
        let mut rng = stream(base, Phase::Tree, 0, tree);
        let mut order: Vec<u32> = (0..n as u32).collect();
        let mut stack = vec![(0, n)];
        let mut leaves = Vec::new();
        let (mut normal, mut margin, mut left, mut right) = (vec![0f32; d], Vec::new(), Vec::new(), Vec::new());
        while let Some((lo, hi)) = stack.pop() {
            let ids = &mut order[lo..hi];
            if ids.len() <= leaf_size.max(1) {
                leaves.push(ids.to_vec());
                continue;
            }
            let a = rng.random_range(0..ids.len());
            let b = (a + rng.random_range(1..ids.len())) % ids.len();
            let (xa, xb) = (row(ids[a]), row(ids[b]));
            for ((w, &p), &q) in normal.iter_mut().zip(xa).zip(xb) {
                *w = p - q;
            }
            let at = dot4(&normal, [xa, xb, xa, xb]);
            let offset = 0.5 * (at[0] + at[1]);
            margin.clear();
            for chunk in ids.chunks(4) {
                let last = chunk.len() - 1;
                let m = dot4(&normal, [0, 1, 2, 3].map(|p| row(chunk[p.min(last)])));
                margin.extend(m[..chunk.len()].iter().map(|&m| m - offset));
            }
            left.clear();
            right.clear();
            for (&i, &m) in ids.iter().zip(&margin) {
                if m < 0.0 || (m == 0.0 && rng.random::<bool>()) {
                    left.push(i);
                } else {
                    right.push(i);
                }
            }
            let split = if left.is_empty() || right.is_empty() {
                ids.len() / 2
            } else {
                ids[..left.len()].copy_from_slice(&left);
                ids[left.len()..].copy_from_slice(&right);
                left.len()
            };
            stack.push((lo + split, hi));
            stack.push((lo, lo + split));
        }
        leaves
    }

    /// Steps 1–2 of a round: every point's `new` and `old` candidate lists, sorted and
    /// disjoint (see the module docs).
    fn candidates(&mut self, base: &ChaCha8Rng, round: usize, per_sample: usize) -> (Vec<Vec<u32>>, Vec<Vec<u32>>) {
        let n = self.lists.len();
        // Forward: each pool in its canonical order, a sample of its new entries (now old).
        let (fwd_new, fwd_old): (Vec<Vec<u32>>, Vec<Vec<u32>>) = self
            .lists
            .par_iter_mut()
            .enumerate()
            .map(|(v, list)| {
                let list = list.get_mut().unwrap_or_else(PoisonError::into_inner);
                list.entries.sort_unstable_by(canonical);
                let mut fresh: Vec<u32> = list.entries.iter().filter(|e| e.new).map(|e| e.id).collect();
                let old: Vec<u32> = list.entries.iter().filter(|e| !e.new).map(|e| e.id).collect();
                let mut rng = stream(base, Phase::Forward, round, v);
                let sampled = sample_front(&mut fresh, per_sample, &mut rng);
                sampled.sort_unstable();
                let m = sampled.len();
                fresh.truncate(m);
                for e in &mut list.entries {
                    if e.new && fresh.binary_search(&e.id).is_ok() {
                        e.new = false;
                    }
                }
                // Worst first, every parent ranks after its children: a valid heap again.
                list.entries.reverse();
                (fresh, old)
            })
            .unzip();
        // Reverse lists in point order (compressed rows), so their content is deterministic.
        let reverse = |fwd: &[Vec<u32>]| -> (Vec<usize>, Vec<u32>) {
            let mut start = vec![0usize; n + 1];
            for list in fwd {
                for &u in list {
                    start[u as usize + 1] += 1;
                }
            }
            for i in 0..n {
                start[i + 1] += start[i];
            }
            let mut fill = start.clone();
            let mut ids = vec![0u32; start[n]];
            for (v, list) in fwd.iter().enumerate() {
                for &u in list {
                    ids[fill[u as usize]] = v as u32;
                    fill[u as usize] += 1;
                }
            }
            (start, ids)
        };
        let (rev_new_start, rev_new) = reverse(&fwd_new);
        let (rev_old_start, rev_old) = reverse(&fwd_old);
        fwd_new
            .into_par_iter()
            .zip(fwd_old)
            .enumerate()
            .map(|(v, (mut new, mut old))| {
                let mut rng = stream(base, Phase::Reverse, round, v);
                let mut rn = rev_new[rev_new_start[v]..rev_new_start[v + 1]].to_vec();
                new.extend_from_slice(sample_front(&mut rn, per_sample, &mut rng));
                let mut ro = rev_old[rev_old_start[v]..rev_old_start[v + 1]].to_vec();
                old.extend_from_slice(sample_front(&mut ro, per_sample, &mut rng));
                new.sort_unstable();
                new.dedup();
                old.sort_unstable();
                old.dedup();
                old.retain(|u| new.binary_search(u).is_err());
                (new, old)
            })
            .unzip()
    }

    /// Step 3 for the pairs `(u1, u2)`, `u2 ∈ partners` (1 to 4): offers each of `u1`, `u2`
    /// to the other's pool.
    fn join(&self, u1: u32, partners: &[u32], round: usize) {
        let round = round as u32;
        for (&u2, key) in partners.iter().zip(self.keys(u1, partners)) {
            self.insert(u1 as usize, Entry { key, id: u2, new: true, round });
            self.insert(u2 as usize, Entry { key, id: u1, new: true, round });
        }
    }

    fn insert(&self, v: usize, e: Entry) {
        if e.key < f32::from_bits(self.threshold[v].load(Ordering::Relaxed)) {
            return;
        }
        let mut guard = self.lists[v].lock().unwrap_or_else(PoisonError::into_inner);
        let list = &mut *guard;
        if list.entries[..list.len].iter().any(|x| x.id == e.id) {
            return;
        }
        let threshold = offer(&mut list.entries, &mut list.len, e);
        self.threshold[v].store(threshold.to_bits(), Ordering::Relaxed);
    }
}

/// The `k`-nearest-neighbour graph of the rows of `data`, exact for up to [`EXACT_MAX_ROWS`]
/// rows ([`knn_graph_exact`]) and by NN-descent with `options` above
/// ([`knn_graph_nn_descent`]).
///
/// Deterministic for given `options` (its seed), and identical for any thread count.
pub fn knn_graph(
    data: ndarray::ArrayView2<f32>,
    k: usize,
    metric: Metric,
    options: &NnDescentOptions,
) -> Result<KnnGraph> {
    if data.nrows() <= EXACT_MAX_ROWS {
        knn_graph_exact(data, k, metric)
    } else {
        knn_graph_nn_descent(data, k, metric, options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `dot4` as its docs define it, one product at a time.
    fn dot_by_definition(a: &[f32], b: &[f32]) -> f32 {
        let body = a.len() / LANES * LANES;
        let mut lanes = [0f32; LANES];
        for (i, (&x, &y)) in a[..body].iter().zip(b).enumerate() {
            lanes[i % LANES] = x.mul_add(y, lanes[i % LANES]);
        }
        let mut tail = 0f32;
        for (&x, &y) in a[body..].iter().zip(&b[body..]) {
            tail = x.mul_add(y, tail);
        }
        lanes.iter().sum::<f32>() + tail
    }

    #[test]
    fn dot4_is_the_defined_sum_bit_for_bit_on_every_path() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for d in [1, 15, 16, 17, 33, 64, 100, 768] {
            let rows: Vec<Vec<f32>> = (0..5)
                .map(|_| (0..d).map(|_| rng.random_range(-1.0f32..1.0) * 10f32.powi(rng.random_range(-3..4))).collect())
                .collect();
            let b = [&rows[1][..], &rows[2][..], &rows[3][..], &rows[4][..]];
            let expected = b.map(|r| dot_by_definition(&rows[0], r));
            // Run-time dispatch (AVX2 + FMA where available), and the portable lanes.
            let got = dot4(&rows[0], b);
            let body = d / LANES * LANES;
            let portable = lanes_portable(&rows[0], b, body);
            for p in 0..4 {
                assert_eq!(got[p].to_bits(), expected[p].to_bits(), "d = {d}, pair {p}");
                let tail = rows[0][body..].iter().zip(&b[p][body..]).fold(0f32, |t, (&x, &y)| x.mul_add(y, t));
                assert_eq!((portable[p].iter().sum::<f32>() + tail).to_bits(), expected[p].to_bits());
                // Symmetric in its two rows.
                let swapped = dot4(b[p], [&rows[0][..]; 4]);
                assert_eq!(swapped[0].to_bits(), got[p].to_bits());
            }
        }
    }
}
