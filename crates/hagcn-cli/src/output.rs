//! Files: atomic writes of outputs, `.npy` arrays in and out, and the no-overwrite rule.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use ndarray::{ArrayBase, ArrayD, Data, Dimension, IxDyn};
use ndarray_npy::{WritableElement, WriteNpyExt};

/// Writes `path` through a temporary sibling, then renames it into place.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut BufWriter<File>) -> Result<()>) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().context("output path has no file name")?.to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut w = BufWriter::new(File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?);
        write(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path).with_context(|| format!("cannot move {} into place", path.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

/// Writes a text file atomically.
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    write_atomic(path, |w| Ok(w.write_all(text.as_bytes())?))
}

/// Writes an array as `.npy` atomically.
pub fn write_npy<S, D>(path: &Path, array: &ArrayBase<S, D>) -> Result<()>
where
    S: Data,
    S::Elem: WritableElement,
    D: Dimension,
{
    write_atomic(path, |w| Ok(array.write_npy(w)?))
}

/// Refuses to replace an existing file unless the user passed `--force`.
pub fn refuse_existing(path: &Path, force: bool) -> Result<()> {
    if path.exists() && !force {
        bail!("{} already exists; pass --force to replace it", path.display());
    }
    Ok(())
}

/// Writes the header of a C-order `.npy` array of `T` with `shape`; the caller then
/// writes its `prod(shape)` elements, so arrays of known size can be written as they are
/// computed.
///
/// The header is byte for byte the one NumPy's `np.save` writes ([`numpy_header`]): Milvus
/// 2.3.5's bulk insert reads shapes by NumPy's exact layout and misread the header of
/// ndarray-npy (no `, ` after the shape: `(3000, 4)` read as `[3000]`, `(3000,)` as `[300]`).
pub fn write_npy_header<T: WritableElement>(w: &mut impl Write, shape: &[usize]) -> Result<()> {
    let descr = T::type_descriptor().format_ascii().context("the dtype of a .npy header")?;
    w.write_all(&numpy_header(&descr, shape))?;
    Ok(())
}

/// A C-order `.npy` header as NumPy 2 writes it (`numpy/lib/_format_impl.py`,
/// `_write_array_header` and `_wrap_header`): the dict's keys sorted, each item followed by
/// `, `, then as many spaces as the first dimension has digits fewer than 21 (room for the
/// array to grow in place), then spaces and a newline up to a multiple of 64 bytes (a whole
/// 64 more when it is already one); format 1.0, or 2.0 when the header exceeds 65,535 bytes.
fn numpy_header(descr: &str, shape: &[usize]) -> Vec<u8> {
    let dims = match shape {
        [n] => format!("({n},)"),
        _ => format!("({})", shape.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")),
    };
    let mut dict = format!("{{'descr': {descr}, 'fortran_order': False, 'shape': {dims}, }}");
    if let Some(first) = shape.first() {
        dict.push_str(&" ".repeat(21usize.saturating_sub(first.to_string().len())));
    }
    let hlen = dict.len() + 1; // and the newline
    let pad = |size_bytes: usize| 64 - (8 + size_bytes + hlen) % 64;
    // format 1.0 stores the header's length in 2 bytes, 2.0 in 4 (both little-endian)
    let (version, size_bytes) = if hlen + pad(2) <= usize::from(u16::MAX) { (1, 2) } else { (2, 4) };
    let mut out = b"\x93NUMPY".to_vec();
    out.extend_from_slice(&[version, 0]);
    out.extend_from_slice(&((hlen + pad(size_bytes)) as u32).to_le_bytes()[..size_bytes]);
    out.extend_from_slice(dict.as_bytes());
    out.resize(out.len() + pad(size_bytes), b' ');
    out.push(b'\n');
    out
}

/// Reads a float32 or float64 `.npy` of dimension `D` as f64.
///
/// The header is checked against the file's size before anything is allocated
/// ([`hagcn_data::npy`]), so a hostile header is a one-line error.
pub fn read_float<D: Dimension>(path: &Path) -> Result<ndarray::Array<f64, D>> {
    let npy = hagcn_data::npy::read_f64(path)?;
    let shape = npy.shape.clone();
    let array = ArrayD::from_shape_vec(IxDyn(&npy.shape), npy.data).expect("the reader returns prod(shape) elements");
    match array.into_dimensionality::<D>() {
        Ok(a) => Ok(a),
        Err(_) => bail!(
            "{}: expected a {}-D float32 or float64 array, found shape {shape:?}",
            path.display(),
            D::NDIM.map_or("n".to_string(), |n| n.to_string())
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 128-byte format-1.0 header holding `dict`, as NumPy pads it.
    fn numpy_128(dict: &str) -> Vec<u8> {
        let mut want = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
        want.extend_from_slice(dict.as_bytes());
        want.resize(127, b' ');
        want.push(b'\n');
        want
    }

    #[test]
    fn npy_headers_are_numpys_byte_for_byte() {
        // The dicts of `np.lib._format_impl._write_array_header` (NumPy 2.4.6), all 128 bytes.
        let header = |descr: &str, shape: &[usize]| numpy_header(descr, shape);
        let cases: [(&str, &[usize], &str); 5] = [
            ("'|u1'", &[3000, 4], "{'descr': '|u1', 'fortran_order': False, 'shape': (3000, 4), }"),
            ("'<i8'", &[3000], "{'descr': '<i8', 'fortran_order': False, 'shape': (3000,), }"),
            ("'|u1'", &[0, 8], "{'descr': '|u1', 'fortran_order': False, 'shape': (0, 8), }"),
            ("'<i8'", &[12_345_678_901], "{'descr': '<i8', 'fortran_order': False, 'shape': (12345678901,), }"),
            (
                "'|u1'",
                &[1, 1_000_000_000_000],
                "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 1000000000000), }",
            ),
        ];
        for (descr, shape, dict) in cases {
            assert_eq!(header(descr, shape), numpy_128(dict), "{shape:?}");
        }
        let mut w = Vec::new();
        write_npy_header::<u8>(&mut w, &[3000, 4]).unwrap();
        assert_eq!(w, numpy_128(cases[0].2));
        write_npy_header::<i64>(&mut w, &[3000]).unwrap();
        assert_eq!(w[128..], numpy_128(cases[1].2));
        // every length is a multiple of 64 and reads back, through ndarray-npy's parser too
        for shape in [&[5usize, 3][..], &[7], &[2; 40], &[3; 5000], &[1; 30000]] {
            let h = header("'<f4'", shape);
            assert_eq!((h.len() % 64, h.last()), (0, Some(&b'\n')), "{shape:?}");
            let parsed = ndarray_npy::npy::header::Header::from_reader(&mut &h[..]).unwrap();
            assert_eq!(parsed.shape, shape);
        }
    }
}
