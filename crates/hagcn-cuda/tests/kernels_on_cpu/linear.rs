//! `kernels/linear.cu`: the reproducible linear layer against
//! `hagcn_autodiff::reproducible::linear`, **bit for bit** (f64 fused multiply-adds in one
//! order on both sides, one rounding to f32).

use super::*;
use hagcn_autodiff::reproducible;
use hagcn_cuda::emu::kernels as k;

#[test]
fn linear_reproducible_matches_hagcn_autodiff_bit_for_bit() {
    for (n, d, out, seed) in [(1, 1, 1, 120), (3, 5, 7, 121), (31, 33, 17, 122), (5, 1025, 3, 123), (2, 0, 3, 124)] {
        // Entries from 2⁻²⁰ to 2²⁰ in size, so that sums cancel and round.
        let scale = random(n.max(1), d.max(1), -20.0, 20.0, seed + 3).mapv(|e| (e.round() as i32).clamp(-20, 20));
        let mut x = f32s(&random(n, d, -2.0, 2.0, seed));
        x.indexed_iter_mut().for_each(|((i, j), v)| *v *= 2f32.powi(scale[[i, j]]));
        let w = f32s(&random(out, d, -2.0, 2.0, seed + 1));
        let b = f32s(&random(1, out, -2.0, 2.0, seed + 2));
        let want = reproducible::linear(x.view(), w.view(), b.view());
        let mut y = Array2::<f32>::from_elem((n, out), f32::NAN);
        let (grid, block) = flat(n * out);
        // SAFETY: x holds n × d entries, w out × d, b out, y n × out.
        unsafe {
            k::linear_reproducible_f32(
                grid,
                block,
                x.as_ptr(),
                w.as_ptr(),
                b.as_ptr(),
                y.as_mut_ptr(),
                n32(n),
                n32(d),
                n32(out),
            )
        }
        .unwrap();
        assert_eq!(y.mapv(f32::to_bits), want.mapv(f32::to_bits), "{n} × {d} → {out}");
        // And it is x wᵀ + b: an f32 GEMM (another order, f32 sums) agrees to its own rounding.
        if d > 100 {
            let gemm = x.dot(&w.t()) + &b;
            assert!(y.iter().zip(&gemm).all(|(a, g)| (a - g).abs() <= 1e-3 * (1.0 + g.abs())), "{n} × {d} → {out}");
        }
    }
}
