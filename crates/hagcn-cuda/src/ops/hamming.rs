//! Hamming top-K ranking on a [`KernelDevice`] (`kernels/hamming.cu`): a database of binary
//! codes kept on the device, and queries ranked against it by the kernel `hamming_topk_u64`.
//!
//! **Codes.** A code of `n_bits` bits is [`words_per_code`]`(n_bits) = ⌈n_bits / 64⌉`
//! little-endian `u64` words: bit `b` of the code is bit `b % 64` of word `b / 64`, and the
//! bits from `n_bits` to the end of the last word are zero. Codes are stored one after the
//! other. This is faiss's LSB-first byte layout, which `hagcn_eval::PackedCodes` uses (bit `b`
//! in byte `b / 8` at position `b % 8`), read eight bytes at a time: word `w` of a code is
//! `u64::from_le_bytes` of the code's bytes `8w .. 8w + 8`, the last word zero-padded. The
//! distance is `d(a, b) = Σ_w popcount(a_w XOR b_w)`.
//!
//! **Ranking.** For each query, the first `min(K, N)` of the `N` database items in the order of
//! `(distance, index)`: ties are broken by the lower database index. This is exactly
//! `hagcn_eval::hamming_topk` (a counting sort there and in the kernel, which scans the database
//! twice with one warp per query: a histogram of distances, then a stable scatter).
//!
//! **Limits** (checked on the host; each is an [`Error::InvalidArgument`]): `1 ≤ n_bits ≤`
//! [`MAX_BITS`] (the kernel's histogram has `n_bits + 1` bins per warp in shared memory),
//! `N ≥ 1` and `N ≤` [`MAX_CODES`] (the kernel indexes the database with an `int` that steps
//! 32 at a time; 10 million codes are far inside), `K ≥ 1`, and the padding bits zero (a
//! distance over `n_bits` would fall outside the histogram). Queries are ranked in launches of
//! at most `max(1, max_results_per_launch / min(K, N))` queries (and at most
//! [`MAX_QUERIES_PER_LAUNCH`]), so the device holds the results of one launch at a time.
//!
//! ```
//! use std::sync::Arc;
//! use hagcn_cuda::{EmulatedDevice, HammingIndex, hamming::code_words};
//! use hagcn_eval::{PackedCodes, TopK, hamming_topk};
//! use ndarray::array;
//!
//! /// `PackedCodes` as words.
//! fn words(codes: &PackedCodes) -> Vec<u64> {
//!     code_words(codes.bytes().as_slice().expect("contiguous codes"), codes.n_codes(), codes.n_bits()).unwrap()
//! }
//!
//! let db = PackedCodes::from_bits(array![[true, true], [false, true], [true, false]].view());
//! let q = PackedCodes::from_bits(array![[false, false], [true, true]].view());
//! let index = HammingIndex::new(Arc::new(EmulatedDevice), &words(&db), db.n_codes(), db.n_bits())?;
//! let (idx, dist) = index.topk(&words(&q), q.n_codes(), 2)?;
//! assert_eq!(idx, array![[1, 2], [0, 1]]);
//! assert_eq!(dist, array![[1, 1], [0, 1]]);
//! assert_eq!((idx, dist), hamming_topk(&q, &db, TopK::K(2)).unwrap());
//! # Ok::<(), hagcn_cuda::Error>(())
//! ```

use std::sync::Arc;

use ndarray::Array2;

use crate::device::{Buffer, KernelDevice};
use crate::emu::Dim3;
use crate::error::{Error, Result};
use crate::kernels::hamming as k;

/// The longest code the kernel ranks, in bits (`HAGCN_TOPK_MAX_BITS` of `kernels/hamming.cu`).
pub const MAX_BITS: usize = 512;

/// The largest database the kernel ranks: its `int` index over the database steps 32 items at
/// a time and must not pass `i32::MAX`.
pub const MAX_CODES: usize = i32::MAX as usize - 31;

/// The most queries one launch ranks, whatever `K`.
pub const MAX_QUERIES_PER_LAUNCH: usize = 1 << 16;

/// The default bound on the results (`queries × min(K, N)`, 8 bytes each on the device) one
/// launch writes: 32 MiB.
pub const DEFAULT_MAX_RESULTS_PER_LAUNCH: usize = 1 << 22;

/// Warps per block of the top-K kernel (`HAGCN_TOPK_MAX_WARPS`), one query each.
const MAX_WARPS: usize = 8;

/// The `u64` words of one `n_bits`-bit code, `⌈n_bits / 64⌉`.
pub fn words_per_code(n_bits: usize) -> usize {
    n_bits.div_ceil(64)
}

/// `n_codes` codes of `n_bits` bits stored as faiss / `hagcn_eval::PackedCodes` bytes
/// (`⌈n_bits/8⌉` bytes per code, bit `b` in byte `b / 8` at position `b % 8`) as the index's
/// words: each code's bytes read eight at a time as a little-endian `u64`, the last word
/// zero-padded.
///
/// # Errors
///
/// [`Error::InvalidArgument`] when `bytes` does not hold exactly `n_codes × ⌈n_bits/8⌉` bytes.
pub fn code_words(bytes: &[u8], n_codes: usize, n_bits: usize) -> Result<Vec<u64>> {
    let per_code = n_bits.div_ceil(8);
    if n_codes.checked_mul(per_code) != Some(bytes.len()) {
        return Err(Error::InvalidArgument(format!(
            "{} bytes for {n_codes} codes of {n_bits} bits ({per_code} bytes each)",
            bytes.len()
        )));
    }
    let mut out = Vec::with_capacity(n_codes * words_per_code(n_bits));
    for code in bytes.chunks(per_code.max(1)).take(n_codes) {
        for chunk in code.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            out.push(u64::from_le_bytes(word));
        }
    }
    Ok(out)
}

/// A database of binary codes resident on a [`KernelDevice`], ranked against queries by
/// Hamming distance (see the [module docs](self) for the word layout and the limits).
pub struct HammingIndex<D: KernelDevice> {
    device: Arc<D>,
    codes: Buffer<D, u64>,
    n_codes: usize,
    n_bits: usize,
    max_results_per_launch: usize,
}

impl<D: KernelDevice> std::fmt::Debug for HammingIndex<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HammingIndex")
            .field("device", &self.device.describe())
            .field("n_codes", &self.n_codes)
            .field("n_bits", &self.n_bits)
            .field("max_results_per_launch", &self.max_results_per_launch)
            .finish()
    }
}

impl<D: KernelDevice> HammingIndex<D> {
    /// Uploads `n_codes` codes of `n_bits` bits, packed as [`words_per_code`]`(n_bits)` words
    /// each (module docs).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when `n_bits` is 0 or over [`MAX_BITS`], the database is
    /// empty or larger than [`MAX_CODES`], `codes` does not hold `n_codes` codes, or a code has
    /// a padding bit set; the device's error when it cannot allocate or copy.
    pub fn new(device: Arc<D>, codes: &[u64], n_codes: usize, n_bits: usize) -> Result<Self> {
        if n_bits == 0 || n_bits > MAX_BITS {
            return Err(Error::InvalidArgument(format!(
                "Hamming top-K: codes of {n_bits} bits; the kernel ranks codes of 1 to {MAX_BITS} bits"
            )));
        }
        if n_codes == 0 {
            return Err(Error::InvalidArgument("Hamming top-K: the database is empty".into()));
        }
        if n_codes > MAX_CODES {
            return Err(Error::InvalidArgument(format!(
                "Hamming top-K: a database of {n_codes} codes is over the kernel's limit of {MAX_CODES} \
                 (int indices); split it"
            )));
        }
        check_codes("database", codes, n_codes, n_bits)?;
        let codes = device.upload(codes)?;
        Ok(HammingIndex { device, codes, n_codes, n_bits, max_results_per_launch: DEFAULT_MAX_RESULTS_PER_LAUNCH })
    }

    /// The same index, ranking at most `max(1, n / min(K, N))` queries per launch (default
    /// [`DEFAULT_MAX_RESULTS_PER_LAUNCH`]): the device memory for results is `8 n` bytes.
    #[must_use]
    pub fn with_max_results_per_launch(mut self, n: usize) -> Self {
        self.max_results_per_launch = n;
        self
    }

    /// The number of database codes, `N`.
    pub fn n_codes(&self) -> usize {
        self.n_codes
    }

    /// The bits per code.
    pub fn n_bits(&self) -> usize {
        self.n_bits
    }

    /// The device the codes live on.
    pub fn device(&self) -> &Arc<D> {
        &self.device
    }

    /// For each of the `n_queries` queries in `queries` (codes of [`Self::n_bits`] bits,
    /// [`words_per_code`] words each), its top-`k` database items: `(indices, distances)`, both
    /// `n_queries × min(k, N)`, row `q` sorted by `(distance, index)`, exactly as
    /// `hagcn_eval::hamming_topk` with `TopK::K(k)`. No queries give `0 × min(k, N)`
    /// matrices.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when `k` is 0, `queries` does not hold `n_queries` codes of
    /// the database's length, or a query has a padding bit set; the device's error when a copy
    /// or launch fails.
    pub fn topk(&self, queries: &[u64], n_queries: usize, k: usize) -> Result<(Array2<usize>, Array2<u32>)> {
        if k == 0 {
            return Err(Error::InvalidArgument("Hamming top-K: k must be at least 1".into()));
        }
        check_codes("queries", queries, n_queries, self.n_bits)?;
        let width = k.min(self.n_codes);
        let mut indices = Array2::zeros((n_queries, width));
        let mut distances = Array2::zeros((n_queries, width));
        let words = words_per_code(self.n_bits);
        let per_launch = (self.max_results_per_launch / width).clamp(1, MAX_QUERIES_PER_LAUNCH);
        let int = |v: usize| {
            i32::try_from(v)
                .map_err(|_| Error::InvalidArgument(format!("Hamming top-K: size {v} over the kernel's int")))
        };
        for (chunk_idx, chunk) in queries.chunks(per_launch * words).enumerate() {
            let n = chunk.len() / words;
            let first = chunk_idx * per_launch;
            let query_buf = self.device.upload(chunk)?;
            let mut idx_buf = self.device.alloc_zeros::<u32>(n * width)?;
            let mut dist_buf = self.device.alloc_zeros::<u32>(n * width)?;
            let warps = n.min(MAX_WARPS);
            let (grid, block) = (Dim3::x(n.div_ceil(warps) as u32), Dim3::x(32 * warps as u32));
            let args = (
                &query_buf,
                &self.codes,
                &mut idx_buf,
                &mut dist_buf,
                int(n)?,
                int(self.n_codes)?,
                int(words)?,
                int(self.n_bits)?,
                int(width)?,
            );
            // SAFETY: the query buffer holds n codes and the database N, `words` words each,
            // with zero padding bits (checked), so every distance is ≤ n_bits ≤ MAX_BITS, inside
            // the kernel's histogram; the result buffers hold n × width entries, and
            // 1 ≤ width ≤ N; the block is whole warps, at most MAX_WARPS of them.
            unsafe { self.device.launch(&k::HAMMING_TOPK_U64, grid, block, args) }?;
            let (idx, dist) = (self.device.download(&idx_buf)?, self.device.download(&dist_buf)?);
            for (row, (idx, dist)) in idx.chunks_exact(width).zip(dist.chunks_exact(width)).enumerate() {
                for (r, (&i, &d)) in idx.iter().zip(dist).enumerate() {
                    indices[[first + row, r]] = i as usize;
                    distances[[first + row, r]] = d;
                }
            }
        }
        Ok((indices, distances))
    }
}

/// Checks that `codes` holds `n_codes` codes of `n_bits` bits with zero padding bits.
fn check_codes(what: &str, codes: &[u64], n_codes: usize, n_bits: usize) -> Result<()> {
    let words = words_per_code(n_bits);
    if n_codes.checked_mul(words) != Some(codes.len()) {
        return Err(Error::InvalidArgument(format!(
            "Hamming top-K: {what}: {} words do not hold {n_codes} codes of {n_bits} bits ({words} words each)",
            codes.len()
        )));
    }
    let used = n_bits % 64;
    if used != 0 {
        let padding = !0u64 << used;
        if let Some(code_idx) = codes.chunks_exact(words).position(|code| code[words - 1] & padding != 0) {
            return Err(Error::InvalidArgument(format!(
                "Hamming top-K: {what}: code {code_idx} has bits set past bit {} (the padding of its last word \
                 must be zero)",
                n_bits - 1
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_match_the_kernel_source() {
        let src = k::FILE.source;
        assert!(src.contains(&format!("#define HAGCN_TOPK_MAX_BITS {MAX_BITS}\n")));
        assert!(src.contains(&format!("#define HAGCN_TOPK_MAX_WARPS {MAX_WARPS}\n")));
        assert_eq!([words_per_code(1), words_per_code(64), words_per_code(65), words_per_code(512)], [1, 1, 2, 8]);
    }

    #[test]
    fn code_bytes_become_little_endian_words() {
        // Two codes of 72 bits (9 bytes, 2 words each).
        let bytes: Vec<u8> = (1..=18).collect();
        let words = code_words(&bytes, 2, 72).unwrap();
        assert_eq!(words, [0x0807_0605_0403_0201, 0x09, 0x1110_0f0e_0d0c_0b0a, 0x12]);
        assert_eq!(code_words(&[0xff], 1, 3).unwrap(), [0xff]);
        for (bytes, n_codes, n_bits) in [(&bytes[..17], 2, 72), (&bytes[..], 3, 56)] {
            let err = code_words(bytes, n_codes, n_bits).unwrap_err().to_string();
            assert!(err.contains(&format!("{} bytes for {n_codes} codes of {n_bits} bits", bytes.len())), "{err}");
        }
    }
}
