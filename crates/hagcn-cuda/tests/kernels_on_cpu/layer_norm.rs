//! `kernels/layer_norm.cu`: layer norm forward and backward against `CpuBackend<f32>`, to a few
//! ulps of each row's block-tree sums (the bias gradient, added in row order, exactly).

use super::*;
use hagcn_cuda::emu::kernels as k;

#[test]
fn layer_norm_forward_and_backward_match_host() {
    let b32 = cpu32();
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
    }
}
