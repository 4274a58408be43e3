//! The fast layout: `features.npy`, `labels.npy`, optional `classes.json`.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ndarray::{Array1, Array2};
use ndarray_npy::WriteNpyExt;

use super::{CLASSES_FILE, Dataset, FEATURES_FILE, LABELS_FILE};
use crate::error::{Error, Result};
use crate::npy;

/// Finds the first non-finite value of a row-major `rows × cols` buffer.
pub(super) fn check_finite(path: &Path, data: &[f32], cols: usize) -> Result<()> {
    // Branch-free per chunk so that the scan vectorises; locate the value afterwards.
    const CHUNK: usize = 1024;
    let first_bad = data
        .chunks(CHUNK)
        .position(|c| !c.iter().fold(true, |ok, v| ok & v.is_finite()))
        .map(|k| k * CHUNK + data[k * CHUNK..].iter().position(|v| !v.is_finite()).expect("chunk holds one"));
    match first_bad {
        None => Ok(()),
        Some(i) => Err(Error::NonFinite { path: path.to_path_buf(), row: i / cols, col: i % cols, value: data[i] }),
    }
}

pub(super) fn load(dir: &Path) -> Result<Dataset> {
    let features_path = dir.join(FEATURES_FILE);
    let labels_path = dir.join(LABELS_FILE);
    let classes_path = dir.join(CLASSES_FILE);

    let features = npy::read_f32(&features_path)?;
    let &[n, d] = features.shape.as_slice() else {
        return Err(Error::WrongShape { path: features_path, found: features.shape, expected: "(n_samples, dim)" });
    };
    if n == 0 || d == 0 {
        return Err(Error::EmptyDataset { path: features_path, n_samples: n, dim: d });
    }
    check_finite(&features_path, &features.data, d)?;

    let raw = npy::read_int(&labels_path)?;
    if raw.shape.len() != 1 {
        return Err(Error::WrongShape { path: labels_path, found: raw.shape, expected: "(n_samples,)" });
    }
    if raw.data.len() != n {
        return Err(Error::CountMismatch {
            features: features_path,
            n_features: n,
            labels: labels_path,
            n_labels: raw.data.len(),
        });
    }
    if let Some((index, &value)) = raw.data.iter().enumerate().find(|&(_, &y)| y < 0) {
        return Err(Error::InvalidLabel {
            path: labels_path,
            index,
            value,
            reason: "labels must not be negative".into(),
        });
    }

    let (labels, class_names) = if classes_path.exists() {
        let class_names = read_classes(&classes_path)?;
        let c = class_names.len() as i128;
        if let Some((index, &value)) = raw.data.iter().enumerate().find(|&(_, &y)| y >= c) {
            return Err(Error::InvalidLabel {
                path: labels_path,
                index,
                value,
                reason: format!("{} lists only {c} classes", classes_path.display()),
            });
        }
        let labels = raw.data.iter().map(|&y| y as usize).collect();
        (labels, class_names)
    } else {
        let distinct: Vec<i128> = raw.data.iter().copied().collect::<BTreeSet<_>>().into_iter().collect();
        let labels = raw.data.iter().map(|y| distinct.binary_search(y).expect("every label is in the set")).collect();
        (labels, distinct.iter().map(i128::to_string).collect())
    };

    let features = Array2::from_shape_vec((n, d), features.data).expect("shape was checked");
    Ok(Dataset { features, labels, class_names })
}

fn read_classes(path: &Path) -> Result<Vec<String>> {
    let bytes = fs::read(path).map_err(|e| Error::io("read", path, e))?;
    serde_json::from_slice(&bytes).map_err(|source| Error::Json { path: path.to_path_buf(), source })
}

/// A temporary file in the target folder, removed on drop unless persisted.
struct TempFile {
    tmp: PathBuf,
    dest: PathBuf,
    done: bool,
}

impl TempFile {
    fn create(dest: PathBuf, write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>) -> Result<Self> {
        let name = dest.file_name().expect("file name").to_string_lossy();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dest.with_file_name(format!(".{name}.tmp-{}-{unique}", std::process::id()));
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| Error::io("create", &tmp, e))?;
        let guard = TempFile { tmp, dest, done: false };
        let mut w = BufWriter::new(file);
        let res = write(&mut w).and_then(|()| w.flush());
        res.map_err(|e| Error::io("write", &guard.tmp, e))?;
        let file = w.into_inner().map_err(|e| Error::io("write", &guard.tmp, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io("write", &guard.tmp, e))?;
        Ok(guard)
    }

    fn persist(mut self) -> Result<()> {
        fs::rename(&self.tmp, &self.dest).map_err(|e| Error::io("rename a temporary file to", &self.dest, e))?;
        self.done = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

fn npy_io(e: ndarray_npy::WriteNpyError) -> std::io::Error {
    match e {
        ndarray_npy::WriteNpyError::Io(io) => io,
        other => std::io::Error::other(other),
    }
}

pub(super) fn save(ds: &Dataset, dir: &Path, overwrite: bool) -> Result<()> {
    ds.validate()?;
    fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    let paths = [CLASSES_FILE, LABELS_FILE, FEATURES_FILE].map(|f| dir.join(f));
    if !overwrite && let Some(existing) = paths.iter().find(|p| p.exists()) {
        return Err(Error::AlreadyExists { path: existing.clone() });
    }
    let [classes_path, labels_path, features_path] = paths;

    let classes = TempFile::create(classes_path, |w| {
        serde_json::to_writer_pretty(&mut *w, &ds.class_names)?;
        w.write_all(b"\n")
    })?;
    let labels: Array1<i64> = ds.labels.iter().map(|&y| y as i64).collect();
    let labels = TempFile::create(labels_path, |w| labels.write_npy(w).map_err(npy_io))?;
    let features = TempFile::create(features_path, |w| ds.features.write_npy(w).map_err(npy_io))?;

    classes.persist()?;
    labels.persist()?;
    features.persist()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array3, array};
    use ndarray_npy::write_npy;
    use tempfile::TempDir;

    fn tmp() -> TempDir {
        tempfile::tempdir().unwrap()
    }

    fn sample() -> Dataset {
        Dataset::new(
            array![[1.0, -2.0, 3.5], [0.0, 0.25, 9.0], [4.0, 5.0, 6.0]],
            vec![2, 0, 2],
            vec!["cat".into(), "dog".into(), "owl".into()],
        )
        .unwrap()
    }

    fn write_fast(dir: &Path, features: &impl WriteNpyExt, labels: &impl WriteNpyExt) {
        write_npy(dir.join(FEATURES_FILE), features).unwrap();
        write_npy(dir.join(LABELS_FILE), labels).unwrap();
    }

    /// Asserts the error has the expected variant and names `file`.
    fn assert_err(res: Result<Dataset>, file: &str, is_variant: fn(&Error) -> bool) {
        let err = res.unwrap_err();
        assert!(is_variant(&err), "unexpected variant: {err:?}");
        assert!(err.to_string().contains(file), "{err} does not name {file}");
        assert!(!err.to_string().ends_with('.'), "{err}");
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tmp();
        let ds = sample();
        ds.save(dir.path()).unwrap();
        assert_eq!(Dataset::load(dir.path()).unwrap(), ds);
        let names: Vec<String> = serde_json::from_slice(&fs::read(dir.path().join(CLASSES_FILE)).unwrap()).unwrap();
        assert_eq!(names, ds.class_names);
        // No temporary files are left behind.
        let mut entries: Vec<_> =
            fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        entries.sort();
        assert_eq!(entries, vec!["classes.json", "features.npy", "labels.npy"]);
    }

    #[test]
    fn save_creates_the_folder_and_keeps_empty_classes() {
        let dir = tmp();
        let target = dir.path().join("a/b");
        let sub = sample().subset(&[0, 2]); // class "dog" has no sample
        sub.save(&target).unwrap();
        let back = Dataset::load(&target).unwrap();
        assert_eq!(back, sub);
        assert_eq!(back.class_counts(), vec![0, 0, 2]);
    }

    #[test]
    fn save_refuses_to_overwrite_unless_asked() {
        let dir = tmp();
        let ds = sample();
        ds.save(dir.path()).unwrap();
        let err = ds.subset(&[1]).save(dir.path()).unwrap_err();
        assert!(matches!(err, Error::AlreadyExists { .. }), "{err:?}");
        assert!(err.to_string().contains("classes.json"), "{err}");
        assert_eq!(Dataset::load(dir.path()).unwrap(), ds);

        let sub = ds.subset(&[1]);
        sub.save_overwrite(dir.path()).unwrap();
        assert_eq!(Dataset::load(dir.path()).unwrap(), sub);

        // A lone features.npy also blocks a plain save.
        let other = tmp();
        write_npy(other.path().join(FEATURES_FILE), &array![[1.0f32]]).unwrap();
        let err = ds.save(other.path()).unwrap_err();
        assert!(err.to_string().contains("features.npy"), "{err}");
    }

    #[test]
    fn save_validates_the_dataset() {
        let dir = tmp();
        let mut ds = sample();
        ds.labels.pop();
        assert!(matches!(ds.save(dir.path()), Err(Error::InvalidDataset { .. })));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn labels_without_classes_json_are_remapped_in_sorted_order() {
        let dir = tmp();
        write_fast(dir.path(), &Array2::<f32>::ones((4, 2)), &array![9i32, 3, 7, 3]);
        let ds = Dataset::load(dir.path()).unwrap();
        assert_eq!(ds.labels, vec![2, 0, 1, 0]);
        assert_eq!(ds.class_names, vec!["3", "7", "9"]);
    }

    #[test]
    fn every_label_dtype_and_feature_dtype_loads() {
        let labels = [3u64, 1, 3];
        let expect_feats = array![[1.0f32, 2.0], [3.0, 4.0], [5.0, 255.0]];
        macro_rules! check_label_dtype {
            ($($t:ty),*) => {$(
                let dir = tmp();
                let l: Array1<$t> = labels.iter().map(|&v| v as $t).collect();
                write_fast(dir.path(), &expect_feats, &l);
                let ds = Dataset::load(dir.path()).unwrap();
                assert_eq!(ds.labels, vec![1, 0, 1], "{}", stringify!($t));
                assert_eq!(ds.class_names, vec!["1", "3"]);
            )*};
        }
        check_label_dtype!(i8, i16, i32, i64, u8, u16, u32, u64);

        let dir = tmp();
        write_fast(dir.path(), &expect_feats.mapv(f64::from), &array![0i64, 0, 1]);
        assert_eq!(Dataset::load(dir.path()).unwrap().features, expect_feats);
        let dir = tmp();
        write_fast(dir.path(), &expect_feats.mapv(|v| v as u8), &array![0i64, 0, 1]);
        assert_eq!(Dataset::load(dir.path()).unwrap().features, expect_feats);
    }

    #[test]
    fn bad_fast_layouts_are_clear_errors() {
        // Features of the wrong rank.
        let dir = tmp();
        write_fast(dir.path(), &Array3::<f32>::zeros((2, 2, 2)), &array![0i64, 1]);
        assert_err(Dataset::load(dir.path()), "features.npy", |e| matches!(e, Error::WrongShape { .. }));

        // Labels of the wrong rank.
        let dir = tmp();
        write_fast(dir.path(), &Array2::<f32>::zeros((2, 2)), &array![[0i64], [1]]);
        assert_err(Dataset::load(dir.path()), "labels.npy", |e| matches!(e, Error::WrongShape { .. }));

        // Count mismatch names both files.
        let dir = tmp();
        write_fast(dir.path(), &Array2::<f32>::zeros((3, 2)), &array![0i64, 1]);
        let err = Dataset::load(dir.path()).unwrap_err();
        assert!(matches!(err, Error::CountMismatch { n_features: 3, n_labels: 2, .. }), "{err:?}");
        assert!(err.to_string().contains("features.npy") && err.to_string().contains("labels.npy"));

        // Negative label.
        let dir = tmp();
        write_fast(dir.path(), &Array2::<f32>::zeros((2, 2)), &array![0i64, -1]);
        assert_err(Dataset::load(dir.path()), "labels.npy", |e| {
            matches!(e, Error::InvalidLabel { index: 1, value: -1, .. })
        });

        // Label beyond classes.json.
        let dir = tmp();
        write_fast(dir.path(), &Array2::<f32>::zeros((2, 2)), &array![0i64, 2]);
        fs::write(dir.path().join(CLASSES_FILE), r#"["a", "b"]"#).unwrap();
        assert_err(Dataset::load(dir.path()), "labels.npy", |e| {
            matches!(e, Error::InvalidLabel { index: 1, value: 2, .. })
        });

        // Malformed classes.json.
        fs::write(dir.path().join(CLASSES_FILE), r#"{"a": 1}"#).unwrap();
        assert_err(Dataset::load(dir.path()), "classes.json", |e| matches!(e, Error::Json { .. }));

        // Non-finite feature: row and column are named.
        let dir = tmp();
        let mut f = Array2::<f32>::zeros((3, 4));
        f[[2, 1]] = f32::NEG_INFINITY;
        f[[2, 3]] = f32::NAN;
        write_fast(dir.path(), &f, &array![0i64, 0, 0]);
        let err = Dataset::load(dir.path()).unwrap_err();
        assert!(matches!(err, Error::NonFinite { row: 2, col: 1, .. }), "{err:?}");
        assert!(err.to_string().contains("features.npy") && err.to_string().contains("-inf"), "{err}");

        // Empty dataset.
        let dir = tmp();
        write_fast(dir.path(), &Array2::<f32>::zeros((0, 4)), &Array1::<i64>::zeros(0));
        assert_err(Dataset::load(dir.path()), "features.npy", |e| matches!(e, Error::EmptyDataset { .. }));

        // Float labels, bool features.
        let dir = tmp();
        write_fast(dir.path(), &Array2::<f32>::zeros((2, 2)), &array![0.0f32, 1.0]);
        assert_err(Dataset::load(dir.path()), "labels.npy", |e| matches!(e, Error::UnsupportedDtype { .. }));
        let dir = tmp();
        write_fast(dir.path(), &array![[true, false]], &array![0i64]);
        assert_err(Dataset::load(dir.path()), "features.npy", |e| matches!(e, Error::UnsupportedDtype { .. }));

        // Missing labels.npy.
        let dir = tmp();
        write_npy(dir.path().join(FEATURES_FILE), &Array2::<f32>::zeros((2, 2))).unwrap();
        assert_err(Dataset::load(dir.path()), "labels.npy", |e| matches!(e, Error::Io { .. }));

        // Truncated features.npy.
        let dir = tmp();
        write_fast(dir.path(), &Array2::<f32>::zeros((2, 2)), &array![0i64, 1]);
        let p = dir.path().join(FEATURES_FILE);
        let bytes = fs::read(&p).unwrap();
        fs::write(&p, &bytes[..bytes.len() - 1]).unwrap();
        assert_err(Dataset::load(dir.path()), "features.npy", |e| matches!(e, Error::BadNpy { .. }));
    }

    #[test]
    fn a_20k_by_768_dataset_round_trips() {
        let dir = tmp();
        let (n, d) = (20_000, 768);
        let features = Array2::from_shape_fn((n, d), |(i, j)| ((i * 31 + j * 7) % 1000) as f32 * 1e-3 - 0.5);
        let labels: Vec<usize> = (0..n).map(|i| (i * 13) % 10).collect();
        let ds = Dataset::new(features, labels, (0..10).map(|c| c.to_string()).collect()).unwrap();
        ds.save(dir.path()).unwrap();
        let back = Dataset::load(dir.path()).unwrap();
        assert_eq!((back.n_samples(), back.dim()), (n, d));
        assert!(back == ds);
    }
}
