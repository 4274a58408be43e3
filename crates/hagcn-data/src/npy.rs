//! Fast `.npy` readers that convert any accepted dtype on the fly.
//!
//! The [`.npy` format](https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html)
//! is a magic string, a version, a Python-dict header
//! (`{'descr': '<f4', 'fortran_order': False, 'shape': (n, d), }`) and the raw payload
//! of `prod(shape)` elements. The header is parsed by `ndarray-npy`, which also reads a
//! float32 payload straight into the output (one copy; loading a 100k × 768 float32
//! matrix is dominated by the kernel's page copies). Other dtypes are read here in
//! fixed-size chunks and converted element by element with
//! `from_le_bytes`/`from_be_bytes`, so any accepted dtype becomes `f32` (or `i128` for
//! labels) in one pass with one output allocation. The file size is checked against
//! the header first, so a truncated or over-long file is reported before any payload
//! is read. A Fortran-order payload is
//! transposed to C order, so callers always get row-major data.

use std::fs::File;
use std::io::{BufReader, ErrorKind, Read, Seek};
use std::path::Path;

use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use ndarray_npy::npy::header::{Header, ReadHeaderError};
use ndarray_npy::{ReadDataError, ReadableElement};

use crate::error::{Error, Result};

/// Accepted dtypes for feature files, in words.
pub(crate) const FLOAT_DTYPES: &str = "float32, float64 or uint8";
/// Accepted dtypes for label files, in words.
pub(crate) const INT_DTYPES: &str = "an integer dtype (int8..int64, uint8..uint64)";

/// Elements converted per chunk (a chunk is at most 8 MiB of payload).
const CHUNK_ELEMS: usize = 1 << 20;

/// A decoded array in C (row-major) order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Npy<T> {
    /// The shape from the header.
    pub shape: Vec<usize>,
    /// The elements in C order.
    pub data: Vec<T>,
}

/// Element type of a payload, as named by a numpy type descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    F32,
    F64,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
}

impl Kind {
    fn size(self) -> usize {
        match self {
            Kind::I8 | Kind::U8 => 1,
            Kind::I16 | Kind::U16 => 2,
            Kind::F32 | Kind::I32 | Kind::U32 => 4,
            Kind::F64 | Kind::I64 | Kind::U64 => 8,
        }
    }

    fn is_int(self) -> bool {
        !matches!(self, Kind::F32 | Kind::F64)
    }
}

/// Parses a simple numpy descriptor such as `<f4`, `|u1` or `>i8`.
///
/// Returns the kind and whether the payload is big-endian.
fn parse_descr(descr: &str) -> Option<(Kind, bool)> {
    let (big, code) = match descr.as_bytes().first()? {
        b'<' | b'=' => (false, &descr[1..]),
        b'>' => (true, &descr[1..]),
        b'|' => (false, &descr[1..]),
        _ => (false, descr),
    };
    let kind = match code {
        "f4" => Kind::F32,
        "f8" => Kind::F64,
        "i1" | "b" => Kind::I8,
        "i2" => Kind::I16,
        "i4" => Kind::I32,
        "i8" => Kind::I64,
        "u1" | "B" => Kind::U8,
        "u2" => Kind::U16,
        "u4" => Kind::U32,
        "u8" => Kind::U64,
        _ => return None,
    };
    Some((kind, big))
}

/// Reads a float array: float32, float64 or uint8, converted to `f32` as-is.
pub(crate) fn read_f32(path: &Path) -> Result<Npy<f32>> {
    read_with(path, FLOAT_DTYPES, |k| matches!(k, Kind::F32 | Kind::F64 | Kind::U8))
}

/// Reads an integer array of any integer dtype, widened to `i128`.
pub(crate) fn read_int(path: &Path) -> Result<Npy<i128>> {
    read_with(path, INT_DTYPES, Kind::is_int)
}

/// Conversion from every supported payload kind to the output element type.
trait Decode: Copy + Default {
    /// Appends the elements encoded in `bytes` to `out`.
    fn decode(kind: Kind, big: bool, bytes: &[u8], out: &mut Vec<Self>);

    /// When `kind` is the output type itself, reads the whole payload straight into the
    /// output with ndarray-npy (one copy, no conversion); else `None`.
    fn read_direct<R: Read>(
        _kind: Kind,
        _reader: R,
        _header: &Header,
        _len: usize,
    ) -> Option<std::result::Result<Vec<Self>, ReadDataError>> {
        None
    }
}

/// Expands to a loop converting `bytes` of one primitive type with `$conv`.
macro_rules! decode_as {
    ($prim:ty, $n:literal, $big:expr, $bytes:expr, $out:expr, $conv:expr) => {{
        let chunks = $bytes.chunks_exact($n);
        let conv = $conv;
        if $big {
            $out.extend(chunks.map(|c| {
                let a: [u8; $n] = c.try_into().expect("chunk of exact size");
                conv(<$prim>::from_be_bytes(a))
            }));
        } else {
            $out.extend(chunks.map(|c| {
                let a: [u8; $n] = c.try_into().expect("chunk of exact size");
                conv(<$prim>::from_le_bytes(a))
            }));
        }
    }};
}

impl Decode for f32 {
    fn read_direct<R: Read>(
        kind: Kind,
        reader: R,
        header: &Header,
        len: usize,
    ) -> Option<std::result::Result<Vec<f32>, ReadDataError>> {
        (kind == Kind::F32).then(|| f32::read_to_end_exact_vec(reader, &header.type_descriptor, len))
    }

    fn decode(kind: Kind, big: bool, bytes: &[u8], out: &mut Vec<f32>) {
        match kind {
            Kind::F32 => decode_as!(f32, 4, big, bytes, out, |v: f32| v),
            Kind::F64 => decode_as!(f64, 8, big, bytes, out, |v: f64| v as f32),
            Kind::U8 => out.extend(bytes.iter().map(|&b| f32::from(b))),
            _ => unreachable!("read_f32 accepts only float32, float64 and uint8"),
        }
    }
}

impl Decode for i128 {
    fn decode(kind: Kind, big: bool, bytes: &[u8], out: &mut Vec<i128>) {
        match kind {
            Kind::I8 => out.extend(bytes.iter().map(|&b| i128::from(b as i8))),
            Kind::U8 => out.extend(bytes.iter().map(|&b| i128::from(b))),
            Kind::I16 => decode_as!(i16, 2, big, bytes, out, i128::from),
            Kind::U16 => decode_as!(u16, 2, big, bytes, out, i128::from),
            Kind::I32 => decode_as!(i32, 4, big, bytes, out, i128::from),
            Kind::U32 => decode_as!(u32, 4, big, bytes, out, i128::from),
            Kind::I64 => decode_as!(i64, 8, big, bytes, out, i128::from),
            Kind::U64 => decode_as!(u64, 8, big, bytes, out, i128::from),
            Kind::F32 | Kind::F64 => unreachable!("read_int accepts only integer dtypes"),
        }
    }
}

fn bad(path: &Path, reason: impl Into<String>) -> Error {
    Error::BadNpy { path: path.to_path_buf(), reason: reason.into() }
}

fn read_with<T: Decode>(path: &Path, expected: &'static str, accept: impl Fn(Kind) -> bool) -> Result<Npy<T>> {
    let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io("read metadata of", path, e))?.len();
    let mut reader = BufReader::with_capacity(64 * 1024, file);

    let header = Header::from_reader(&mut reader).map_err(|e| match e {
        ReadHeaderError::Io(io) if io.kind() == ErrorKind::UnexpectedEof => bad(path, "file ends inside the header"),
        ReadHeaderError::Io(io) => Error::io("read", path, io),
        ReadHeaderError::Parse(p) => bad(path, format!("bad header: {p}")),
    })?;

    let descr = header.type_descriptor.as_string().cloned();
    let (kind, big) = match descr.as_deref().and_then(parse_descr) {
        Some((kind, big)) if accept(kind) => (kind, big),
        _ => {
            return Err(Error::UnsupportedDtype {
                path: path.to_path_buf(),
                dtype: header.type_descriptor.to_string(),
                expected,
            });
        }
    };

    let shape = header.shape.clone();
    let len = shape
        .iter()
        .try_fold(1usize, |acc, &s| acc.checked_mul(s))
        .ok_or_else(|| bad(path, format!("shape {shape:?} is too large")))?;
    let n_bytes = len.checked_mul(kind.size()).ok_or_else(|| bad(path, format!("shape {shape:?} is too large")))?;

    let data_start = reader.stream_position().map_err(|e| Error::io("read", path, e))?;
    let available = file_len.saturating_sub(data_start);
    if available < n_bytes as u64 {
        return Err(bad(
            path,
            format!(
                "truncated: shape {shape:?} of {descr} needs {n_bytes} bytes of data, found {available}",
                descr = descr.as_deref().unwrap_or("?"),
            ),
        ));
    }
    if available > n_bytes as u64 {
        return Err(bad(
            path,
            format!("{} unexpected bytes after the data of shape {shape:?}", available - n_bytes as u64),
        ));
    }

    let (mut data, mut remaining) = match T::read_direct(kind, &mut reader, &header, len) {
        Some(Ok(data)) => (data, 0),
        Some(Err(ReadDataError::Io(e))) if e.kind() == ErrorKind::UnexpectedEof => {
            return Err(bad(path, "file was truncated while being read"));
        }
        Some(Err(ReadDataError::Io(e))) => return Err(Error::io("read", path, e)),
        Some(Err(e)) => return Err(bad(path, e.to_string())),
        None => (Vec::with_capacity(len), len),
    };
    let mut buf = vec![0u8; CHUNK_ELEMS.min(remaining) * kind.size()];
    while remaining > 0 {
        let n = remaining.min(CHUNK_ELEMS);
        let bytes = &mut buf[..n * kind.size()];
        reader.read_exact(bytes).map_err(|e| {
            if e.kind() == ErrorKind::UnexpectedEof {
                bad(path, "file was truncated while being read")
            } else {
                Error::io("read", path, e)
            }
        })?;
        T::decode(kind, big, bytes, &mut data);
        remaining -= n;
    }

    if header.layout.is_fortran() && shape.len() > 1 {
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
}
