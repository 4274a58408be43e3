//! faiss's own file format for `IndexBinaryFlat`, so codes load with
//! `faiss.read_index_binary(path)`.
//!
//! faiss writes an `IndexBinaryFlat` (`write_index_binary` in `faiss/impl/index_write.cpp`)
//! as its fourcc, the `IndexBinary` header and the code vector, each field in the
//! machine's native byte order (little-endian on every platform faiss ships wheels for):
//!
//! | offset | bytes | field | value |
//! |---|---|---|---|
//! | 0 | 4 | fourcc | `IBxF` |
//! | 4 | 4 | `d` (int32) | bits per code, a multiple of 8 |
//! | 8 | 4 | `code_size` (int32) | `d / 8` bytes per code |
//! | 12 | 8 | `ntotal` (int64) | number of codes |
//! | 20 | 1 | `is_trained` (bool) | 1 |
//! | 21 | 4 | `metric_type` (int32) | 1 (`METRIC_L2`, the `IndexBinary` default; binary search is Hamming whatever it says) |
//! | 25 | 8 | `xb.size()` (uint64) | `ntotal × code_size` |
//! | 33 | `ntotal × code_size` | `xb` | the codes, row after row |
//!
//! `read_index_binary` (`faiss/impl/index_read.cpp`) checks `d > 0`, `d % 8 == 0`,
//! `code_size == d / 8` and `xb.size() == ntotal × code_size`; [`FaissBinaryFlatHeader::decode`]
//! checks the same, plus the file size. The code bytes are faiss's binary layout, which
//! is [`PackedCodes`]'s: a code of `b` bits is stored in `ceil(b / 8)` bytes with zero
//! padding bits, so it becomes a `d = 8 · ceil(b / 8)`-bit faiss code at the same Hamming
//! distances.

use ndarray::Array2;

use crate::codes::PackedCodes;
use crate::error::{Error, Result};

/// The fourcc faiss writes first for an `IndexBinaryFlat`.
pub const FOURCC: [u8; 4] = *b"IBxF";
/// Bytes before the codes.
pub const HEADER_LEN: usize = 33;
/// `METRIC_L2`, what `IndexBinaryFlat(d)` stores as its metric.
const METRIC_L2: i32 = 1;

/// The header of a faiss `IndexBinaryFlat` file: how many codes of how many bytes follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaissBinaryFlatHeader {
    /// `ntotal`, the number of codes.
    pub n_codes: u64,
    /// `code_size`, bytes per code.
    pub code_size: usize,
}

impl FaissBinaryFlatHeader {
    /// The header of `n_codes` codes of `code_size` bytes.
    ///
    /// # Errors
    ///
    /// [`Error::FaissFormat`] if `code_size` is 0 or `8 · code_size` does not fit faiss's
    /// `int` dimension, or if the payload size overflows.
    pub fn new(n_codes: u64, code_size: usize) -> Result<Self> {
        let header = FaissBinaryFlatHeader { n_codes, code_size };
        header.check()?;
        Ok(header)
    }

    fn check(&self) -> Result<()> {
        if self.code_size == 0 {
            return Err(Error::FaissFormat("codes of 0 bytes".into()));
        }
        if self.code_size.checked_mul(8).and_then(|d| i32::try_from(d).ok()).is_none() {
            return Err(Error::FaissFormat(format!("codes of {} bytes are too long for faiss", self.code_size)));
        }
        if i64::try_from(self.n_codes).is_err() || self.payload_len().is_none() {
            return Err(Error::FaissFormat(format!("{} codes of {} bytes are too many", self.n_codes, self.code_size)));
        }
        Ok(())
    }

    /// `ntotal × code_size`, the bytes after the header; `None` on overflow.
    pub fn payload_len(&self) -> Option<u64> {
        self.n_codes.checked_mul(self.code_size as u64)
    }

    /// The [`HEADER_LEN`] bytes faiss writes before the codes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..4].copy_from_slice(&FOURCC);
        out[4..8].copy_from_slice(&((8 * self.code_size) as i32).to_le_bytes());
        out[8..12].copy_from_slice(&(self.code_size as i32).to_le_bytes());
        out[12..20].copy_from_slice(&(self.n_codes as i64).to_le_bytes());
        out[20] = 1;
        out[21..25].copy_from_slice(&METRIC_L2.to_le_bytes());
        out[25..33].copy_from_slice(&(self.n_codes * self.code_size as u64).to_le_bytes());
        out
    }

    /// Reads the header from the first bytes of a file of `file_len` bytes, checking it
    /// as faiss's reader does and that the codes it announces are exactly the rest of
    /// the file.
    ///
    /// # Errors
    ///
    /// [`Error::FaissFormat`] for another fourcc (another index type), a short header,
    /// inconsistent sizes, or a file of another length than the header says.
    pub fn decode(bytes: &[u8], file_len: u64) -> Result<Self> {
        let bad = |reason: String| Err(Error::FaissFormat(reason));
        if bytes.len() < HEADER_LEN {
            return bad(format!("{} bytes is too short for an IndexBinaryFlat header", bytes.len()));
        }
        if bytes[0..4] != FOURCC {
            return bad(format!(
                "fourcc {:?} is not IBxF (only IndexBinaryFlat files are read)",
                String::from_utf8_lossy(&bytes[0..4])
            ));
        }
        let i32_at = |at: usize| i32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        let (d, code_size) = (i32_at(4), i32_at(8));
        let ntotal = i64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
        let xb_len = u64::from_le_bytes(bytes[25..33].try_into().expect("8 bytes"));
        if d <= 0 || d % 8 != 0 {
            return bad(format!("dimension {d} is not a positive multiple of 8"));
        }
        if code_size != d / 8 {
            return bad(format!("code_size {code_size} does not match d / 8 = {}", d / 8));
        }
        if bytes[20] > 1 {
            return bad(format!("invalid is_trained byte {:#04x}", bytes[20]));
        }
        let Ok(n_codes) = u64::try_from(ntotal) else {
            return bad(format!("negative ntotal {ntotal}"));
        };
        let header = FaissBinaryFlatHeader { n_codes, code_size: code_size as usize };
        if header.payload_len() != Some(xb_len) {
            return bad(format!("code vector of {xb_len} bytes does not hold {ntotal} codes of {code_size} bytes"));
        }
        let available = file_len.saturating_sub(HEADER_LEN as u64);
        if available != xb_len {
            return bad(format!("the header announces {xb_len} bytes of codes but the file holds {available}"));
        }
        Ok(header)
    }
}

impl PackedCodes {
    /// The codes as a complete faiss `IndexBinaryFlat` file (see the [module docs](crate::faiss)).
    ///
    /// ```
    /// use hagcn_eval::PackedCodes;
    /// use ndarray::array;
    ///
    /// let codes = PackedCodes::from_bits(array![[true, false, true]].view());
    /// let file = codes.to_faiss_bytes()?;
    /// assert_eq!(&file[..4], b"IBxF");
    /// assert_eq!(file.len(), 33 + 1);
    /// assert_eq!(PackedCodes::from_faiss_bytes(&file)?.bytes(), codes.bytes());
    /// # Ok::<(), hagcn_eval::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`FaissBinaryFlatHeader::new`].
    pub fn to_faiss_bytes(&self) -> Result<Vec<u8>> {
        let header = FaissBinaryFlatHeader::new(self.n_codes() as u64, self.n_bytes())?;
        let mut out = header.encode().to_vec();
        out.extend(self.bytes().iter());
        Ok(out)
    }

    /// Reads a whole faiss `IndexBinaryFlat` file; the codes have `8 × code_size` bits.
    ///
    /// # Errors
    ///
    /// As [`FaissBinaryFlatHeader::decode`].
    pub fn from_faiss_bytes(file: &[u8]) -> Result<PackedCodes> {
        let header = FaissBinaryFlatHeader::decode(file, file.len() as u64)?;
        let bytes = Array2::from_shape_vec((header.n_codes as usize, header.code_size), file[HEADER_LEN..].to_vec())
            .expect("decode checked the payload length");
        PackedCodes::from_bytes(bytes, 8 * header.code_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rank::tests::random_codes;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// Written by faiss-cpu 1.15.1 itself (`tests/fixtures/make_faiss_fixture.py`): 5 codes of
    /// 16 bits, rows `[i, 255 - i]` for `i` in `0, 1, 2, 3, 250`.
    const FIXTURE: &[u8] = include_bytes!("../tests/fixtures/faiss_binary_flat_5x16.index");

    fn fixture_codes() -> PackedCodes {
        let rows = [0u8, 1, 2, 3, 250];
        PackedCodes::from_bytes(
            Array2::from_shape_fn((5, 2), |(i, j)| if j == 0 { rows[i] } else { 255 - rows[i] }),
            16,
        )
        .unwrap()
    }

    #[test]
    fn matches_the_bytes_faiss_writes() {
        assert_eq!(fixture_codes().to_faiss_bytes().unwrap(), FIXTURE);
        let read = PackedCodes::from_faiss_bytes(FIXTURE).unwrap();
        assert_eq!(read, fixture_codes());
        assert_eq!(
            FaissBinaryFlatHeader::decode(FIXTURE, FIXTURE.len() as u64).unwrap(),
            FaissBinaryFlatHeader { n_codes: 5, code_size: 2 }
        );
    }

    #[test]
    fn round_trips_any_width_with_padding_bits_as_zero() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for n_bits in [8, 12, 28, 64, 100, 256] {
            let codes = random_codes(&mut rng, 37, n_bits);
            let back = PackedCodes::from_faiss_bytes(&codes.to_faiss_bytes().unwrap()).unwrap();
            assert_eq!(back.n_bits(), 8 * n_bits.div_ceil(8));
            assert_eq!(back.bytes(), codes.bytes());
        }
    }

    #[test]
    fn corrupt_headers_are_errors() {
        let good = fixture_codes().to_faiss_bytes().unwrap();
        let with = |at: usize, patch: &[u8]| {
            let mut f = good.clone();
            f[at..at + patch.len()].copy_from_slice(patch);
            f
        };
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (good[..20].to_vec(), "too short"),
            (with(0, b"IwFl"), "not IBxF"),
            (with(4, &12i32.to_le_bytes()), "multiple of 8"),
            (with(4, &(-8i32).to_le_bytes()), "multiple of 8"),
            (with(8, &3i32.to_le_bytes()), "code_size 3"),
            (with(12, &(-1i64).to_le_bytes()), "negative ntotal"),
            (with(12, &1_000_000_000_000i64.to_le_bytes()), "does not hold"),
            (with(20, &[7]), "is_trained"),
            (with(25, &u64::MAX.to_le_bytes()), "does not hold"),
            (good[..good.len() - 1].to_vec(), "file holds 9"),
            ([good.clone(), vec![0]].concat(), "file holds 11"),
        ];
        for (file, needle) in cases {
            let err = PackedCodes::from_faiss_bytes(&file).unwrap_err();
            assert!(matches!(err, Error::FaissFormat(_)), "{err:?}");
            assert!(err.to_string().contains(needle), "{needle}: {err}");
        }
        assert!(FaissBinaryFlatHeader::new(3, 0).is_err());
        assert!(FaissBinaryFlatHeader::new(u64::MAX, 8).is_err());
    }
}
