use std::time::Instant;
use std::hint::black_box;
fn main() {
    let n = 1usize << 20;
    let mut x = 0x1234_5678_9abc_def0u64;
    let db: Vec<u64> = (0..n).map(|_| { x ^= x << 13; x ^= x >> 7; x ^= x << 17; x }).collect();
    let nq = 256;
    let qs: Vec<u64> = (0..nq as u64).map(|q| q.wrapping_mul(0x9e3779b97f4a7c15)).collect();
    for tile in [2048usize, 8192, 32768, n] {
        let t = Instant::now();
        let mut c = 0u64;
        for qb in qs.chunks(64) {
            for tl in db.chunks(tile) {
                for &q in qb {
                    let lim = black_box(20u32);
                    for w in tl { if (w ^ q).count_ones() < lim { c += 1; } }
                }
            }
        }
        let dt = t.elapsed().as_secs_f64();
        println!("tile {tile} threshold scalar: {:.3} ns/item ({c})", dt * 1e9 / (nq * n) as f64);
        let t = Instant::now();
        let mut c = 0u64;
        for qb in qs.chunks(64) {
            for tl in db.chunks(tile) {
                for &q in qb {
                    let lim = black_box(20u32);
                    for g in tl.chunks_exact(16) {
                        let mut d = [0u32; 16];
                        for (dj, w) in d.iter_mut().zip(g) { *dj = (w ^ q).count_ones(); }
                        let hit = d.iter().fold(false, |h, &x| h | (x < lim));
                        if hit { c += 1; }
                    }
                }
            }
        }
        let dt = t.elapsed().as_secs_f64();
        println!("tile {tile} group16: {:.3} ns/item ({c})", dt * 1e9 / (nq * n) as f64);
    }
}
