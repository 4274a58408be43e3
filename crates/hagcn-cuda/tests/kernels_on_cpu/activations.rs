//! `kernels/activations.cu`: GELU and the sigmoid with their derivatives, exactly as
//! `CpuBackend<f32>`.

use super::*;
use hagcn_cuda::emu::kernels as k;

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
    let b32 = cpu32();
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
    }
}
