//! A fully connected layer whose every output has one fixed order of arithmetic, so its
//! result is the same on every CPU, BLAS, thread count and device.
//!
//! `y_ij = round(Σ_k x_ik w_jk + b_j)`: the sum runs over `k = 0, 1, …` in increasing order
//! in `f64`, each step one fused multiply-add `acc ← fma(x_ik, w_jk, acc)` from `acc = 0`,
//! then `b_j` is added in `f64` and the result rounded once to the element type.
//!
//! A BLAS GEMM chooses its own blocking, vector width and summation order, which differ
//! between CPUs, library versions and thread counts: over 89.6 M bits, two flipped between
//! one and two OpenBLAS threads. A code bit is the sign of such an output, so encoding uses
//! this layer instead ([`crate::Backend::linear_reproducible`]).
//!
//! For `f32` inputs every product is exact in `f64` (24 + 24 significant bits < 53), so a
//! fused multiply-add and a multiply followed by an add round identically, and a device
//! kernel that accumulates in `f64` in the same order reproduces these bits whether or not
//! it fuses. The CPU implementation computes 4 rows × 8 outputs at a time with the 8 outputs
//! in vector lanes, each output keeping its own sequential sum; at 2–3× the time of an `f32`
//! GEMM.

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, parallel::prelude::*};

use crate::Element;

/// Rows of `x` per register tile.
const ROWS: usize = 4;
/// Outputs per register tile (the vector lanes).
const COLS: usize = 8;
/// Rows of `x` per parallel task: independent of the thread count, like every other choice
/// here, so the result is too.
const BLOCK_ROWS: usize = 64;

/// `x wᵀ + b` (`x`: `n × d`, `w`: `out × d`, `b`: `1 × out`) in the fixed order of the module
/// docs.
///
/// # Panics
///
/// When the shapes do not fit (the graph and the backends check them first).
pub fn linear<E: Element>(x: ArrayView2<E>, w: ArrayView2<E>, b: ArrayView2<E>) -> Array2<E> {
    let (n, d) = x.dim();
    let out = w.nrows();
    assert_eq!(w.ncols(), d, "linear_reproducible: x is n × {d}, w is {out} × {}", w.ncols());
    assert_eq!(b.dim(), (1, out), "linear_reproducible: bias is {:?}, expected (1, {out})", b.dim());
    // wᵀ in f64, in panels of COLS outputs: panel p holds w[p·COLS + c, k] at [k·COLS + c],
    // zero-padded past the last output.
    let n_panels = out.div_ceil(COLS);
    let mut panels = vec![0.0f64; n_panels * d * COLS];
    for ((j, k), &v) in w.indexed_iter() {
        panels[(j / COLS) * d * COLS + k * COLS + j % COLS] = v.as_f64();
    }
    let bias: Vec<f64> = b.iter().map(|v| v.as_f64()).collect();
    if d == 0 {
        return Array2::from_shape_fn((n, out), |(_, j)| E::of(0.0 + bias[j]));
    }
    let mut y = Array2::<E>::zeros((n, out));
    y.axis_chunks_iter_mut(Axis(0), BLOCK_ROWS)
        .into_par_iter()
        .zip(x.axis_chunks_iter(Axis(0), BLOCK_ROWS))
        .for_each(|(y_block, x_block)| block(x_block, &panels, &bias, y_block));
    y
}

/// One block of rows: converted to `f64` (zero-padded to whole tiles), then tile by tile.
fn block<E: Element>(x: ArrayView2<E>, panels: &[f64], bias: &[f64], mut y: ArrayViewMut2<E>) {
    let (rows, d) = x.dim();
    let out = y.ncols();
    let padded = rows.div_ceil(ROWS) * ROWS;
    let mut xf = vec![0.0f64; padded * d];
    for ((i, k), &v) in x.indexed_iter() {
        xf[i * d + k] = v.as_f64();
    }
    for i0 in (0..rows).step_by(ROWS) {
        let tile_x: [&[f64]; ROWS] = std::array::from_fn(|r| &xf[(i0 + r) * d..(i0 + r + 1) * d]);
        for (p, panel) in panels.chunks_exact(d * COLS).enumerate().take(out.div_ceil(COLS)) {
            let acc = tile(&tile_x, panel);
            for (r, acc_row) in acc.iter().enumerate().take(rows - i0) {
                for (c, &sum) in acc_row.iter().enumerate() {
                    let j = p * COLS + c;
                    if j < out {
                        y[[i0 + r, j]] = E::of(sum + bias[j]);
                    }
                }
            }
        }
    }
}

/// `Σ_k x[r][k] · panel[k][c]` for every (r, c) of a tile, each sum sequential in `k`.
#[inline(always)]
fn tile(x: &[&[f64]; ROWS], panel: &[f64]) -> [[f64; COLS]; ROWS] {
    let mut acc = [[0.0f64; COLS]; ROWS];
    for (k, w) in panel.chunks_exact(COLS).enumerate() {
        let w: &[f64; COLS] = w.try_into().expect("COLS entries");
        for r in 0..ROWS {
            let xv = x[r][k];
            for c in 0..COLS {
                acc[r][c] = xv.mul_add(w[c], acc[r][c]);
            }
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The definition, written as plainly as possible.
    fn reference<E: Element>(x: ArrayView2<E>, w: ArrayView2<E>, b: ArrayView2<E>) -> Array2<E> {
        Array2::from_shape_fn((x.nrows(), w.nrows()), |(i, j)| {
            let mut acc = 0.0f64;
            for k in 0..x.ncols() {
                acc = x[[i, k]].as_f64().mul_add(w[[j, k]].as_f64(), acc);
            }
            E::of(acc + b[[0, j]].as_f64())
        })
    }

    fn random<E: Element>(rows: usize, cols: usize, rng: &mut ChaCha8Rng) -> Array2<E> {
        Array2::from_shape_fn((rows, cols), |_| E::of(rng.random_range(-2.0..2.0)))
    }

    #[test]
    fn equals_the_definition_bit_for_bit_at_every_edge_shape() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for (n, d, out) in [(1, 1, 1), (3, 5, 7), (4, 8, 8), (5, 9, 9), (67, 33, 17), (130, 20, 3), (2, 0, 3)] {
            let (x, w, b) = (random::<f32>(n, d, &mut rng), random::<f32>(out, d, &mut rng), random(1, out, &mut rng));
            let got = linear(x.view(), w.view(), b.view());
            let want = reference(x.view(), w.view(), b.view());
            assert_eq!(got.mapv(f32::to_bits), want.mapv(f32::to_bits), "f32 {n} × {d} → {out}");
            let (x, w, b) = (x.mapv(f64::from), w.mapv(f64::from), b.mapv(f64::from));
            let got = linear(x.view(), w.view(), b.view());
            assert_eq!(got.mapv(f64::to_bits), reference(x.view(), w.view(), b.view()).mapv(f64::to_bits), "f64");
        }
    }

    #[test]
    fn multiply_then_add_rounds_like_fma_for_f32_inputs() {
        // What lets a device that does not fuse (or fuses differently) reproduce the bits.
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let (x, w) = (random::<f32>(40, 300, &mut rng), random::<f32>(6, 300, &mut rng));
        for i in 0..40 {
            for j in 0..6 {
                let (mut fused, mut plain) = (0.0f64, 0.0f64);
                for k in 0..300 {
                    fused = (x[[i, k]] as f64).mul_add(w[[j, k]] as f64, fused);
                    plain += x[[i, k]] as f64 * w[[j, k]] as f64;
                }
                assert_eq!(fused.to_bits(), plain.to_bits());
            }
        }
    }

    #[test]
    fn the_thread_count_does_not_change_a_bit() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (x, w, b) = (random::<f32>(300, 70, &mut rng), random::<f32>(19, 70, &mut rng), random(1, 19, &mut rng));
        let on = |threads| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| linear(x.view(), w.view(), b.view()))
        };
        assert_eq!(on(1).mapv(f32::to_bits), on(2).mapv(f32::to_bits));
        assert_eq!(on(1).mapv(f32::to_bits), on(3).mapv(f32::to_bits));
    }

    #[test]
    fn agrees_with_a_gemm_to_f32_rounding() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let (x, w, b) = (random::<f32>(20, 64, &mut rng), random::<f32>(10, 64, &mut rng), random(1, 10, &mut rng));
        let gemm = x.dot(&w.t()) + &b;
        let got = linear(x.view(), w.view(), b.view());
        for (g, e) in got.iter().zip(&gemm) {
            assert!((g - e).abs() <= 1e-5 * (1.0 + e.abs()), "{g} vs {e}");
        }
    }

    #[test]
    fn non_standard_layouts_are_read_by_index() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (x, w, b) = (random::<f32>(9, 6, &mut rng), random::<f32>(6, 5, &mut rng), random(1, 5, &mut rng));
        let wt = w.t(); // 5 × 6, column-major view
        let got = linear(x.view(), wt, b.view());
        assert_eq!(got, reference(x.view(), wt, b.view()));
    }
}
