//! The reference's class-folder layout: `root/<class>/<sample>.npy`.

use std::fs;
use std::path::{Path, PathBuf};

use ndarray::Array2;

use super::Dataset;
use super::fast::check_finite;
use crate::error::{Error, Result};
use crate::npy;

fn is_hidden(name: &str) -> bool {
    name.starts_with('.')
}

/// Visible (not hidden) entries of `dir` for which `keep(path, name)` holds, unsorted.
fn entries(dir: &Path, keep: impl Fn(&Path, &str) -> bool) -> Result<Vec<(String, PathBuf)>> {
    let read = fs::read_dir(dir).map_err(|e| Error::io("list", dir, e))?;
    let mut out = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| Error::io("list", dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if !is_hidden(&name) && keep(&path, &name) {
            out.push((name, path));
        }
    }
    Ok(out)
}

/// Orders class folder names numerically when all are integers, else lexicographically.
fn sort_class_names(classes: &mut [(String, PathBuf)]) {
    let numeric: Option<Vec<i128>> = classes.iter().map(|(n, _)| n.parse().ok()).collect();
    if numeric.is_some() {
        classes.sort_by(|(a, _), (b, _)| {
            let (x, y): (i128, i128) = (a.parse().expect("numeric"), b.parse().expect("numeric"));
            x.cmp(&y).then_with(|| a.cmp(b))
        });
    } else {
        classes.sort_by(|(a, _), (b, _)| a.cmp(b));
    }
}

/// Length of a sample vector of shape `(d,)` or `(1, d)`.
fn sample_len(path: &Path, shape: &[usize]) -> Result<usize> {
    match *shape {
        [d] | [1, d] if d > 0 => Ok(d),
        _ => Err(Error::WrongShape {
            path: path.to_path_buf(),
            found: shape.to_vec(),
            expected: "(dim,) or (1, dim) with dim > 0",
        }),
    }
}

pub(super) fn load(root: &Path) -> Result<Dataset> {
    let mut classes = entries(root, |p, _| p.is_dir())?;
    if classes.is_empty() {
        return Err(Error::UnknownLayout { path: root.to_path_buf() });
    }
    sort_class_names(&mut classes);

    let mut data: Vec<f32> = Vec::new();
    let mut labels = Vec::new();
    let mut first: Option<(PathBuf, usize)> = None;
    for (label, (_, class_dir)) in classes.iter().enumerate() {
        let mut files = entries(class_dir, |p, name| name.ends_with(".npy") && !p.is_dir())?;
        if files.is_empty() {
            return Err(Error::EmptyClass { path: class_dir.clone() });
        }
        files.sort_by(|(a, _), (b, _)| a.cmp(b));
        for (_, file) in files {
            let sample = npy::read_f32(&file)?;
            let d = sample_len(&file, &sample.shape)?;
            match &first {
                None => first = Some((file.clone(), d)),
                Some((first_path, expected)) if *expected != d => {
                    return Err(Error::LengthMismatch {
                        path: file,
                        found: d,
                        first: first_path.clone(),
                        expected: *expected,
                    });
                }
                Some(_) => {}
            }
            check_finite(&file, &sample.data, d)?;
            data.extend_from_slice(&sample.data);
            labels.push(label);
        }
    }

    let d = first.map_or(0, |(_, d)| d);
    let n = labels.len();
    let features = Array2::from_shape_vec((n, d), data).expect("every row has length d");
    Ok(Dataset { features, labels, class_names: classes.into_iter().map(|(name, _)| name).collect() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, array};
    use ndarray_npy::write_npy;
    use tempfile::TempDir;

    /// Writes `root/<class>/<file>` holding `values` as a `(d,)` float32 vector.
    fn put(root: &Path, class: &str, file: &str, values: &[f32]) -> PathBuf {
        let dir = root.join(class);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(file);
        write_npy(&path, &Array1::from(values.to_vec())).unwrap();
        path
    }

    fn order(names: &[&str]) -> Vec<String> {
        let mut v: Vec<(String, PathBuf)> = names.iter().map(|n| (n.to_string(), PathBuf::new())).collect();
        sort_class_names(&mut v);
        v.into_iter().map(|(n, _)| n).collect()
    }

    fn tmp() -> TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn class_folders_sort_numerically_when_all_are_integers() {
        assert_eq!(order(&["10", "2", "1", "0"]), vec!["0", "1", "2", "10"]);
        assert_eq!(order(&["10", "2", "b", "1"]), vec!["1", "10", "2", "b"]);
        assert_eq!(order(&["dog", "cat"]), vec!["cat", "dog"]);
    }

    #[test]
    fn loads_classes_in_numeric_order_and_files_in_name_order() {
        let dir = tmp();
        let root = dir.path();
        put(root, "10", "b.npy", &[10.0, 11.0]);
        put(root, "10", "a.npy", &[12.0, 13.0]);
        put(root, "2", "x.npy", &[2.0, 3.0]);
        // (1, d) shape and float64 are accepted.
        let one = root.join("2/y.npy");
        write_npy(&one, &array![[4.0f64, 5.0]]).unwrap();
        // Ignored: hidden entries, non-npy files, files at the root, nested folders.
        fs::write(root.join("README.txt"), "hi").unwrap();
        fs::create_dir_all(root.join(".cache")).unwrap();
        fs::write(root.join("2/.hidden.npy"), "garbage").unwrap();
        fs::write(root.join("2/notes.txt"), "garbage").unwrap();
        fs::create_dir_all(root.join("10/sub.npy")).unwrap();

        let ds = Dataset::load(root).unwrap();
        assert_eq!(ds.class_names, vec!["2", "10"]);
        assert_eq!(ds.labels, vec![0, 0, 1, 1]);
        assert_eq!(ds.features, array![[2.0, 3.0], [4.0, 5.0], [12.0, 13.0], [10.0, 11.0]]);
    }

    #[test]
    fn mixed_names_sort_lexicographically() {
        let dir = tmp();
        put(dir.path(), "b", "0.npy", &[1.0]);
        put(dir.path(), "10", "0.npy", &[2.0]);
        put(dir.path(), "9", "0.npy", &[3.0]);
        let ds = Dataset::load(dir.path()).unwrap();
        assert_eq!(ds.class_names, vec!["10", "9", "b"]);
        assert_eq!(ds.features, array![[2.0], [3.0], [1.0]]);
    }

    fn assert_err(root: &Path, file: &Path, is_variant: fn(&Error) -> bool) -> String {
        let err = Dataset::load(root).unwrap_err();
        assert!(is_variant(&err), "unexpected variant: {err:?}");
        let msg = err.to_string();
        assert!(msg.contains(&file.display().to_string()), "{msg} does not name {}", file.display());
        msg
    }

    #[test]
    fn empty_class_folder_is_an_error() {
        let dir = tmp();
        put(dir.path(), "0", "a.npy", &[1.0]);
        let empty = dir.path().join("1");
        fs::create_dir_all(&empty).unwrap();
        fs::write(empty.join("readme.txt"), "no samples").unwrap();
        assert_err(dir.path(), &empty, |e| matches!(e, Error::EmptyClass { .. }));
    }

    #[test]
    fn length_mismatch_names_the_odd_file_and_both_lengths() {
        let dir = tmp();
        let first = put(dir.path(), "0", "a.npy", &[1.0, 2.0, 3.0]);
        put(dir.path(), "0", "b.npy", &[1.0, 2.0, 3.0]);
        let odd = put(dir.path(), "1", "a.npy", &[1.0, 2.0]);
        put(dir.path(), "1", "b.npy", &[1.0]);
        let msg = assert_err(dir.path(), &odd, |e| matches!(e, Error::LengthMismatch { found: 2, expected: 3, .. }));
        assert!(msg.contains(&first.display().to_string()), "{msg}");
    }

    #[test]
    fn bad_sample_shapes_are_errors() {
        for bad in [
            ndarray::ArrayD::<f32>::zeros(ndarray::IxDyn(&[2, 3])),
            ndarray::ArrayD::<f32>::zeros(ndarray::IxDyn(&[3, 1])),
            ndarray::ArrayD::<f32>::zeros(ndarray::IxDyn(&[1, 1, 3])),
            ndarray::ArrayD::<f32>::zeros(ndarray::IxDyn(&[0])),
            ndarray::ArrayD::<f32>::zeros(ndarray::IxDyn(&[])),
        ] {
            let dir = tmp();
            let path = dir.path().join("0/a.npy");
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            write_npy(&path, &bad).unwrap();
            assert_err(dir.path(), &path, |e| matches!(e, Error::WrongShape { .. }));
        }
    }

    #[test]
    fn non_finite_unreadable_and_wrongly_typed_samples_are_errors() {
        let dir = tmp();
        put(dir.path(), "0", "a.npy", &[1.0, 2.0]);
        let nan = put(dir.path(), "0", "b.npy", &[1.0, f32::NAN]);
        let msg = assert_err(dir.path(), &nan, |e| matches!(e, Error::NonFinite { row: 0, col: 1, .. }));
        assert!(msg.contains("NaN"), "{msg}");

        fs::write(&nan, b"\x93NUMPY garbage").unwrap();
        assert_err(dir.path(), &nan, |e| matches!(e, Error::BadNpy { .. }));

        write_npy(&nan, &array![1i32, 2]).unwrap();
        assert_err(dir.path(), &nan, |e| matches!(e, Error::UnsupportedDtype { .. }));
    }
}
