//! Every kernel of `kernels/*.cu`, executed on the CPU emulator, against its Rust reference:
//! `CpuBackend` (hagcn-autodiff's host code) for the elementwise ops, layer norm, adjacency,
//! the loss and Adam; hagcn-linalg for the Chebyshev recurrence, Lanczos, the B-spline basis and
//! the eigendecomposition's f64 input and sign convention; hagcn-eval for Hamming ranking.
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

use hagcn_autodiff::{AdamUpdate, Backend, CpuBackend, CpuTensor, Graph};
use hagcn_cuda::emu::{Dim3, kernels as k};
use hagcn_eval::{PackedCodes, TopK, hamming_topk};
use hagcn_linalg::{LanczosOptions, bspline_basis, bspline_basis_backward, chebyshev_apply, lanczos};
use ndarray::{Array1, Array2, ArrayView2};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

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

fn cpu64() -> CpuBackend<f64> {
    CpuBackend::new()
}

fn host<E: hagcn_autodiff::Element>(be: &CpuBackend<E>, t: &CpuTensor<E>) -> Array2<E> {
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

// ---------------------------------------------------------------------------------------------
// GELU and sigmoid.

fn activation_inputs(n: usize, seed: u64) -> Array2<f64> {
    let mut x = random(1, n, -6.0, 6.0, seed);
    let specials = [0.0, -0.0, 1e-30, -1e-30, 10.0, -10.0, 100.0, -100.0, 3.999, -4.0, 88.5, f64::NAN];
    for (v, s) in x.iter_mut().zip(specials) {
        *v = s;
    }
    x
}

#[test]
fn gelu_and_sigmoid_match_cpu_backend_exactly() {
    let (b32, b64) = (cpu32(), cpu64());
    for (n, seed) in [(1, 1), (31, 2), (33, 3), (3 * 1025, 4)] {
        let x64 = activation_inputs(n, seed);
        let g64 = random(1, n, -2.0, 2.0, seed + 100);
        let (x32, g32) = (f32s(&x64), f32s(&g64));
        let (grid, block) = flat(n);

        let (tx, tg) = (b32.upload(x32.view()).unwrap(), b32.upload(g32.view()).unwrap());
        let mut y = Array2::<f32>::zeros((1, n));
        let mut gx = Array2::<f32>::zeros((1, n));
        unsafe { k::gelu_fwd_f32(grid, block, x32.as_ptr(), y.as_mut_ptr(), n32(n)) }.unwrap();
        exact("gelu_fwd_f32", slice(&y), slice(&host(&b32, &b32.gelu(&tx).unwrap())));
        unsafe { k::gelu_bwd_f32(grid, block, x32.as_ptr(), g32.as_ptr(), gx.as_mut_ptr(), n32(n)) }.unwrap();
        exact("gelu_bwd_f32", slice(&gx), slice(&host(&b32, &b32.gelu_backward(&tx, &tg).unwrap())));
        unsafe { k::sigmoid_fwd_f32(grid, block, x32.as_ptr(), y.as_mut_ptr(), n32(n)) }.unwrap();
        let ty = b32.sigmoid(&tx).unwrap();
        exact("sigmoid_fwd_f32", slice(&y), slice(&host(&b32, &ty)));
        unsafe { k::sigmoid_bwd_f32(grid, block, y.as_ptr(), g32.as_ptr(), gx.as_mut_ptr(), n32(n)) }.unwrap();
        exact("sigmoid_bwd_f32", slice(&gx), slice(&host(&b32, &b32.sigmoid_backward(&ty, &tg).unwrap())));

        // f64: the kernel uses the C library's erf/exp, the host libm's: within an ulp or two.
        let (tx, tg) = (b64.upload(x64.view()).unwrap(), b64.upload(g64.view()).unwrap());
        let mut y = Array2::<f64>::zeros((1, n));
        let mut gx = Array2::<f64>::zeros((1, n));
        let finite = |a: &Array2<f64>| a.iter().map(|v| if v.is_nan() { 0.0 } else { *v }).collect::<Vec<_>>();
        unsafe { k::gelu_fwd_f64(grid, block, x64.as_ptr(), y.as_mut_ptr(), n32(n)) }.unwrap();
        close("gelu_fwd_f64", &finite(&y), &finite(&host(&b64, &b64.gelu(&tx).unwrap())), 1e-15, 1e-15);
        unsafe { k::gelu_bwd_f64(grid, block, x64.as_ptr(), g64.as_ptr(), gx.as_mut_ptr(), n32(n)) }.unwrap();
        close("gelu_bwd_f64", &finite(&gx), &finite(&host(&b64, &b64.gelu_backward(&tx, &tg).unwrap())), 1e-15, 1e-15);
        unsafe { k::sigmoid_fwd_f64(grid, block, x64.as_ptr(), y.as_mut_ptr(), n32(n)) }.unwrap();
        let ty = b64.sigmoid(&tx).unwrap();
        close("sigmoid_fwd_f64", &finite(&y), &finite(&host(&b64, &ty)), 1e-15, 1e-15);
        unsafe { k::sigmoid_bwd_f64(grid, block, y.as_ptr(), g64.as_ptr(), gx.as_mut_ptr(), n32(n)) }.unwrap();
        close(
            "sigmoid_bwd_f64",
            &finite(&gx),
            &finite(&host(&b64, &b64.sigmoid_backward(&ty, &tg).unwrap())),
            1e-15,
            1e-15,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Elementwise ops, bias broadcast, column sums.

#[test]
fn elementwise_and_row_broadcasts_match_cpu_backend_exactly() {
    let be = cpu32();
    for (rows, cols, seed) in [(1, 1, 10), (31, 33, 11), (1025, 3, 12), (33, 31, 13)] {
        let n = rows * cols;
        let a = f32s(&random(rows, cols, -3.0, 3.0, seed));
        let b = f32s(&random(rows, cols, -3.0, 3.0, seed + 1));
        let row = f32s(&random(1, cols, -1.0, 1.0, seed + 2));
        let (ta, tb, trow) =
            (be.upload(a.view()).unwrap(), be.upload(b.view()).unwrap(), be.upload(row.view()).unwrap());
        let (grid, block) = flat(n);
        let mut out = Array2::<f32>::zeros((rows, cols));

        unsafe { k::add_f32(grid, block, a.as_ptr(), b.as_ptr(), out.as_mut_ptr(), n32(n)) }.unwrap();
        exact("add_f32", slice(&out), slice(&host(&be, &be.add(&ta, &tb).unwrap())));
        unsafe { k::sub_f32(grid, block, a.as_ptr(), b.as_ptr(), out.as_mut_ptr(), n32(n)) }.unwrap();
        exact("sub_f32", slice(&out), slice(&host(&be, &be.sub(&ta, &tb).unwrap())));
        unsafe { k::mul_f32(grid, block, a.as_ptr(), b.as_ptr(), out.as_mut_ptr(), n32(n)) }.unwrap();
        exact("mul_f32", slice(&out), slice(&host(&be, &be.mul(&ta, &tb).unwrap())));
        unsafe { k::affine_f32(grid, block, a.as_ptr(), out.as_mut_ptr(), n32(n), -0.37, 1.25) }.unwrap();
        exact("affine_f32", slice(&out), slice(&host(&be, &be.affine(&ta, -0.37, 1.25).unwrap())));
        unsafe { k::add_row_f32(grid, block, a.as_ptr(), row.as_ptr(), out.as_mut_ptr(), n32(rows), n32(cols)) }
            .unwrap();
        exact("add_row_f32", slice(&out), slice(&host(&be, &be.add_row(&ta, &trow).unwrap())));
        unsafe { k::broadcast_row_f32(grid, block, row.as_ptr(), out.as_mut_ptr(), n32(rows), n32(cols)) }.unwrap();
        exact("broadcast_row_f32", slice(&out), slice(&row.broadcast((rows, cols)).unwrap().to_owned()));
        let mut sums = Array2::<f32>::zeros((1, cols));
        let (grid, block) = flat(cols);
        unsafe { k::sum_rows_f32(grid, block, a.as_ptr(), sums.as_mut_ptr(), n32(rows), n32(cols)) }.unwrap();
        exact("sum_rows_f32", slice(&sums), slice(&host(&be, &be.sum_rows(&ta).unwrap())));
    }
}

/// Runs the kernel named by the first argument on the input, writing the output.
type Launch<'a, E> = dyn Fn(&str, &Array2<E>, &mut Array2<E>) + 'a;

/// The fills, scalar broadcasts, square roots, reciprocals and block copies the backend's basic
/// ops are made of, in f32 and f64, exactly as `CpuBackend` (one rounding per entry, the same
/// one: IEEE `sqrt` and division are correctly rounded on both sides).
#[test]
fn fills_roots_reciprocals_and_block_copies_match_cpu_backend_exactly() {
    fn check<E: hagcn_autodiff::Element + Into<f64> + std::fmt::Debug>(a: &Array2<E>, s: E, launch: &Launch<'_, E>) {
        let be = CpuBackend::<E>::new();
        let (rows, cols) = a.dim();
        let ta = be.upload(a.view()).unwrap();
        let ts = be.upload(Array2::from_elem((1, 1), s).view()).unwrap();
        let mut out = Array2::<E>::zeros((rows, cols));
        launch("fill", a, &mut out);
        exact("fill", slice(&out), slice(&host(&be, &be.full(rows, cols, s).unwrap())));
        launch("broadcast_scalar", a, &mut out);
        let want = host(&be, &be.broadcast_scalar(&ts, rows, cols, E::from(-0.37).unwrap()).unwrap());
        exact("broadcast_scalar", slice(&out), slice(&want));
        launch("scale_by", a, &mut out);
        exact("scale_by", slice(&out), slice(&host(&be, &be.scale_by(&ta, &ts).unwrap())));
        launch("sqrt", a, &mut out);
        exact("sqrt", slice(&out), slice(&host(&be, &be.sqrt(&ta).unwrap())));
        launch("recip", a, &mut out);
        exact("recip", slice(&out), slice(&host(&be, &be.recip(&ta).unwrap())));
        // Columns 1.. of `a` into columns 2.. of a zeroed rows × (cols + 1): slice + embed.
        let mut wide = Array2::<E>::zeros((rows, cols + 1));
        launch("copy_block", a, &mut wide);
        let want = be.embed_cols(&be.slice_cols(&ta, 1, cols - 1).unwrap(), cols + 1, 2).unwrap();
        exact("copy_block", slice(&wide), slice(&host(&be, &want)));
    }
    for (rows, cols, seed) in [(1, 2, 14), (31, 33, 15), (1025, 3, 16)] {
        let a64 = random(rows, cols, 0.0, 3.0, seed);
        let mut a64 = a64;
        a64[[0, 0]] = 0.0; // √0 and 1/0 = inf
        let n = rows * cols;
        let (grid, block) = flat(n);
        let a32 = f32s(&a64);
        check(&a32, 1.75f32, &|op, a, out| {
            let s = [1.75f32];
            let (r, c) = (n32(a.nrows()), n32(a.ncols()));
            // SAFETY: a and out hold rows × cols entries (out rows × (cols + 1) for copy_block), s one.
            unsafe {
                match op {
                    "fill" => k::fill_f32(grid, block, out.as_mut_ptr(), n32(n), s[0]),
                    "broadcast_scalar" => {
                        k::broadcast_scalar_f32(grid, block, s.as_ptr(), out.as_mut_ptr(), n32(n), -0.37)
                    }
                    "scale_by" => k::scale_by_f32(grid, block, a.as_ptr(), s.as_ptr(), out.as_mut_ptr(), n32(n)),
                    "sqrt" => k::sqrt_f32(grid, block, a.as_ptr(), out.as_mut_ptr(), n32(n)),
                    "recip" => k::recip_f32(grid, block, a.as_ptr(), out.as_mut_ptr(), n32(n)),
                    _ => k::copy_block_f32(grid, block, a.as_ptr(), out.as_mut_ptr(), r, c - 1, c, 1, c + 1, 2),
                }
            }
            .unwrap();
        });
        check(&a64, 1.75f64, &|op, a, out| {
            let s = [1.75f64];
            let (r, c) = (n32(a.nrows()), n32(a.ncols()));
            // SAFETY: as above.
            unsafe {
                match op {
                    "fill" => k::fill_f64(grid, block, out.as_mut_ptr(), n32(n), s[0]),
                    "broadcast_scalar" => {
                        k::broadcast_scalar_f64(grid, block, s.as_ptr(), out.as_mut_ptr(), n32(n), -0.37)
                    }
                    "scale_by" => k::scale_by_f64(grid, block, a.as_ptr(), s.as_ptr(), out.as_mut_ptr(), n32(n)),
                    "sqrt" => k::sqrt_f64(grid, block, a.as_ptr(), out.as_mut_ptr(), n32(n)),
                    "recip" => k::recip_f64(grid, block, a.as_ptr(), out.as_mut_ptr(), n32(n)),
                    _ => k::copy_block_f64(grid, block, a.as_ptr(), out.as_mut_ptr(), r, c - 1, c, 1, c + 1, 2),
                }
            }
            .unwrap();
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Normalised adjacency.

/// A positive symmetric `n × n` matrix, like `S + 1` of a batch.
fn adjacency_input(n: usize, seed: u64) -> Array2<f64> {
    let a = random(n, n, 0.1, 2.0, seed);
    (&a + &a.t()) * 0.5
}

#[test]
fn normalized_adjacency_and_backward_match_host() {
    let (b32, b64) = (cpu32(), cpu64());
    for (n, block, seed) in [(1, 32, 20), (31, 64, 21), (33, 96, 22), (130, 64, 23)] {
        let a64 = adjacency_input(n, seed);
        let g64 = random(n, n, -1.0, 1.0, seed + 50);
        let (rgrid, rblock) = per_row(n, block);
        let (grid, eblock) = flat(n * n);

        // f32: degrees are block sums, so d and everything after it carry a few ulps.
        let (a, g) = (f32s(&a64), f32s(&g64));
        let mut d = Array2::<f32>::zeros((n, 1));
        let mut bad = [n32(n)];
        let mut a_hat = Array2::<f32>::zeros((n, n));
        unsafe { k::adjacency_degree_f32(rgrid, rblock, a.as_ptr(), d.as_mut_ptr(), bad.as_mut_ptr(), n32(n)) }
            .unwrap();
        assert_eq!(bad[0], n32(n), "no bad node");
        unsafe { k::adjacency_scale_f32(grid, eblock, a.as_ptr(), d.as_ptr(), a_hat.as_mut_ptr(), n32(n)) }.unwrap();
        let (want_hat, want_d) = b32.normalized_adjacency(&b32.upload(a.view()).unwrap()).unwrap();
        close("adjacency d f32", slice(&d), slice(&host(&b32, &want_d)), 4e-6, 0.0);
        close("adjacency Â f32", slice(&a_hat), slice(&host(&b32, &want_hat)), 1e-5, 0.0);
        let mut gdeg = Array2::<f32>::zeros((n, 1));
        let mut ga = Array2::<f32>::zeros((n, n));
        unsafe {
            k::adjacency_bwd_degree_f32(
                rgrid,
                rblock,
                a_hat.as_ptr(),
                d.as_ptr(),
                g.as_ptr(),
                gdeg.as_mut_ptr(),
                n32(n),
            )
        }
        .unwrap();
        unsafe { k::adjacency_bwd_f32(grid, eblock, g.as_ptr(), d.as_ptr(), gdeg.as_ptr(), ga.as_mut_ptr(), n32(n)) }
            .unwrap();
        let want = b32.normalized_adjacency_backward(&want_hat, &want_d, &b32.upload(g.view()).unwrap()).unwrap();
        close("adjacency ∂A f32", slice(&ga), slice(&host(&b32, &want)), 1e-4, 1e-5);

        // f64.
        let mut d = Array2::<f64>::zeros((n, 1));
        let mut a_hat = Array2::<f64>::zeros((n, n));
        unsafe { k::adjacency_degree_f64(rgrid, rblock, a64.as_ptr(), d.as_mut_ptr(), bad.as_mut_ptr(), n32(n)) }
            .unwrap();
        unsafe { k::adjacency_scale_f64(grid, eblock, a64.as_ptr(), d.as_ptr(), a_hat.as_mut_ptr(), n32(n)) }.unwrap();
        let (want_hat, want_d) = b64.normalized_adjacency(&b64.upload(a64.view()).unwrap()).unwrap();
        close("adjacency Â f64", slice(&a_hat), slice(&host(&b64, &want_hat)), 1e-14, 0.0);
        let mut gdeg = Array2::<f64>::zeros((n, 1));
        let mut ga = Array2::<f64>::zeros((n, n));
        unsafe {
            k::adjacency_bwd_degree_f64(
                rgrid,
                rblock,
                a_hat.as_ptr(),
                d.as_ptr(),
                g64.as_ptr(),
                gdeg.as_mut_ptr(),
                n32(n),
            )
        }
        .unwrap();
        unsafe { k::adjacency_bwd_f64(grid, eblock, g64.as_ptr(), d.as_ptr(), gdeg.as_ptr(), ga.as_mut_ptr(), n32(n)) }
            .unwrap();
        let want = b64.normalized_adjacency_backward(&want_hat, &want_d, &b64.upload(g64.view()).unwrap()).unwrap();
        close("adjacency ∂A f64", slice(&ga), slice(&host(&b64, &want)), 1e-12, 1e-13);
    }
}

#[test]
fn adjacency_reports_the_first_non_positive_degree_like_the_host() {
    let n = 33;
    let mut a = f32s(&adjacency_input(n, 30));
    for j in 0..n {
        a[[7, j]] = -1.0;
        a[[20, j]] = 0.0;
    }
    a[[25, 3]] = f32::NAN;
    let mut d = Array2::<f32>::zeros((n, 1));
    let mut bad = [n32(n)];
    let (grid, block) = per_row(n, 64);
    unsafe { k::adjacency_degree_f32(grid, block, a.as_ptr(), d.as_mut_ptr(), bad.as_mut_ptr(), n32(n)) }.unwrap();
    assert_eq!(bad[0], 7);
    let err = hagcn_linalg::normalized_adjacency(a.view()).unwrap_err();
    assert!(matches!(err, hagcn_linalg::Error::NonPositiveDegree { node_idx: 7, .. }), "{err}");
}

// ---------------------------------------------------------------------------------------------
// The eigendecomposition around the device eigensolver: the f64 input and the packing.

#[test]
fn eigen_symmetrize_forms_hagcn_linalgs_f64_input_exactly() {
    // hagcn_linalg::symmetric_eigen decomposes S_ij = 0.5 · ((f64) a_ij + (f64) a_ji).
    for (n, seed) in [(1, 60), (31, 61), (33, 62), (130, 63)] {
        let a64 = random(n, n, -3.0, 3.0, seed); // not symmetric
        let a = f32s(&a64);
        let (grid, block) = flat(n * n);
        let want32 = Array2::from_shape_fn((n, n), |(i, j)| 0.5 * (f64::from(a[[i, j]]) + f64::from(a[[j, i]])));
        let want64 = Array2::from_shape_fn((n, n), |(i, j)| 0.5 * (a64[[i, j]] + a64[[j, i]]));
        for (name, want) in [("eigen_symmetrize_f32", &want32), ("eigen_symmetrize_f64", &want64)] {
            let mut s = Array2::<f64>::from_elem((n, n), f64::NAN);
            let mut bad = [0];
            // SAFETY: a and s hold n × n entries, bad one.
            unsafe {
                if name.ends_with("f32") {
                    k::eigen_symmetrize_f32(grid, block, a.as_ptr(), s.as_mut_ptr(), bad.as_mut_ptr(), n32(n))
                } else {
                    k::eigen_symmetrize_f64(grid, block, a64.as_ptr(), s.as_mut_ptr(), bad.as_mut_ptr(), n32(n))
                }
            }
            .unwrap();
            assert_eq!(bad[0], 0, "{name}: flagged a finite input");
            exact(name, slice(&s), slice(want));
            assert_eq!(s, s.t(), "{name}: not exactly symmetric");
        }
    }
    for special in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let n = 33;
        let mut a = f32s(&random(n, n, -1.0, 1.0, 64));
        a[[30, 2]] = special;
        let mut s = Array2::<f64>::zeros((n, n));
        let mut bad = [0];
        let (grid, block) = flat(n * n);
        // SAFETY: a and s hold n × n entries, bad one.
        unsafe { k::eigen_symmetrize_f32(grid, block, a.as_ptr(), s.as_mut_ptr(), bad.as_mut_ptr(), n32(n)) }.unwrap();
        assert_eq!(bad[0], 1, "{special} not flagged");
    }
}

/// Column-major eigenvectors (`v[[col, row]]`, so each column is a contiguous row of `v`) with
/// the cases the sign convention must decide as the host does: an all-zero column, exact ties
/// of opposite sign (the first row decides), a tie that exists only after rounding to f32, and
/// a negative largest entry in the last row.
fn eigen_pack_input(n: usize, seed: u64) -> Array2<f64> {
    let mut v = random(n, n, -1.0, 1.0, seed);
    if n >= 6 {
        v.row_mut(0).fill(0.0);
        v.row_mut(1).mapv_inplace(|x| x * 0.5);
        v[[1, 2]] = -0.9;
        v[[1, 5]] = 0.9;
        v.row_mut(2).mapv_inplace(|x| x * 0.5);
        v[[2, 1]] = -(0.9 + 1e-12); // the larger in f64, and first: the same winner either way
        v[[2, 3]] = 0.9;
        v.row_mut(3).mapv_inplace(|x| x * 0.5);
        v[[3, 4]] = 0.9 + 1e-12; // the larger in f64; in f32 a tie that row 3 wins by coming first
        v[[3, 3]] = -0.9;
        v.row_mut(4).mapv_inplace(|x| x * 0.5);
        v[[4, n - 1]] = -0.95;
    }
    v
}

#[test]
fn eigen_pack_applies_hagcn_linalgs_sign_convention_exactly() {
    for (n, block, seed) in [(1, 32, 70), (6, 32, 71), (31, 64, 72), (33, 32, 73), (130, 64, 74)] {
        let v = eigen_pack_input(n, seed);
        let mut w: Vec<f64> = random(1, n, -2.0, 2.0, seed + 50).iter().copied().collect();
        w.sort_by(f64::total_cmp);
        let (grid, block) = per_row(n, block);

        // The host: f32(V) as columns, then canonicalize_signs, then the eigenvalues below.
        let mut u32s = v.t().mapv(|x| x as f32);
        hagcn_linalg::canonicalize_signs(u32s.view_mut());
        let mut want32 = Array2::<f32>::zeros((n + 1, n));
        want32.slice_mut(ndarray::s![..n, ..]).assign(&u32s);
        want32.row_mut(n).assign(&Array1::from_iter(w.iter().map(|&x| x as f32)));
        let mut got = Array2::<f32>::from_elem((n + 1, n), f32::NAN);
        let mut bad = [0];
        // SAFETY: v holds n × n entries, w n, got (n + 1) × n, bad one.
        unsafe { k::eigen_pack_f32(grid, block, v.as_ptr(), w.as_ptr(), got.as_mut_ptr(), bad.as_mut_ptr(), n32(n)) }
            .unwrap();
        assert_eq!(bad[0], 0);
        exact("eigen_pack_f32", slice(&got), slice(&want32));
        if n >= 6 {
            // Spelled out: column 0 stays zero; column 1 is negated (the first of an exact tie
            // is −0.9); column 2 is negated (−(0.9 + 1e-12) in row 1 ties 0.9 in f32 and comes
            // first); column 3 is negated although f64 would keep it (its largest f64 entry,
            // row 4, is positive, but in f32 it ties row 3's −0.9, which comes first); column
            // 4 is negated (−0.95 in the last row).
            assert!(got.column(0).iter().take(n).all(|&x| x == 0.0));
            assert_eq!((got[[2, 1]], got[[5, 1]]), (0.9, -0.9));
            assert_eq!(got[[1, 2]], 0.9);
            assert_eq!((got[[3, 3]], got[[4, 3]]), (0.9, -0.9));
            assert_eq!(got[[n - 1, 4]], 0.95);
        }

        let mut u64s = v.t().to_owned();
        hagcn_linalg::canonicalize_signs(u64s.view_mut());
        let mut want64 = Array2::<f64>::zeros((n + 1, n));
        want64.slice_mut(ndarray::s![..n, ..]).assign(&u64s);
        want64.row_mut(n).assign(&Array1::from(w.clone()));
        let mut got = Array2::<f64>::from_elem((n + 1, n), f64::NAN);
        // SAFETY: as above.
        unsafe { k::eigen_pack_f64(grid, block, v.as_ptr(), w.as_ptr(), got.as_mut_ptr(), bad.as_mut_ptr(), n32(n)) }
            .unwrap();
        assert_eq!(bad[0], 0);
        exact("eigen_pack_f64", slice(&got), slice(&want64));
    }
    // A non-finite eigenvector entry or eigenvalue is flagged.
    let n = 33;
    for (in_vectors, special) in
        [(true, f64::NAN), (true, f64::INFINITY), (false, f64::NAN), (false, f64::NEG_INFINITY)]
    {
        let mut v = eigen_pack_input(n, 75);
        let mut w = vec![1.0; n];
        if in_vectors {
            v[[20, 32]] = special;
        } else {
            w[17] = special;
        }
        let mut got = Array2::<f32>::zeros((n + 1, n));
        let mut bad = [0];
        let (grid, block) = per_row(n, 64);
        // SAFETY: v holds n × n entries, w n, got (n + 1) × n, bad one.
        unsafe { k::eigen_pack_f32(grid, block, v.as_ptr(), w.as_ptr(), got.as_mut_ptr(), bad.as_mut_ptr(), n32(n)) }
            .unwrap();
        assert_eq!(bad[0], 1, "{special} (in the vectors: {in_vectors}) not flagged");
    }
}

// ---------------------------------------------------------------------------------------------
// Layer norm.

#[test]
fn layer_norm_forward_and_backward_match_host() {
    let (b32, b64) = (cpu32(), cpu64());
    for (rows, cols, block, seed) in [(1, 1, 32, 40), (31, 7, 64, 41), (33, 768, 128, 42), (1025, 33, 32, 43)] {
        let x64 = &random(rows, cols, -2.0, 3.0, seed) * 4.0;
        let w64 = random(1, cols, 0.5, 1.5, seed + 1);
        let bias64 = random(1, cols, -0.5, 0.5, seed + 2);
        let g64 = random(rows, cols, -1.0, 1.0, seed + 3);
        let (rgrid, rblock) = per_row(rows, block);
        let (cgrid, cblock) = flat(cols);

        let (x, w, bias, g) = (f32s(&x64), f32s(&w64), f32s(&bias64), f32s(&g64));
        let (tx, tw, tb) =
            (b32.upload(x.view()).unwrap(), b32.upload(w.view()).unwrap(), b32.upload(bias.view()).unwrap());
        let want = b32.layer_norm(&tx, &tw, &tb, 1e-5).unwrap();
        let mut y = Array2::<f32>::zeros((rows, cols));
        let mut mean = Array2::<f32>::zeros((rows, 1));
        let mut rstd = Array2::<f32>::zeros((rows, 1));
        unsafe {
            k::layer_norm_fwd_f32(
                rgrid,
                rblock,
                x.as_ptr(),
                w.as_ptr(),
                bias.as_ptr(),
                y.as_mut_ptr(),
                mean.as_mut_ptr(),
                rstd.as_mut_ptr(),
                n32(rows),
                n32(cols),
                1e-5,
            )
        }
        .unwrap();
        // μ is a sum of `cols` entries in another order: compare on the scale of the row.
        close("layer_norm mean f32", slice(&mean), slice(&host(&b32, &want.mean)), 0.0, 2e-6);
        close("layer_norm rstd f32", slice(&rstd), slice(&host(&b32, &want.rstd)), 2e-5, 0.0);
        close("layer_norm y f32", slice(&y), slice(&host(&b32, &want.y)), 2e-5, 2e-6);

        let want_g = b32.layer_norm_backward(&tx, &tw, &want, &b32.upload(g.view()).unwrap()).unwrap();
        let mut gx = Array2::<f32>::zeros((rows, cols));
        let (mut gw, mut gb) = (Array2::<f32>::zeros((1, cols)), Array2::<f32>::zeros((1, cols)));
        unsafe {
            k::layer_norm_bwd_f32(
                rgrid,
                rblock,
                x.as_ptr(),
                w.as_ptr(),
                mean.as_ptr(),
                rstd.as_ptr(),
                g.as_ptr(),
                gx.as_mut_ptr(),
                n32(rows),
                n32(cols),
            )
        }
        .unwrap();
        unsafe {
            k::layer_norm_bwd_params_f32(
                cgrid,
                cblock,
                x.as_ptr(),
                mean.as_ptr(),
                rstd.as_ptr(),
                g.as_ptr(),
                gw.as_mut_ptr(),
                gb.as_mut_ptr(),
                n32(rows),
                n32(cols),
            )
        }
        .unwrap();
        close("layer_norm ∂x f32", slice(&gx), slice(&host(&b32, &want_g.x)), 1e-4, 1e-5);
        close("layer_norm ∂w f32", slice(&gw), slice(&host(&b32, &want_g.weight)), 1e-4, 1e-5);
        // ∂b adds g down the columns in row order, exactly as the host.
        exact("layer_norm ∂b f32", slice(&gb), slice(&host(&b32, &want_g.bias)));

        // f64.
        let (tx, tw, tb) =
            (b64.upload(x64.view()).unwrap(), b64.upload(w64.view()).unwrap(), b64.upload(bias64.view()).unwrap());
        let want = b64.layer_norm(&tx, &tw, &tb, 1e-5).unwrap();
        let mut y = Array2::<f64>::zeros((rows, cols));
        let mut mean = Array2::<f64>::zeros((rows, 1));
        let mut rstd = Array2::<f64>::zeros((rows, 1));
        unsafe {
            k::layer_norm_fwd_f64(
                rgrid,
                rblock,
                x64.as_ptr(),
                w64.as_ptr(),
                bias64.as_ptr(),
                y.as_mut_ptr(),
                mean.as_mut_ptr(),
                rstd.as_mut_ptr(),
                n32(rows),
                n32(cols),
                1e-5,
            )
        }
        .unwrap();
        close("layer_norm y f64", slice(&y), slice(&host(&b64, &want.y)), 1e-13, 1e-14);
        let want_g = b64.layer_norm_backward(&tx, &tw, &want, &b64.upload(g64.view()).unwrap()).unwrap();
        let mut gx = Array2::<f64>::zeros((rows, cols));
        let (mut gw, mut gb) = (Array2::<f64>::zeros((1, cols)), Array2::<f64>::zeros((1, cols)));
        unsafe {
            k::layer_norm_bwd_f64(
                rgrid,
                rblock,
                x64.as_ptr(),
                w64.as_ptr(),
                mean.as_ptr(),
                rstd.as_ptr(),
                g64.as_ptr(),
                gx.as_mut_ptr(),
                n32(rows),
                n32(cols),
            )
        }
        .unwrap();
        unsafe {
            k::layer_norm_bwd_params_f64(
                cgrid,
                cblock,
                x64.as_ptr(),
                mean.as_ptr(),
                rstd.as_ptr(),
                g64.as_ptr(),
                gw.as_mut_ptr(),
                gb.as_mut_ptr(),
                n32(rows),
                n32(cols),
            )
        }
        .unwrap();
        close("layer_norm ∂x f64", slice(&gx), slice(&host(&b64, &want_g.x)), 1e-11, 1e-12);
        close("layer_norm ∂w f64", slice(&gw), slice(&host(&b64, &want_g.weight)), 1e-11, 1e-12);
        exact("layer_norm ∂b f64", slice(&gb), slice(&host(&b64, &want_g.bias)));
    }
}

// ---------------------------------------------------------------------------------------------
// The loss: mse and its gradient, against the autodiff graph.

#[test]
fn mse_and_gradient_match_the_autodiff_graph() {
    let be = cpu32();
    for (rows, cols, seed) in [(1, 1, 60), (31, 33, 61), (1025, 17, 62)] {
        let n = rows * cols;
        let a = f32s(&random(rows, cols, -2.0, 2.0, seed));
        let b = f32s(&random(rows, cols, -2.0, 2.0, seed + 1));
        let mut graph = Graph::new(be.clone());
        let va = graph.param(be.upload(a.view()).unwrap());
        let vb = graph.param(be.upload(b.view()).unwrap());
        let loss = graph.mse(va, vb).unwrap();
        let want_loss = graph.scalar(loss).unwrap();
        let grads = graph.backward(loss).unwrap();
        let (want_ga, want_gb) = (host(&be, grads.get(va).unwrap()), host(&be, grads.get(vb).unwrap()));

        let scale = (1.0 / n as f64) as f32;
        let (grid, block) = flat(n);
        let mut partial = vec![0.0f32; grid.x as usize];
        let mut out = [0.0f32];
        unsafe { k::sq_diff_partial_f32(grid, block, a.as_ptr(), b.as_ptr(), partial.as_mut_ptr(), n32(n)) }.unwrap();
        unsafe {
            k::sum_scale_f32(Dim3::x(1), Dim3::x(32), partial.as_ptr(), out.as_mut_ptr(), n32(partial.len()), scale)
        }
        .unwrap();
        close("mse f32", &out, &[want_loss], 1e-5, 0.0);

        // The gradient from the graph's own upstream gradient of 1.
        let one = [1.0f32];
        let mut ga = Array2::<f32>::zeros((rows, cols));
        let mut gb = Array2::<f32>::zeros((rows, cols));
        unsafe {
            k::mse_bwd_f32(
                grid,
                block,
                a.as_ptr(),
                b.as_ptr(),
                one.as_ptr(),
                ga.as_mut_ptr(),
                gb.as_mut_ptr(),
                n32(n),
                scale,
            )
        }
        .unwrap();
        exact("mse ∂a f32", slice(&ga), slice(&want_ga));
        exact("mse ∂b f32", slice(&gb), slice(&want_gb));

        // sum_partial + sum_scale is the plain sum (Backend::sum).
        unsafe { k::sum_partial_f32(grid, block, a.as_ptr(), partial.as_mut_ptr(), n32(n)) }.unwrap();
        unsafe {
            k::sum_scale_f32(Dim3::x(1), Dim3::x(64), partial.as_ptr(), out.as_mut_ptr(), n32(partial.len()), 1.0)
        }
        .unwrap();
        let want_sum = host(&be, &be.sum(&be.upload(a.view()).unwrap()).unwrap())[[0, 0]];
        // A sum of n entries of size ≤ 2 in another order: within n · 2 · ε of each other.
        assert!(
            f64::from((out[0] - want_sum).abs()) <= n as f64 * 2.0 * f64::from(f32::EPSILON),
            "sum: {} vs {want_sum}",
            out[0]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Chebyshev recurrence: the GEMM on the host (it is cuBLAS's on the GPU), the rest in the kernel.

fn chebyshev_chain<T>(
    a_hat: ArrayView2<T>,
    z: ArrayView2<T>,
    order: usize,
    step: impl Fn(&Array2<T>, &mut Array2<T>, &mut Array2<T>),
) -> Array2<T>
where
    T: hagcn_linalg::Real,
{
    let mut prev = z.to_owned();
    let mut cur = a_hat.dot(&prev);
    let mut acc = &prev + &cur;
    for _ in 2..=order {
        let ay = a_hat.dot(&cur);
        step(&ay, &mut prev, &mut acc);
        std::mem::swap(&mut prev, &mut cur);
    }
    acc
}

#[test]
fn chebyshev_steps_reproduce_chebyshev_apply() {
    for (n, h, order, seed) in [(1, 1, 3, 70), (33, 31, 6, 71), (31, 1, 18, 72)] {
        let a = hagcn_linalg::normalized_adjacency(adjacency_input(n, seed).view()).unwrap().0;
        let z = random(n, h, -1.0, 1.0, seed + 1);
        let (grid, block) = flat(n * h);
        let got = chebyshev_chain(a.view(), z.view(), order, |ay, prev, acc| {
            unsafe { k::cheby_step_f64(grid, block, ay.as_ptr(), prev.as_mut_ptr(), acc.as_mut_ptr(), n32(n * h)) }
                .unwrap()
        });
        let want = chebyshev_apply(a.view(), z.view(), order).unwrap();
        close("chebyshev f64", slice(&got), slice(&want), 1e-12, 1e-13);

        let (a32, z32) = (f32s(&a), f32s(&z));
        let got = chebyshev_chain(a32.view(), z32.view(), order, |ay, prev, acc| {
            unsafe { k::cheby_step_f32(grid, block, ay.as_ptr(), prev.as_mut_ptr(), acc.as_mut_ptr(), n32(n * h)) }
                .unwrap()
        });
        let want = chebyshev_apply(a32.view(), z32.view(), order).unwrap();
        close("chebyshev f32", slice(&got), slice(&want), 1e-4, 1e-5);
    }
}

// ---------------------------------------------------------------------------------------------
// Lanczos: the vector parts in kernels, A v on the host (cuBLAS's GEMV on the GPU).

struct LanczosRun<T> {
    basis: Array2<T>,
    alpha: Vec<T>,
    beta: Vec<T>,
}

macro_rules! lanczos_on_emulator {
    ($t:ty, $dot:ident, $norm:ident, $update:ident, $dots:ident, $axpy:ident, $div:ident) => {
        |a: &Array2<$t>, start: &Array1<$t>, m: usize| -> LanczosRun<$t> {
            let n = a.nrows();
            let (grid, block) = flat(n);
            let one = (Dim3::x(1), Dim3::x(64));
            let mut basis = Array2::<$t>::zeros((m, n));
            let mut s = [0.0 as $t];
            unsafe { k::$norm(one.0, one.1, start.as_ptr(), s.as_mut_ptr(), n32(n)) }.unwrap();
            unsafe { k::$div(grid, block, start.as_ptr(), s.as_ptr(), basis.as_mut_ptr(), n32(n)) }.unwrap();
            let (mut alpha, mut beta) = (vec![], vec![]);
            let mut c = vec![0.0 as $t; m];
            for i in 0..m {
                let mut w = a.dot(&basis.row(i));
                let mut al = [0.0 as $t];
                unsafe { k::$dot(one.0, one.1, basis.row(i).as_ptr(), w.as_ptr(), al.as_mut_ptr(), n32(n)) }.unwrap();
                let prev = if i > 0 { basis.row(i - 1).as_ptr() } else { std::ptr::null() };
                let b_prev = if i > 0 { &beta[i - 1] as *const $t } else { std::ptr::null() };
                unsafe {
                    k::$update(
                        grid,
                        block,
                        w.as_mut_ptr(),
                        basis.row(i).as_ptr(),
                        prev,
                        al.as_ptr(),
                        b_prev,
                        n32(n),
                        i32::from(i > 0),
                    )
                }
                .unwrap();
                for _ in 0..hagcn_linalg::REORTHOGONALIZATION_PASSES {
                    let (dgrid, dblock) = per_row(i + 1, 64);
                    unsafe { k::$dots(dgrid, dblock, basis.as_ptr(), w.as_ptr(), c.as_mut_ptr(), n32(i + 1), n32(n)) }
                        .unwrap();
                    unsafe { k::$axpy(grid, block, basis.as_ptr(), c.as_ptr(), w.as_mut_ptr(), n32(i + 1), n32(n)) }
                        .unwrap();
                }
                let mut b = [0.0 as $t];
                unsafe { k::$norm(one.0, one.1, w.as_ptr(), b.as_mut_ptr(), n32(n)) }.unwrap();
                alpha.push(al[0]);
                beta.push(b[0]);
                if i + 1 < m {
                    let next = basis.row_mut(i + 1).as_mut_ptr();
                    unsafe { k::$div(grid, block, w.as_ptr(), b.as_ptr(), next, n32(n)) }.unwrap();
                }
            }
            LanczosRun { basis, alpha, beta }
        }
    };
}

#[test]
fn lanczos_vector_kernels_reproduce_hagcn_linalg_lanczos() {
    let run64 = lanczos_on_emulator!(
        f64,
        dot_f64,
        norm_f64,
        lanczos_update_f64,
        reorth_dots_f64,
        reorth_axpy_f64,
        div_scalar_f64
    );
    let run32 = lanczos_on_emulator!(
        f32,
        dot_f32,
        norm_f32,
        lanczos_update_f32,
        reorth_dots_f32,
        reorth_axpy_f32,
        div_scalar_f32
    );
    for (n, m, seed) in [(33, 10, 80), (130, 18, 81), (31, 31, 82)] {
        let a = hagcn_linalg::normalized_adjacency(adjacency_input(n, seed).view()).unwrap().0;
        let start = random(1, n, -1.0, 1.0, seed + 1).row(0).to_owned();
        let want = lanczos(&a, start.view(), &LanczosOptions::new(m)).unwrap();
        let done = want.steps_done;
        let got = run64(&a, &start, done);
        close("lanczos α f64", &got.alpha, want.alpha.as_slice().unwrap(), 1e-11, 1e-12);
        close("lanczos β f64", &got.beta, want.beta.as_slice().unwrap(), 1e-9, 1e-12);
        let want_basis = want.basis.t().as_standard_layout().into_owned();
        close("lanczos basis f64", slice(&got.basis), slice(&want_basis), 1e-8, 1e-9);

        // f32 on a well-conditioned prefix (Ritz values have not converged yet at 6 steps).
        let (a32, s32) = (f32s(&a), start.mapv(|v| v as f32));
        let want = lanczos(&a32, s32.view(), &LanczosOptions::new(6)).unwrap();
        let got = run32(&a32, &s32, want.steps_done);
        close("lanczos α f32", &got.alpha, want.alpha.as_slice().unwrap(), 1e-4, 1e-5);
        close("lanczos β f32", &got.beta, want.beta.as_slice().unwrap(), 1e-3, 1e-5);
    }
}

/// The Lanczos filter's tridiagonal `T` and its gradient, in f32 and f64, exactly as
/// `CpuBackend::tridiagonal{,_backward}` (copies and one addition per entry).
#[test]
fn tridiagonal_and_backward_match_cpu_backend_exactly() {
    for (m, seed) in [(1, 80), (2, 81), (18, 82), (70, 83)] {
        let alpha = random(1, m, -2.0, 2.0, seed);
        let beta = random(1, m - 1, 0.0, 2.0, seed + 1);
        let g = random(m, m, -2.0, 2.0, seed + 2);
        let ((grid, block), (grid_m, block_m)) = (flat(m * m), flat(m));

        let be = cpu64();
        let (ta, tb, tg) =
            (be.upload(alpha.view()).unwrap(), be.upload(beta.view()).unwrap(), be.upload(g.view()).unwrap());
        let mut t = Array2::<f64>::from_elem((m, m), f64::NAN);
        unsafe { k::tridiagonal_fwd_f64(grid, block, alpha.as_ptr(), beta.as_ptr(), t.as_mut_ptr(), n32(m)) }.unwrap();
        exact("tridiagonal_fwd_f64", slice(&t), slice(&host(&be, &be.tridiagonal(&ta, &tb).unwrap())));
        let (mut ga, mut gb) = (Array2::<f64>::zeros((1, m)), Array2::<f64>::zeros((1, m - 1)));
        unsafe { k::tridiagonal_bwd_f64(grid_m, block_m, g.as_ptr(), ga.as_mut_ptr(), gb.as_mut_ptr(), n32(m)) }
            .unwrap();
        let (wa, wb) = be.tridiagonal_backward(&tg).unwrap();
        exact("tridiagonal_bwd_f64 alpha", slice(&ga), slice(&host(&be, &wa)));
        exact("tridiagonal_bwd_f64 beta", slice(&gb), slice(&host(&be, &wb)));

        let be = cpu32();
        let (alpha, beta, g) = (f32s(&alpha), f32s(&beta), f32s(&g));
        let (ta, tb, tg) =
            (be.upload(alpha.view()).unwrap(), be.upload(beta.view()).unwrap(), be.upload(g.view()).unwrap());
        let mut t = Array2::<f32>::from_elem((m, m), f32::NAN);
        unsafe { k::tridiagonal_fwd_f32(grid, block, alpha.as_ptr(), beta.as_ptr(), t.as_mut_ptr(), n32(m)) }.unwrap();
        exact("tridiagonal_fwd_f32", slice(&t), slice(&host(&be, &be.tridiagonal(&ta, &tb).unwrap())));
        let (mut ga, mut gb) = (Array2::<f32>::zeros((1, m)), Array2::<f32>::zeros((1, m - 1)));
        unsafe { k::tridiagonal_bwd_f32(grid_m, block_m, g.as_ptr(), ga.as_mut_ptr(), gb.as_mut_ptr(), n32(m)) }
            .unwrap();
        let (wa, wb) = be.tridiagonal_backward(&tg).unwrap();
        exact("tridiagonal_bwd_f32 alpha", slice(&ga), slice(&host(&be, &wa)));
        exact("tridiagonal_bwd_f32 beta", slice(&gb), slice(&host(&be, &wb)));
    }
}

// ---------------------------------------------------------------------------------------------
// B-spline basis and its gradient.

struct SplineOnEmu<T> {
    basis: Array2<T>,
    gx: Vec<T>,
    bad: i32,
}

macro_rules! spline_on_emulator {
    ($t:ty, $knots:ident, $basis:ident, $bwd:ident, $finish:ident) => {
        |x: &[$t], n_basis: usize, degree: usize, g: &Array2<$t>| -> SplineOnEmu<$t> {
            let m = x.len();
            let n_knots = n_basis + degree + 1;
            let (mut knots, mut dlo, mut dhi) =
                (vec![0.0 as $t; n_knots], vec![0.0 as $t; n_knots], vec![0.0 as $t; n_knots]);
            let (mut ext, mut bad) = ([0i32; 2], [0i32]);
            unsafe {
                k::$knots(
                    Dim3::x(1),
                    Dim3::x(32),
                    x.as_ptr(),
                    n32(m),
                    n32(n_basis),
                    n32(degree),
                    knots.as_mut_ptr(),
                    dlo.as_mut_ptr(),
                    dhi.as_mut_ptr(),
                    ext.as_mut_ptr(),
                    bad.as_mut_ptr(),
                )
            }
            .unwrap();
            let (grid, block) = (Dim3::x(2), Dim3::x(32));
            let mut basis = Array2::<$t>::zeros((m, n_basis));
            unsafe {
                k::$basis(
                    grid,
                    block,
                    x.as_ptr(),
                    knots.as_ptr(),
                    basis.as_mut_ptr(),
                    n32(m),
                    n32(n_basis),
                    n32(degree),
                )
            }
            .unwrap();
            let (mut gx, mut glo, mut ghi) = (vec![0.0 as $t; m], vec![0.0 as $t; m], vec![0.0 as $t; m]);
            unsafe {
                k::$bwd(
                    grid,
                    block,
                    x.as_ptr(),
                    knots.as_ptr(),
                    dlo.as_ptr(),
                    dhi.as_ptr(),
                    g.as_ptr(),
                    gx.as_mut_ptr(),
                    glo.as_mut_ptr(),
                    ghi.as_mut_ptr(),
                    n32(m),
                    n32(n_basis),
                    n32(degree),
                )
            }
            .unwrap();
            unsafe {
                k::$finish(Dim3::x(1), Dim3::x(64), gx.as_mut_ptr(), glo.as_ptr(), ghi.as_ptr(), ext.as_ptr(), n32(m))
            }
            .unwrap();
            SplineOnEmu { basis, gx, bad: bad[0] }
        }
    };
}

fn spline_points(m: usize, sorted: bool, seed: u64) -> Vec<f64> {
    let mut x: Vec<f64> = random(1, m, -0.2, 1.3, seed).iter().copied().collect();
    if m > 4 {
        x[2] = x[1]; // a tie
    }
    if sorted {
        x.sort_by(f64::total_cmp);
    } else if m > 3 {
        // Ties at the extremes: the first of them takes the knot gradient.
        let (lo, hi) =
            (x.iter().copied().fold(f64::INFINITY, f64::min), x.iter().copied().fold(f64::NEG_INFINITY, f64::max));
        x[m - 1] = lo;
        x[0] = hi;
    }
    x
}

#[test]
fn bspline_basis_and_gradient_match_hagcn_linalg() {
    let emu64 = spline_on_emulator!(f64, bspline_knots_f64, bspline_basis_f64, bspline_bwd_f64, bspline_bwd_finish_f64);
    let emu32 = spline_on_emulator!(f32, bspline_knots_f32, bspline_basis_f32, bspline_bwd_f32, bspline_bwd_finish_f32);
    let mut cases = 0;
    for (m, n_basis, degree) in [(1, 4, 3), (5, 4, 3), (18, 12, 3), (33, 7, 1), (31, 20, 5)] {
        for sorted in [true, false] {
            let seed = 90 + m as u64 + u64::from(sorted);
            let x = spline_points(m, sorted, seed);
            let g = random(m, n_basis, -1.0, 1.0, seed + 7);
            let x_row = Array1::from(x.clone());
            let want = bspline_basis(x_row.view(), n_basis, degree).unwrap().values;
            let want_gx = bspline_basis_backward(x_row.view(), n_basis, degree, g.view()).unwrap();
            let got = emu64(&x, n_basis, degree, &g);
            assert_eq!(got.bad, 0);
            exact("bspline basis f64", slice(&got.basis), slice(&want));
            close("bspline ∂x f64", &got.gx, want_gx.as_slice().unwrap(), 1e-12, 1e-13);

            let (x32, g32) = (x.iter().map(|&v| v as f32).collect::<Vec<_>>(), f32s(&g));
            let x32_row = Array1::from(x32.clone());
            let want = bspline_basis(x32_row.view(), n_basis, degree).unwrap().values;
            let want_gx = bspline_basis_backward(x32_row.view(), n_basis, degree, g32.view()).unwrap();
            let got = emu32(&x32, n_basis, degree, &g32);
            exact("bspline basis f32", slice(&got.basis), slice(&want));
            close("bspline ∂x f32", &got.gx, want_gx.as_slice().unwrap(), 1e-4, 1e-5);
            cases += 1;
        }
    }
    assert_eq!(cases, 10);

    // A non-finite point is flagged (the host returns Error::NonFinite).
    let g = Array2::<f64>::zeros((3, 4));
    assert_eq!(emu64(&[0.0, f64::INFINITY, 1.0], 4, 3, &g).bad, 1);
    assert!(bspline_basis(Array1::from(vec![0.0, f64::INFINITY, 1.0]).view(), 4, 3).is_err());
}

// ---------------------------------------------------------------------------------------------
// Adam.

#[test]
fn adam_update_matches_cpu_backend_exactly() {
    let cfg = hagcn_autodiff::AdamConfig::default();
    for (rows, cols, t, seed) in [(1, 1, 1, 100), (31, 33, 3, 101), (1025, 5, 1000, 102)] {
        let n = rows * cols;
        let u64_ = AdamUpdate {
            lr: cfg.lr,
            beta1: cfg.beta1,
            beta2: cfg.beta2,
            eps: cfg.eps,
            bias_correction1: 1.0 - cfg.beta1.powi(t),
            bias_correction2: 1.0 - cfg.beta2.powi(t),
        };
        let u32_ = AdamUpdate {
            lr: u64_.lr as f32,
            beta1: u64_.beta1 as f32,
            beta2: u64_.beta2 as f32,
            eps: u64_.eps as f32,
            bias_correction1: u64_.bias_correction1 as f32,
            bias_correction2: u64_.bias_correction2 as f32,
        };
        let p = random(rows, cols, -1.0, 1.0, seed);
        let gr = random(rows, cols, -1e-2, 1e-2, seed + 1);
        let m = random(rows, cols, -1e-3, 1e-3, seed + 2);
        let v = random(rows, cols, 0.0, 1e-5, seed + 3);
        let (grid, block) = flat(n);

        let be = cpu32();
        let (mut tp, tg, mut tm, mut tv) = (
            be.upload(f32s(&p).view()).unwrap(),
            be.upload(f32s(&gr).view()).unwrap(),
            be.upload(f32s(&m).view()).unwrap(),
            be.upload(f32s(&v).view()).unwrap(),
        );
        be.adam_update(&mut tp, &tg, &mut tm, &mut tv, &u32_).unwrap();
        let (mut p32, g32, mut m32, mut v32) = (f32s(&p), f32s(&gr), f32s(&m), f32s(&v));
        unsafe {
            k::adam_update_f32(
                grid,
                block,
                p32.as_mut_ptr(),
                g32.as_ptr(),
                m32.as_mut_ptr(),
                v32.as_mut_ptr(),
                n32(n),
                u32_.lr,
                u32_.beta1,
                u32_.beta2,
                u32_.eps,
                u32_.bias_correction1,
                u32_.bias_correction2,
            )
        }
        .unwrap();
        exact("adam param f32", slice(&p32), slice(&host(&be, &tp)));
        exact("adam m f32", slice(&m32), slice(&host(&be, &tm)));
        exact("adam v f32", slice(&v32), slice(&host(&be, &tv)));

        let be = cpu64();
        let (mut tp, tg, mut tm, mut tv) = (
            be.upload(p.view()).unwrap(),
            be.upload(gr.view()).unwrap(),
            be.upload(m.view()).unwrap(),
            be.upload(v.view()).unwrap(),
        );
        be.adam_update(&mut tp, &tg, &mut tm, &mut tv, &u64_).unwrap();
        let (mut p64, mut m64, mut v64) = (p.clone(), m.clone(), v.clone());
        unsafe {
            k::adam_update_f64(
                grid,
                block,
                p64.as_mut_ptr(),
                gr.as_ptr(),
                m64.as_mut_ptr(),
                v64.as_mut_ptr(),
                n32(n),
                u64_.lr,
                u64_.beta1,
                u64_.beta2,
                u64_.eps,
                u64_.bias_correction1,
                u64_.bias_correction2,
            )
        }
        .unwrap();
        exact("adam param f64", slice(&p64), slice(&host(&be, &tp)));
        exact("adam m f64", slice(&m64), slice(&host(&be, &tm)));
        exact("adam v f64", slice(&v64), slice(&host(&be, &tv)));
    }
}

// ---------------------------------------------------------------------------------------------
// Hamming distance and top-K ranking.

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
fn hamming_distance_and_topk_match_hagcn_eval() {
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

        let mut dist = vec![0u32; n_query * n_db];
        unsafe {
            k::hamming_distance_u64(
                Dim3::xy(2, 2),
                Dim3::xy(32, 2),
                qw.as_ptr(),
                dw.as_ptr(),
                dist.as_mut_ptr(),
                n32(n_query),
                n32(n_db),
                n32(n_words),
            )
        }
        .unwrap();
        for q in 0..n_query {
            for i in 0..n_db {
                assert_eq!(dist[q * n_db + i], hagcn_eval::hamming_distance(query.code(q), db.code(i)), "d({q}, {i})");
            }
        }

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
