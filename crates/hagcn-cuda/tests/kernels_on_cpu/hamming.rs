//! `kernels/hamming.cu`: the top-K ranking against `hagcn_eval::hamming_topk`, exactly, on
//! codes with many ties.

use super::*;
use hagcn_cuda::emu::kernels as k;
use hagcn_eval::{PackedCodes, TopK, hamming_topk};

/// Random codes of `n_bits` bits, drawn from a small pool of `distinct` codes so that distances
/// tie a lot.
fn codes(n: usize, n_bits: usize, distinct: usize, seed: u64) -> PackedCodes {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let pool: Vec<Vec<bool>> =
        (0..distinct).map(|_| (0..n_bits).map(|_| rng.random_range(0..2) == 1).collect()).collect();
    let bits = Array2::from_shape_fn((n, n_bits), |(i, j)| pool[(i * 7919 + i / 3) % distinct][j]);
    let mut bits = bits;
    for i in 0..n {
        let j = rng.random_range(0..n_bits);
        if rng.random_range(0..3) == 0 {
            bits[[i, j]] ^= true;
        }
    }
    PackedCodes::from_bits(bits.view())
}

/// The codes as the kernels take them (`hagcn_cuda::hamming::code_words`), and the words per
/// code.
fn words(codes: &PackedCodes) -> (Vec<u64>, usize) {
    let bytes = codes.bytes();
    let words =
        hagcn_cuda::hamming::code_words(bytes.as_slice().expect("contiguous codes"), codes.n_codes(), codes.n_bits());
    (words.unwrap(), hagcn_cuda::hamming::words_per_code(codes.n_bits()))
}

#[test]
fn hamming_topk_matches_hagcn_eval() {
    let mut checked = 0;
    for (n_query, n_db, n_bits, distinct, seed) in [
        (1, 1, 1, 1, 110),
        (3, 31, 16, 4, 111),
        (5, 33, 64, 6, 112),
        (4, 1025, 128, 40, 113),
        (2, 300, 100, 3, 114),
        (3, 70, 512, 5, 115),
    ] {
        let query = codes(n_query, n_bits, distinct, seed);
        let db = codes(n_db, n_bits, distinct, seed + 1);
        let ((qw, n_words), (dw, _)) = (words(&query), words(&db));

        for kk in [1, 7, n_db / 2 + 1, n_db] {
            let kk = kk.clamp(1, n_db);
            let (want_idx, want_dist) = hamming_topk(&query, &db, TopK::K(kk)).unwrap();
            for (grid, block) in [(Dim3::x(1), Dim3::x(32)), (Dim3::x(2), Dim3::x(64))] {
                let mut idx = vec![u32::MAX; n_query * kk];
                let mut d = vec![u32::MAX; n_query * kk];
                unsafe {
                    k::hamming_topk_u64(
                        grid,
                        block,
                        qw.as_ptr(),
                        dw.as_ptr(),
                        idx.as_mut_ptr(),
                        d.as_mut_ptr(),
                        n32(n_query),
                        n32(n_db),
                        n32(n_words),
                        n32(n_bits),
                        n32(kk),
                    )
                }
                .unwrap();
                let want_idx: Vec<u32> = want_idx.iter().map(|&i| u32::try_from(i).unwrap()).collect();
                assert_eq!(idx, want_idx, "top-{kk} indices, {n_query} × {n_db} codes of {n_bits} bits");
                assert_eq!(d, want_dist.iter().copied().collect::<Vec<_>>(), "top-{kk} distances");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 48);
}
