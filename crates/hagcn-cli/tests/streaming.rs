//! `hagcn encode` and `hagcn search` stream their large input; the results must be
//! exactly those of the in-memory computation.

mod common;

use common::{hagcn, ok, one_line_error, s, train_on};
use hagcn_autodiff::{AdamConfig, CpuBackend};
use hagcn_data::synthetic::GaussianClusters;
use hagcn_eval::{PackedCodes, TopK, hamming_topk};
use hagcn_model::{Machine, load_checkpoint};
use hagcn_openblas as _;
use ndarray::{Array2, s};
use ndarray_npy::{read_npy, write_npy};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Rows of the encode test: two whole 4096-row blocks and a short one.
const N_ROWS: usize = 2 * 4096 + 123;

#[test]
fn encode_streams_codes_bit_identical_to_the_in_memory_encode() {
    let tmp = tempfile::tempdir().unwrap();
    let train = GaussianClusters { n_samples: 64, dim: 8, n_classes: 4, spread: 0.3, seed: 1 }.generate().unwrap();
    let (_, ck) =
        train_on(tmp.path(), &train, &["--bits", "12", "--epochs", "2", "--batch-size", "32", "--hidden", "16"]);
    let big = GaussianClusters { n_samples: N_ROWS, dim: 8, n_classes: 4, spread: 0.5, seed: 2 }.generate().unwrap();
    let x = big.features;

    // In memory: the whole matrix through the hash layer at once.
    let c = load_checkpoint(&ck).unwrap();
    let m = Machine::from_params(CpuBackend::<f32>::new(), c.config, AdamConfig::default(), c.params, 0).unwrap();
    let want = PackedCodes::from_logits(m.hash_logits(x.view()).unwrap().view()).bytes().to_owned();
    assert_eq!(want.dim(), (N_ROWS, 2));

    let (x32, x64, out) = (tmp.path().join("x32.npy"), tmp.path().join("x64.npy"), tmp.path().join("codes.npy"));
    write_npy(&x32, &x).unwrap();
    write_npy(&x64, &x.mapv(f64::from)).unwrap();
    ok(&hagcn(&["encode", "--checkpoint", s(&ck), "--input", s(&x32), "--out", s(&out)]));
    let got: Array2<u8> = read_npy(&out).unwrap();
    assert_eq!(got, want);
    // float64 embeddings are rounded to float32 first, as the in-memory path did.
    ok(&hagcn(&["encode", "--checkpoint", s(&ck), "--input", s(&x64), "--out", s(&out), "--force"]));
    assert_eq!(read_npy::<_, Array2<u8>>(&out).unwrap(), want);

    // A NaN deep in the file: a one-line error with its global row, and no output left.
    let mut bad = x.clone();
    bad[[5000, 3]] = f32::NAN;
    let (badp, badout) = (tmp.path().join("nan.npy"), tmp.path().join("nan-codes.npy"));
    write_npy(&badp, &bad).unwrap();
    let o = hagcn(&["encode", "--checkpoint", s(&ck), "--input", s(&badp), "--out", s(&badout)]);
    one_line_error(&o, &["nan.npy", "non-finite value at row 5000, column 3"]);
    assert!(
        std::fs::read_dir(tmp.path()).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().contains("nan-codes"))
    );

    // Fortran order (NumPy's layout of a transposed matrix) gives the same codes as C order.
    let fortran = tmp.path().join("fortran.npy");
    write_npy(&fortran, &x.t().as_standard_layout().reversed_axes()).unwrap();
    let fortran_out = tmp.path().join("fortran-codes.npy");
    ok(&hagcn(&["encode", "--checkpoint", s(&ck), "--input", s(&fortran), "--out", s(&fortran_out)]));
    assert_eq!(read_npy::<_, Array2<u8>>(&fortran_out).unwrap(), want);
    // Integers are not embeddings.
    let ints = tmp.path().join("ints.npy");
    write_npy(&ints, &Array2::<i32>::zeros((3, 8))).unwrap();
    let o = hagcn(&["encode", "--checkpoint", s(&ck), "--input", s(&ints), "--out", s(&badout)]);
    one_line_error(&o, &["ints.npy", "float32 or float64"]);
}

/// The knn objective's codes (centred input, hidden features) stream bit-identically too.
#[test]
fn encode_of_a_knn_model_matches_the_in_memory_encode() {
    let tmp = tempfile::tempdir().unwrap();
    let train = GaussianClusters { n_samples: 64, dim: 8, n_classes: 4, spread: 0.3, seed: 1 }.generate().unwrap();
    let flags = ["--bits", "12", "--epochs", "2", "--batch-size", "32", "--hidden", "16", "--objective", "knn"];
    let (_, ck) = train_on(tmp.path(), &train, &[&flags[..], &["--knn", "3", "--lr", "1e-3", "--gamma", "1"]].concat());
    let c = load_checkpoint(&ck).unwrap();
    assert_eq!(c.config.objective, hagcn_model::Objective::Knn);
    let x =
        GaussianClusters { n_samples: N_ROWS, dim: 8, n_classes: 4, spread: 0.5, seed: 2 }.generate().unwrap().features;
    let m = Machine::from_params(CpuBackend::<f32>::new(), c.config, AdamConfig::default(), c.params, 0).unwrap();
    let want = PackedCodes::from_logits(m.hash_logits(x.view()).unwrap().view()).bytes().to_owned();
    let (x32, out) = (tmp.path().join("x32.npy"), tmp.path().join("codes.npy"));
    write_npy(&x32, &x).unwrap();
    ok(&hagcn(&["encode", "--checkpoint", s(&ck), "--input", s(&x32), "--out", s(&out)]));
    assert_eq!(read_npy::<_, Array2<u8>>(&out).unwrap(), want);
}

fn random_codes(rng: &mut ChaCha8Rng, n: usize, n_bytes: usize, mask: u8) -> Array2<u8> {
    Array2::from_shape_simple_fn((n, n_bytes), || rng.random::<u8>() & mask)
}

#[test]
fn search_streams_the_database_with_the_in_memory_ranking_ties_included() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    // 5-bit codes in one byte: about 160 database items per distance, so ties decide the order.
    let (q, db) = (random_codes(&mut rng, 37, 1, 0x1f), random_codes(&mut rng, 5003, 1, 0x1f));
    let (qp, dbp) = (tmp.path().join("q.npy"), tmp.path().join("db.npy"));
    write_npy(&qp, &q).unwrap();
    write_npy(&dbp, &db).unwrap();
    let (qc, dbc) = (PackedCodes::from_bytes(q, 8).unwrap(), PackedCodes::from_bytes(db, 8).unwrap());
    let faiss = tmp.path().join("db.index");
    ok(&hagcn(&["export", "--format", "faiss", "--codes", s(&dbp), "--out", s(&faiss)]));
    for k in [1, 50, 5003, 9000] {
        let (want_idx, want_dist) = hamming_topk(&qc, &dbc, TopK::K(k)).unwrap();
        for (database, block) in [(&dbp, "1"), (&dbp, "7"), (&dbp, "1000"), (&dbp, "100000"), (&faiss, "333")] {
            let (ip, dp) = (tmp.path().join("i.npy"), tmp.path().join("d.npy"));
            let kk = k.to_string();
            ok(&hagcn(&[
                "search",
                "--query",
                s(&qp),
                "--database",
                s(database),
                "--k",
                &kk,
                "--block-codes",
                block,
                "--out-indices",
                s(&ip),
                "--out-distances",
                s(&dp),
                "--force",
            ]));
            let (idx, dist): (Array2<i64>, Array2<i32>) = (read_npy(&ip).unwrap(), read_npy(&dp).unwrap());
            assert_eq!(idx, want_idx.mapv(|i| i as i64), "K = {k}, blocks of {block}");
            assert_eq!(dist, want_dist.mapv(|d| d as i32), "K = {k}, blocks of {block}");
        }
    }
    let o = hagcn(&["search", "--query", s(&qp), "--database", s(&dbp), "--block-codes", "0"]);
    one_line_error(&o, &["--block-codes"]);
}

/// Encoding sums each logit in one fixed order (`hagcn_autodiff::reproducible`), so the
/// codes do not depend on the BLAS or rayon thread counts (OpenBLAS's GEMM flipped 2 of
/// 89.6 M bits between 1 and 2 threads), nor on the backend.
#[test]
fn codes_do_not_depend_on_the_thread_count_or_the_device() {
    let tmp = tempfile::tempdir().unwrap();
    let train = GaussianClusters { n_samples: 300, dim: 48, n_classes: 6, spread: 0.5, seed: 3 }.generate().unwrap();
    let flags = ["--bits", "64", "--epochs", "2", "--batch-size", "64", "--hidden", "96", "--objective", "knn"];
    let (_, ck) = train_on(tmp.path(), &train, &flags);
    // Many rows near every hyperplane: a GEMM's reordered sums would move some across.
    let x = GaussianClusters { n_samples: 9000, dim: 48, n_classes: 6, spread: 2.0, seed: 4 }.generate().unwrap();
    let input = tmp.path().join("x.npy");
    write_npy(&input, &x.features).unwrap();
    let encode = |threads: &str, device: &str| {
        let out = tmp.path().join(format!("codes-{threads}-{device}.npy"));
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_hagcn"))
            .args(["encode", "--checkpoint", s(&ck), "--input", s(&input), "--out", s(&out), "--device", device])
            .env("OPENBLAS_NUM_THREADS", threads)
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        ok(&o);
        read_npy::<_, Array2<u8>>(&out).unwrap()
    };
    let one = encode("1", "cpu");
    assert_eq!(one, encode("2", "cpu"), "1 and 2 threads");
    assert_eq!(one, encode("3", "cpu"), "1 and 3 threads");
    if cfg!(feature = "cuda") {
        // The CUDA backend's reproducible linear kernel and GELU, on the emulated device.
        let head = tmp.path().join("head.npy");
        write_npy(&head, &x.features.slice(s![..300, ..]).to_owned()).unwrap();
        let out = |name: &str| tmp.path().join(name);
        for device in ["cpu", "cuda-emulated"] {
            ok(&hagcn(&[
                "encode",
                "--checkpoint",
                s(&ck),
                "--input",
                s(&head),
                "--out",
                s(&out(device)),
                "--device",
                device,
            ]));
        }
        let (cpu, emulated): (Array2<u8>, Array2<u8>) =
            (read_npy(out("cpu")).unwrap(), read_npy(out("cuda-emulated")).unwrap());
        assert_eq!(cpu, emulated, "the CUDA backend encodes bit for bit like the CPU");
        assert_eq!(cpu, one.slice(s![..300, ..]));
    }
}

#[cfg(feature = "cuda")]
#[test]
fn search_on_the_cuda_backend_gives_the_cpu_result() {
    // The device ranks each database block and the host merges the blocks' top K: the same
    // indices and distances as --device cpu, ties included (the emulated device runs the
    // CUDA kernel's code on the CPU).
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for (n_bytes, mask) in [(1, 0x07), (3, 0xff), (9, 0xff)] {
        let (q, db) = (random_codes(&mut rng, 19, n_bytes, mask), random_codes(&mut rng, 701, n_bytes, mask));
        let (qp, dbp) = (tmp.path().join("q.npy"), tmp.path().join("db.npy"));
        write_npy(&qp, &q).unwrap();
        write_npy(&dbp, &db).unwrap();
        for (k, block) in [("1", "701"), ("25", "100"), ("900", "333")] {
            let run = |device: &str| {
                let (ip, dp) = (tmp.path().join(format!("i-{device}.npy")), tmp.path().join(format!("d-{device}.npy")));
                ok(&hagcn(&[
                    "search",
                    "--query",
                    s(&qp),
                    "--database",
                    s(&dbp),
                    "--k",
                    k,
                    "--block-codes",
                    block,
                    "--device",
                    device,
                    "--out-indices",
                    s(&ip),
                    "--out-distances",
                    s(&dp),
                    "--force",
                ]));
                let out: (Array2<i64>, Array2<i32>) = (read_npy(&ip).unwrap(), read_npy(&dp).unwrap());
                out
            };
            assert_eq!(run("cuda-emulated"), run("cpu"), "{n_bytes} bytes, K = {k}, blocks of {block}");
        }
    }
}
