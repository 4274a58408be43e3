//! `kernels/adam.cu`: one Adam update, exactly as `CpuBackend<f32>`.

use super::*;
use hagcn_autodiff::AdamUpdate;
use hagcn_cuda::emu::kernels as k;

#[test]
fn adam_update_matches_cpu_backend_exactly() {
    let cfg = hagcn_autodiff::AdamConfig::default();
    for (rows, cols, t, seed) in [(1, 1, 1, 100), (31, 33, 3, 101), (1025, 5, 1000, 102)] {
        let n = rows * cols;
        // The bias corrections in f64, then every hyper-parameter rounded to f32.
        let u32_ = AdamUpdate {
            lr: cfg.lr as f32,
            beta1: cfg.beta1 as f32,
            beta2: cfg.beta2 as f32,
            eps: cfg.eps as f32,
            bias_correction1: (1.0 - cfg.beta1.powi(t)) as f32,
            bias_correction2: (1.0 - cfg.beta2.powi(t)) as f32,
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
    }
}
