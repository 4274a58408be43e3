//! Hamming ranking: for each query, the database sorted by Hamming distance.
//!
//! For a query `q` and database codes `x_0, …, x_{N-1}`, the ranking is the permutation
//! of `0..N` that sorts the pairs `(d(q, x_i), i)` lexicographically: by distance, and
//! **ties broken by database index** (a stable sort; spec §4). The top-`K` ranking is its
//! first `min(K, N)` entries.
//!
//! Distances take only the `n_bits + 1` values `0..=n_bits`, so the ranking is a counting
//! sort: scanning the database in index order and appending each index to the bucket of
//! its distance keeps every bucket in index order, and reading the buckets from distance
//! 0 upward gives the stable order in `O(N + n_bits)` per query.
//!
//! For a top-`K` ranking the scan keeps at most `K` items. Once it holds `K`, with the
//! farthest of them at distance `t`, an item at distance `≥ t` can never enter: it ranks
//! after all `K` (ties go to the earlier index, and the scan is in index order). So the
//! scan only compares each distance against `t`, and an item at distance `< t` evicts the
//! last item of bucket `t`.
//!
//! Codes are read as little-endian `u64` words, `d = Σ_w popcount(q_w XOR x_w)`, with
//! loops specialised to one to four words (16–256-bit codes). Distances are computed 16
//! at a time (vectorised: AVX2 `vpshufb` under the workspace's `x86-64-v3` baseline, or
//! AVX-512 `vpopcntq` where the CPU reports it at run time) and compared with `t` as a
//! group. The database is scanned in cache-sized tiles against a block of queries at a
//! time, and query blocks run in parallel with rayon. Each query's result depends only on
//! its own scan, so the output is the same for any number of threads.

use std::str::FromStr;

use ndarray::Array2;
use rayon::prelude::*;

use crate::codes::PackedCodes;
use crate::error::{Error, Result};

pub use crate::topk::TopK;

/// A cut-off checked against the errors of this crate.
impl TopK {
    /// [`Error::ZeroK`] for `K(0)`.
    pub(crate) fn validate(self) -> Result<()> {
        match self {
            TopK::K(0) => Err(Error::ZeroK),
            _ => Ok(()),
        }
    }
}

impl FromStr for TopK {
    type Err = Error;

    /// Accepts `all` (any case) or an integer `≥ 1`, with surrounding whitespace.
    fn from_str(s: &str) -> Result<TopK> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("all") {
            return Ok(TopK::All);
        }
        match t.parse::<usize>() {
            Ok(k) if k >= 1 => Ok(TopK::K(k)),
            _ => Err(Error::ParseTopK(s.to_string())),
        }
    }
}

/// For each query, the indices of its top-`K` database items in rank order.
///
/// Row `q` lists the `min(K, N)` database indices nearest to query `q` in Hamming
/// distance, sorted by `(distance, index)`; with `K = all`, or `K ≥ N`, it is the whole
/// database.
///
/// ```
/// use hagcn_eval::{PackedCodes, TopK, hamming_rank};
/// use ndarray::array;
///
/// let db = PackedCodes::from_bits(array![[true, true], [false, true], [false, false]].view());
/// let q = PackedCodes::from_bits(array![[false, false]].view());
/// // Distances 2, 1, 0.
/// assert_eq!(hamming_rank(&q, &db, TopK::All).unwrap(), vec![vec![2, 1, 0]]);
/// assert_eq!(hamming_rank(&q, &db, TopK::K(1)).unwrap(), vec![vec![2]]);
/// ```
///
/// # Errors
///
/// [`Error::ZeroK`] for `K(0)`, [`Error::EmptySet`] for an empty query set or database,
/// [`Error::BitsMismatch`] for codes of different lengths and [`Error::ZeroBits`] for
/// zero-bit codes.
pub fn hamming_rank(query: &PackedCodes, database: &PackedCodes, top_k: TopK) -> Result<Vec<Vec<usize>>> {
    let ranker = Ranker::new(query, database, top_k)?;
    Ok(ranker.map_rankings(|_, ranking| {
        let mut row = Vec::with_capacity(ranking.len());
        ranking.for_each(|idx, _| row.push(idx));
        row
    }))
}

/// The top-`K` database indices of each query and their Hamming distances.
///
/// Returns `(indices, distances)`, both `n_queries × min(K, N)` (`N` columns for
/// `K = all`): row `q` of `indices` is query `q`'s ranking as in [`hamming_rank`], and
/// `distances[[q, r]]` is the distance from query `q` to database item
/// `indices[[q, r]]`, so every row of `distances` is non-decreasing.
///
/// ```
/// use hagcn_eval::{PackedCodes, TopK, hamming_topk};
/// use ndarray::array;
///
/// let db = PackedCodes::from_bits(array![[true, true], [false, true], [true, false]].view());
/// let q = PackedCodes::from_bits(array![[false, false], [true, true]].view());
/// let (idx, dist) = hamming_topk(&q, &db, TopK::K(2)).unwrap();
/// assert_eq!(idx, array![[1, 2], [0, 1]]);
/// assert_eq!(dist, array![[1, 1], [0, 1]]);
/// ```
///
/// # Errors
///
/// As [`hamming_rank`].
pub fn hamming_topk(query: &PackedCodes, database: &PackedCodes, top_k: TopK) -> Result<(Array2<usize>, Array2<u32>)> {
    let ranker = Ranker::new(query, database, top_k)?;
    let width = ranker.k;
    let rows = ranker.map_rankings(|_, ranking| {
        let mut row = Vec::with_capacity(ranking.len());
        ranking.for_each(|idx, dist| row.push((idx, dist)));
        row
    });
    let n_queries = rows.len();
    let mut indices = Array2::zeros((n_queries, width));
    let mut distances = Array2::zeros((n_queries, width));
    for (q, row) in rows.into_iter().enumerate() {
        assert_eq!(row.len(), width, "a ranking holds min(K, N) items");
        for (r, (idx, dist)) in row.into_iter().enumerate() {
            indices[[q, r]] = idx;
            distances[[q, r]] = dist;
        }
    }
    Ok((indices, distances))
}

/// Checks a query set against a database: both non-empty, same positive code length.
pub(crate) fn validate_sets(query: &PackedCodes, database: &PackedCodes) -> Result<()> {
    if query.n_bits() != database.n_bits() {
        return Err(Error::BitsMismatch { query_bits: query.n_bits(), database_bits: database.n_bits() });
    }
    if query.n_bits() == 0 {
        return Err(Error::ZeroBits);
    }
    if query.n_codes() == 0 {
        return Err(Error::EmptySet { set: "query set" });
    }
    if database.n_codes() == 0 {
        return Err(Error::EmptySet { set: "database" });
    }
    Ok(())
}

/// Database codes kept in a tile (about 256 KiB of words), so a block of queries reuses
/// it from cache.
pub(crate) const TILE_WORDS: usize = 32 * 1024;
/// Most queries scanned together against one tile.
pub(crate) const MAX_QUERY_BLOCK: usize = 64;
/// Bound on the ranked items a query block holds at once (`block × min(K, N)`).
pub(crate) const BLOCK_ITEMS: usize = 1 << 20;

/// A validated ranking job: query and database codes as `u64` words and the cut-off.
pub(crate) struct Ranker {
    query_words: Vec<u64>,
    db_words: Vec<u64>,
    n_words: usize,
    n_bits: usize,
    n_database: usize,
    /// `min(K, N)`.
    k: usize,
    /// Whether the CPU has AVX-512 `vpopcntq` (checked at run time).
    vpopcnt: bool,
}

impl Ranker {
    /// Validates the sets and `top_k` and converts both sets to words.
    pub(crate) fn new(query: &PackedCodes, database: &PackedCodes, top_k: TopK) -> Result<Self> {
        top_k.validate()?;
        validate_sets(query, database)?;
        Ok(Ranker {
            query_words: query.to_words(),
            db_words: database.to_words(),
            n_words: query.n_words(),
            n_bits: query.n_bits(),
            n_database: database.n_codes(),
            k: top_k.len_for(database.n_codes()),
            vpopcnt: has_vpopcnt(),
        })
    }

    /// Ranks every query and maps `(query_idx, ranking)` through `f`, in query order.
    pub(crate) fn map_rankings<R: Send>(&self, f: impl Fn(usize, &Ranking) -> R + Sync) -> Vec<R> {
        // Enough blocks to keep every thread busy, each small enough to hold in memory.
        let spread = self.n_queries().div_ceil(4 * rayon::current_num_threads());
        let block = (BLOCK_ITEMS / self.k).min(spread).clamp(1, MAX_QUERY_BLOCK);
        let tile_codes = (TILE_WORDS / self.n_words).max(1);
        let blocks: Vec<Vec<R>> = self
            .query_words
            .par_chunks(block * self.n_words)
            .enumerate()
            .map(|(block_idx, queries)| {
                let mut collectors: Vec<Ranking> =
                    queries.chunks_exact(self.n_words).map(|_| Ranking::new(self.n_bits, self.k)).collect();
                for (tile_idx, tile) in self.db_words.chunks(tile_codes * self.n_words).enumerate() {
                    let base = tile_idx * tile_codes;
                    for (q, c) in queries.chunks_exact(self.n_words).zip(&mut collectors) {
                        scan_tile(self.vpopcnt, q, tile, base, c);
                    }
                }
                collectors.iter().enumerate().map(|(j, ranking)| f(block_idx * block + j, ranking)).collect()
            })
            .collect();
        let out: Vec<R> = blocks.into_iter().flatten().collect();
        debug_assert_eq!(out.len(), self.n_queries());
        debug_assert!(self.k <= self.n_database);
        out
    }

    /// Number of query codes.
    pub(crate) fn n_queries(&self) -> usize {
        self.query_words.len() / self.n_words
    }

    /// Bits per code.
    pub(crate) fn n_bits(&self) -> usize {
        self.n_bits
    }

    /// Maps every query index through `f` in parallel; the results are in query order.
    pub(crate) fn par_map_queries<R: Send>(&self, f: impl Fn(usize) -> R + Sync) -> Vec<R> {
        (0..self.n_queries()).into_par_iter().map(&f).collect()
    }

    /// Calls `f(database_idx, distance)` for every database code, in index order, with
    /// its Hamming distance to query `query_idx`.
    pub(crate) fn for_each_distance(&self, query_idx: usize, mut f: impl FnMut(usize, u32)) {
        let n_words = self.n_words;
        let query = &self.query_words[query_idx * n_words..(query_idx + 1) * n_words];
        let mut buf = [0u32; DISTANCE_CHUNK];
        for (chunk_idx, chunk) in self.db_words.chunks(DISTANCE_CHUNK * n_words).enumerate() {
            let out = &mut buf[..chunk.len() / n_words];
            distances(self.vpopcnt, query, chunk, out);
            let base = chunk_idx * DISTANCE_CHUNK;
            for (j, &dist) in out.iter().enumerate() {
                f(base + j, dist);
            }
        }
    }
}

/// Codes whose distances [`Ranker::for_each_distance`] computes in one vectorised batch.
const DISTANCE_CHUNK: usize = 1024;

/// Writes the distance from `query` to each code of `codes` (both as words) into `out`.
#[inline(always)]
fn distances(vpopcnt: bool, query: &[u64], codes: &[u64], out: &mut [u32]) {
    #[cfg(target_arch = "x86_64")]
    if vpopcnt {
        // SAFETY: `vpopcnt` is true only when `has_vpopcnt` found every target feature
        // that `distances_vpopcnt` enables.
        unsafe { distances_vpopcnt(query, codes, out) };
        return;
    }
    let _ = vpopcnt;
    distances_any(query, codes, out);
}

/// [`distances_any`] compiled with AVX-512 `vpopcntq`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512vpopcntdq")]
fn distances_vpopcnt(query: &[u64], codes: &[u64], out: &mut [u32]) {
    distances_any(query, codes, out);
}

/// Dispatches on the number of words per code.
#[inline(always)]
fn distances_any(query: &[u64], codes: &[u64], out: &mut [u32]) {
    match query.len() {
        1 => distances_w::<1>(query, codes, out),
        2 => distances_w::<2>(query, codes, out),
        3 => distances_w::<3>(query, codes, out),
        4 => distances_w::<4>(query, codes, out),
        n => {
            for (o, code) in out.iter_mut().zip(codes.chunks_exact(n)) {
                *o = crate::codes::hamming_words(query, code);
            }
        }
    }
}

/// [`distances_any`] for `W`-word codes.
#[inline(always)]
fn distances_w<const W: usize>(query: &[u64], codes: &[u64], out: &mut [u32]) {
    let q: &[u64; W] = query.try_into().expect("query of W words");
    for (o, code) in out.iter_mut().zip(codes.chunks_exact(W)) {
        *o = distance_w(q, code);
    }
}

/// The distance between two `W`-word codes.
#[inline(always)]
fn distance_w<const W: usize>(q: &[u64; W], code: &[u64]) -> u32 {
    let mut acc = 0;
    for w in 0..W {
        acc += (q[w] ^ code[w]).count_ones();
    }
    acc
}

/// Whether the CPU can run [`scan_vpopcnt`] and [`distances_vpopcnt`].
pub(crate) fn has_vpopcnt() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Scans one tile of codes of `query.len()` words, with the loop specialised to the
/// code width and, where the CPU has it, compiled for AVX-512 `vpopcntq`.
#[inline(always)]
pub(crate) fn scan_tile(vpopcnt: bool, query: &[u64], tile: &[u64], base: usize, ranking: &mut Ranking) {
    #[cfg(target_arch = "x86_64")]
    if vpopcnt {
        // SAFETY: `vpopcnt` is true only when `has_vpopcnt` found every target feature
        // that `scan_vpopcnt` enables.
        unsafe { scan_vpopcnt(query, tile, base, ranking) };
        return;
    }
    let _ = vpopcnt;
    scan_any(query, tile, base, ranking);
}

/// [`scan_any`] compiled with AVX-512 `vpopcntq`, so the distance loops use it.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512vpopcntdq")]
fn scan_vpopcnt(query: &[u64], tile: &[u64], base: usize, ranking: &mut Ranking) {
    scan_any(query, tile, base, ranking);
}

/// Dispatches on the number of words per code.
#[inline(always)]
fn scan_any(query: &[u64], tile: &[u64], base: usize, ranking: &mut Ranking) {
    match query.len() {
        1 => scan::<1>(query, tile, base, ranking),
        2 => scan::<2>(query, tile, base, ranking),
        3 => scan::<3>(query, tile, base, ranking),
        4 => scan::<4>(query, tile, base, ranking),
        _ => scan_dyn(query, tile, base, ranking),
    }
}

/// Distances in groups of this many are computed together (vectorisable) before the
/// comparison against the current cut-off distance.
const GROUP: usize = 16;

/// Scans one tile of `W`-word codes starting at database index `base`.
#[inline(always)]
fn scan<const W: usize>(query: &[u64], tile: &[u64], base: usize, ranking: &mut Ranking) {
    let q: &[u64; W] = query.try_into().expect("query of W words");
    let mut groups = tile.chunks_exact(W * GROUP);
    let mut idx = base;
    for group in groups.by_ref() {
        let mut d = [0u32; GROUP];
        for (dj, code) in d.iter_mut().zip(group.chunks_exact(W)) {
            *dj = distance_w(q, code);
        }
        let limit = ranking.limit;
        if d.iter().fold(false, |hit, &x| hit | (x < limit)) {
            for (j, &dj) in d.iter().enumerate() {
                ranking.offer(idx + j, dj);
            }
        }
        idx += GROUP;
    }
    for code in groups.remainder().chunks_exact(W) {
        ranking.offer(idx, distance_w(q, code));
        idx += 1;
    }
}

/// [`scan`] for any number of words per code.
#[inline(always)]
fn scan_dyn(query: &[u64], tile: &[u64], base: usize, ranking: &mut Ranking) {
    for (j, code) in tile.chunks_exact(query.len()).enumerate() {
        ranking.offer(base + j, crate::codes::hamming_words(query, code));
    }
}

/// One query's top-`K` ranking, built by a scan over the database in index order.
///
/// `buckets[d]` holds, in index order, the kept database indices at distance `d`; `top`
/// is the largest non-empty bucket, and `limit` the exclusive bound on distances that can
/// still enter (`n_bits + 1` until `K` items are held, then `top`).
pub(crate) struct Ranking {
    buckets: Vec<Vec<usize>>,
    k: usize,
    total: usize,
    top: u32,
    limit: u32,
}

impl Ranking {
    pub(crate) fn new(n_bits: usize, k: usize) -> Self {
        let n_bits = u32::try_from(n_bits).expect("code length fits in u32");
        Ranking { buckets: vec![Vec::new(); n_bits as usize + 1], k, total: 0, top: 0, limit: n_bits + 1 }
    }

    #[inline(always)]
    pub(crate) fn offer(&mut self, idx: usize, dist: u32) {
        if dist < self.limit {
            self.insert(idx, dist);
        }
    }

    #[inline(never)]
    fn insert(&mut self, idx: usize, dist: u32) {
        self.buckets[dist as usize].push(idx);
        self.top = self.top.max(dist);
        self.total += 1;
        if self.total > self.k {
            // The new item ranks before the last of bucket `top`, which drops out.
            self.buckets[self.top as usize].pop();
            self.total -= 1;
            while self.buckets[self.top as usize].is_empty() {
                self.top -= 1;
            }
        }
        if self.total == self.k {
            self.limit = self.top;
        }
    }

    /// Number of ranked items, `min(K, N)` once the scan is complete.
    pub(crate) fn len(&self) -> usize {
        self.total
    }

    /// Calls `f(database_idx, distance)` for each ranked item, in rank order.
    pub(crate) fn for_each(&self, mut f: impl FnMut(usize, u32)) {
        for (dist, bucket) in self.buckets.iter().enumerate() {
            for &idx in bucket {
                f(idx, dist as u32);
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Codes from strings of `0`/`1`, character `j` being bit `j`.
    pub(crate) fn codes(rows: &[&str]) -> PackedCodes {
        let n_bits = rows.first().map_or(0, |r| r.len());
        let bits = Array2::from_shape_fn((rows.len(), n_bits), |(i, j)| rows[i].as_bytes()[j] == b'1');
        PackedCodes::from_bits(bits.view())
    }

    pub(crate) fn random_codes(rng: &mut ChaCha8Rng, n_codes: usize, n_bits: usize) -> PackedCodes {
        let bits = Array2::from_shape_simple_fn((n_codes, n_bits), || rng.random::<bool>());
        PackedCodes::from_bits(bits.view())
    }

    /// The obvious ranking: all `(distance, index)` pairs, bit by bit, fully sorted.
    pub(crate) fn brute_rank(q: &PackedCodes, q_idx: usize, db: &PackedCodes) -> Vec<(u32, usize)> {
        let mut pairs: Vec<(u32, usize)> = (0..db.n_codes())
            .map(|i| {
                let d = (0..q.n_bits()).filter(|&j| q.bit(q_idx, j) != db.bit(i, j)).count();
                (d as u32, i)
            })
            .collect();
        pairs.sort();
        pairs
    }

    fn check(query: &[&str], database: &[&str], k: TopK, expect: &[&[usize]]) {
        let (q, db) = (codes(query), codes(database));
        let got = hamming_rank(&q, &db, k).unwrap();
        assert_eq!(got, expect, "K = {k}");
        let (idx, dist) = hamming_topk(&q, &db, k).unwrap();
        for (qi, row) in expect.iter().enumerate() {
            assert_eq!(idx.row(qi).to_vec(), row.to_vec());
            for (r, &i) in row.iter().enumerate() {
                assert_eq!(dist[[qi, r]], crate::hamming_distance(q.code(qi), db.code(i)));
            }
        }
    }

    #[test]
    fn literal_rankings() {
        let db = ["000", "111", "100", "001", "010", "000"];
        // Query 000: distances 0 3 1 1 1 0 → ties by index.
        check(&["000"], &db, TopK::All, &[&[0, 5, 2, 3, 4, 1]]);
        check(&["000"], &db, TopK::K(3), &[&[0, 5, 2]]);
        check(&["000"], &db, TopK::K(1), &[&[0]]);
        check(&["000"], &db, TopK::K(100), &[&[0, 5, 2, 3, 4, 1]]);
        // Query 110: distances 2 1 1 3 1 2.
        check(&["110"], &db, TopK::K(4), &[&[1, 2, 4, 0]]);
        // Query 111: distances 3 0 2 2 2 3; query 011: distances 2 1 3 1 1 2.
        check(&["111", "011"], &db, TopK::K(2), &[&[1, 2], &[1, 3]]);
        check(&["111", "011"], &db, TopK::All, &[&[1, 2, 3, 4, 0, 5], &[1, 3, 4, 0, 5, 2]]);
    }

    #[test]
    fn matches_brute_force_with_many_ties() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (n_bits, n_db) in [(1, 50), (4, 300), (6, 1000), (8, 257), (28, 200), (70, 150), (130, 90), (300, 40)] {
            let q = random_codes(&mut rng, 17, n_bits);
            let db = random_codes(&mut rng, n_db, n_bits);
            let brute: Vec<_> = (0..q.n_codes()).map(|i| brute_rank(&q, i, &db)).collect();
            for k in
                [TopK::K(1), TopK::K(2), TopK::K(7), TopK::K(n_db - 1), TopK::K(n_db), TopK::K(n_db + 5), TopK::All]
            {
                let kk = k.len_for(n_db);
                let ranks = hamming_rank(&q, &db, k).unwrap();
                let (idx, dist) = hamming_topk(&q, &db, k).unwrap();
                assert_eq!(idx.dim(), (q.n_codes(), kk));
                for (qi, b) in brute.iter().enumerate() {
                    let want_idx: Vec<usize> = b[..kk].iter().map(|p| p.1).collect();
                    let want_dist: Vec<u32> = b[..kk].iter().map(|p| p.0).collect();
                    assert_eq!(ranks[qi], want_idx, "{n_bits} bits, K = {k}, query {qi}");
                    assert_eq!(idx.row(qi).to_vec(), want_idx);
                    assert_eq!(dist.row(qi).to_vec(), want_dist);
                }
            }
        }
    }

    #[test]
    fn tiles_and_blocks_keep_order() {
        // Enough codes for several tiles and query blocks, with heavy ties (5 bits).
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let q = random_codes(&mut rng, 2 * MAX_QUERY_BLOCK + 3, 5);
        let db = random_codes(&mut rng, 2 * TILE_WORDS + 11, 5);
        let ranks = hamming_rank(&q, &db, TopK::K(50)).unwrap();
        for qi in [0, 1, MAX_QUERY_BLOCK, 2 * MAX_QUERY_BLOCK + 2] {
            let want: Vec<usize> = brute_rank(&q, qi, &db)[..50].iter().map(|p| p.1).collect();
            assert_eq!(ranks[qi], want);
        }
    }

    #[test]
    fn portable_and_vpopcnt_scans_agree() {
        // Whichever loop this CPU runs, the portable one must give the same rankings.
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        for n_bits in [6, 64, 100, 128, 192, 256, 300] {
            let q = random_codes(&mut rng, 20, n_bits);
            let db = random_codes(&mut rng, 700, n_bits);
            let mut ranker = Ranker::new(&q, &db, TopK::K(30)).unwrap();
            let collect = |ranker: &Ranker| {
                let rankings = ranker.map_rankings(|_, r| {
                    let mut row = Vec::new();
                    r.for_each(|idx, dist| row.push((dist, idx)));
                    row
                });
                let dists: Vec<Vec<u32>> = ranker.par_map_queries(|i| {
                    let mut row = Vec::new();
                    ranker.for_each_distance(i, |_, d| row.push(d));
                    row
                });
                (rankings, dists)
            };
            let native = collect(&ranker);
            ranker.vpopcnt = false;
            let portable = collect(&ranker);
            assert_eq!(native, portable);
            for (i, row) in portable.0.iter().enumerate() {
                assert_eq!(row[..], brute_rank(&q, i, &db)[..30]);
            }
            for (i, row) in portable.1.iter().enumerate() {
                let want: Vec<u32> = brute_rank(&q, i, &db).iter().fold(vec![0; 700], |mut v, &(d, idx)| {
                    v[idx] = d;
                    v
                });
                assert_eq!(row, &want);
            }
        }
    }

    #[test]
    fn same_result_for_any_thread_count() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let q = random_codes(&mut rng, 200, 12);
        let db = random_codes(&mut rng, 3000, 12);
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| hamming_topk(&q, &db, TopK::K(40)).unwrap())
        };
        assert_eq!(run(1), run(3));
    }

    #[test]
    fn top_k_parse_and_display() {
        for (s, k) in [("all", TopK::All), ("ALL", TopK::All), (" 200 ", TopK::K(200)), ("1", TopK::K(1))] {
            assert_eq!(s.parse::<TopK>().unwrap(), k);
        }
        for s in ["0", "-3", "", "1.5", "al"] {
            assert_eq!(s.parse::<TopK>(), Err(Error::ParseTopK(s.to_string())));
        }
        assert_eq!(TopK::All.to_string(), "all");
        assert_eq!(TopK::K(200).to_string(), "200");
        assert_eq!(TopK::K(3).len_for(2), 2);
        assert_eq!(TopK::All.len_for(9), 9);
    }

    #[test]
    fn errors() {
        let q = codes(&["0101"]);
        let db = codes(&["0101", "1111"]);
        assert_eq!(hamming_rank(&q, &db, TopK::K(0)), Err(Error::ZeroK));
        assert_eq!(
            hamming_topk(&q, &codes(&["01010"]), TopK::All),
            Err(Error::BitsMismatch { query_bits: 4, database_bits: 5 })
        );
        let empty = PackedCodes::from_bits(Array2::from_elem((0, 4), false).view());
        assert_eq!(hamming_rank(&empty, &db, TopK::All), Err(Error::EmptySet { set: "query set" }));
        assert_eq!(hamming_rank(&q, &empty, TopK::K(1)).unwrap_err().to_string(), "database is empty");
        let zero_bits = PackedCodes::from_bits(Array2::from_elem((2, 0), false).view());
        assert_eq!(hamming_rank(&zero_bits, &zero_bits, TopK::All), Err(Error::ZeroBits));
    }
}
