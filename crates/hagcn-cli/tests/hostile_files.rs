//! Hostile `.npy` headers given to every command that reads arrays: each is a one-line
//! error, never an allocation failure (a header claiming 10¹² rows used to abort
//! `hagcn encode` with "memory allocation of 256000000000000 bytes failed").

mod common;

use std::path::{Path, PathBuf};

use common::{hagcn, one_line_error, s, train_on};
use hagcn_data::synthetic::GaussianClusters;
use ndarray::{Array1, Array2};
use ndarray_npy::write_npy;

/// A version-1.0 `.npy` file with the header dict `dict` and `payload`.
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

/// The hostile variants of an array of dtype `descr` with `cols` columns (`None`: 1-D),
/// each with the words its error must contain.
fn hostile(dir: &Path, descr: &str, cols: Option<usize>) -> Vec<(PathBuf, &'static str)> {
    let shape = |rows: &str| match cols {
        Some(c) => format!("({rows}, {c})"),
        None => format!("({rows},)"),
    };
    let dict = |rows: &str| format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {}, }}", shape(rows));
    let tag = descr.trim_start_matches(['<', '|']);
    let mut out = Vec::new();
    let mut case = |name: &str, dict: String, payload: Vec<u8>, needle: &'static str| {
        let p = dir.join(format!("{tag}-{}-{name}.npy", cols.map_or(1, |_| 2)));
        raw_npy(&p, &dict, &payload);
        out.push((p, needle));
    };
    // The file holds 10 rows; the header claims 10¹².
    case("huge", dict("1000000000000"), vec![0; 10 * 8 * cols.unwrap_or(1)], "truncated");
    case("overflow", dict("18446744073709551615"), vec![0; 64], "too large");
    case("truncated", dict("10"), vec![0; 7], "truncated");
    // HEADER_LEN claims more bytes than the file has.
    let p = dir.join(format!("{tag}-{}-len.npy", cols.map_or(1, |_| 2)));
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&60_000u16.to_le_bytes());
    bytes.extend_from_slice(dict("1").as_bytes());
    std::fs::write(&p, bytes).unwrap();
    out.push((p, "header claims 60000 bytes"));
    out
}

#[test]
fn every_command_reports_hostile_headers_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = GaussianClusters { n_samples: 40, dim: 8, n_classes: 2, spread: 0.2, seed: 3 }.generate().unwrap();
    let (_, ck) = train_on(dir, &data, &["--bits", "8", "--epochs", "1", "--hidden", "8", "--batch-size", "16"]);
    let (codes, labels) = (dir.join("codes.npy"), dir.join("labels.npy"));
    write_npy(&codes, &Array2::<u8>::zeros((4, 1))).unwrap();
    write_npy(&labels, &Array1::<i64>::zeros(4)).unwrap();
    let out = dir.join("out");
    let out_s = s(&out).to_string();

    for (path, needle) in hostile(dir, "<f4", Some(8)).into_iter().chain(hostile(dir, "<f8", Some(8))) {
        let p = s(&path);
        let o = hagcn(&["encode", "--checkpoint", s(&ck), "--input", p, "--out", &out_s]);
        one_line_error(&o, &[p, needle]);
        let o = hagcn(&["grads", "--checkpoint", s(&ck), "--batch", p, "--out", &out_s]);
        one_line_error(&o, &[p, needle]);
        assert!(!out.exists());
    }
    for (path, needle) in hostile(dir, "|u1", Some(2)) {
        let p = s(&path);
        for args in [
            vec!["search", "--query", p, "--database", s(&codes)],
            vec!["search", "--query", s(&codes), "--database", p],
            vec![
                "eval",
                "--query-codes",
                p,
                "--query-labels",
                s(&labels),
                "--db-codes",
                s(&codes),
                "--db-labels",
                s(&labels),
            ],
            vec!["export", "--format", "faiss", "--codes", p, "--out", &out_s],
        ] {
            one_line_error(&hagcn(&args), &[p, needle]);
        }
    }
    for (path, needle) in hostile(dir, "<i8", None) {
        let p = s(&path);
        let o = hagcn(&[
            "eval",
            "--query-codes",
            s(&codes),
            "--query-labels",
            p,
            "--db-codes",
            s(&codes),
            "--db-labels",
            s(&labels),
        ]);
        one_line_error(&o, &[p, needle]);
    }
}
