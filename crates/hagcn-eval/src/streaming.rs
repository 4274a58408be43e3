//! Top-`K` Hamming search over a database that arrives in blocks.
//!
//! The ranking of [`rank`](crate::rank) is a scan over the database in index order that
//! keeps, per query, the `K` best `(distance, index)` pairs; an item enters only if it is
//! strictly nearer than the farthest kept one (a tie goes to the earlier index, which was
//! seen first). Nothing in that scan needs the items it has passed, so the database can
//! be fed block after block, each block's indices continuing where the last one ended:
//! the result is the same, item for item, as [`hamming_topk`](crate::hamming_topk) on the
//! concatenated database, and memory is the queries, one block and `K` items per query,
//! whatever the database's size.

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

use crate::codes::PackedCodes;
use crate::error::{Error, Result};
use crate::rank::{BLOCK_ITEMS, MAX_QUERY_BLOCK, Ranking, TILE_WORDS, has_vpopcnt, scan_tile};

/// Per-query top-`K` over database blocks pushed in order.
///
/// ```
/// use hagcn_eval::{PackedCodes, StreamingTopK, TopK, hamming_topk};
/// use ndarray::array;
///
/// let db = PackedCodes::from_bits(array![[true, true], [false, true], [true, false], [false, false]].view());
/// let q = PackedCodes::from_bits(array![[false, false]].view());
/// let mut search = StreamingTopK::new(&q, 3)?;
/// for rows in [0..1, 1..4] {
///     let block = db.bytes().slice(ndarray::s![rows, ..]).to_owned();
///     search.push(&PackedCodes::from_bytes(block, 2)?)?;
/// }
/// assert_eq!(search.finish()?, hamming_topk(&q, &db, TopK::K(3))?);
/// # Ok::<(), hagcn_eval::Error>(())
/// ```
pub struct StreamingTopK {
    query_words: Vec<u64>,
    n_words: usize,
    n_bits: usize,
    k: usize,
    rankings: Vec<Ranking>,
    n_seen: usize,
    vpopcnt: bool,
}

impl StreamingTopK {
    /// Starts a search of `query` for its `k` nearest database codes.
    ///
    /// # Errors
    ///
    /// [`Error::ZeroK`] for `k = 0`, [`Error::EmptySet`] for an empty query set and
    /// [`Error::ZeroBits`] for zero-bit codes.
    pub fn new(query: &PackedCodes, k: usize) -> Result<Self> {
        if k == 0 {
            return Err(Error::ZeroK);
        }
        if query.n_bits() == 0 {
            return Err(Error::ZeroBits);
        }
        if query.n_codes() == 0 {
            return Err(Error::EmptySet { set: "query set" });
        }
        Ok(StreamingTopK {
            query_words: query.to_words(),
            n_words: query.n_words(),
            n_bits: query.n_bits(),
            k,
            rankings: (0..query.n_codes()).map(|_| Ranking::new(query.n_bits(), k)).collect(),
            n_seen: 0,
            vpopcnt: has_vpopcnt(),
        })
    }

    /// Database codes pushed so far; the next block starts at this index.
    pub fn n_seen(&self) -> usize {
        self.n_seen
    }

    /// Scans the next block of database codes (their indices continue from
    /// [`n_seen`](Self::n_seen)). Query blocks run in parallel with rayon.
    ///
    /// # Errors
    ///
    /// [`Error::BitsMismatch`] when the block's codes are not as long as the queries'.
    pub fn push(&mut self, block: &PackedCodes) -> Result<()> {
        if block.n_bits() != self.n_bits {
            return Err(Error::BitsMismatch { query_bits: self.n_bits, database_bits: block.n_bits() });
        }
        let db_words = block.to_words();
        let n_words = self.n_words;
        let tile_codes = (TILE_WORDS / n_words).max(1);
        let n_queries = self.rankings.len();
        let spread = n_queries.div_ceil(4 * rayon::current_num_threads());
        let query_block = (BLOCK_ITEMS / self.k).min(spread).clamp(1, MAX_QUERY_BLOCK);
        let (vpopcnt, base) = (self.vpopcnt, self.n_seen);
        self.rankings.par_chunks_mut(query_block).zip(self.query_words.par_chunks(query_block * n_words)).for_each(
            |(rankings, queries)| {
                for (tile_idx, tile) in db_words.chunks(tile_codes * n_words).enumerate() {
                    let tile_base = base + tile_idx * tile_codes;
                    for (q, ranking) in queries.chunks_exact(n_words).zip(rankings.iter_mut()) {
                        scan_tile(vpopcnt, q, tile, tile_base, ranking);
                    }
                }
            },
        );
        self.n_seen += block.n_codes();
        Ok(())
    }

    /// Takes the next block of `n_codes` database codes as its own top-`K`, computed
    /// elsewhere (a GPU's [`hamming_topk`](crate::hamming_topk) of the block): `indices`
    /// (relative to the block) and `distances`, `n_queries × min(K, n_codes)`, each row in
    /// rank order (distance, then index). Every code of the block that can be in the overall
    /// top-`K` is among them, so the result is the same as [`push`](Self::push) of the block.
    ///
    /// # Errors
    ///
    /// [`Error::RankedCandidates`] when the shapes, the indices, the distances or their order
    /// are not those of a top-`K` of the block.
    pub fn push_ranked(
        &mut self,
        n_codes: usize,
        indices: ArrayView2<usize>,
        distances: ArrayView2<u32>,
    ) -> Result<()> {
        let width = self.k.min(n_codes);
        let want = (self.rankings.len(), width);
        if indices.dim() != want || distances.dim() != want {
            return Err(Error::RankedCandidates(format!(
                "expected {want:?} indices and distances, got {:?} and {:?}",
                indices.dim(),
                distances.dim()
            )));
        }
        let base = self.n_seen;
        for (q, ranking) in self.rankings.iter_mut().enumerate() {
            let mut previous: Option<(u32, usize)> = None;
            for (&idx, &dist) in indices.row(q).iter().zip(distances.row(q)) {
                if idx >= n_codes || dist as usize > self.n_bits || previous.is_some_and(|p| p >= (dist, idx)) {
                    return Err(Error::RankedCandidates(format!(
                        "query {q}: ({idx}, {dist}) is out of range or out of rank order"
                    )));
                }
                previous = Some((dist, idx));
                // In rank order: within a distance the indices rise, and every earlier
                // block's indices are smaller, as the in-order scan would see them.
                ranking.offer(base + idx, dist);
            }
        }
        self.n_seen += n_codes;
        Ok(())
    }

    /// The result, as [`hamming_topk`](crate::hamming_topk) gives it: `(indices,
    /// distances)`, both `n_queries × min(K, N)` for the `N` codes pushed.
    ///
    /// # Errors
    ///
    /// [`Error::EmptySet`] when no database code was pushed.
    pub fn finish(self) -> Result<(Array2<usize>, Array2<u32>)> {
        if self.n_seen == 0 {
            return Err(Error::EmptySet { set: "database" });
        }
        let width = self.k.min(self.n_seen);
        let mut indices = Array2::zeros((self.rankings.len(), width));
        let mut distances = Array2::zeros((self.rankings.len(), width));
        for (q, ranking) in self.rankings.iter().enumerate() {
            assert_eq!(ranking.len(), width, "a ranking holds min(K, N) items");
            let mut r = 0;
            ranking.for_each(|idx, dist| {
                indices[[q, r]] = idx;
                distances[[q, r]] = dist;
                r += 1;
            });
        }
        Ok((indices, distances))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rank::tests::{brute_rank, random_codes};
    use crate::{TopK, hamming_topk};
    use ndarray::s;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn rows(codes: &PackedCodes, range: std::ops::Range<usize>) -> PackedCodes {
        PackedCodes::from_bytes(codes.bytes().slice(s![range, ..]).to_owned(), codes.n_bits()).unwrap()
    }

    /// Pushes `db` in blocks of `block` codes and returns the result.
    fn streamed(q: &PackedCodes, db: &PackedCodes, k: usize, block: usize) -> (Array2<usize>, Array2<u32>) {
        let mut search = StreamingTopK::new(q, k).unwrap();
        for start in (0..db.n_codes()).step_by(block) {
            search.push(&rows(db, start..(start + block).min(db.n_codes()))).unwrap();
        }
        assert_eq!(search.n_seen(), db.n_codes());
        search.finish().unwrap()
    }

    #[test]
    fn blocks_ranked_elsewhere_give_the_in_memory_result() {
        let mut rng = ChaCha8Rng::seed_from_u64(23);
        for (n_bits, n_db) in [(3, 400), (16, 700), (64, 900)] {
            let q = random_codes(&mut rng, 40, n_bits);
            let db = random_codes(&mut rng, n_db, n_bits);
            for k in [1, 9, n_db + 3] {
                for block in [1, 50, n_db] {
                    let mut search = StreamingTopK::new(&q, k).unwrap();
                    for start in (0..n_db).step_by(block) {
                        let part = rows(&db, start..(start + block).min(n_db));
                        // what a device computes for the block on its own
                        let (idx, dist) = hamming_topk(&q, &part, TopK::K(k)).unwrap();
                        search.push_ranked(part.n_codes(), idx.view(), dist.view()).unwrap();
                    }
                    let want = hamming_topk(&q, &db, TopK::K(k)).unwrap();
                    assert_eq!(search.finish().unwrap(), want, "{n_bits} bits, K = {k}, blocks of {block}");
                }
            }
        }
    }

    #[test]
    fn ranked_candidates_that_are_no_top_k_are_errors() {
        let mut rng = ChaCha8Rng::seed_from_u64(24);
        let q = random_codes(&mut rng, 2, 8);
        let db = random_codes(&mut rng, 20, 8);
        let (idx, dist) = hamming_topk(&q, &db, TopK::K(3)).unwrap();
        let mut search = StreamingTopK::new(&q, 3).unwrap();
        assert!(search.push_ranked(20, idx.slice(s![.., ..2]), dist.slice(s![.., ..2])).is_err(), "shape");
        let mut reversed = idx.clone();
        reversed.row_mut(0).as_slice_mut().unwrap().reverse();
        let mut rdist = dist.clone();
        rdist.row_mut(0).as_slice_mut().unwrap().reverse();
        if rdist[[0, 0]] != rdist[[0, 2]] || reversed[[0, 0]] != reversed[[0, 2]] {
            assert!(search.push_ranked(20, reversed.view(), rdist.view()).is_err(), "order");
        }
        let mut far = idx.clone();
        far[[1, 0]] = 25;
        let err = search.push_ranked(20, far.view(), dist.view()).unwrap_err();
        assert!(err.to_string().contains("out of range"), "{err}");
        assert_eq!(search.n_seen(), 0, "nothing was taken");
    }

    #[test]
    fn any_blocking_gives_the_in_memory_result_with_heavy_ties() {
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        // Few bits: most distances tie, so the order among equals is what is tested.
        for (n_bits, n_db) in [(3, 500), (6, 2000), (16, 700), (64, 3000), (130, 300)] {
            let q = random_codes(&mut rng, 70, n_bits);
            let db = random_codes(&mut rng, n_db, n_bits);
            for k in [1, 5, 64, n_db - 1, n_db + 10] {
                let want = hamming_topk(&q, &db, TopK::K(k)).unwrap();
                for block in [1, 7, 256, n_db] {
                    assert_eq!(streamed(&q, &db, k, block), want, "{n_bits} bits, K = {k}, blocks of {block}");
                }
            }
            let (idx, _) = streamed(&q, &db, 10, 33);
            let brute: Vec<usize> = brute_rank(&q, 0, &db)[..10].iter().map(|p| p.1).collect();
            assert_eq!(idx.row(0).to_vec(), brute);
        }
    }

    #[test]
    fn blocks_across_tiles_keep_the_index_order() {
        let mut rng = ChaCha8Rng::seed_from_u64(23);
        let q = random_codes(&mut rng, MAX_QUERY_BLOCK + 5, 4);
        let db = random_codes(&mut rng, 3 * TILE_WORDS + 17, 4);
        let want = hamming_topk(&q, &db, TopK::K(100)).unwrap();
        assert_eq!(streamed(&q, &db, 100, TILE_WORDS + 3), want);
    }

    #[test]
    fn errors() {
        let q = crate::rank::tests::codes(&["0101"]);
        assert_eq!(StreamingTopK::new(&q, 0).err(), Some(Error::ZeroK));
        let mut search = StreamingTopK::new(&q, 2).unwrap();
        let err = search.push(&crate::rank::tests::codes(&["01010"])).unwrap_err();
        assert_eq!(err, Error::BitsMismatch { query_bits: 4, database_bits: 5 });
        assert_eq!(search.finish().unwrap_err(), Error::EmptySet { set: "database" });
        let empty = PackedCodes::from_bits(Array2::from_elem((0, 4), false).view());
        assert_eq!(StreamingTopK::new(&empty, 1).err(), Some(Error::EmptySet { set: "query set" }));
    }
}
