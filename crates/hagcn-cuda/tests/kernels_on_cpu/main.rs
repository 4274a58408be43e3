//! Every kernel of `kernels/*.cu`, executed on the CPU emulator, against its Rust reference, one
//! module per kernel file: `CpuBackend` (hagcn-autodiff's host code) for the activations, the
//! elementwise ops, sums, layer norm, adjacency, the tridiagonal assembly and Adam; hagcn-linalg
//! for the B-spline basis and the eigendecomposition's f64 input and sign convention;
//! `hagcn_autodiff::reproducible` for the reproducible linear layer; hagcn-eval for Hamming
//! ranking.
//!
//! Tolerances. Kernels that compute each output entry by the reference's own sequence of
//! roundings (elementwise ops, GELU/sigmoid, Adam, the B-spline basis, ranking) must match
//! **exactly**. Kernels with a reduction add in a different order (a block-wide tree instead of
//! ndarray's or BLAS's order), so they are compared with
//! `|got − want| ≤ rtol · |want| + atol · max|want|`, with `rtol`/`atol` a few hundred ulps of
//! the type (stated at each call).
//!
//! Shapes are deliberately awkward (1, 31, 33 and 1025 rows; a block size that does not divide
//! the length; grids smaller than the work, so grid-stride loops run several rounds) and small
//! enough for the emulator, which starts one thread per simulated GPU thread.

use hagcn_openblas as _;

use hagcn_autodiff::{Backend, CpuBackend, CpuTensor};
use hagcn_cuda::emu::Dim3;
use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod activations;
mod adam;
mod adjacency;
mod bspline;
mod eigen;
mod elementwise;
mod hamming;
mod layer_norm;
mod linear;
mod reduce;
mod tridiagonal;

// ---------------------------------------------------------------------------------------------
// Helpers.

fn random(rows: usize, cols: usize, lo: f64, hi: f64, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((rows, cols), |_| rng.random_range(lo..hi))
}

fn f32s(a: &Array2<f64>) -> Array2<f32> {
    a.mapv(|v| v as f32)
}

fn cpu32() -> CpuBackend<f32> {
    CpuBackend::new()
}

fn host(be: &CpuBackend<f32>, t: &CpuTensor<f32>) -> Array2<f32> {
    be.download(t).unwrap()
}

fn slice<T>(a: &Array2<T>) -> &[T] {
    a.as_slice().expect("standard layout")
}

/// Bit-for-bit equality (NaN matches NaN).
fn exact<T: Copy + PartialEq + std::fmt::Debug + Into<f64>>(what: &str, got: &[T], want: &[T]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let both_nan = g.into().is_nan() && w.into().is_nan();
        assert!(g == w || both_nan, "{what}: entry {i}: kernel {g:?}, reference {w:?}");
    }
}

/// `|got − want| ≤ rtol · |want| + atol · max|want|` entrywise.
fn close<T: Copy + Into<f64>>(what: &str, got: &[T], want: &[T], rtol: f64, atol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().map(|&w| w.into().abs()).fold(0.0, f64::max);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let (g, w) = (g.into(), w.into());
        let tol = rtol * w.abs() + atol * scale;
        assert!(
            (g - w).abs() <= tol,
            "{what}: entry {i}: kernel {g:e}, reference {w:e}, |diff| {:e} > {tol:e}",
            (g - w).abs()
        );
    }
}

const BLOCK: u32 = 64;

/// A 1-D launch over `n` items: 64-thread blocks, at most 4 of them (so grid-stride loops run
/// several rounds on the larger shapes).
fn flat(n: usize) -> (Dim3, Dim3) {
    (Dim3::x(n.div_ceil(BLOCK as usize).clamp(1, 4) as u32), Dim3::x(BLOCK))
}

/// One block per row for row-wise kernels, at most 5 blocks (grid-stride over rows).
fn per_row(rows: usize, block: u32) -> (Dim3, Dim3) {
    (Dim3::x(rows.clamp(1, 5) as u32), Dim3::x(block))
}

fn n32(n: usize) -> i32 {
    i32::try_from(n).unwrap()
}
