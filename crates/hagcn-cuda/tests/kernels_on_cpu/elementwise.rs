//! `kernels/elementwise.cu`: elementwise arithmetic, broadcasts, column sums, fills, roots,
//! reciprocals and block copies, exactly as `CpuBackend<f32>`.

use super::*;
use hagcn_cuda::emu::kernels as k;

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
type Launch<'a> = dyn Fn(&str, &Array2<f32>, &mut Array2<f32>) + 'a;

/// The fills, scalar broadcasts, square roots, reciprocals and block copies the backend's basic
/// ops are made of, exactly as `CpuBackend` (one rounding per entry, the same one: IEEE `sqrt`
/// and division are correctly rounded on both sides).
#[test]
fn fills_roots_reciprocals_and_block_copies_match_cpu_backend_exactly() {
    fn check(a: &Array2<f32>, s: f32, launch: &Launch<'_>) {
        let be = cpu32();
        let (rows, cols) = a.dim();
        let ta = be.upload(a.view()).unwrap();
        let ts = be.upload(Array2::from_elem((1, 1), s).view()).unwrap();
        let mut out = Array2::<f32>::zeros((rows, cols));
        launch("fill", a, &mut out);
        exact("fill", slice(&out), slice(&host(&be, &be.full(rows, cols, s).unwrap())));
        launch("broadcast_scalar", a, &mut out);
        let want = host(&be, &be.broadcast_scalar(&ts, rows, cols, -0.37).unwrap());
        exact("broadcast_scalar", slice(&out), slice(&want));
        launch("scale_by", a, &mut out);
        exact("scale_by", slice(&out), slice(&host(&be, &be.scale_by(&ta, &ts).unwrap())));
        launch("sqrt", a, &mut out);
        exact("sqrt", slice(&out), slice(&host(&be, &be.sqrt(&ta).unwrap())));
        launch("recip", a, &mut out);
        exact("recip", slice(&out), slice(&host(&be, &be.recip(&ta).unwrap())));
        // Columns 1.. of `a` into columns 2.. of a zeroed rows × (cols + 1): slice + embed.
        let mut wide = Array2::<f32>::zeros((rows, cols + 1));
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
    }
}
