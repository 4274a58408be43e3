//! `.npy` files: checked headers, whole-array readers that convert any accepted dtype
//! on the fly, and a streaming row reader.
//!
//! The [`.npy` format](https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html)
//! is a magic string, a version, a Python-dict header
//! (`{'descr': '<f4', 'fortran_order': False, 'shape': (n, d), }`) and the raw payload
//! of `prod(shape)` elements. [`open`] reads the header without trusting it: the dict's
//! length and the payload's size are checked against the bytes the file holds before
//! anything is allocated, so a hostile header is an [`Error::BadNpy`] naming the file.
//!
//! The whole-array readers ([`read_f64`], [`read_u8`], [`read_int`]) read a float32
//! payload straight into the output when that is the output type (one copy) and other
//! dtypes in fixed-size chunks, converted element by element with
//! `from_le_bytes`/`from_be_bytes`, in one pass with one output allocation. A
//! Fortran-order payload is transposed to C order, so callers always get row-major data.
//!
//! [`RowReader`] reads a 2-D array (C or Fortran order) a block of rows at a time, so files
//! larger than memory can be processed with memory independent of their length.

use std::io::{ErrorKind, Read};
use std::path::Path;

use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use ndarray_npy::ReadDataError;

use crate::error::{Error, Result};

mod decode;
mod header;
mod rows;

pub use decode::{BYTE_DTYPES, REAL_DTYPES};
pub use header::{Dtype, MAX_HEADER_LEN, NpyHeader, open};
pub use rows::RowReader;

use decode::{Decode, FLOAT_DTYPES, INT_DTYPES};
use header::{bad, read_error};

/// Elements converted per chunk (a chunk is at most 8 MiB of payload).
const CHUNK_ELEMS: usize = 1 << 20;

/// A decoded array in C (row-major) order.
#[derive(Debug, Clone, PartialEq)]
pub struct Npy<T> {
    /// The shape from the header.
    pub shape: Vec<usize>,
    /// The elements in C order.
    pub data: Vec<T>,
}

/// Reads a float array: float32, float64 or uint8, converted to `f32` as-is.
pub(crate) fn read_f32(path: &Path) -> Result<Npy<f32>> {
    read_with(path, FLOAT_DTYPES, |k| matches!(k, Dtype::F32 | Dtype::F64 | Dtype::U8))
}

/// Reads an integer array of any integer dtype, widened to `i128`.
///
/// # Errors
///
/// As [`open`]; the dtype must be an integer type.
pub fn read_int(path: &Path) -> Result<Npy<i128>> {
    read_with(path, INT_DTYPES, Dtype::is_int)
}

/// Reads a float32 or float64 array as `f64` (exactly: every float32 is a float64).
///
/// # Errors
///
/// As [`open`]; the dtype must be float32 or float64.
pub fn read_f64(path: &Path) -> Result<Npy<f64>> {
    read_with(path, REAL_DTYPES, |k| matches!(k, Dtype::F32 | Dtype::F64))
}

/// Reads a uint8 array (packed binary codes, for instance).
///
/// # Errors
///
/// As [`open`]; the dtype must be uint8.
pub fn read_u8(path: &Path) -> Result<Npy<u8>> {
    read_with(path, BYTE_DTYPES, |k| k == Dtype::U8)
}

fn read_with<T: Decode>(path: &Path, expected: &'static str, accept: impl Fn(Dtype) -> bool) -> Result<Npy<T>> {
    // `open` has checked the payload size against the file, so `len` elements are there.
    let (mut reader, header, raw) = header::open_raw(path, expected, accept)?;
    let (dtype, big, len) = (header.dtype, header.big_endian, header.len());
    let (mut data, mut remaining) = match T::read_direct(dtype, &raw, &mut reader, len) {
        Some(Ok(data)) => (data, 0),
        Some(Err(ReadDataError::Io(e))) if e.kind() == ErrorKind::UnexpectedEof => {
            return Err(bad(path, "file was truncated while being read"));
        }
        Some(Err(ReadDataError::Io(e))) => return Err(Error::io("read", path, e)),
        Some(Err(e)) => return Err(bad(path, e.to_string())),
        None => (Vec::with_capacity(len), len),
    };
    let mut buf = vec![0u8; CHUNK_ELEMS.min(remaining) * dtype.size()];
    while remaining > 0 {
        let n = remaining.min(CHUNK_ELEMS);
        let bytes = &mut buf[..n * dtype.size()];
        reader.read_exact(bytes).map_err(|e| read_error(path, e))?;
        T::decode(dtype, big, bytes, &mut data);
        remaining -= n;
    }

    let shape = header.shape;
    if header.fortran_order {
        let fortran = ArrayD::from_shape_vec(IxDyn(&shape).f(), data).expect("length was computed from the shape");
        data = fortran.as_standard_layout().iter().copied().collect();
    }
    Ok(Npy { shape, data })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2, Array3, array};
    use ndarray_npy::{ReadNpyExt, write_npy};
    use std::fs::File;

    fn tmp() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn f32_matches_ndarray_npy() {
        let dir = tmp();
        let path = dir.path().join("a.npy");
        let a = Array2::from_shape_fn((37, 11), |(i, j)| (i as f32 - 3.5) * 0.25 + j as f32);
        write_npy(&path, &a).unwrap();
        let ours = read_f32(&path).unwrap();
        let theirs = Array2::<f32>::read_npy(File::open(&path).unwrap()).unwrap();
        assert_eq!(ours.shape, vec![37, 11]);
        assert_eq!(ours.data, theirs.iter().copied().collect::<Vec<_>>());
    }

    #[test]
    fn large_f32_spanning_several_chunks_matches_ndarray_npy() {
        let dir = tmp();
        let path = dir.path().join("big.npy");
        let n = CHUNK_ELEMS * 2 + 123;
        let a = Array1::from_shape_fn(n, |i| (i as f32).sin());
        write_npy(&path, &a).unwrap();
        let ours = read_f32(&path).unwrap();
        let theirs = Array1::<f32>::read_npy(File::open(&path).unwrap()).unwrap();
        assert_eq!(ours.data.as_slice(), theirs.as_slice().unwrap());
    }

    #[test]
    fn f64_and_u8_convert_to_f32() {
        let dir = tmp();
        let p64 = dir.path().join("f64.npy");
        write_npy(&p64, &array![[1.5f64, -2.25], [1e-3, 4.0]]).unwrap();
        assert_eq!(read_f32(&p64).unwrap().data, vec![1.5, -2.25, 1e-3f64 as f32, 4.0]);
        let pu8 = dir.path().join("u8.npy");
        write_npy(&pu8, &array![0u8, 7, 255]).unwrap();
        let got = read_f32(&pu8).unwrap();
        assert_eq!(got.shape, vec![3]);
        assert_eq!(got.data, vec![0.0, 7.0, 255.0]);
    }

    #[test]
    fn fortran_order_is_transposed_to_c_order() {
        let dir = tmp();
        let path = dir.path().join("f.npy");
        let a = array![[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let f = a.t().as_standard_layout().into_owned().reversed_axes(); // same values, Fortran layout
        assert!(f.t().is_standard_layout());
        write_npy(&path, &f).unwrap();
        let raw = String::from_utf8_lossy(&std::fs::read(&path).unwrap()[..128]).into_owned();
        assert!(raw.contains("'fortran_order': True"), "{raw}");
        let got = read_f32(&path).unwrap();
        assert_eq!(got.shape, vec![2, 3]);
        assert_eq!(got.data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn every_integer_dtype_reads_as_i128() {
        let dir = tmp();
        let p = |n: &str| dir.path().join(n);
        write_npy(p("i8.npy"), &array![-3i8, 4]).unwrap();
        write_npy(p("i16.npy"), &array![-3i16, 4]).unwrap();
        write_npy(p("i32.npy"), &array![-3i32, 4]).unwrap();
        write_npy(p("i64.npy"), &array![-3i64, 4]).unwrap();
        write_npy(p("u8.npy"), &array![3u8, 4]).unwrap();
        write_npy(p("u16.npy"), &array![3u16, 4]).unwrap();
        write_npy(p("u32.npy"), &array![3u32, 4]).unwrap();
        write_npy(p("u64.npy"), &array![3u64, u64::MAX]).unwrap();
        for name in ["i8", "i16", "i32", "i64"] {
            assert_eq!(read_int(&p(&format!("{name}.npy"))).unwrap().data, vec![-3, 4]);
        }
        for name in ["u8", "u16", "u32"] {
            assert_eq!(read_int(&p(&format!("{name}.npy"))).unwrap().data, vec![3, 4]);
        }
        assert_eq!(read_int(&p("u64.npy")).unwrap().data, vec![3, i128::from(u64::MAX)]);
    }

    /// Writes a minimal version-1.0 `.npy` file with the given header dict and payload.
    fn raw_npy(path: &Path, dict: &str, payload: &[u8]) {
        let mut header = dict.to_string();
        while !(10 + header.len() + 1).is_multiple_of(64) {
            header.push(' ');
        }
        header.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(payload);
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn big_endian_payload_is_decoded() {
        let dir = tmp();
        let path = dir.path().join("be.npy");
        let mut payload = Vec::new();
        for v in [1.5f32, -2.0] {
            payload.extend_from_slice(&v.to_be_bytes());
        }
        raw_npy(&path, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", &payload);
        assert_eq!(read_f32(&path).unwrap().data, vec![1.5, -2.0]);
    }

    fn assert_bad_npy(err: Error, path: &Path, needle: &str) {
        let msg = err.to_string();
        assert!(matches!(err, Error::BadNpy { .. }), "{err:?}");
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains(needle), "{msg}");
    }

    #[test]
    fn truncated_payload_is_an_error_naming_the_file() {
        let dir = tmp();
        let path = dir.path().join("t.npy");
        write_npy(&path, &Array2::<f32>::zeros((4, 5))).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert_bad_npy(read_f32(&path).unwrap_err(), &path, "truncated");
    }

    #[test]
    fn truncated_header_and_garbage_are_errors() {
        let dir = tmp();
        let path = dir.path().join("h.npy");
        std::fs::write(&path, b"\x93NUMPY\x01").unwrap();
        assert_bad_npy(read_f32(&path).unwrap_err(), &path, "header");
        std::fs::write(&path, b"this is not a numpy file at all").unwrap();
        assert_bad_npy(read_f32(&path).unwrap_err(), &path, "header");
        std::fs::write(&path, b"").unwrap();
        assert_bad_npy(read_f32(&path).unwrap_err(), &path, "header");
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let dir = tmp();
        let path = dir.path().join("x.npy");
        raw_npy(&path, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", &[0, 0, 0, 0, 9]);
        assert_bad_npy(read_f32(&path).unwrap_err(), &path, "unexpected bytes");
    }

    #[test]
    fn missing_file_is_an_io_error_naming_it() {
        let dir = tmp();
        let path = dir.path().join("nope.npy");
        let err = read_f32(&path).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
        assert!(err.to_string().contains("nope.npy"));
    }

    #[test]
    fn unsupported_dtypes_are_rejected() {
        let dir = tmp();
        let cases: [(&str, &str); 5] = [
            ("complex", "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }"),
            ("bool", "{'descr': '|b1', 'fortran_order': False, 'shape': (1,), }"),
            ("str", "{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }"),
            ("half", "{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }"),
            ("struct", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }"),
        ];
        for (name, dict) in cases {
            let path = dir.path().join(format!("{name}.npy"));
            raw_npy(&path, dict, &[0; 16]);
            let err = read_f32(&path).unwrap_err();
            assert!(matches!(err, Error::UnsupportedDtype { .. }), "{name}: {err:?}");
            assert!(err.to_string().contains(&format!("{name}.npy")));
        }
        // Floats are not labels, integers other than u8 are not features.
        let f = dir.path().join("f.npy");
        write_npy(&f, &array![1.0f32]).unwrap();
        assert!(matches!(read_int(&f), Err(Error::UnsupportedDtype { .. })));
        let i = dir.path().join("i.npy");
        write_npy(&i, &array![1i64]).unwrap();
        let err = read_f32(&i).unwrap_err();
        assert!(err.to_string().contains("'<i8'"), "{err}");
    }

    #[test]
    fn higher_dimensional_arrays_keep_their_shape() {
        let dir = tmp();
        let path = dir.path().join("3d.npy");
        write_npy(&path, &Array3::<f32>::zeros((2, 3, 4))).unwrap();
        assert_eq!(read_f32(&path).unwrap().shape, vec![2, 3, 4]);
    }

    /// Writes a `.npy` file whose prefix says `header_len` bytes of dict (version 1 uses a
    /// two-byte length, version 2 four bytes) but holds only `dict` and `payload`.
    fn lying_len_npy(path: &Path, version: u8, header_len: u32, dict: &str, payload: &[u8]) {
        let mut bytes = b"\x93NUMPY".to_vec();
        bytes.extend_from_slice(&[version, 0]);
        if version == 1 {
            bytes.extend_from_slice(&(header_len as u16).to_le_bytes());
        } else {
            bytes.extend_from_slice(&header_len.to_le_bytes());
        }
        bytes.extend_from_slice(dict.as_bytes());
        bytes.extend_from_slice(payload);
        std::fs::write(path, bytes).unwrap();
    }

    /// Every reader of this module on `path`, as the error it gives.
    fn every_reader(path: &Path) -> Vec<(&'static str, Error)> {
        vec![
            ("read_f32", read_f32(path).unwrap_err()),
            ("read_f64", read_f64(path).unwrap_err()),
            ("read_u8", read_u8(path).unwrap_err()),
            ("read_int", read_int(path).unwrap_err()),
            ("RowReader::open_real", RowReader::open_real(path).unwrap_err()),
            ("RowReader::open_bytes", RowReader::open_bytes(path).unwrap_err()),
        ]
    }

    /// Hostile headers give `BadNpy` naming the file from every reader, before any
    /// allocation sized by the header (a 10¹²-row claim would abort the process).
    #[test]
    fn hostile_headers_are_clean_errors_for_every_reader() {
        let dir = tmp();
        /// Writes a hostile file for a dtype descriptor.
        type Writer = Box<dyn Fn(&Path, &str)>;
        let cases: Vec<(&str, Writer, &str)> = vec![
            (
                "huge_rows",
                Box::new(|p, d| {
                    raw_npy(
                        p,
                        &format!("{{'descr': '{d}', 'fortran_order': False, 'shape': (1000000000000, 8), }}"),
                        &[0; 80],
                    )
                }),
                "truncated",
            ),
            (
                "overflowing_shape",
                Box::new(|p, d| {
                    raw_npy(
                        p,
                        &format!("{{'descr': '{d}', 'fortran_order': False, 'shape': (18446744073709551615, 3), }}"),
                        &[0; 8],
                    )
                }),
                "too large",
            ),
            (
                "truncated_data",
                Box::new(|p, d| {
                    raw_npy(p, &format!("{{'descr': '{d}', 'fortran_order': False, 'shape': (10, 8), }}"), &[0; 7])
                }),
                "truncated",
            ),
            (
                "v1_header_len_lies",
                Box::new(|p, d| {
                    lying_len_npy(
                        p,
                        1,
                        60_000,
                        &format!("{{'descr': '{d}', 'fortran_order': False, 'shape': (1,), }}\n"),
                        &[0; 8],
                    )
                }),
                "header claims 60000 bytes",
            ),
            (
                "v2_header_len_lies",
                Box::new(|p, d| {
                    lying_len_npy(
                        p,
                        2,
                        u32::MAX,
                        &format!("{{'descr': '{d}', 'fortran_order': False, 'shape': (1,), }}\n"),
                        &[0; 8],
                    )
                }),
                "header claims 4294967295 bytes",
            ),
            (
                "header_len_too_short",
                Box::new(|p, d| {
                    lying_len_npy(
                        p,
                        1,
                        5,
                        &format!("{{'descr': '{d}', 'fortran_order': False, 'shape': (1,), }}\n"),
                        &[0; 8],
                    )
                }),
                "bad header",
            ),
            ("unknown_version", Box::new(|p, _| lying_len_npy(p, 7, 4, "{}\n", &[])), "unknown format version 7"),
        ];
        for (name, write, needle) in cases {
            // Each reader sees a dtype it accepts, so the failure is the header's own.
            for (descr, readers) in [
                ("<f4", &["read_f32", "read_f64", "RowReader::open_real"][..]),
                ("|u1", &["read_f32", "read_u8", "read_int", "RowReader::open_bytes"][..]),
                ("<i8", &["read_int"][..]),
            ] {
                let path = dir.path().join(format!("{name}-{}.npy", &descr[1..]));
                write(&path, descr);
                for (reader, err) in every_reader(&path) {
                    if !readers.contains(&reader) {
                        continue;
                    }
                    let msg = err.to_string();
                    assert!(matches!(err, Error::BadNpy { .. }), "{name} {descr} {reader}: {err:?}");
                    assert!(msg.contains(&path.display().to_string()), "{name} {reader}: {msg}");
                    assert!(msg.contains(needle), "{name} {descr} {reader}: {msg}");
                    assert!(!msg.contains('\n'), "one line: {msg}");
                }
            }
        }
    }

    #[test]
    fn header_longer_than_the_limit_is_refused() {
        let dir = tmp();
        let path = dir.path().join("long.npy");
        let dict =
            format!("{{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }}{}\n", " ".repeat(MAX_HEADER_LEN));
        lying_len_npy(&path, 2, dict.len() as u32, &dict, &[0; 4]);
        assert_bad_npy(read_f32(&path).unwrap_err(), &path, "longer than");
    }

    #[test]
    fn f64_and_u8_readers_decode_their_dtypes() {
        let dir = tmp();
        let p32 = dir.path().join("f32.npy");
        write_npy(&p32, &array![[0.1f32, -2.5]]).unwrap();
        assert_eq!(read_f64(&p32).unwrap().data, vec![f64::from(0.1f32), -2.5]);
        let p64 = dir.path().join("f64.npy");
        write_npy(&p64, &array![0.1f64, 1e300]).unwrap();
        assert_eq!(read_f64(&p64).unwrap().data, vec![0.1, 1e300]);
        let pu8 = dir.path().join("u8.npy");
        write_npy(&pu8, &array![[1u8, 2], [3, 255]]).unwrap();
        assert_eq!(read_u8(&pu8).unwrap(), Npy { shape: vec![2, 2], data: vec![1, 2, 3, 255] });
        assert!(matches!(read_u8(&p32), Err(Error::UnsupportedDtype { .. })));
        assert!(matches!(read_f64(&pu8), Err(Error::UnsupportedDtype { .. })));
    }

    #[test]
    fn row_reader_streams_every_row_in_blocks() {
        let dir = tmp();
        for (name, big) in [("le", false), ("be", true)] {
            let path = dir.path().join(format!("{name}.npy"));
            let a = Array2::from_shape_fn((23, 5), |(i, j)| (i * 5 + j) as f64 * 0.5 - 3.0);
            if big {
                let payload: Vec<u8> = a.iter().flat_map(|v| v.to_be_bytes()).collect();
                raw_npy(&path, "{'descr': '>f8', 'fortran_order': False, 'shape': (23, 5), }", &payload);
            } else {
                write_npy(&path, &a).unwrap();
            }
            for block in [1, 4, 23, 100] {
                let mut rows = RowReader::open_real(&path).unwrap();
                let (mut all, mut buf) = (Vec::new(), Vec::new());
                loop {
                    let n = rows.read_f32(block, &mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    assert_eq!(buf.len(), n * 5);
                    all.extend_from_slice(&buf);
                }
                assert_eq!(all, a.iter().map(|&v| v as f32).collect::<Vec<_>>(), "{name}, block {block}");
                assert_eq!(rows.rows_left(), 0);
            }
        }
        let codes = dir.path().join("codes.npy");
        let c = Array2::from_shape_fn((7, 3), |(i, j)| (i * 3 + j) as u8);
        write_npy(&codes, &c).unwrap();
        let mut rows = RowReader::open_bytes(&codes).unwrap();
        let mut buf = Vec::new();
        assert_eq!(rows.read_bytes(5, &mut buf).unwrap(), 5);
        assert_eq!(buf, (0..15).collect::<Vec<u8>>());
        assert_eq!(rows.read_bytes(5, &mut buf).unwrap(), 2);
        assert_eq!(buf, (15..21).collect::<Vec<u8>>());
    }

    #[test]
    fn row_reader_reads_fortran_order_as_the_same_rows() {
        let dir = tmp();
        let a = Array2::from_shape_fn((23, 5), |(i, j)| (i * 5 + j) as f64 * 0.25 - 2.0);
        // NumPy writes a transposed matrix in Fortran order, as write_npy does for this view.
        let fortran = a.t().as_standard_layout().into_owned().reversed_axes();
        for (name, float64) in [("f64", true), ("f32", false)] {
            let path = dir.path().join(format!("{name}.npy"));
            if float64 {
                write_npy(&path, &fortran).unwrap();
            } else {
                write_npy(&path, &fortran.mapv(|v| v as f32)).unwrap();
            }
            assert!(RowReader::open_real(&path).unwrap().header().fortran_order);
            for block in [1, 4, 23, 100] {
                let mut rows = RowReader::open_real(&path).unwrap();
                let (mut all, mut buf) = (Vec::new(), Vec::new());
                while rows.read_f32(block, &mut buf).unwrap() > 0 {
                    all.extend_from_slice(&buf);
                }
                assert_eq!(all, a.iter().map(|&v| v as f32).collect::<Vec<_>>(), "{name}, block {block}");
            }
        }
        let codes = dir.path().join("codes.npy");
        let c = Array2::from_shape_fn((7, 3), |(i, j)| (i * 3 + j) as u8);
        write_npy(&codes, &c.t().as_standard_layout().into_owned().reversed_axes()).unwrap();
        let mut rows = RowReader::open_bytes(&codes).unwrap();
        let mut buf = Vec::new();
        assert_eq!(rows.read_bytes(5, &mut buf).unwrap(), 5);
        assert_eq!(buf, (0..15).collect::<Vec<u8>>());
        assert_eq!(rows.read_bytes(5, &mut buf).unwrap(), 2);
        assert_eq!(buf, (15..21).collect::<Vec<u8>>());
    }

    #[test]
    fn row_reader_refuses_wrong_rank_and_dtype() {
        let dir = tmp();
        let v = dir.path().join("v.npy");
        write_npy(&v, &array![1.0f32, 2.0]).unwrap();
        assert_bad_npy(RowReader::open_real(&v).unwrap_err(), &v, "2-D");
        let i = dir.path().join("i.npy");
        write_npy(&i, &array![[1i32]]).unwrap();
        let err = RowReader::open_real(&i).unwrap_err();
        assert!(matches!(err, Error::UnsupportedDtype { .. }) && err.to_string().contains("float32 or float64"));
        assert!(matches!(RowReader::open_bytes(&i), Err(Error::UnsupportedDtype { .. })));
    }

    #[test]
    fn row_reader_reports_a_file_truncated_after_opening() {
        let dir = tmp();
        let path = dir.path().join("t.npy");
        // Larger than the reader's 64 KiB buffer, so the cut is met while streaming.
        write_npy(&path, &Array2::<f32>::zeros((100_000, 4))).unwrap();
        let mut rows = RowReader::open_real(&path).unwrap();
        let len = std::fs::metadata(&path).unwrap().len();
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(len - 40).unwrap();
        let mut buf = Vec::new();
        let err = loop {
            match rows.read_f32(4096, &mut buf) {
                Ok(0) => panic!("the truncation went unnoticed"),
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        assert_bad_npy(err, &path, "truncated");
    }
}
