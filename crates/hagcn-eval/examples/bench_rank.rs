use hagcn_eval::*;
use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use std::time::Instant;

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|s| s.parse().unwrap()).collect();
    let (n_q, n_db, n_bits, k) = (args[0], args[1], args[2], args[3]);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let nb = n_bits.div_ceil(8);
    let mut mk = |n| {
        let mut a = Array2::<u8>::zeros((n, nb));
        a.mapv_inplace(|_| rng.random());
        if n_bits % 8 != 0 {
            let m = (1u8 << (n_bits % 8)) - 1;
            a.column_mut(nb - 1).mapv_inplace(|b| b & m);
        }
        PackedCodes::from_bytes(a, n_bits).unwrap()
    };
    let q = mk(n_q);
    let db = mk(n_db);
    let ql: Vec<usize> = (0..n_q).map(|i| i % 10).collect();
    let dl: Vec<usize> = (0..n_db).map(|i| (i * 7) % 10).collect();
    let t = Instant::now();
    let (idx, _d) = hamming_topk(&q, &db, TopK::K(k)).unwrap();
    println!("topk {n_q}x{n_db}x{n_bits} K={k}: {:.3}s ({})", t.elapsed().as_secs_f64(), idx[[0, 0]]);
    let t = Instant::now();
    let m = mean_average_precision(&q, &ql, &db, &dl, &[TopK::K(k)]).unwrap();
    println!("mAP@{k}: {:.3}s ({m:?})", t.elapsed().as_secs_f64());
    if args.len() > 4 {
        let nq2 = args[4];
        let q2 = PackedCodes::from_bytes(q.bytes().slice(ndarray::s![..nq2, ..]).to_owned(), n_bits).unwrap();
        let t = Instant::now();
        let m = mean_average_precision(&q2, &ql[..nq2], &db, &dl, &[TopK::All, TopK::K(k)]).unwrap();
        println!("mAP@all,{k} with {nq2} queries: {:.3}s ({m:?})", t.elapsed().as_secs_f64());
    }
}
