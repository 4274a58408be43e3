//! The `.npy` header, read without trusting it.
//!
//! A file is `\x93NUMPY`, a two-byte version, `HEADER_LEN` (two bytes little-endian in
//! version 1, four in versions 2 and 3), `HEADER_LEN` bytes of a Python dict
//! (`{'descr': '<f4', 'fortran_order': False, 'shape': (n, d), }`) and the payload of
//! `prod(shape)` elements. Every number in the header is checked against the bytes the
//! file actually holds before anything is allocated from it:
//!
//! - `HEADER_LEN` must fit in the file after the prefix and be at most
//!   [`MAX_HEADER_LEN`] (numpy itself refuses headers over 10,000 bytes);
//! - `prod(shape) × element size` must not overflow and must equal the number of bytes
//!   after the header, exactly.
//!
//! So a header that claims 10¹² rows of a 10-row file, or a dict longer than the file, is
//! an error naming the file, never an allocation failure.

use std::fs::File;
use std::io::{BufReader, Cursor, ErrorKind, Read};
use std::path::Path;

use ndarray_npy::npy::header::{Header, ReadHeaderError};

use crate::error::{Error, Result};

/// The longest header dict accepted, in bytes.
pub const MAX_HEADER_LEN: usize = 1 << 20;

/// Element type of a payload, as named by a numpy type descriptor (`<f4`, `|u1`, `>i8`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// `f4`, float32.
    F32,
    /// `f8`, float64.
    F64,
    /// `i1`, int8.
    I8,
    /// `i2`, int16.
    I16,
    /// `i4`, int32.
    I32,
    /// `i8`, int64.
    I64,
    /// `u1`, uint8.
    U8,
    /// `u2`, uint16.
    U16,
    /// `u4`, uint32.
    U32,
    /// `u8`, uint64.
    U64,
}

impl Dtype {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::I8 | Dtype::U8 => 1,
            Dtype::I16 | Dtype::U16 => 2,
            Dtype::F32 | Dtype::I32 | Dtype::U32 => 4,
            Dtype::F64 | Dtype::I64 | Dtype::U64 => 8,
        }
    }

    /// Whether this is an integer type.
    pub fn is_int(self) -> bool {
        !matches!(self, Dtype::F32 | Dtype::F64)
    }
}

/// Parses a simple numpy descriptor such as `<f4`, `|u1` or `>i8`.
///
/// Returns the type and whether the payload is big-endian.
fn parse_descr(descr: &str) -> Option<(Dtype, bool)> {
    let (big, code) = match descr.as_bytes().first()? {
        b'<' | b'=' | b'|' => (false, &descr[1..]),
        b'>' => (true, &descr[1..]),
        _ => (false, descr),
    };
    let dtype = match code {
        "f4" => Dtype::F32,
        "f8" => Dtype::F64,
        "i1" | "b" => Dtype::I8,
        "i2" => Dtype::I16,
        "i4" => Dtype::I32,
        "i8" => Dtype::I64,
        "u1" | "B" => Dtype::U8,
        "u2" => Dtype::U16,
        "u4" => Dtype::U32,
        "u8" => Dtype::U64,
        _ => return None,
    };
    Some((dtype, big))
}

/// A checked `.npy` header: the payload it describes is exactly what follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// Element type.
    pub dtype: Dtype,
    /// Whether elements are stored big-endian.
    pub big_endian: bool,
    /// Whether the payload is in Fortran (column-major) order.
    pub fortran_order: bool,
    /// The array's shape.
    pub shape: Vec<usize>,
    /// Byte offset of the payload in the file.
    pub data_offset: u64,
}

impl NpyHeader {
    /// Number of elements, `prod(shape)` (checked against the file size when read).
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Payload size in bytes.
    pub fn data_len(&self) -> u64 {
        (self.len() * self.dtype.size()) as u64
    }
}

/// An `Error::BadNpy` for `path`.
pub(crate) fn bad(path: &Path, reason: impl Into<String>) -> Error {
    Error::BadNpy { path: path.to_path_buf(), reason: reason.into() }
}

/// Maps an I/O error while reading `path`: an early end of file is a truncated file.
pub(crate) fn read_error(path: &Path, e: std::io::Error) -> Error {
    if e.kind() == ErrorKind::UnexpectedEof {
        bad(path, "file was truncated while being read")
    } else {
        Error::io("read", path, e)
    }
}

/// Opens `path` and reads its header; the reader is left at the start of the payload.
///
/// `accept` says which dtypes the caller takes, `expected` names them for the error.
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be opened or read, [`Error::UnsupportedDtype`] for a
/// dtype `accept` refuses or that is not a plain number, and [`Error::BadNpy`] for a bad
/// magic string, a header longer than the file, a malformed dict, a shape whose size
/// overflows, or a payload of another size than the shape says.
pub fn open(
    path: &Path,
    expected: &'static str,
    accept: impl Fn(Dtype) -> bool,
) -> Result<(BufReader<File>, NpyHeader)> {
    open_raw(path, expected, accept).map(|(reader, header, _)| (reader, header))
}

/// [`open`], also returning ndarray-npy's parse of the header.
pub(crate) fn open_raw(
    path: &Path,
    expected: &'static str,
    accept: impl Fn(Dtype) -> bool,
) -> Result<(BufReader<File>, NpyHeader, Header)> {
    let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io("read metadata of", path, e))?.len();
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let header_eof = |e: std::io::Error| {
        if e.kind() == ErrorKind::UnexpectedEof {
            bad(path, "file ends inside the header")
        } else {
            Error::io("read", path, e)
        }
    };

    // Magic string, version and HEADER_LEN, checked before the dict is read.
    let mut prefix = vec![0u8; 8];
    reader.read_exact(&mut prefix).map_err(header_eof)?;
    if &prefix[..6] != b"\x93NUMPY" {
        return Err(bad(path, "bad header: no \\x93NUMPY magic string (not a .npy file)"));
    }
    let len_bytes = match prefix[6] {
        1 => 2,
        2 | 3 => 4,
        v => return Err(bad(path, format!("bad header: unknown format version {v}.{}", prefix[7]))),
    };
    let mut len_buf = [0u8; 4];
    reader.read_exact(&mut len_buf[..len_bytes]).map_err(header_eof)?;
    prefix.extend_from_slice(&len_buf[..len_bytes]);
    let header_len = u32::from_le_bytes(len_buf) as u64;
    let after_prefix = file_len.saturating_sub(prefix.len() as u64);
    if header_len > after_prefix {
        return Err(bad(
            path,
            format!("header claims {header_len} bytes but only {after_prefix} follow it (file ends inside the header)"),
        ));
    }
    if header_len > MAX_HEADER_LEN as u64 {
        return Err(bad(path, format!("header of {header_len} bytes is longer than the {MAX_HEADER_LEN} accepted")));
    }
    let mut raw = prefix;
    let dict_start = raw.len();
    raw.resize(dict_start + header_len as usize, 0);
    reader.read_exact(&mut raw[dict_start..]).map_err(header_eof)?;
    let header = Header::from_reader(&mut Cursor::new(&raw)).map_err(|e| match e {
        ReadHeaderError::Io(io) if io.kind() == ErrorKind::UnexpectedEof => bad(path, "file ends inside the header"),
        ReadHeaderError::Io(io) => Error::io("read", path, io),
        ReadHeaderError::Parse(p) => bad(path, format!("bad header: {p}")),
    })?;
    let data_offset = raw.len() as u64;

    let descr = header.type_descriptor.as_string().cloned();
    let (dtype, big_endian) = match descr.as_deref().and_then(parse_descr) {
        Some((dtype, big)) if accept(dtype) => (dtype, big),
        _ => {
            return Err(Error::UnsupportedDtype {
                path: path.to_path_buf(),
                dtype: header.type_descriptor.to_string(),
                expected,
            });
        }
    };

    let shape = header.shape.clone();
    let too_large = || bad(path, format!("shape {shape:?} is too large"));
    let len = shape.iter().try_fold(1usize, |acc, &s| acc.checked_mul(s)).ok_or_else(too_large)?;
    let n_bytes = len.checked_mul(dtype.size()).ok_or_else(too_large)? as u64;
    let available = file_len - data_offset;
    if available < n_bytes {
        return Err(bad(
            path,
            format!(
                "truncated: shape {shape:?} of {descr} needs {n_bytes} bytes of data, found {available}",
                descr = descr.as_deref().unwrap_or("?"),
            ),
        ));
    }
    if available > n_bytes {
        return Err(bad(path, format!("{} unexpected bytes after the data of shape {shape:?}", available - n_bytes)));
    }
    let fortran_order = header.layout.is_fortran() && shape.len() > 1;
    Ok((reader, NpyHeader { dtype, big_endian, fortran_order, shape, data_offset }, header))
}
