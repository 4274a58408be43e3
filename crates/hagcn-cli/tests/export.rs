//! `hagcn export`: faiss's IndexBinaryFlat file (byte for byte what faiss writes) and the
//! numpy files of a Milvus bulk insert.

mod common;

use common::{hagcn, ok, one_line_error, s};
use ndarray::{Array1, Array2, array};
use ndarray_npy::{read_npy, write_npy};

/// Written by faiss-cpu itself (see `make_faiss_fixture.py` beside it).
const FAISS_FIXTURE: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../hagcn-eval/tests/fixtures/faiss_binary_flat_5x16.index");

/// The fixture's codes: rows `[i, 255 - i]` for `i` in `0, 1, 2, 3, 250`.
fn fixture_codes() -> Array2<u8> {
    array![[0u8, 255], [1, 254], [2, 253], [3, 252], [250, 5]]
}

#[test]
fn faiss_export_is_byte_identical_to_what_faiss_writes_and_reads_back() {
    let tmp = tempfile::tempdir().unwrap();
    let (codes, out) = (tmp.path().join("codes.npy"), tmp.path().join("db.index"));
    write_npy(&codes, &fixture_codes()).unwrap();
    ok(&hagcn(&["export", "--format", "faiss", "--codes", s(&codes), "--out", s(&out)]));
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(FAISS_FIXTURE).unwrap());

    // Never overwritten by accident.
    let o = hagcn(&["export", "--format", "faiss", "--codes", s(&codes), "--out", s(&out)]);
    one_line_error(&o, &["already exists", "--force"]);

    // faiss files are accepted wherever codes are read: search the fixture itself.
    let printed = hagcn(&["search", "--query", s(&codes), "--database", FAISS_FIXTURE, "--k", "2"]);
    ok(&printed);
    let text = String::from_utf8_lossy(&printed.stdout);
    // [0, 255] and [1, 254] differ in one bit of each byte.
    assert!(text.starts_with("query 0: 0:0 1:2\nquery 1: 1:0 0:2\n"), "{text}");

    // Exporting a faiss file again gives the same file.
    let again = tmp.path().join("again.index");
    ok(&hagcn(&["export", "--format", "faiss", "--codes", FAISS_FIXTURE, "--out", s(&again)]));
    assert_eq!(std::fs::read(&again).unwrap(), std::fs::read(FAISS_FIXTURE).unwrap());

    // A corrupt faiss file is a one-line error.
    let mut bytes = std::fs::read(FAISS_FIXTURE).unwrap();
    bytes[12..20].copy_from_slice(&1_000_000_000_000i64.to_le_bytes());
    let corrupt = tmp.path().join("corrupt.index");
    std::fs::write(&corrupt, &bytes).unwrap();
    let o = hagcn(&["search", "--query", s(&codes), "--database", s(&corrupt)]);
    one_line_error(&o, &["corrupt.index", "IndexBinaryFlat"]);
}

#[test]
fn milvus_export_writes_one_numpy_file_per_field() {
    let tmp = tempfile::tempdir().unwrap();
    let codes = tmp.path().join("codes.npy");
    let bytes = Array2::from_shape_fn((300, 3), |(i, j)| (i * 7 + j * 13) as u8);
    write_npy(&codes, &bytes).unwrap();
    let out = tmp.path().join("milvus");
    ok(&hagcn(&["export", "--format", "milvus", "--codes", s(&codes), "--out", s(&out)]));
    let ids: Array1<i64> = read_npy(out.join("id.npy")).unwrap();
    assert_eq!(ids, Array1::from_iter(0..300i64));
    let vectors: Array2<u8> = read_npy(out.join("vector.npy")).unwrap();
    assert_eq!(vectors, bytes);
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("collection.json")).unwrap()).unwrap();
    assert_eq!(schema["rows"], 300);
    assert_eq!(schema["metric_type"], "HAMMING");
    assert_eq!(schema["fields"][1]["dtype"], "BINARY_VECTOR");
    assert_eq!(schema["fields"][1]["dim"], 24);

    // Existing files are kept unless --force; other field names are possible.
    let o = hagcn(&["export", "--format", "milvus", "--codes", s(&codes), "--out", s(&out)]);
    one_line_error(&o, &["already exists"]);
    ok(&hagcn(&[
        "export",
        "--format",
        "milvus",
        "--codes",
        s(&codes),
        "--out",
        s(&out),
        "--id-field",
        "pk",
        "--vector-field",
        "code",
        "--force",
    ]));
    assert_eq!(read_npy::<_, Array2<u8>>(out.join("code.npy")).unwrap(), bytes);
    let o = hagcn(&["export", "--format", "milvus", "--codes", s(&codes), "--out", s(&out), "--id-field", "1x"]);
    one_line_error(&o, &["--id-field", "not a Milvus field name"]);
}
