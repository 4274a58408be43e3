//! `kernels/reduce.cu`: the two-stage sum of `Backend::sum` against `CpuBackend<f32>` (another
//! order of additions, so to rounding), and its scaled form.

use super::*;
use hagcn_cuda::emu::kernels as k;

#[test]
fn two_stage_sums_match_cpu_backend() {
    let be = cpu32();
    for (rows, cols, seed) in [(1, 1, 60), (31, 33, 61), (1025, 17, 62)] {
        let n = rows * cols;
        let a = f32s(&random(rows, cols, -2.0, 2.0, seed));
        let (grid, block) = flat(n);
        let mut partial = vec![0.0f32; grid.x as usize];
        let mut out = [0.0f32];

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

        // With a scale of 1/n, the mean: the same total, scaled after the sum in one rounding.
        let scale = (1.0 / n as f64) as f32;
        let total = out[0];
        unsafe {
            k::sum_scale_f32(Dim3::x(1), Dim3::x(64), partial.as_ptr(), out.as_mut_ptr(), n32(partial.len()), scale)
        }
        .unwrap();
        exact("sum_scale_f32 (mean)", &out, &[total * scale]);
    }
}
