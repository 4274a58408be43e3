//! `hagcn train`, `encode`, `search` and `eval` on a small synthetic dataset.

mod common;

use common::{hagcn, ok, s, train_on};
use hagcn_data::synthetic::GaussianClusters;
use ndarray::{Array1, Array2, Axis};
use ndarray_npy::{read_npy, write_npy};

#[test]
fn train_encode_search_eval() {
    let tmp = tempfile::tempdir().unwrap();
    let data = GaussianClusters { n_samples: 90, dim: 8, n_classes: 3, spread: 0.2, seed: 2 }.generate().unwrap();
    let (dir, ck) =
        train_on(tmp.path(), &data, &["--bits", "12", "--epochs", "3", "--batch-size", "32", "--hidden", "16"]);
    // the checkpoint is not overwritten by accident
    let o = hagcn(&["train", "--dataset", s(&dir), "--out", s(&ck), "--epochs", "1"]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("--force"));

    // queries: the first 10 samples; database: the rest
    let (queries, db) =
        (data.features.slice_axis(Axis(0), (0..10).into()), data.features.slice_axis(Axis(0), (10..90).into()));
    let (qx, dbx) = (tmp.path().join("q.npy"), tmp.path().join("db.npy"));
    write_npy(&qx, &queries.to_owned()).unwrap();
    write_npy(&dbx, &db.mapv(f64::from)).unwrap(); // float64 input works too
    let (qc, dbc) = (tmp.path().join("qc.npy"), tmp.path().join("dbc.npy"));
    ok(&hagcn(&["encode", "--checkpoint", s(&ck), "--input", s(&qx), "--out", s(&qc)]));
    ok(&hagcn(&["encode", "--checkpoint", s(&ck), "--input", s(&dbx), "--out", s(&dbc)]));
    let codes: Array2<u8> = read_npy(&qc).unwrap();
    assert_eq!(codes.dim(), (10, 2)); // 12 bits → 2 bytes
    assert!(codes.column(1).iter().all(|b| b >> 4 == 0), "padding bits are zero");

    let (ip, dp) = (tmp.path().join("i.npy"), tmp.path().join("d.npy"));
    ok(&hagcn(&[
        "search",
        "--query",
        s(&qc),
        "--database",
        s(&dbc),
        "--k",
        "5",
        "--out-indices",
        s(&ip),
        "--out-distances",
        s(&dp),
    ]));
    let (idx, dist): (Array2<i64>, Array2<i32>) = (read_npy(&ip).unwrap(), read_npy(&dp).unwrap());
    assert_eq!(idx.dim(), (10, 5));
    let dbcodes: Array2<u8> = read_npy(&dbc).unwrap();
    for q in 0..10 {
        // distances are sorted and are the Hamming distances of the listed items
        assert!(dist.row(q).windows(2).into_iter().all(|w| w[0] <= w[1]));
        for j in 0..5 {
            let item = idx[[q, j]] as usize;
            let d: u32 = (0..2).map(|b| (codes[[q, b]] ^ dbcodes[[item, b]]).count_ones()).sum();
            assert_eq!(d as i32, dist[[q, j]]);
        }
    }
    let printed = hagcn(&["search", "--query", s(&qc), "--database", s(&dbc), "--k", "2"]);
    ok(&printed);
    assert!(String::from_utf8_lossy(&printed.stdout).starts_with("query 0: "));

    let (ql, dbl) = (tmp.path().join("ql.npy"), tmp.path().join("dbl.npy"));
    write_npy(&ql, &Array1::from_iter(data.labels[..10].iter().map(|&l| l as i64))).unwrap();
    write_npy(&dbl, &Array1::from_iter(data.labels[10..].iter().map(|&l| l as i64))).unwrap();
    let o = hagcn(&[
        "eval",
        "--query-codes",
        s(&qc),
        "--query-labels",
        s(&ql),
        "--db-codes",
        s(&dbc),
        "--db-labels",
        s(&dbl),
    ]);
    ok(&o);
    let out = String::from_utf8_lossy(&o.stdout);
    let map_all: f64 =
        out.lines().find(|l| l.starts_with("mAP@all")).unwrap().split('\t').nth(1).unwrap().parse().unwrap();
    assert!((0.0..=1.0).contains(&map_all), "{out}");
}

#[test]
fn mismatched_inputs_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let data = GaussianClusters { n_samples: 40, dim: 6, n_classes: 2, spread: 0.2, seed: 3 }.generate().unwrap();
    let (_, ck) = train_on(tmp.path(), &data, &["--bits", "8", "--epochs", "1", "--hidden", "8", "--batch-size", "16"]);
    let wide = tmp.path().join("wide.npy");
    write_npy(&wide, &Array2::<f32>::zeros((3, 7))).unwrap();
    let o = hagcn(&["encode", "--checkpoint", s(&ck), "--input", s(&wide), "--out", s(&tmp.path().join("c.npy"))]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("expects 6"), "{}", String::from_utf8_lossy(&o.stderr));
    let (a, b) = (tmp.path().join("a.npy"), tmp.path().join("b.npy"));
    write_npy(&a, &Array2::<u8>::zeros((2, 1))).unwrap();
    write_npy(&b, &Array2::<u8>::zeros((2, 2))).unwrap();
    let o = hagcn(&["search", "--query", s(&a), "--database", s(&b)]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("different code lengths"));
    let o = hagcn(&["search", "--query", s(&wide), "--database", s(&b)]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("uint8"));
    let o = hagcn(&["encode", "--checkpoint", s(&wide), "--input", s(&wide), "--out", s(&tmp.path().join("x.npy"))]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("not a valid .npz"));
}
