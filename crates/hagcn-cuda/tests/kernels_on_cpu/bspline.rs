//! `kernels/bspline.cu`: the knots, the B-spline basis and its gradient against hagcn-linalg
//! (the basis exactly; the gradient to the rounding of its knot sums).

use super::*;
use hagcn_cuda::emu::kernels as k;
use hagcn_linalg::{bspline_basis, bspline_basis_backward};
use ndarray::Array1;

struct SplineOnEmu {
    basis: Array2<f32>,
    gx: Vec<f32>,
    bad: i32,
}

/// The four kernels in a row: the knots, the basis, the gradient and its finishing block sum.
fn spline_on_emulator(x: &[f32], n_basis: usize, degree: usize, g: &Array2<f32>) -> SplineOnEmu {
    let m = x.len();
    let n_knots = n_basis + degree + 1;
    let (mut knots, mut dlo, mut dhi) = (vec![0.0f32; n_knots], vec![0.0f32; n_knots], vec![0.0f32; n_knots]);
    let (mut ext, mut bad) = ([0i32; 2], [0i32]);
    unsafe {
        k::bspline_knots_f32(
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
    let mut basis = Array2::<f32>::zeros((m, n_basis));
    unsafe {
        k::bspline_basis_f32(
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
    let (mut gx, mut glo, mut ghi) = (vec![0.0f32; m], vec![0.0f32; m], vec![0.0f32; m]);
    unsafe {
        k::bspline_bwd_f32(
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
        k::bspline_bwd_finish_f32(
            Dim3::x(1),
            Dim3::x(64),
            gx.as_mut_ptr(),
            glo.as_ptr(),
            ghi.as_ptr(),
            ext.as_ptr(),
            n32(m),
        )
    }
    .unwrap();
    SplineOnEmu { basis, gx, bad: bad[0] }
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
    let mut cases = 0;
    for (m, n_basis, degree) in [(1, 4, 3), (5, 4, 3), (18, 12, 3), (33, 7, 1), (31, 20, 5)] {
        for sorted in [true, false] {
            let seed = 90 + m as u64 + u64::from(sorted);
            let x: Vec<f32> = spline_points(m, sorted, seed).iter().map(|&v| v as f32).collect();
            let g = f32s(&random(m, n_basis, -1.0, 1.0, seed + 7));
            let x_row = Array1::from(x.clone());
            let want = bspline_basis(x_row.view(), n_basis, degree).unwrap().values;
            let want_gx = bspline_basis_backward(x_row.view(), n_basis, degree, g.view()).unwrap();
            let got = spline_on_emulator(&x, n_basis, degree, &g);
            assert_eq!(got.bad, 0);
            exact("bspline basis f32", slice(&got.basis), slice(&want));
            close("bspline ∂x f32", &got.gx, want_gx.as_slice().unwrap(), 1e-4, 1e-5);
            cases += 1;
        }
    }
    assert_eq!(cases, 10);

    // A non-finite point is flagged (the host returns Error::NonFinite).
    let g = Array2::<f32>::zeros((3, 4));
    assert_eq!(spline_on_emulator(&[0.0, f32::INFINITY, 1.0], 4, 3, &g).bad, 1);
    assert!(bspline_basis(Array1::from(vec![0.0f32, f32::INFINITY, 1.0]).view(), 4, 3).is_err());
}
