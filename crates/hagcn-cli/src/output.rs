//! Files: atomic writes of outputs, `.npy` arrays in and out, and the no-overwrite rule.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use ndarray::{ArrayBase, ArrayD, Data, Dimension, IxDyn};
use ndarray_npy::npy::header::{Header, Layout};
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
pub fn write_npy_header<T: WritableElement>(w: &mut impl Write, shape: &[usize]) -> Result<()> {
    let header = Header { type_descriptor: T::type_descriptor(), layout: Layout::Standard, shape: shape.to_vec() };
    w.write_all(&header.to_bytes()?)?;
    Ok(())
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
