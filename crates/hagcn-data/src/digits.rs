//! The handwritten digits of scikit-learn (UCI "Optical Recognition of Handwritten Digits",
//! test part): 1,797 images of 8 × 8 grey levels `0..=16`, digits `0..=9`. A second real
//! image dataset, of another size and dimension than MNIST, from a package registry.
//!
//! scikit-learn ships it in every wheel as `sklearn/datasets/data/digits.csv.gz`: one row
//! per image, 64 integer pixels then the label, comma-separated, no header. [`from_csv`]
//! turns that text into a `1797 × 64` [`Dataset`] with features `pixel / 16` (so in
//! `[0, 1]`, like MNIST) and class names `"0"`..`"9"`, rows in file order. [`fetch`]
//! downloads the pinned wheel with `pip download`, extracts the file with Python's standard
//! library, checks its SHA-256 and saves the result in the fast layout.

use std::fs;
use std::path::Path;
use std::process::Command;

use ndarray::Array2;

use crate::dataset::{CLASSES_FILE, Dataset, FEATURES_FILE, LABELS_FILE};
use crate::error::{Error, Result};
use crate::mnist::{WorkDir, run};

/// The PyPI package [`fetch`] downloads (any wheel of it holds the same file).
pub const PIP_PACKAGE: &str = "scikit-learn==1.9.1";

/// SHA-256 of the decompressed `digits.csv` of that wheel.
pub const CSV_SHA256: &str = "6ebb3d2fee246a4e99363262ddf8a00a3c41bee6014c373ed9d9216ba7f651b8";

/// Pixels per image (8 × 8).
const PIXELS: usize = 64;

/// Parses the digits CSV (module docs). `path` names the source in errors.
///
/// # Errors
///
/// [`Error::BadDigits`] naming the line for a row without 65 fields, a pixel outside
/// `0..=16`, a label outside `0..=9` or a field that is not an integer, and for a file
/// with no rows.
pub fn from_csv(text: &str, path: &Path) -> Result<Dataset> {
    let bad = |line: usize, reason: String| Error::BadDigits {
        path: path.to_path_buf(),
        reason: format!("line {line}: {reason}"),
    };
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != PIXELS + 1 {
            return Err(bad(i + 1, format!("{} fields, expected {}", fields.len(), PIXELS + 1)));
        }
        for (j, f) in fields.iter().enumerate() {
            // integers, possibly written as floats ("16.0")
            let v: f64 = f.parse().map_err(|_| bad(i + 1, format!("field {} is {f:?}, not a number", j + 1)))?;
            let (max, what) = if j < PIXELS { (16.0, "pixel") } else { (9.0, "label") };
            if !(v.fract() == 0.0 && (0.0..=max).contains(&v)) {
                return Err(bad(i + 1, format!("{what} {f} is not an integer in 0..={max}")));
            }
            if j < PIXELS {
                pixels.push((v / 16.0) as f32);
            } else {
                labels.push(v as usize);
            }
        }
    }
    if labels.is_empty() {
        return Err(Error::BadDigits { path: path.to_path_buf(), reason: "no rows".into() });
    }
    let features = Array2::from_shape_vec((labels.len(), PIXELS), pixels).expect("64 pixels per row");
    Dataset::new(features, labels, (0..10).map(|d| d.to_string()).collect())
}

/// Reads a digits CSV file (plain, as extracted by [`fetch`]) with [`from_csv`].
///
/// # Errors
///
/// [`Error::Io`] when it cannot be read, plus those of [`from_csv`].
pub fn from_csv_file(path: &Path) -> Result<Dataset> {
    let text = fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    from_csv(&text, path)
}

/// Downloads [`PIP_PACKAGE`] (one wheel, no dependencies) with `python3 -m pip download`,
/// extracts `digits.csv.gz` with Python's `zipfile` and `gzip`, checks it against
/// [`CSV_SHA256`], converts it with [`from_csv`] and saves it to `dest_dir` (fast layout).
/// Work happens in a temporary folder, removed afterwards.
///
/// # Errors
///
/// [`Error::AlreadyExists`] when `dest_dir` already holds a dataset (checked first),
/// [`Error::PipNotFound`] without `python3`, [`Error::Command`] when pip fails (no network
/// to PyPI, say), [`Error::BadDigits`] when the file's checksum differs, plus those of
/// [`from_csv`] and [`Dataset::save`].
pub fn fetch(dest_dir: &Path) -> Result<Dataset> {
    for file in [FEATURES_FILE, LABELS_FILE, CLASSES_FILE] {
        let path = dest_dir.join(file);
        if path.exists() {
            return Err(Error::AlreadyExists { path });
        }
    }
    let work = WorkDir::create()?;
    let not_found = |e: &std::io::Error| (e.kind() == std::io::ErrorKind::NotFound).then_some(Error::PipNotFound);
    let mut pip = Command::new("python3");
    // The file is the same in every wheel; asking for one platform makes the download
    // independent of the local Python version.
    pip.args(["-m", "pip", "download", PIP_PACKAGE, "--no-deps", "--only-binary=:all:", "--quiet"])
        .args(["--python-version", "3.11", "--implementation", "cp", "--abi", "cp311"])
        .args(["--platform", "manylinux_2_28_x86_64", "-d", "."]);
    run(pip, &work.0, not_found)?;
    let csv = work.0.join("digits.csv");
    let mut extract = Command::new("python3");
    extract.arg("-c").arg(
        "import glob, gzip, zipfile\n\
         wheel = glob.glob('scikit_learn-*.whl')[0]\n\
         data = zipfile.ZipFile(wheel).read('sklearn/datasets/data/digits.csv.gz')\n\
         open('digits.csv', 'wb').write(gzip.decompress(data))",
    );
    run(extract, &work.0, not_found)?;
    let bytes = fs::read(&csv).map_err(|e| Error::io("read", &csv, e))?;
    let digest = sha256_hex(&bytes);
    if digest != CSV_SHA256 {
        return Err(Error::BadDigits {
            path: csv,
            reason: format!("SHA-256 {digest}, expected {CSV_SHA256} (a different scikit-learn file?)"),
        });
    }
    let text =
        String::from_utf8(bytes).map_err(|_| Error::BadDigits { path: csv.clone(), reason: "not UTF-8".into() })?;
    let ds = from_csv(&text, Path::new("sklearn/datasets/data/digits.csv.gz"))?;
    ds.save(dest_dir)?;
    Ok(ds)
}

/// SHA-256 of `data` as lowercase hex (FIPS 180-4), for the download check.
fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
        0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
        0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
        0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
        0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
        0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
        0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] =
        [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 64];
        for (i, word) in chunk.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes(word.try_into().expect("4 bytes"));
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7].wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [t1.wrapping_add(t2), v[0], v[1], v[2], v[3].wrapping_add(t1), v[4], v[5], v[6]];
        }
        for (a, b) in h.iter_mut().zip(v) {
            *a = a.wrapping_add(b);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(label: usize, fill: usize) -> String {
        let mut f: Vec<String> = (0..PIXELS).map(|p| ((p + fill) % 17).to_string()).collect();
        f.push(label.to_string());
        f.join(",")
    }

    #[test]
    fn parses_rows_and_scales_pixels() {
        let text = format!("{}\n{}\n\n", row(3, 0), row(9, 5));
        let ds = from_csv(&text, Path::new("t.csv")).unwrap();
        assert_eq!((ds.n_samples(), ds.dim(), ds.n_classes()), (2, 64, 10));
        assert_eq!(ds.labels, vec![3, 9]);
        assert_eq!(ds.features[[0, 16]], 16.0 / 16.0);
        assert_eq!(ds.features[[1, 0]], 5.0 / 16.0);
    }

    #[test]
    fn rejects_malformed_rows_naming_the_line() {
        let cases = [
            (format!("{}\n{}", row(1, 0), "1,2,3"), "line 2: 3 fields"),
            (row(1, 0).replacen("0,", "17,", 1), "pixel 17"),
            (row(1, 0).replacen("0,", "x,", 1), "\"x\", not a number"),
            (row(1, 0).replacen("0,", "2.5,", 1), "pixel 2.5"),
            (format!("{},", &row(1, 0)[..row(1, 0).len() - 2]) + "10", "label 10"),
            (String::new(), "no rows"),
        ];
        for (text, want) in cases {
            let err = from_csv(&text, Path::new("bad.csv")).unwrap_err().to_string();
            assert!(err.contains(want) && err.contains("bad.csv"), "{err:?} should mention {want:?}");
        }
    }

    #[test]
    fn sha256_matches_known_digests() {
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let long = vec![b'a'; 1000];
        assert_eq!(sha256_hex(&long), "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
    }

    #[test]
    fn fetch_refuses_to_overwrite_before_downloading() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(FEATURES_FILE), b"x").unwrap();
        assert!(matches!(fetch(dir.path()), Err(Error::AlreadyExists { .. })));
    }
}
