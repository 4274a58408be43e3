//! An approximate k-nearest-neighbour graph by NN-descent (Dong, Charikar and Li, "Efficient
//! k-nearest neighbor graph construction for generic similarity measures", WWW 2011).
//!
//! # The method
//!
//! NN-descent rests on "a neighbour of a neighbour is likely a neighbour". Every point `v`
//! keeps a pool `B[v]` of its `K` best candidates so far (`K ≥ k`,
//! [`NnDescentOptions::pool`]), each flagged *new* until it has taken part in a join. Starting
//! from `K` random points per pool, each round
//!
//! 1. samples up to `ρK` of the new entries of `B[v]` into `new[v]` (and flags them old);
//!    the entries that were already old form `old[v]`;
//! 2. adds the reverse lists, `new'[v] = {u : v ∈ new[u]}` and likewise `old'[v]`, each
//!    sampled down to `ρK`;
//! 3. *local join*: for every pair `(u₁, u₂)` with `u₁, u₂ ∈ new[v]`, or `u₁ ∈ new[v]`,
//!    `u₂ ∈ old[v]`, computes their key once and offers `u₂` to `B[u₁]` and `u₁` to `B[u₂]`;
//! 4. stops when fewer than `δ n K` pool entries changed in the round
//!    ([`NnDescentOptions::delta`]), or after [`NnDescentOptions::max_rounds`].
//!
//! The result is the best `k` of each pool. Keys are those of the exact search in
//! [`knn`](crate::knn): `â·b̂` for cosine (rows normalised) and `2a·b − ‖a‖² − ‖b‖²` for
//! Euclidean, here from one `f32` dot product per pair; the reported values are recomputed in
//! `f64` and sorted the same way (see the [`knn`](crate::knn) module docs).
//!
//! # Determinism
//!
//! All randomness is ChaCha8 from [`NnDescentOptions::seed`], one stream per (phase, round,
//! point), so it does not depend on which thread handles a point. The rounds are synchronous:
//! the candidate lists of a round are computed from the pools at its start (each pool read in
//! its sorted order), and the joins then only offer candidates to pools. A pool is a bounded
//! heap under the strict total order (key descending, index ascending), and the best `K` of a
//! set do not depend on the order the set arrives in, so the pools after a round, with their
//! new flags (an entry is new iff it was not in the pool at the start of the round), are the
//! same for any thread count and schedule. The joins run in parallel with one lock per pool;
//! a pool's threshold is also kept in an atomic for a lock-free early rejection, which may
//! read a stale (lower) value and so only lets more candidates through to the exact test.
//!
//! # Cost and quality
//!
//! A round computes at most `n (ρK)(3ρK)` keys of `d` multiply–adds (fewer as the pools
//! settle); the number of rounds grows slowly with `n`. Recall against the exact graph
//! ([`KnnGraph::recall`]) depends on the data; a pool larger than `k` buys much of it.
//! `tests/knn.rs` checks a floor on clustered data and `benches/knn.rs` measures time and
//! recall at 768 dimensions.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::Result;
use crate::knn::{Candidate, KnnGraph, Metric, Prepared, Ranked, check_k, offer, sorted_graph};

/// Settings of [`knn_graph_nn_descent`].
#[derive(Clone, Debug, PartialEq)]
pub struct NnDescentOptions {
    /// Seed of all the randomness (the initial pools and the samples of every round).
    pub seed: u64,
    /// Candidates kept per point while building (`K`), at least `k`; the graph keeps the best
    /// `k`. `None` takes `max(2k, 20)`, capped at `n − 1`.
    pub pool: Option<usize>,
    /// Sample rate `ρ ∈ (0, 1]`: each round joins up to `⌈ρK⌉` new candidates per point and
    /// as many from each reverse list.
    pub sample_rate: f64,
    /// Stop when fewer than `delta · n · K` pool entries changed in a round.
    pub delta: f64,
    /// Stop after this many rounds at the latest.
    pub max_rounds: usize,
}

impl NnDescentOptions {
    /// The defaults with the given seed: automatic pool, `ρ = 0.5`, `δ = 0.001`, at most
    /// 20 rounds.
    pub fn new(seed: u64) -> Self {
        NnDescentOptions { seed, pool: None, sample_rate: 0.5, delta: 0.001, max_rounds: 20 }
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
/// [`knn_graph_exact`](crate::knn_graph_exact) on bad input, and with
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
    let pool = options.pool.unwrap_or((2 * k).max(20)).min(n - 1);
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
    if !(options.delta >= 0.0) {
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

/// One point's pool: a bounded heap of `capacity` entries, worst at the root.
struct List {
    entries: Vec<Entry>,
    capacity: usize,
}

/// The random streams: ChaCha8 from the seed, one stream per (phase, round, point).
#[derive(Clone, Copy)]
enum Phase {
    Init = 0,
    Forward = 1,
    Reverse = 2,
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

/// `Σ x_i y_i` in `f32`: 32 lanes of fused multiply–adds, then the lanes summed in order,
/// so the result depends only on the inputs. (This form vectorises to AVX; a tree reduction
/// of the lanes keeps LLVM at two-lane vectors.)
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 32;
    let (ac, at) = a.as_chunks::<LANES>();
    let (bc, bt) = b.as_chunks::<LANES>();
    let mut acc = [0f32; LANES];
    for (x, y) in ac.iter().zip(bc) {
        for l in 0..LANES {
            acc[l] = x[l].mul_add(y[l], acc[l]);
        }
    }
    let mut tail = 0f32;
    for (&x, &y) in at.iter().zip(bt) {
        tail = x.mul_add(y, tail);
    }
    acc.iter().sum::<f32>() + tail
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
        pools.lists = (0..n)
            .into_par_iter()
            .map(|v| {
                let mut rng = stream(&base, Phase::Init, 0, v);
                let mut picked: Vec<u32> = Vec::with_capacity(capacity);
                if capacity + 1 >= n {
                    picked.extend((0..n as u32).filter(|&u| u as usize != v));
                } else {
                    while picked.len() < capacity {
                        let u = rng.random_range(0..n as u32);
                        if u as usize != v && !picked.contains(&u) {
                            picked.push(u);
                        }
                    }
                }
                let mut list = List { entries: Vec::with_capacity(capacity), capacity };
                let mut len = 0;
                list.entries.resize(capacity, Entry { key: f32::NEG_INFINITY, id: u32::MAX, new: true, round: 0 });
                let mut threshold = f32::NEG_INFINITY;
                for u in picked {
                    let e = Entry { key: pools.key(v, u as usize), id: u, new: true, round: 0 };
                    threshold = offer(&mut list.entries, &mut len, e);
                }
                pools.threshold[v].store(threshold.to_bits(), Ordering::Relaxed);
                Mutex::new(list)
            })
            .collect();

        let per_sample = ((options.sample_rate * capacity as f64).ceil() as usize).max(1);
        for round in 1..=options.max_rounds {
            let (new, old) = pools.candidates(&base, round, per_sample);
            new.par_iter().zip(&old).for_each(|(new, old)| {
                for (a, &u1) in new.iter().enumerate() {
                    for &u2 in &new[a + 1..] {
                        pools.join(u1, u2, round);
                    }
                    for &u2 in old {
                        pools.join(u1, u2, round);
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

    /// The key of the pair `(u, v)` (symmetric: the same bits either way round).
    #[inline]
    fn key(&self, u: usize, v: usize) -> f32 {
        let (u, v) = (u.min(v), u.max(v));
        let d = self.d;
        let ab = dot(&self.rows[u * d..(u + 1) * d], &self.rows[v * d..(v + 1) * d]);
        match self.metric {
            Metric::Cosine => ab,
            Metric::Euclidean => 2.0 * ab - self.sq_norms[u] - self.sq_norms[v],
        }
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

    /// Step 3 for one pair: offers each of `u1`, `u2` to the other's pool.
    fn join(&self, u1: u32, u2: u32, round: usize) {
        let key = self.key(u1 as usize, u2 as usize);
        self.insert(u1 as usize, Entry { key, id: u2, new: true, round: round as u32 });
        self.insert(u2 as usize, Entry { key, id: u1, new: true, round: round as u32 });
    }

    fn insert(&self, v: usize, e: Entry) {
        if e.key < f32::from_bits(self.threshold[v].load(Ordering::Relaxed)) {
            return;
        }
        let mut list = self.lists[v].lock().unwrap_or_else(PoisonError::into_inner);
        let capacity = list.capacity;
        if list.entries.iter().any(|x| x.id == e.id) {
            return;
        }
        let mut len = capacity;
        let threshold = offer(&mut list.entries, &mut len, e);
        self.threshold[v].store(threshold.to_bits(), Ordering::Relaxed);
    }
}
