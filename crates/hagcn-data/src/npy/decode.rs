//! What the whole-array and row readers accept, in words for their errors, and the
//! conversion of a payload's bytes (any accepted dtype, either byte order) to the output
//! element type, element by element with `from_le_bytes`/`from_be_bytes`.

use std::io::Read;

use ndarray_npy::npy::header::Header;
use ndarray_npy::{ReadDataError, ReadableElement};

use super::header::Dtype;

/// Accepted dtypes for feature files, in words.
pub(crate) const FLOAT_DTYPES: &str = "float32, float64 or uint8";
/// Accepted dtypes for label files, in words.
pub(crate) const INT_DTYPES: &str = "an integer dtype (int8..int64, uint8..uint64)";
/// Accepted dtypes of [`read_f64`](crate::npy::read_f64), in words.
pub const REAL_DTYPES: &str = "float32 or float64";
/// Accepted dtype of [`read_u8`](crate::npy::read_u8), in words.
pub const BYTE_DTYPES: &str = "uint8";

/// Conversion from every supported payload type to the output element type.
pub(crate) trait Decode: Copy + Default {
    /// Appends the elements encoded in `bytes` to `out`.
    fn decode(dtype: Dtype, big: bool, bytes: &[u8], out: &mut Vec<Self>);

    /// When `dtype` is the output type itself, reads the whole payload straight into the
    /// output with ndarray-npy (one copy, no conversion); else `None`.
    fn read_direct<R: Read>(
        _dtype: Dtype,
        _header: &Header,
        _reader: R,
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
        dtype: Dtype,
        header: &Header,
        reader: R,
        len: usize,
    ) -> Option<std::result::Result<Vec<f32>, ReadDataError>> {
        (dtype == Dtype::F32).then(|| f32::read_to_end_exact_vec(reader, &header.type_descriptor, len))
    }

    fn decode(dtype: Dtype, big: bool, bytes: &[u8], out: &mut Vec<f32>) {
        match dtype {
            Dtype::F32 => decode_as!(f32, 4, big, bytes, out, |v: f32| v),
            Dtype::F64 => decode_as!(f64, 8, big, bytes, out, |v: f64| v as f32),
            Dtype::U8 => out.extend(bytes.iter().map(|&b| f32::from(b))),
            _ => unreachable!("f32 reads accept only float32, float64 and uint8"),
        }
    }
}

impl Decode for f64 {
    fn decode(dtype: Dtype, big: bool, bytes: &[u8], out: &mut Vec<f64>) {
        match dtype {
            Dtype::F32 => decode_as!(f32, 4, big, bytes, out, f64::from),
            Dtype::F64 => decode_as!(f64, 8, big, bytes, out, |v: f64| v),
            _ => unreachable!("read_f64 accepts only float32 and float64"),
        }
    }
}

impl Decode for u8 {
    fn decode(dtype: Dtype, _big: bool, bytes: &[u8], out: &mut Vec<u8>) {
        assert_eq!(dtype, Dtype::U8, "read_u8 accepts only uint8");
        out.extend_from_slice(bytes);
    }
}

impl Decode for i128 {
    fn decode(dtype: Dtype, big: bool, bytes: &[u8], out: &mut Vec<i128>) {
        match dtype {
            Dtype::I8 => out.extend(bytes.iter().map(|&b| i128::from(b as i8))),
            Dtype::U8 => out.extend(bytes.iter().map(|&b| i128::from(b))),
            Dtype::I16 => decode_as!(i16, 2, big, bytes, out, i128::from),
            Dtype::U16 => decode_as!(u16, 2, big, bytes, out, i128::from),
            Dtype::I32 => decode_as!(i32, 4, big, bytes, out, i128::from),
            Dtype::U32 => decode_as!(u32, 4, big, bytes, out, i128::from),
            Dtype::I64 => decode_as!(i64, 8, big, bytes, out, i128::from),
            Dtype::U64 => decode_as!(u64, 8, big, bytes, out, i128::from),
            Dtype::F32 | Dtype::F64 => unreachable!("read_int accepts only integer dtypes"),
        }
    }
}
