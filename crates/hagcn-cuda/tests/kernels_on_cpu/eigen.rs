//! `kernels/eigen.cu`: the f64 input of the device eigensolver and the packing of its output
//! with hagcn-linalg's sign convention, exactly as the host.

use super::*;
use hagcn_cuda::emu::kernels as k;
use ndarray::Array1;

#[test]
fn eigen_symmetrize_forms_hagcn_linalgs_f64_input_exactly() {
    // hagcn_linalg::symmetric_eigen decomposes S_ij = 0.5 · ((f64) a_ij + (f64) a_ji).
    for (n, seed) in [(1, 60), (31, 61), (33, 62), (130, 63)] {
        let a = f32s(&random(n, n, -3.0, 3.0, seed)); // not symmetric
        let (grid, block) = flat(n * n);
        let want = Array2::from_shape_fn((n, n), |(i, j)| 0.5 * (f64::from(a[[i, j]]) + f64::from(a[[j, i]])));
        let mut s = Array2::<f64>::from_elem((n, n), f64::NAN);
        let mut bad = [0];
        // SAFETY: a and s hold n × n entries, bad one.
        unsafe { k::eigen_symmetrize_f32(grid, block, a.as_ptr(), s.as_mut_ptr(), bad.as_mut_ptr(), n32(n)) }.unwrap();
        assert_eq!(bad[0], 0, "flagged a finite input");
        exact("eigen_symmetrize_f32", slice(&s), slice(&want));
        assert_eq!(s, s.t(), "not exactly symmetric");
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
