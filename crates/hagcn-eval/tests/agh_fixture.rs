//! AGH against an independent NumPy port of the authors' MATLAB code
//! (`tests/fixtures/make_agh_fixture.py`, which wrote `agh_fixture.npz`): 120 training and
//! 15 new points in 6 dimensions, 10 anchors chosen by the script, `s = 3`.
//!
//! The anchors come from the fixture, so everything after k-means is compared: the
//! bandwidth, `Z`, the eigenvalues, `W`, the embeddings and thresholds to rounding, and
//! every code bit exactly (the script checks that each bit is decided by a margin of at
//! least `10⁻⁴`, far above the `~10⁻¹⁴` by which the two implementations differ: measured
//! 2e-16 on `Z`, 4e-15 on `W`, 6e-15 on the embeddings and 3e-14 on the thresholds,
//! relative to their largest entries).

use std::fs::File;
use std::path::PathBuf;

use hagcn_eval::{Agh, AghItq, AghLayers, Hasher, PackedCodes};
use hagcn_openblas as _;
use ndarray::{Array1, Array2, ArrayView2};
use ndarray_npy::NpzReader;

struct Fixture {
    reader: NpzReader<File>,
}

impl Fixture {
    fn open() -> Fixture {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/agh_fixture.npz");
        Fixture { reader: NpzReader::new(File::open(&path).expect("the committed fixture")).unwrap() }
    }

    fn f64_2(&mut self, name: &str) -> Array2<f64> {
        self.reader.by_name(name).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn f64_1(&mut self, name: &str) -> Array1<f64> {
        self.reader.by_name(name).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn f32_2(&mut self, name: &str) -> Array2<f32> {
        self.reader.by_name(name).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn i64_2(&mut self, name: &str) -> Array2<i64> {
        self.reader.by_name(name).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn codes(&mut self, name: &str) -> PackedCodes {
        let bits: Array2<bool> = self.reader.by_name(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        PackedCodes::from_bits(bits.view())
    }
}

/// `max |a − b| ≤ tol · max(1, max |b|)`.
fn assert_close(name: &str, a: ArrayView2<f64>, b: ArrayView2<f64>, tol: f64) {
    assert_eq!(a.dim(), b.dim(), "{name}: shape");
    let scale = b.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    let err = a.iter().zip(b).fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    assert!(err <= tol * scale, "{name}: max difference {err:e} (scale {scale})");
}

/// The number of bits where two code sets differ.
fn differing_bits(a: &PackedCodes, b: &PackedCodes) -> usize {
    (0..a.n_codes()).map(|i| (0..a.n_bits()).filter(|&j| a.bit(i, j) != b.bit(i, j)).count()).sum()
}

#[test]
fn one_layer_matches_the_reference() {
    let mut f = Fixture::open();
    let (train, test, anchors) = (f.f32_2("x_train"), f.f32_2("x_test"), f.f64_2("anchors"));
    let nearest = f.reader.by_name::<ndarray::OwnedRepr<i64>, ndarray::Ix1>("nearest").unwrap()[0] as usize;
    let agh = Agh::fit_with_anchors(train.view(), anchors.view(), 5, AghLayers::One, nearest).unwrap();

    let sigma = f.f64_1("sigma")[0];
    assert!((agh.bandwidth() - sigma).abs() <= 1e-12 * sigma, "{} vs {sigma}", agh.bandwidth());
    assert_close("Z(train)", agh.anchor_similarities(train.view()).unwrap().view(), f.f64_2("z_train").view(), 1e-12);
    assert_close("Z(test)", agh.anchor_similarities(test.view()).unwrap().view(), f.f64_2("z_test").view(), 1e-12);
    // The nearest anchors themselves: exactly the reference's (as sets; Z's support).
    for (name, x, index) in [("train", &train, f.i64_2("z_index")), ("test", &test, f.i64_2("z_test_index"))] {
        let z = agh.anchor_similarities(x.view()).unwrap();
        for (i, row) in index.rows().into_iter().enumerate() {
            let mut want: Vec<usize> = row.iter().map(|&j| j as usize).collect();
            want.sort_unstable();
            let got: Vec<usize> = (0..z.ncols()).filter(|&j| z[[i, j]] > 0.0).collect();
            assert_eq!(got, want, "{name} point {i}");
        }
    }

    let eigenvalues = f.f64_1("eigenvalues");
    for (k, (&got, &want)) in agh.eigenvalues().iter().zip(&eigenvalues).enumerate() {
        assert!((got - want).abs() < 1e-12, "eigenvalue {k}: {got} vs {want}");
    }
    assert_close("W", agh.projection(), f.f64_2("w_one").view(), 1e-10);
    assert_close("Y(train)", agh.embedding(train.view()).unwrap().view(), f.f64_2("embedding_one_train").view(), 1e-10);
    assert_close("Y(test)", agh.embedding(test.view()).unwrap().view(), f.f64_2("embedding_one_test").view(), 1e-10);

    let (want_train, want_test) = (f.codes("codes_one_train"), f.codes("codes_one_test"));
    let (got_train, got_test) = (agh.encode(train.view()).unwrap(), agh.encode(test.view()).unwrap());
    assert_eq!(differing_bits(&got_train, &want_train), 0);
    assert_eq!(got_train, want_train);
    assert_eq!(got_test, want_test, "out of sample");
}

#[test]
fn two_layers_match_the_reference() {
    let mut f = Fixture::open();
    let (train, test, anchors) = (f.f32_2("x_train"), f.f32_2("x_test"), f.f64_2("anchors"));
    let agh = Agh::fit_with_anchors(train.view(), anchors.view(), 8, AghLayers::Two, 3).unwrap();
    assert_eq!(agh.n_bits(), 8);
    assert_close("W", agh.projection(), f.f64_2("w_two").view(), 1e-10);
    assert_close("thresholds", agh.thresholds().unwrap(), f.f64_2("thresholds").view(), 1e-10);
    let (want_train, want_test) = (f.codes("codes_two_train"), f.codes("codes_two_test"));
    let (got_train, got_test) = (agh.encode(train.view()).unwrap(), agh.encode(test.view()).unwrap());
    assert_eq!(differing_bits(&got_train, &want_train), 0);
    assert_eq!(got_train, want_train);
    assert_eq!(got_test, want_test, "out of sample");
    // The reference's second layer is not trivial: it differs from the first somewhere.
    assert!((0..train.nrows()).any(|i| (0..4).any(|k| got_train.bit(i, k) != got_train.bit(i, 4 + k))));
}

#[test]
fn itq_rotation_of_the_reference_embedding() {
    let mut f = Fixture::open();
    let (train, test, anchors) = (f.f32_2("x_train"), f.f32_2("x_test"), f.f64_2("anchors"));
    let itq = AghItq::fit_with_anchors(train.view(), anchors.view(), 5, 3, 50, 7).unwrap();
    // The embedding it rotates is the reference's one-layer embedding.
    assert_close("W", itq.agh().projection(), f.f64_2("w_one").view(), 1e-10);
    let r = itq.rotation();
    let rtr = r.t().dot(&r);
    assert!(rtr.indexed_iter().all(|((i, j), &v)| (v - if i == j { 1.0 } else { 0.0 }).abs() < 1e-10));
    for (x, y) in [(&train, f.f64_2("embedding_one_train")), (&test, f.f64_2("embedding_one_test"))] {
        let yr = y.dot(&r);
        let want = PackedCodes::from_bits(yr.mapv(|v| v >= 0.0).view());
        let margin = yr.iter().fold(f64::INFINITY, |m, v| m.min(v.abs()));
        assert!(margin > 1e-9, "a rotated value at {margin:e}");
        assert_eq!(itq.encode(x.view()).unwrap(), want);
    }
    let h = itq.quantization_history();
    assert_eq!(h.len(), 51);
    assert!(h.windows(2).all(|p| p[1] <= p[0] * (1.0 + 1e-12)), "{h:?}");
}
