//! Streaming a 2-D `.npy` array a block of rows at a time.
//!
//! The payload of a C-order `N × d` array is `N` rows of `d` elements one after the other,
//! so rows `[r, r + m)` are the `m · d · size` bytes at `data_offset + r · d · size`. A
//! [`RowReader`] reads them with plain sequential `read`s, straight into the caller's
//! buffer when the payload is native-endian float32, else into one reusable byte buffer
//! that is converted; its memory is one block, whatever `N`.
//!
//! A Fortran-order (column-major) array, which NumPy writes for a transposed matrix, has no
//! contiguous rows: rows `[r, r + m)` of column `j` are the `m · size` bytes at
//! `data_offset + (j · N + r) · size`. The reader then reads the block one column at a time
//! (`d` reads of `m` elements) and transposes it into row-major order, so callers get the
//! same rows, and memory stays one block plus one column of it.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::decode::{BYTE_DTYPES, Decode, REAL_DTYPES};
use super::header::{self, Dtype, NpyHeader, bad, read_error};
use crate::error::Result;

/// Reads the rows of a 2-D `.npy` array (C or Fortran order) in blocks.
///
/// ```
/// use hagcn_data::npy::RowReader;
/// use ndarray::array;
///
/// let path = std::env::temp_dir().join(format!("rows-doctest-{}.npy", std::process::id()));
/// ndarray_npy::write_npy(&path, &array![[1.0f64, 2.0], [3.0, 4.0], [5.0, 6.0]]).unwrap();
/// let mut rows = RowReader::open_real(&path)?;
/// assert_eq!((rows.n_rows(), rows.n_cols()), (3, 2));
/// let mut block = Vec::new();
/// assert_eq!(rows.read_f32(2, &mut block)?, 2);
/// assert_eq!(block, [1.0, 2.0, 3.0, 4.0]);
/// assert_eq!(rows.read_f32(2, &mut block)?, 1);
/// assert_eq!(block, [5.0, 6.0]);
/// assert_eq!(rows.read_f32(2, &mut block)?, 0);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), hagcn_data::Error>(())
/// ```
#[derive(Debug)]
pub struct RowReader {
    path: PathBuf,
    reader: BufReader<File>,
    header: NpyHeader,
    /// Where the payload starts in the file.
    data_start: u64,
    next_row: usize,
    bytes: Vec<u8>,
    /// One column of a block (Fortran order only).
    column: Vec<u8>,
}

impl RowReader {
    /// Opens a float32 or float64 matrix (embeddings).
    ///
    /// # Errors
    ///
    /// As [`open`](crate::npy::open), plus [`Error::BadNpy`](crate::Error::BadNpy) for an array
    /// that is not 2-D.
    pub fn open_real(path: &Path) -> Result<RowReader> {
        RowReader::open_with(path, REAL_DTYPES, |d| matches!(d, Dtype::F32 | Dtype::F64))
    }

    /// Opens a uint8 matrix (packed binary codes, one code per row).
    ///
    /// # Errors
    ///
    /// As [`RowReader::open_real`], for dtype uint8.
    pub fn open_bytes(path: &Path) -> Result<RowReader> {
        RowReader::open_with(path, BYTE_DTYPES, |d| d == Dtype::U8)
    }

    fn open_with(path: &Path, expected: &'static str, accept: impl Fn(Dtype) -> bool) -> Result<RowReader> {
        let (mut reader, header) = header::open(path, expected, accept)?;
        if header.shape.len() != 2 {
            return Err(bad(path, format!("expected a 2-D array (rows × columns), found shape {:?}", header.shape)));
        }
        let data_start = reader.stream_position().map_err(|e| read_error(path, e))?;
        Ok(RowReader {
            path: path.to_path_buf(),
            reader,
            header,
            data_start,
            next_row: 0,
            bytes: Vec::new(),
            column: Vec::new(),
        })
    }

    /// The checked header.
    pub fn header(&self) -> &NpyHeader {
        &self.header
    }

    /// Number of rows, `N`.
    pub fn n_rows(&self) -> usize {
        self.header.shape[0]
    }

    /// Elements per row, `d`.
    pub fn n_cols(&self) -> usize {
        self.header.shape[1]
    }

    /// Rows not read yet.
    pub fn rows_left(&self) -> usize {
        self.n_rows() - self.next_row
    }

    /// Reads up to `max_rows` rows as `f32` into `out` (cleared first; row-major) and
    /// returns how many were read, `0` at the end. float64 values are rounded to `f32`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) when reading fails, and
    /// [`Error::BadNpy`](crate::Error::BadNpy) when the file was truncated after it was
    /// opened.
    ///
    /// # Panics
    ///
    /// If the reader was opened with [`RowReader::open_bytes`].
    pub fn read_f32(&mut self, max_rows: usize, out: &mut Vec<f32>) -> Result<usize> {
        assert!(!self.header.dtype.is_int(), "read_f32 on a uint8 array; use read_bytes");
        out.clear();
        let (rows, n_bytes) = self.next_block(max_rows);
        let native_f32 = self.header.dtype == Dtype::F32 && self.header.big_endian == cfg!(target_endian = "big");
        if native_f32 && !self.header.fortran_order {
            // The payload is the output's own bytes: read straight into it, no second copy.
            out.resize(rows * self.n_cols(), 0.0);
            // SAFETY: the slice covers exactly the `out.len()` initialised f32 of `out`,
            // which `out` keeps borrowed mutably for the slice's lifetime; u8 has alignment
            // 1 and every byte pattern is a valid f32, so any bytes read leave valid values.
            let bytes = unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr().cast::<u8>(), out.len() * 4) };
            self.reader.read_exact(bytes).map_err(|e| read_error(&self.path, e))?;
        } else {
            let mut bytes = std::mem::take(&mut self.bytes);
            self.read_rows(rows, n_bytes, &mut bytes)?;
            self.bytes = bytes;
            out.reserve(rows * self.n_cols());
            f32::decode(self.header.dtype, self.header.big_endian, &self.bytes, out);
        }
        self.next_row += rows;
        Ok(rows)
    }

    /// Reads up to `max_rows` rows of a uint8 array into `out` (cleared first) and returns
    /// how many were read, `0` at the end.
    ///
    /// # Errors
    ///
    /// As [`RowReader::read_f32`].
    ///
    /// # Panics
    ///
    /// If the reader was opened with [`RowReader::open_real`].
    pub fn read_bytes(&mut self, max_rows: usize, out: &mut Vec<u8>) -> Result<usize> {
        assert_eq!(self.header.dtype, Dtype::U8, "read_bytes on a float array; use read_f32");
        let (rows, n_bytes) = self.next_block(max_rows);
        self.read_rows(rows, n_bytes, out)?;
        self.next_row += rows;
        Ok(rows)
    }

    /// The raw bytes of the next `rows` rows (`n_bytes` of them) into `out`, row-major.
    fn read_rows(&mut self, rows: usize, n_bytes: usize, out: &mut Vec<u8>) -> Result<()> {
        out.clear();
        out.resize(n_bytes, 0);
        if !self.header.fortran_order {
            return self.reader.read_exact(out).map_err(|e| read_error(&self.path, e));
        }
        let (n, d, size) = (self.n_rows(), self.n_cols(), self.header.dtype.size());
        self.column.resize(rows * size, 0);
        for j in 0..d {
            // In bounds: the header's N · d · size bytes were checked against the file.
            let offset = self.data_start + ((j * n + self.next_row) * size) as u64;
            self.reader.seek(SeekFrom::Start(offset)).map_err(|e| read_error(&self.path, e))?;
            self.reader.read_exact(&mut self.column).map_err(|e| read_error(&self.path, e))?;
            for (i, value) in self.column.chunks_exact(size).enumerate() {
                out[(i * d + j) * size..][..size].copy_from_slice(value);
            }
        }
        Ok(())
    }

    /// Clamps `max_rows` to what is left and returns `(rows, bytes)` of the next block.
    fn next_block(&self, max_rows: usize) -> (usize, usize) {
        let rows = max_rows.min(self.rows_left());
        (rows, rows * self.n_cols() * self.header.dtype.size())
    }
}
