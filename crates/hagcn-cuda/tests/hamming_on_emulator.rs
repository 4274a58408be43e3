//! `hagcn_cuda::HammingIndex` on the emulated device against `hagcn_eval::hamming_topk`:
//! the kernel `hamming_topk_u64` driven by the host code that will drive the GPU, on codes with
//! many ties, awkward sizes, several launches per call, and every argument the host rejects.

use std::sync::Arc;

use hagcn_cuda::hamming::{MAX_BITS, MAX_CODES, code_words};
use hagcn_cuda::{EmulatedDevice, Error, HammingIndex, KernelDevice};
use hagcn_eval::{PackedCodes, TopK, hamming_topk};
use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Random codes of `n_bits` bits drawn from a pool of `distinct` codes, a third of them with one
/// bit flipped, so that distances tie a lot.
fn codes(n: usize, n_bits: usize, distinct: usize, seed: u64) -> PackedCodes {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let pool: Vec<Vec<bool>> =
        (0..distinct).map(|_| (0..n_bits).map(|_| rng.random_range(0..2) == 1).collect()).collect();
    let mut bits = Array2::from_shape_fn((n, n_bits), |(i, j)| pool[(i * 7919 + i / 3) % distinct][j]);
    for i in 0..n {
        let j = rng.random_range(0..n_bits);
        if rng.random_range(0..3) == 0 {
            bits[[i, j]] ^= true;
        }
    }
    PackedCodes::from_bits(bits.view())
}

/// `PackedCodes` as the index takes them.
fn words(codes: &PackedCodes) -> Vec<u64> {
    code_words(codes.bytes().as_slice().expect("contiguous codes"), codes.n_codes(), codes.n_bits()).unwrap()
}

fn index(db: &PackedCodes) -> HammingIndex<EmulatedDevice> {
    index_on(&Arc::new(EmulatedDevice), db)
}

fn index_on<D: KernelDevice>(device: &Arc<D>, db: &PackedCodes) -> HammingIndex<D> {
    HammingIndex::new(Arc::clone(device), &words(db), db.n_codes(), db.n_bits()).unwrap()
}

#[test]
fn topk_matches_hagcn_eval_exactly() {
    let mut checked = 0;
    for (n_query, n_db, n_bits, distinct, seed) in [
        (1, 1, 1, 1, 10),
        (31, 5, 8, 3, 11),
        (33, 33, 64, 6, 12),
        (33, 300, 3, 4, 13),
        (5, 70, 128, 10, 14),
        (2, 50, 100, 3, 15),
        (3, 40, 512, 5, 16),
        (4, 20, 65, 2, 17),
    ] {
        let (query, db) = (codes(n_query, n_bits, distinct, seed), codes(n_db, n_bits, distinct, seed + 1));
        let index = index(&db);
        assert_eq!((index.n_codes(), index.n_bits()), (n_db, n_bits));
        let qw = words(&query);
        for k in [1, 7, n_db, n_db + 3] {
            let got = index.topk(&qw, n_query, k).unwrap();
            let want = hamming_topk(&query, &db, TopK::K(k)).unwrap();
            assert_eq!(got.0.dim(), (n_query, k.min(n_db)));
            assert_eq!(got, want, "top-{k} of {n_query} queries against {n_db} codes of {n_bits} bits");
            checked += 1;
        }
    }
    assert_eq!(checked, 32);
}

/// Queries ranked a few per launch (the bound on results per launch) give the same answer, with
/// a last launch shorter than the others.
#[test]
fn queries_in_several_launches_match_hagcn_eval() {
    let (query, db) = (codes(33, 96, 5, 30), codes(45, 96, 5, 31));
    let qw = words(&query);
    for (k, max_results) in [(3, 10), (5, 5), (4, 1), (60, 100)] {
        let index = index(&db).with_max_results_per_launch(max_results);
        let got = index.topk(&qw, 33, k).unwrap();
        assert_eq!(got, hamming_topk(&query, &db, TopK::K(k)).unwrap(), "k = {k}, {max_results} results per launch");
    }
}

fn invalid<T: std::fmt::Debug>(what: &str, r: Result<T, Error>, expect: &str) {
    match r {
        Err(Error::InvalidArgument(msg)) => assert!(msg.contains(expect), "{what}: {msg:?} lacks {expect:?}"),
        other => panic!("{what}: expected InvalidArgument, got {other:?}"),
    }
}

#[test]
fn the_host_rejects_what_the_kernel_cannot_rank() {
    let dev = || Arc::new(EmulatedDevice);
    invalid("0 bits", HammingIndex::new(dev(), &[], 0, 0), "1 to 512 bits");
    invalid("513 bits", HammingIndex::new(dev(), &[0; 9], 1, MAX_BITS + 1), "1 to 512 bits");
    invalid("empty database", HammingIndex::new(dev(), &[], 0, 64), "database is empty");
    invalid("over int", HammingIndex::new(dev(), &[], MAX_CODES + 1, 64), "over the kernel's limit");
    invalid("database words", HammingIndex::new(dev(), &[0; 3], 2, 65), "3 words do not hold 2 codes of 65 bits");
    invalid("database padding", HammingIndex::new(dev(), &[0, 1, 1 << 7], 3, 7), "code 2 has bits set past bit 6");
    assert_eq!(MAX_CODES, 2_147_483_616);

    let db = codes(10, 65, 3, 40);
    let index = index(&db);
    let qw = words(&codes(2, 65, 3, 41));
    invalid("k = 0", index.topk(&qw, 2, 0), "k must be at least 1");
    invalid("query words", index.topk(&qw[..3], 2, 1), "queries: 3 words do not hold 2 codes of 65 bits");
    invalid("query count", index.topk(&qw, 1, 1), "4 words do not hold 1 codes");
    invalid("query padding", index.topk(&[0, 2], 1, 1), "code 0 has bits set past bit 64");
    // Padding checks stop at n_bits: a full last word is all code.
    let full = HammingIndex::new(dev(), &[u64::MAX, 0], 1, 128).unwrap();
    assert_eq!(full.topk(&[0, u64::MAX], 1, 1).unwrap().1[[0, 0]], 128);

    let (idx, dist) = index.topk(&[], 0, 4).unwrap();
    assert_eq!((idx.dim(), dist.dim()), ((0, 4), (0, 4)));
    assert!(format!("{index:?}").contains("n_codes: 10"));
}

/// On `cuda:0`: the cases above, and a database of a million 64-bit codes with ties (the
/// warp-per-query scan at scale, several launches). Run by `gpu-check`'s `run.sh`.
#[test]
#[ignore = "needs an NVIDIA GPU: run by gpu-check's run.sh"]
fn topk_matches_hagcn_eval_on_gpu() {
    let device = Arc::new(hagcn_cuda::Device::open(0).expect("this test needs cuda:0"));
    for (n_query, n_db, n_bits, distinct, seed) in
        [(1, 1, 1, 1, 10), (31, 5, 8, 3, 11), (33, 300, 3, 4, 13), (5, 70, 128, 10, 14), (40, 1000, 512, 50, 16)]
    {
        let (query, db) = (codes(n_query, n_bits, distinct, seed), codes(n_db, n_bits, distinct, seed + 100));
        for k in [1, 7, n_db, n_db + 3] {
            let got = index_on(&device, &db).topk(&words(&query), n_query, k).unwrap();
            assert_eq!(got, hamming_topk(&query, &db, TopK::K(k)).unwrap(), "{n_query}×{n_db}, {n_bits} bits, k = {k}");
        }
    }
    let (query, db) = (codes(300, 64, 5000, 40), codes(1_000_000, 64, 5000, 41));
    let index = index_on(&device, &db).with_max_results_per_launch(100 * 64);
    let got = index.topk(&words(&query), 300, 100).unwrap();
    assert_eq!(got, hamming_topk(&query, &db, TopK::K(100)).unwrap(), "300 × 1M, 64 bits, k = 100");
}
