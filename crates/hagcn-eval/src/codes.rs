//! Packed binary codes and the Hamming distance between them.
//!
//! A code of `b` bits is stored in `ceil(b / 8)` bytes, least significant bit first, as
//! faiss's `IndexBinary*` stores them: bit `j` lives in byte `j / 8` at position `j % 8`
//! (value `1 << (j % 8)`). The `8 * ceil(b / 8) - b` padding bits of the last byte are
//! always zero, so they never contribute to a distance.
//!
//! Bit `j` of the code of item `i` is `1` exactly when the hashing layer's pre-activation
//! is non-negative, `(X W2ᵀ + b2)[i, j] ≥ 0` (spec §4; equivalently `sigmoid(·) ≥ 0.5`).
//!
//! The Hamming distance between two codes is the number of positions where they differ,
//! `d(a, b) = popcount(a XOR b)`. Read as little-endian 64-bit words, code bit `i` is bit
//! `i % 64` of word `i / 64`, so `d(a, b) = Σ_w popcount(a_w XOR b_w)`.

use ndarray::{Array2, ArrayView2};

use crate::error::{Error, Result};

/// A matrix of packed binary codes: one row of `ceil(n_bits / 8)` bytes per code.
///
/// The layout is faiss's (see the [module docs](self)); the padding bits are zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedCodes {
    /// `n_codes × ceil(n_bits / 8)`, standard (row-major) layout.
    bytes: Array2<u8>,
    n_bits: usize,
}

impl PackedCodes {
    /// Binarises real-valued logits: bit `j` of code `i` is set where `logits[i, j] ≥ 0`.
    ///
    /// `logits` is `n_codes × n_bits`, typically `X W2ᵀ + b2`. `NaN` gives a zero bit
    /// (it is not `≥ 0`); `-0.0` gives a one bit (it equals `0`).
    ///
    /// ```
    /// use hagcn_eval::PackedCodes;
    /// use ndarray::array;
    ///
    /// let codes = PackedCodes::from_logits(array![[1.0f32, -1.0, 0.0, -0.5, 2.0]].view());
    /// assert_eq!(codes.bytes()[[0, 0]], 0b1_0101);
    /// ```
    pub fn from_logits(logits: ArrayView2<f32>) -> PackedCodes {
        PackedCodes::pack(logits.nrows(), logits.ncols(), |i, j| logits[[i, j]] >= 0.0)
    }

    /// Packs a matrix of bits, `n_codes × n_bits`; `true` is a one bit.
    ///
    /// ```
    /// use hagcn_eval::PackedCodes;
    /// use ndarray::Array2;
    ///
    /// // A 10-bit code with bits 0 and 9 set: byte 0 = 0b1, byte 1 = 0b10.
    /// let bits = Array2::from_shape_fn((1, 10), |(_, j)| j == 0 || j == 9);
    /// let codes = PackedCodes::from_bits(bits.view());
    /// assert_eq!(codes.code(0), &[0b1, 0b10]);
    /// ```
    pub fn from_bits(bits: ArrayView2<bool>) -> PackedCodes {
        PackedCodes::pack(bits.nrows(), bits.ncols(), |i, j| bits[[i, j]])
    }

    /// Wraps already packed codes, `n_codes × ceil(n_bits / 8)` bytes in faiss's layout.
    ///
    /// # Errors
    ///
    /// [`Error::ZeroBits`] if `n_bits == 0`, [`Error::ByteWidth`] if the matrix is not
    /// `ceil(n_bits / 8)` bytes wide, and [`Error::NonZeroPadding`] if any code has a one
    /// among its padding bits (bits `n_bits..8 * ceil(n_bits / 8)`).
    pub fn from_bytes(bytes: Array2<u8>, n_bits: usize) -> Result<PackedCodes> {
        if n_bits == 0 {
            return Err(Error::ZeroBits);
        }
        let expected = n_bits.div_ceil(8);
        if bytes.ncols() != expected {
            return Err(Error::ByteWidth { n_bits, expected, got: bytes.ncols() });
        }
        let used = n_bits - 8 * (expected - 1);
        if used < 8 {
            let padding_mask = !((1u8 << used) - 1);
            let last = expected - 1;
            if let Some((code_idx, &byte)) =
                bytes.column(last).iter().enumerate().find(|&(_, &byte)| byte & padding_mask != 0)
            {
                return Err(Error::NonZeroPadding { code_idx, byte_idx: last, byte, n_bits });
            }
        }
        let bytes = if bytes.is_standard_layout() { bytes } else { bytes.as_standard_layout().into_owned() };
        Ok(PackedCodes { bytes, n_bits })
    }

    fn pack(n_codes: usize, n_bits: usize, bit: impl Fn(usize, usize) -> bool) -> PackedCodes {
        let mut bytes = Array2::<u8>::zeros((n_codes, n_bits.div_ceil(8)));
        for ((i, byte_idx), byte) in bytes.indexed_iter_mut() {
            let start = 8 * byte_idx;
            for j in start..n_bits.min(start + 8) {
                if bit(i, j) {
                    *byte |= 1 << (j - start);
                }
            }
        }
        PackedCodes { bytes, n_bits }
    }

    /// Number of codes (rows).
    pub fn n_codes(&self) -> usize {
        self.bytes.nrows()
    }

    /// Number of bits per code.
    pub fn n_bits(&self) -> usize {
        self.n_bits
    }

    /// Number of bytes per code, `ceil(n_bits / 8)`.
    pub fn n_bytes(&self) -> usize {
        self.bytes.ncols()
    }

    /// The packed bytes, `n_codes × ceil(n_bits / 8)` in faiss's layout.
    pub fn bytes(&self) -> ArrayView2<'_, u8> {
        self.bytes.view()
    }

    /// The bytes of code `code_idx`.
    ///
    /// # Panics
    ///
    /// If `code_idx >= n_codes()`.
    pub fn code(&self, code_idx: usize) -> &[u8] {
        let n_bytes = self.n_bytes();
        let all = self.bytes.as_slice().expect("PackedCodes keeps its bytes in standard layout");
        &all[code_idx * n_bytes..(code_idx + 1) * n_bytes]
    }

    /// Bit `bit_idx` of code `code_idx`.
    ///
    /// # Panics
    ///
    /// If `code_idx >= n_codes()` or `bit_idx >= n_bits()`.
    pub fn bit(&self, code_idx: usize, bit_idx: usize) -> bool {
        assert!(bit_idx < self.n_bits, "bit index {bit_idx} out of range for {}-bit codes", self.n_bits);
        self.bytes[[code_idx, bit_idx / 8]] >> (bit_idx % 8) & 1 == 1
    }

    /// Number of little-endian `u64` words per code, `ceil(n_bits / 64)`.
    pub(crate) fn n_words(&self) -> usize {
        self.n_bits.div_ceil(64)
    }

    /// The codes as an `n_codes × n_words()` row-major matrix of little-endian `u64` words;
    /// code bit `i` is bit `i % 64` of word `i / 64`, and the last word is zero-padded.
    pub(crate) fn to_words(&self) -> Vec<u64> {
        let n_words = self.n_words();
        let n_bytes = self.n_bytes();
        let mut words = vec![0u64; self.n_codes() * n_words];
        if n_words == 0 {
            return words;
        }
        for (code_idx, row) in words.chunks_exact_mut(n_words).enumerate() {
            let code = self.code(code_idx);
            for (w, word) in row.iter_mut().enumerate() {
                let chunk = &code[8 * w..n_bytes.min(8 * w + 8)];
                let mut le = [0u8; 8];
                le[..chunk.len()].copy_from_slice(chunk);
                *word = u64::from_le_bytes(le);
            }
        }
        words
    }
}

/// The Hamming distance between two packed codes: the number of differing bits.
///
/// Reads whole 8-byte groups as little-endian `u64` words and pops the count of their
/// XOR, then finishes the remaining bytes one at a time.
///
/// ```
/// assert_eq!(hagcn_eval::hamming_distance(&[0b1011, 0xff], &[0b0001, 0x0f]), 6);
/// ```
///
/// # Panics
///
/// If `a` and `b` have different lengths.
pub fn hamming_distance(a: &[u8], b: &[u8]) -> u32 {
    assert_eq!(a.len(), b.len(), "hamming_distance: codes of {} and {} bytes", a.len(), b.len());
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: u32 = a8.remainder().iter().zip(b8.remainder()).map(|(x, y)| (x ^ y).count_ones()).sum();
    let words: u32 = a8
        .zip(b8)
        .map(|(x, y)| {
            let x = u64::from_le_bytes(x.try_into().expect("chunk of 8 bytes"));
            let y = u64::from_le_bytes(y.try_into().expect("chunk of 8 bytes"));
            (x ^ y).count_ones()
        })
        .sum();
    words + tail
}

/// The Hamming distance between two codes held as `u64` words.
#[inline(always)]
pub(crate) fn hamming_words(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, array};
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random_bits(rng: &mut ChaCha8Rng, n_codes: usize, n_bits: usize) -> Array2<bool> {
        Array2::from_shape_simple_fn((n_codes, n_bits), || rng.random())
    }

    fn naive_distance(bits: &Array2<bool>, a: usize, b: usize) -> u32 {
        bits.row(a).iter().zip(bits.row(b)).filter(|(x, y)| x != y).count() as u32
    }

    #[test]
    fn logits_pack_lsb_first() {
        // Bits (j = 0..): 1 0 1 0 1 0 0 0 | 1 1 → byte 0 = 0b0001_0101, byte 1 = 0b11.
        let logits = array![[1.0f32, -1.0, 0.0, -0.5, 2.0, -3.0, -1e-7, -1.0, 0.1, 5.0]];
        let codes = PackedCodes::from_logits(logits.view());
        assert_eq!(codes.n_codes(), 1);
        assert_eq!(codes.n_bits(), 10);
        assert_eq!(codes.code(0), &[0b0001_0101, 0b11]);
        // -0.0 ≥ 0 holds; NaN ≥ 0 does not.
        let edge = PackedCodes::from_logits(array![[-0.0f32, f32::NAN]].view());
        assert_eq!(edge.code(0), &[0b01]);
    }

    #[test]
    fn full_bytes_literal() {
        // 16 bits: bit 7 and bit 8 set → byte 0 = 0x80, byte 1 = 0x01.
        let bits = Array2::from_shape_fn((1, 16), |(_, j)| j == 7 || j == 8);
        let codes = PackedCodes::from_bits(bits.view());
        assert_eq!(codes.code(0), &[0x80, 0x01]);
        assert!(codes.bit(0, 7) && codes.bit(0, 8) && !codes.bit(0, 9));
    }

    #[test]
    fn pack_and_round_trip_many_widths() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for n_bits in [1, 7, 8, 16, 28, 32, 63, 64, 65, 70, 128, 130] {
            let bits = random_bits(&mut rng, 13, n_bits);
            let codes = PackedCodes::from_bits(bits.view());
            assert_eq!(codes.n_bytes(), n_bits.div_ceil(8));
            for ((i, j), &b) in bits.indexed_iter() {
                assert_eq!(codes.bit(i, j), b, "{n_bits} bits, code {i}, bit {j}");
                let byte = codes.bytes()[[i, j / 8]];
                assert_eq!(byte >> (j % 8) & 1 == 1, b);
            }
            // Logits with the same signs pack to the same bytes.
            let logits = bits.mapv(|b| if b { 0.25f32 } else { -0.25 });
            assert_eq!(PackedCodes::from_logits(logits.view()), codes);
            let again = PackedCodes::from_bytes(codes.bytes().to_owned(), n_bits).unwrap();
            assert_eq!(again, codes);
            // Words: bit i → word i / 64, bit i % 64, zero padding.
            let words = codes.to_words();
            let n_words = codes.n_words();
            for ((i, j), &b) in bits.indexed_iter() {
                assert_eq!(words[i * n_words + j / 64] >> (j % 64) & 1 == 1, b);
            }
            let set: u32 = words.iter().map(|w| w.count_ones()).sum();
            assert_eq!(set as usize, bits.iter().filter(|&&b| b).count());
        }
    }

    #[test]
    fn from_bytes_accepts_non_standard_layout() {
        let transposed = array![[1u8, 3], [2, 4]].reversed_axes();
        let codes = PackedCodes::from_bytes(transposed, 16).unwrap();
        assert_eq!(codes.code(0), &[1, 2]);
        assert_eq!(codes.code(1), &[3, 4]);
    }

    #[test]
    fn from_bytes_errors() {
        assert_eq!(PackedCodes::from_bytes(Array2::zeros((2, 0)), 0), Err(Error::ZeroBits));
        assert_eq!(
            PackedCodes::from_bytes(Array2::zeros((2, 4)), 28 + 8),
            Err(Error::ByteWidth { n_bits: 36, expected: 5, got: 4 })
        );
        // 28 bits: the high nibble of byte 3 is padding.
        let mut bytes = Array2::<u8>::zeros((3, 4));
        bytes[[2, 3]] = 0x1f;
        let err = PackedCodes::from_bytes(bytes.clone(), 28).unwrap_err();
        assert_eq!(err, Error::NonZeroPadding { code_idx: 2, byte_idx: 3, byte: 0x1f, n_bits: 28 });
        assert_eq!(
            err.to_string(),
            "code 2 has nonzero padding bits in byte 3 (value 0b00011111); \
             bits 28 and above must be zero"
        );
        bytes[[2, 3]] = 0x0f;
        assert!(PackedCodes::from_bytes(bytes, 28).is_ok());
    }

    #[test]
    fn hamming_matches_naive_count() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for n_bits in [1, 5, 28, 64, 70, 127, 200] {
            let bits = random_bits(&mut rng, 20, n_bits);
            let codes = PackedCodes::from_bits(bits.view());
            let words = codes.to_words();
            let n_words = codes.n_words();
            for a in 0..20 {
                for b in 0..20 {
                    let expect = naive_distance(&bits, a, b);
                    assert_eq!(hamming_distance(codes.code(a), codes.code(b)), expect);
                    let (wa, wb) = (&words[a * n_words..(a + 1) * n_words], &words[b * n_words..(b + 1) * n_words]);
                    assert_eq!(hamming_words(wa, wb), expect);
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "codes of 2 and 3 bytes")]
    fn hamming_length_mismatch_panics() {
        hamming_distance(&[0, 0], &[0, 0, 0]);
    }
}
