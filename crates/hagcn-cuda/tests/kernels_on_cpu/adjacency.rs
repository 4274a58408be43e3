//! `kernels/adjacency.cu`: the normalised adjacency and its gradient against `CpuBackend<f32>`
//! (hagcn-linalg), to a few ulps of the block-tree degree sums.

use super::*;
use hagcn_cuda::emu::kernels as k;

/// A positive symmetric `n × n` matrix, like `S + 1` of a batch.
fn adjacency_input(n: usize, seed: u64) -> Array2<f64> {
    let a = random(n, n, 0.1, 2.0, seed);
    (&a + &a.t()) * 0.5
}

#[test]
fn normalized_adjacency_and_backward_match_host() {
    let b32 = cpu32();
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
