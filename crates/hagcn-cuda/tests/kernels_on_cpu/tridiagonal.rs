//! `kernels/tridiagonal.cu`: the Lanczos filter's tridiagonal `T` and its gradient.

use super::*;
use hagcn_cuda::emu::kernels as k;

/// The Lanczos filter's tridiagonal `T` and its gradient, exactly as
/// `CpuBackend::tridiagonal{,_backward}` (copies and one addition per entry).
#[test]
fn tridiagonal_and_backward_match_cpu_backend_exactly() {
    for (m, seed) in [(1, 80), (2, 81), (18, 82), (70, 83)] {
        let alpha = f32s(&random(1, m, -2.0, 2.0, seed));
        let beta = f32s(&random(1, m - 1, 0.0, 2.0, seed + 1));
        let g = f32s(&random(m, m, -2.0, 2.0, seed + 2));
        let ((grid, block), (grid_m, block_m)) = (flat(m * m), flat(m));

        let be = cpu32();
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
