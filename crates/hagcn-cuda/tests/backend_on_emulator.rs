//! The backend's host code (`hagcn_cuda::CudaBackend`) on the emulated device (host
//! memory, the emulated kernels, BLAS in place of cuBLAS) against `CpuBackend`: the code that
//! will drive the GPU, checked without one.

use std::sync::Arc;

mod common;
use common::Recording;

use hagcn_openblas as _;

use hagcn_autodiff::{AdamUpdate, Backend, CpuBackend};
use hagcn_cuda::emu::{Dim3, RawArg};
use hagcn_cuda::kernels::{activations, bspline, hamming};
use hagcn_cuda::{CudaBackend, EmulatedDevice, KernelDevice};
use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random(rows: usize, cols: usize, seed: u64) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((rows, cols), |_| rng.random_range(-2.0..2.0))
}

fn emulated() -> CudaBackend<EmulatedDevice> {
    CudaBackend::new(Arc::new(EmulatedDevice))
}

/// `cuda:0`, for the twins of these tests that `gpu-check`'s `run.sh` runs with `--ignored`.
fn gpu() -> CudaBackend<hagcn_cuda::Device> {
    CudaBackend::new(Arc::new(hagcn_cuda::Device::open(0).expect("the GPU twins of these tests need cuda:0")))
}

fn close(what: &str, got: &Array2<f32>, want: &Array2<f32>, tol: f32) {
    assert_eq!(got.dim(), want.dim(), "{what}: shapes");
    let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    for ((i, g), w) in got.indexed_iter().zip(want) {
        assert!((g - w).abs() <= tol * scale, "{what} at {i:?}: {g} vs {w}");
    }
}

#[test]
fn activations_match_cpu_backend_exactly() {
    activations_match_cpu_backend_exactly_on(emulated());
}

#[test]
#[ignore = "needs an NVIDIA GPU: run by gpu-check's run.sh"]
fn activations_match_cpu_backend_exactly_on_gpu() {
    activations_match_cpu_backend_exactly_on(gpu());
}

fn activations_match_cpu_backend_exactly_on<D: KernelDevice>(gpu: CudaBackend<D>) {
    let cpu = CpuBackend::<f32>::new();
    for (rows, cols, seed) in [(1, 1, 1), (31, 33, 2), (1025, 3, 3)] {
        let (x, g) = (random(rows, cols, seed), random(rows, cols, seed + 10));
        let (dx, dg) = (gpu.upload(x.view()).unwrap(), gpu.upload(g.view()).unwrap());
        let (cx, cg) = (cpu.upload(x.view()).unwrap(), cpu.upload(g.view()).unwrap());
        assert_eq!(gpu.download(&gpu.gelu(&dx).unwrap()).unwrap(), cpu.download(&cpu.gelu(&cx).unwrap()).unwrap());
        assert_eq!(
            gpu.download(&gpu.gelu_backward(&dx, &dg).unwrap()).unwrap(),
            cpu.download(&cpu.gelu_backward(&cx, &cg).unwrap()).unwrap()
        );
        assert_eq!(
            gpu.download(&gpu.sigmoid(&dx).unwrap()).unwrap(),
            cpu.download(&cpu.sigmoid(&cx).unwrap()).unwrap()
        );
    }
}

#[test]
fn row_major_matmul_through_column_major_sgemm() {
    row_major_matmul_through_column_major_sgemm_on(emulated());
}

#[test]
#[ignore = "needs an NVIDIA GPU: run by gpu-check's run.sh"]
fn row_major_matmul_through_column_major_sgemm_on_gpu() {
    row_major_matmul_through_column_major_sgemm_on(gpu());
}

fn row_major_matmul_through_column_major_sgemm_on<D: KernelDevice>(gpu: CudaBackend<D>) {
    let cpu = CpuBackend::<f32>::new();
    for (m, k, n, seed) in [(1, 1, 1, 20), (31, 33, 17, 21), (1, 64, 5, 22), (40, 1, 9, 23)] {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = if ta { random(k, m, seed) } else { random(m, k, seed) };
            let b = if tb { random(n, k, seed + 1) } else { random(k, n, seed + 1) };
            let got = gpu.matmul(&gpu.upload(a.view()).unwrap(), ta, &gpu.upload(b.view()).unwrap(), tb).unwrap();
            let want = cpu.matmul(&cpu.upload(a.view()).unwrap(), ta, &cpu.upload(b.view()).unwrap(), tb).unwrap();
            close(
                &format!("matmul {m}×{k}×{n} ta={ta} tb={tb}"),
                &gpu.download(&got).unwrap(),
                &cpu.download(&want).unwrap(),
                1e-5,
            );
        }
    }
    let err = gpu.matmul(
        &gpu.upload(random(2, 3, 1).view()).unwrap(),
        false,
        &gpu.upload(random(2, 3, 1).view()).unwrap(),
        false,
    );
    assert!(matches!(err, Err(hagcn_autodiff::Error::Shape { .. })), "{:?}", err.err());
}

#[test]
fn layer_norm_matches_cpu_backend() {
    layer_norm_matches_cpu_backend_on(emulated());
}

#[test]
#[ignore = "needs an NVIDIA GPU: run by gpu-check's run.sh"]
fn layer_norm_matches_cpu_backend_on_gpu() {
    layer_norm_matches_cpu_backend_on(gpu());
}

fn layer_norm_matches_cpu_backend_on<D: KernelDevice>(gpu: CudaBackend<D>) {
    let cpu = CpuBackend::<f32>::new();
    for (rows, cols, seed) in [(1, 1, 30), (33, 31, 31), (130, 768, 32)] {
        let (x, w, b) = (random(rows, cols, seed), random(1, cols, seed + 1), random(1, cols, seed + 2));
        let got = gpu
            .layer_norm(
                &gpu.upload(x.view()).unwrap(),
                &gpu.upload(w.view()).unwrap(),
                &gpu.upload(b.view()).unwrap(),
                1e-5,
            )
            .unwrap();
        let want = cpu
            .layer_norm(
                &cpu.upload(x.view()).unwrap(),
                &cpu.upload(w.view()).unwrap(),
                &cpu.upload(b.view()).unwrap(),
                1e-5,
            )
            .unwrap();
        close("layer_norm y", &gpu.download(&got.y).unwrap(), &cpu.download(&want.y).unwrap(), 2e-5);
        close("layer_norm mean", &gpu.download(&got.mean).unwrap(), &cpu.download(&want.mean).unwrap(), 2e-6);
        close("layer_norm rstd", &gpu.download(&got.rstd).unwrap(), &cpu.download(&want.rstd).unwrap(), 2e-5);
    }
    let x = gpu.upload(random(3, 4, 1).view()).unwrap();
    let short = gpu.upload(random(1, 3, 1).view()).unwrap();
    assert!(matches!(gpu.layer_norm(&x, &short, &short, 1e-5), Err(hagcn_autodiff::Error::Shape { .. })));
}

#[test]
fn adam_matches_cpu_backend_exactly_and_copies_shared_buffers() {
    adam_matches_cpu_backend_exactly_and_copies_shared_buffers_on(emulated());
}

#[test]
#[ignore = "needs an NVIDIA GPU: run by gpu-check's run.sh"]
fn adam_matches_cpu_backend_exactly_and_copies_shared_buffers_on_gpu() {
    adam_matches_cpu_backend_exactly_and_copies_shared_buffers_on(gpu());
}

fn adam_matches_cpu_backend_exactly_and_copies_shared_buffers_on<D: KernelDevice>(gpu: CudaBackend<D>) {
    let cpu = CpuBackend::<f32>::new();
    let u = AdamUpdate {
        lr: 1e-3f32,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        bias_correction1: 0.271,
        bias_correction2: 0.002_997,
    };
    let (p, g, m, v) =
        (random(31, 33, 40), random(31, 33, 41), random(31, 33, 42) * 1e-3, random(31, 33, 43).mapv(|x| x * x * 1e-5));
    let (mut dp, dg, mut dm, mut dv) = (
        gpu.upload(p.view()).unwrap(),
        gpu.upload(g.view()).unwrap(),
        gpu.upload(m.view()).unwrap(),
        gpu.upload(v.view()).unwrap(),
    );
    let before = dp.clone(); // shares the buffer: the update must not change it
    gpu.adam_update(&mut dp, &dg, &mut dm, &mut dv, &u).unwrap();
    let (mut cp, cg, mut cm, mut cv) = (
        cpu.upload(p.view()).unwrap(),
        cpu.upload(g.view()).unwrap(),
        cpu.upload(m.view()).unwrap(),
        cpu.upload(v.view()).unwrap(),
    );
    cpu.adam_update(&mut cp, &cg, &mut cm, &mut cv, &u).unwrap();
    assert_eq!(gpu.download(&dp).unwrap(), cpu.download(&cp).unwrap());
    assert_eq!(gpu.download(&dm).unwrap(), cpu.download(&cm).unwrap());
    assert_eq!(gpu.download(&dv).unwrap(), cpu.download(&cv).unwrap());
    assert_eq!(gpu.download(&before).unwrap(), p);
    let mut wrong = gpu.upload(random(2, 2, 1).view()).unwrap();
    assert!(matches!(gpu.adam_update(&mut wrong, &dg, &mut dm, &mut dv, &u), Err(hagcn_autodiff::Error::Shape { .. })));
}

/// The emulated device launches a handle through its checked entry point, which matches raw
/// arguments kind by kind against the kernel's signature (the typed launch of `KernelDevice`
/// cannot pass a wrong kind; raw arguments can).
#[test]
fn emulated_launches_check_raw_arguments_against_the_signature() {
    let x = [1.0f32; 4];
    let mut y = [0.0f32; 4];
    let (grid, block) = (Dim3::x(1), Dim3::x(32));
    let sigmoid = activations::SIGMOID_FWD_F32;
    // SAFETY: x and y hold the 4 entries.
    unsafe {
        sigmoid.launch_emulated(
            grid,
            block,
            &[RawArg::ConstF32(x.as_ptr()), RawArg::MutF32(y.as_mut_ptr()), RawArg::I32(4)],
        )
    }
    .unwrap();
    assert!(y.iter().all(|&v| (v - 0.731_058_6).abs() < 1e-6));
    // SAFETY: rejected before anything runs.
    let err =
        unsafe { sigmoid.launch_emulated(grid, block, &[RawArg::MutF32(y.as_mut_ptr()), RawArg::I32(4)]) }.unwrap_err();
    assert!(err.to_string().contains("const float *, float *, int"), "{err}");
    // Kernels with u64, u32 and const int buffers are dispatched and checked too.
    let topk = hamming::HAMMING_TOPK_U64;
    let err = unsafe { topk.launch_emulated(grid, block, &[]) }.unwrap_err();
    assert!(err.to_string().contains("do not match"), "{err}");
    assert!(
        err.to_string().contains("const hagcn_u64 *, const hagcn_u64 *, unsigned int *, unsigned int *, int"),
        "{err}"
    );
    let (codes, mut idx, mut dist) = ([0b1011u64, 0b0001, 0b1111_0000], [u32::MAX; 2], [u32::MAX; 2]);
    // SAFETY: one query and two database codes of one word, two results per buffer.
    unsafe {
        topk.launch_emulated(
            grid,
            block,
            &[
                RawArg::ConstU64(codes.as_ptr()),
                RawArg::ConstU64(codes[1..].as_ptr()),
                RawArg::MutU32(idx.as_mut_ptr()),
                RawArg::MutU32(dist.as_mut_ptr()),
                RawArg::I32(1),
                RawArg::I32(2),
                RawArg::I32(1),
                RawArg::I32(8),
                RawArg::I32(2),
            ],
        )
    }
    .unwrap();
    assert_eq!((idx, dist), ([0, 1], [2, 7]));
    let err = unsafe { bspline::BSPLINE_BWD_FINISH_F32.launch_emulated(grid, block, &[RawArg::F32(1.0)]) }.unwrap_err();
    assert!(
        err.to_string().contains("do not match (float *, const float *, const float *, const int *, int)"),
        "{err}"
    );
}

#[test]
fn buffers_of_every_element_type_round_trip() {
    let device = EmulatedDevice;
    let words = [0u64, 1, u64::MAX, 0x8000_0000_0000_0001];
    assert_eq!(device.download(&device.upload(&words).unwrap()).unwrap(), words);
    assert_eq!(device.download(&device.alloc_zeros::<u32>(5).unwrap()).unwrap(), [0; 5]);
    assert_eq!(device.download(&device.upload(&[-1i32, 7]).unwrap()).unwrap(), [-1, 7]);
    assert_eq!(device.download(&device.upload(&[0.5f64, f64::MAX]).unwrap()).unwrap(), [0.5, f64::MAX]);
    let floats = device.upload(&[1.5f32, -0.0]).unwrap();
    assert_eq!(device.download(&device.duplicate(&floats).unwrap()).unwrap(), [1.5, -0.0]);
}

/// Every basic kernel of `Backend` on the emulated device against `CpuBackend<f32>`: exactly
/// where the kernel rounds as the host does (elementwise ops, broadcasts, copies, column sums
/// in row order), and to 4 ulps of the largest partial sum for `sum`, whose block tree adds in
/// a different order than ndarray (the relative error of either order is at most
/// `n · 2⁻²⁴ · Σ|a| / |Σa|`; the inputs here are positive, so that ratio is 1 and n ≤ 66).
#[test]
fn basic_kernels_match_cpu_backend() {
    basic_kernels_match_cpu_backend_on(emulated());
}

#[test]
#[ignore = "needs an NVIDIA GPU: run by gpu-check's run.sh"]
fn basic_kernels_match_cpu_backend_on_gpu() {
    basic_kernels_match_cpu_backend_on(gpu());
}

fn basic_kernels_match_cpu_backend_on<D: KernelDevice>(gpu: CudaBackend<D>) {
    let cpu = CpuBackend::<f32>::new();
    for (rows, cols, seed) in [(1, 1, 50), (3, 22, 51), (33, 2, 52)] {
        let (a, b) = (random(rows, cols, seed), random(rows, cols, seed + 1));
        let row = random(1, cols, seed + 2);
        let s = random(1, 1, seed + 3);
        let positive = a.mapv(|v| v.abs() + 0.25);
        let up = |x: &Array2<f32>| (gpu.upload(x.view()).unwrap(), cpu.upload(x.view()).unwrap());
        let ((ga, ca), (gb, cb), (grow, crow), (gs, cs), (gp, cp)) = (up(&a), up(&b), up(&row), up(&s), up(&positive));
        let same = |what: &str, got: &<CudaBackend<D> as Backend>::Tensor, want: &hagcn_autodiff::CpuTensor<f32>| {
            assert_eq!(gpu.download(got).unwrap(), cpu.download(want).unwrap(), "{what} {rows}×{cols}");
        };
        same("full", &gpu.full(rows, cols, -0.75).unwrap(), &cpu.full(rows, cols, -0.75).unwrap());
        same("add", &gpu.add(&ga, &gb).unwrap(), &cpu.add(&ca, &cb).unwrap());
        same("sub", &gpu.sub(&ga, &gb).unwrap(), &cpu.sub(&ca, &cb).unwrap());
        same("mul", &gpu.mul(&ga, &gb).unwrap(), &cpu.mul(&ca, &cb).unwrap());
        same("affine", &gpu.affine(&ga, 0.3, -1.5).unwrap(), &cpu.affine(&ca, 0.3, -1.5).unwrap());
        same("add_row", &gpu.add_row(&ga, &grow).unwrap(), &cpu.add_row(&ca, &crow).unwrap());
        same("sum_rows", &gpu.sum_rows(&ga).unwrap(), &cpu.sum_rows(&ca).unwrap());
        same(
            "broadcast_scalar",
            &gpu.broadcast_scalar(&gs, rows, cols, 0.7).unwrap(),
            &cpu.broadcast_scalar(&cs, rows, cols, 0.7).unwrap(),
        );
        same("scale_by", &gpu.scale_by(&ga, &gs).unwrap(), &cpu.scale_by(&ca, &cs).unwrap());
        same("sqrt", &gpu.sqrt(&gp).unwrap(), &cpu.sqrt(&cp).unwrap());
        same("recip", &gpu.recip(&ga).unwrap(), &cpu.recip(&ca).unwrap());
        same("sigmoid_backward", &gpu.sigmoid_backward(&ga, &gb).unwrap(), &cpu.sigmoid_backward(&ca, &cb).unwrap());
        let start = cols / 3;
        let len = cols - start;
        same("slice_cols", &gpu.slice_cols(&ga, start, len).unwrap(), &cpu.slice_cols(&ca, start, len).unwrap());
        same("embed_cols", &gpu.embed_cols(&ga, cols + 5, 2).unwrap(), &cpu.embed_cols(&ca, cols + 5, 2).unwrap());
        same("concat_cols", &gpu.concat_cols(&[&ga, &gb, &ga]).unwrap(), &cpu.concat_cols(&[&ca, &cb, &ca]).unwrap());
        let start = rows / 2;
        let len = rows - start;
        same("slice_rows", &gpu.slice_rows(&ga, start, len).unwrap(), &cpu.slice_rows(&ca, start, len).unwrap());
        same("concat_rows", &gpu.concat_rows(&[&gb, &ga]).unwrap(), &cpu.concat_rows(&[&cb, &ca]).unwrap());
        let w = random(5, cols, seed + 4);
        let bias = random(1, 5, seed + 5);
        let ((gw, cw), (gbias, cbias)) = (up(&w), up(&bias));
        close(
            "linear",
            &gpu.download(&gpu.linear(&ga, &gw, &gbias).unwrap()).unwrap(),
            &cpu.download(&cpu.linear(&ca, &cw, &cbias).unwrap()).unwrap(),
            1e-5,
        );
        let mut gacc = gpu.matmul(&ga, false, &gb, true).unwrap();
        let mut cacc = cpu.matmul(&ca, false, &cb, true).unwrap();
        let shared = gacc.clone(); // matmul_acc must not write through to a shared buffer
        let before = gpu.download(&shared).unwrap();
        gpu.matmul_acc(&mut gacc, &ga, false, &gb, true).unwrap();
        cpu.matmul_acc(&mut cacc, &ca, false, &cb, true).unwrap();
        close("matmul_acc", &gpu.download(&gacc).unwrap(), &cpu.download(&cacc).unwrap(), 1e-5);
        assert_eq!(gpu.download(&shared).unwrap(), before);
        let (got, want) = (gpu.scalar(&gpu.sum(&gp).unwrap()).unwrap(), cpu.scalar(&cpu.sum(&cp).unwrap()).unwrap());
        assert!((got - want).abs() <= 4.0 * f32::EPSILON * want.abs() * (rows * cols) as f32, "sum: {got} vs {want}");
    }
    assert_eq!(gpu.shape(&gpu.full(0, 3, 1.0).unwrap()), (0, 3));
    assert_eq!(gpu.scalar(&gpu.sum(&gpu.full(0, 3, 1.0).unwrap()).unwrap()).unwrap(), 0.0);
    assert!(gpu.name().contains("cuda"));
}

/// `linear_reproducible` on the device against `hagcn_autodiff::reproducible::linear` (and
/// `CpuBackend::linear_reproducible`, which calls it): **bit for bit**, which is what makes
/// encoding give the same codes on the CPU and on a GPU. Inputs span 2⁻¹² to 2¹² so that sums
/// cancel and round; shapes include an empty sum (`d = 0`: the bias alone), no rows, and widths
/// that are not multiples of a warp.
#[test]
fn linear_reproducible_matches_the_cpu_bit_for_bit() {
    linear_reproducible_matches_the_cpu_bit_for_bit_on(
        emulated(),
        &[(1, 1, 1), (3, 5, 7), (31, 33, 17), (67, 300, 9), (2, 0, 3), (0, 4, 2), (40, 768, 64)],
    );
}

#[test]
#[ignore = "needs an NVIDIA GPU: run by gpu-check's run.sh"]
fn linear_reproducible_matches_the_cpu_bit_for_bit_on_gpu() {
    linear_reproducible_matches_the_cpu_bit_for_bit_on(
        gpu(),
        &[(1, 1, 1), (3, 5, 7), (31, 33, 17), (67, 300, 9), (2, 0, 3), (0, 4, 2), (4096, 768, 64), (1000, 768, 768)],
    );
}

fn linear_reproducible_matches_the_cpu_bit_for_bit_on<D: KernelDevice>(
    gpu: CudaBackend<D>,
    shapes: &[(usize, usize, usize)],
) {
    let cpu = CpuBackend::<f32>::new();
    let mut rng = ChaCha8Rng::seed_from_u64(80);
    let mut spread = |rows: usize, cols: usize| {
        Array2::from_shape_fn((rows, cols), |_| rng.random_range(-2.0f32..2.0) * 2f32.powi(rng.random_range(-12..=12)))
    };
    let mut outputs = 0;
    for &(n, d, out) in shapes {
        let (x, w, b) = (spread(n, d), spread(out, d), spread(1, out));
        let want = hagcn_autodiff::reproducible::linear(x.view(), w.view(), b.view());
        let (gx, gw, gb) =
            (gpu.upload(x.view()).unwrap(), gpu.upload(w.view()).unwrap(), gpu.upload(b.view()).unwrap());
        let got = gpu.download(&gpu.linear_reproducible(&gx, &gw, &gb).unwrap()).unwrap();
        assert_eq!(got.dim(), (n, out));
        assert_eq!(got.mapv(f32::to_bits), want.mapv(f32::to_bits), "{n} × {d} → {out}");
        let (cx, cw, cb) =
            (cpu.upload(x.view()).unwrap(), cpu.upload(w.view()).unwrap(), cpu.upload(b.view()).unwrap());
        let on_cpu = cpu.download(&cpu.linear_reproducible(&cx, &cw, &cb).unwrap()).unwrap();
        assert_eq!(got.mapv(f32::to_bits), on_cpu.mapv(f32::to_bits), "{n} × {d} → {out}: CpuBackend");
        outputs += n * out;
    }
    assert!(outputs > 0);
    let (x, w) = (gpu.upload(random(3, 4, 81).view()).unwrap(), gpu.upload(random(2, 4, 82).view()).unwrap());
    let short_w = gpu.upload(random(2, 5, 83).view()).unwrap();
    let (b, short_b) = (gpu.upload(random(1, 2, 84).view()).unwrap(), gpu.upload(random(1, 3, 85).view()).unwrap());
    for (w, b) in [(&short_w, &b), (&w, &short_b)] {
        let err = gpu.linear_reproducible(&x, w, b).err().expect("a shape error");
        assert!(
            matches!(err, hagcn_autodiff::Error::Shape { op, .. } if op.starts_with("linear_reproducible")),
            "{err}"
        );
    }
}

/// The fused kernels that replace host fallbacks: layer norm backward and the normalised
/// adjacency with its backward, each with a block-tree reduction over a row (so a few ulps of the
/// row's magnitude, as in `tests/kernels_on_cpu.rs`), and the tridiagonal assembly and its
/// backward (copies and one addition: exact).
#[test]
fn fused_backward_kernels_match_cpu_backend() {
    fused_backward_kernels_match_cpu_backend_on(emulated());
}

#[test]
#[ignore = "needs an NVIDIA GPU: run by gpu-check's run.sh"]
fn fused_backward_kernels_match_cpu_backend_on_gpu() {
    fused_backward_kernels_match_cpu_backend_on(gpu());
}

fn fused_backward_kernels_match_cpu_backend_on<D: KernelDevice>(gpu: CudaBackend<D>) {
    let cpu = CpuBackend::<f32>::new();
    for (rows, cols, seed) in [(1, 1, 60), (12, 16, 61), (5, 40, 62)] {
        let (x, w, b, g) = (
            random(rows, cols, seed),
            random(1, cols, seed + 1),
            random(1, cols, seed + 2),
            random(rows, cols, seed + 3),
        );
        let up = |x: &Array2<f32>| (gpu.upload(x.view()).unwrap(), cpu.upload(x.view()).unwrap());
        let ((gx, cx), (gw, cw), (gb, cb), (gg, cg)) = (up(&x), up(&w), up(&b), up(&g));
        let gsaved = gpu.layer_norm(&gx, &gw, &gb, 1e-5).unwrap();
        let csaved = cpu.layer_norm(&cx, &cw, &cb, 1e-5).unwrap();
        let got = gpu.layer_norm_backward(&gx, &gw, &gsaved, &gg).unwrap();
        let want = cpu.layer_norm_backward(&cx, &cw, &csaved, &cg).unwrap();
        close("layer_norm_backward x", &gpu.download(&got.x).unwrap(), &cpu.download(&want.x).unwrap(), 1e-5);
        close("layer_norm_backward w", &gpu.download(&got.weight).unwrap(), &cpu.download(&want.weight).unwrap(), 1e-5);
        close("layer_norm_backward b", &gpu.download(&got.bias).unwrap(), &cpu.download(&want.bias).unwrap(), 1e-5);
    }
    for (m, seed) in [(1, 65), (4, 66), (9, 67)] {
        let (alpha, beta, g) = (random(1, m, seed), random(1, m - 1, seed + 1), random(m, m, seed + 2));
        let up = |x: &Array2<f32>| (gpu.upload(x.view()).unwrap(), cpu.upload(x.view()).unwrap());
        let ((galpha, calpha), (gbeta, cbeta), (gg, cg)) = (up(&alpha), up(&beta), up(&g));
        let (got, want) = (gpu.tridiagonal(&galpha, &gbeta).unwrap(), cpu.tridiagonal(&calpha, &cbeta).unwrap());
        assert_eq!(gpu.download(&got).unwrap(), cpu.download(&want).unwrap(), "tridiagonal {m}");
        let (got, want) = (gpu.tridiagonal_backward(&gg).unwrap(), cpu.tridiagonal_backward(&cg).unwrap());
        assert_eq!(gpu.download(&got.0).unwrap(), cpu.download(&want.0).unwrap(), "tridiagonal_backward α {m}");
        assert_eq!(gpu.download(&got.1).unwrap(), cpu.download(&want.1).unwrap(), "tridiagonal_backward β {m}");
    }
    for (n, seed) in [(1, 70), (12, 71), (37, 72)] {
        let a = random(n, n, seed);
        let a = (&a + &a.t()).mapv(|v| v.abs() + 0.1);
        let g = random(n, n, seed + 1);
        let (ca, cg) = (cpu.upload(a.view()).unwrap(), cpu.upload(g.view()).unwrap());
        let (ca_hat, cd) = cpu.normalized_adjacency(&ca).unwrap();
        let (ga, gg) = (gpu.upload(a.view()).unwrap(), gpu.upload(g.view()).unwrap());
        let (ga_hat, gd) = gpu.normalized_adjacency(&ga).unwrap();
        close("normalized_adjacency Â", &gpu.download(&ga_hat).unwrap(), &cpu.download(&ca_hat).unwrap(), 1e-5);
        close("normalized_adjacency d", &gpu.download(&gd).unwrap(), &cpu.download(&cd).unwrap(), 1e-5);
        close(
            "normalized_adjacency_backward",
            &gpu.download(&gpu.normalized_adjacency_backward(&ga_hat, &gd, &gg).unwrap()).unwrap(),
            &cpu.download(&cpu.normalized_adjacency_backward(&ca_hat, &cd, &cg).unwrap()).unwrap(),
            1e-5,
        );
    }
}

/// A degree that is ≤ 0 or not finite, or a matrix that is not square, is the host's error on
/// the device too (the kernel flags the row; the host names the node and degree).
#[test]
fn normalized_adjacency_reports_bad_degrees_like_the_host() {
    normalized_adjacency_reports_bad_degrees_like_the_host_on(emulated());
}

#[test]
#[ignore = "needs an NVIDIA GPU: run by gpu-check's run.sh"]
fn normalized_adjacency_reports_bad_degrees_like_the_host_on_gpu() {
    normalized_adjacency_reports_bad_degrees_like_the_host_on(gpu());
}

fn normalized_adjacency_reports_bad_degrees_like_the_host_on<D: KernelDevice>(gpu: CudaBackend<D>) {
    let cpu = CpuBackend::<f32>::new();
    let mut a = random(6, 6, 90).mapv(|v| v.abs() + 0.1);
    a.row_mut(3).fill(0.0);
    a.row_mut(4).fill(-1.0);
    let mut inf = a.clone();
    inf[[1, 2]] = f32::INFINITY;
    for (what, a) in [("zero row", a), ("infinite entry", inf), ("not square", random(3, 4, 91))] {
        let got = gpu.normalized_adjacency(&gpu.upload(a.view()).unwrap()).err().expect("an error");
        let want = cpu.normalized_adjacency(&cpu.upload(a.view()).unwrap()).unwrap_err();
        assert!(matches!(got, hagcn_autodiff::Error::Linalg(_)), "{what}: {got}");
        assert_eq!(got.to_string(), want.to_string(), "{what}");
    }
}

/// Spline points: `m` values in `[-0.2, 1.3)` with a tie inside, either sorted (as the spline
/// filter passes eigenvalues) or with the extremes tied (the first of each tie takes the knot
/// gradient).
fn spline_points(m: usize, sorted: bool, seed: u64) -> Array2<f32> {
    let mut x = random(1, m, seed).mapv(|v| (v + 2.0) * 0.375 - 0.2);
    if m > 4 {
        x[[0, 2]] = x[[0, 1]];
    }
    if sorted {
        let mut v = x.row(0).to_vec();
        v.sort_by(f32::total_cmp);
        x = Array2::from_shape_vec((1, m), v).unwrap();
    } else if m > 3 {
        let (lo, hi) = x.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        x[[0, m - 1]] = lo;
        x[[0, 0]] = hi;
    }
    x
}

/// The B-spline basis and its gradient on the device against `CpuBackend<f32>`
/// (`hagcn_linalg::bspline_basis{,_backward}` in f32).
///
/// The basis is exact: the kernel runs the reference's recursion operation by operation. So is
/// the gradient at every point but the first minimum and the first maximum, whose knot terms
/// `Σ g ⊙ ∂B/∂lo` and `Σ g ⊙ ∂B/∂hi` the host adds in one running sum over all `m · n_basis`
/// entries and the device per point, then across points in a block tree. Either order's error
/// is at most `m · n_basis · ε · Σ|terms|`; the terms are bounded by `|g| ≤ 2` times the knot
/// derivatives, whose size is set by `1 / (hi − lo)`, so the bound used is relative to the
/// largest gradient entry (`rtol = m · n_basis · ε`; measured: at most 3% of that bound, 2.2e-6
/// of the largest entry). With `m = 1` every derivative is zero.
#[test]
fn bspline_basis_and_backward_run_on_the_device_and_match_cpu_backend() {
    let device = Arc::new(Recording::default());
    let gpu = CudaBackend::new(Arc::clone(&device));
    let cpu = CpuBackend::<f32>::new();
    let mut worst = 0.0f32;
    for (m, n_basis, degree) in [(1, 4, 3), (5, 4, 3), (18, 12, 3), (33, 7, 1), (31, 20, 5), (40, 60, 3)] {
        for sorted in [true, false] {
            let seed = 200 + m as u64 + u64::from(sorted);
            let (x, g) = (spline_points(m, sorted, seed), random(m, n_basis, seed + 7));
            let (gx, gg, cx, cg) = (
                gpu.upload(x.view()).unwrap(),
                gpu.upload(g.view()).unwrap(),
                cpu.upload(x.view()).unwrap(),
                cpu.upload(g.view()).unwrap(),
            );
            let what = format!("m = {m}, n_basis = {n_basis}, degree = {degree}, sorted = {sorted}");
            device.take();
            let got = gpu.download(&gpu.bspline_basis(&gx, n_basis, degree).unwrap()).unwrap();
            assert_eq!(device.take(), [bspline::BSPLINE_KNOTS_F32.name(), bspline::BSPLINE_BASIS_F32.name()], "{what}");
            assert_eq!(got, cpu.download(&cpu.bspline_basis(&cx, n_basis, degree).unwrap()).unwrap(), "{what}");

            let got = gpu.download(&gpu.bspline_basis_backward(&gx, n_basis, degree, &gg).unwrap()).unwrap();
            let backward = [
                bspline::BSPLINE_KNOTS_F32.name(),
                bspline::BSPLINE_BWD_F32.name(),
                bspline::BSPLINE_BWD_FINISH_F32.name(),
            ];
            assert_eq!(device.take(), backward, "{what}");
            let want = cpu.download(&cpu.bspline_basis_backward(&cx, n_basis, degree, &cg).unwrap()).unwrap();
            let row = x.row(0);
            let first = |better: fn(f32, f32) -> bool| {
                (0..m).fold(0, |best, j| if better(row[j], row[best]) { j } else { best })
            };
            let (lo, hi) = (first(|a, b| a < b), first(|a, b| a > b));
            let scale = want.iter().fold(0.0f32, |s, v| s.max(v.abs()));
            let tol = (m * n_basis) as f32 * f32::EPSILON * scale;
            for j in 0..m {
                let (a, b) = (got[[0, j]], want[[0, j]]);
                if j == lo || j == hi {
                    assert!((a - b).abs() <= tol, "{what}: ∂x[{j}] (an extreme) {a} vs {b}, tolerance {tol:e}");
                    worst = worst.max((a - b).abs() / scale.max(f32::MIN_POSITIVE));
                } else {
                    assert_eq!(a, b, "{what}: ∂x[{j}]");
                }
            }
        }
    }
    eprintln!("B-spline gradient at the extremes: relative difference ≤ {worst:.1e}");
}

/// Past the kernels' 64 knots the basis and its gradient run on the host, with the host's
/// results; a point that is not finite, `n_basis ≤ degree` or a gradient of the wrong shape is
/// the host's error, word for word; `x` must be one row.
#[test]
fn bspline_falls_back_to_the_host_and_reports_the_hosts_errors() {
    let device = Arc::new(Recording::default());
    let gpu = CudaBackend::new(Arc::clone(&device));
    let cpu = CpuBackend::<f32>::new();

    let (x, g) = (spline_points(10, true, 300), random(10, 61, 301));
    let (gx, gg, cx, cg) = (
        gpu.upload(x.view()).unwrap(),
        gpu.upload(g.view()).unwrap(),
        cpu.upload(x.view()).unwrap(),
        cpu.upload(g.view()).unwrap(),
    );
    device.take();
    // 61 + 3 + 1 = 65 knots.
    let got = gpu.download(&gpu.bspline_basis(&gx, 61, 3).unwrap()).unwrap();
    assert_eq!(got, cpu.download(&cpu.bspline_basis(&cx, 61, 3).unwrap()).unwrap());
    let got = gpu.download(&gpu.bspline_basis_backward(&gx, 61, 3, &gg).unwrap()).unwrap();
    assert_eq!(got, cpu.download(&cpu.bspline_basis_backward(&cx, 61, 3, &cg).unwrap()).unwrap());
    assert_eq!(device.take(), Vec::<&str>::new(), "65 knots run on the host");

    let mut inf = x.clone();
    inf[[0, 4]] = f32::INFINITY;
    let mut nan = x.clone();
    nan[[0, 0]] = f32::NAN;
    let g10 = random(10, 8, 302);
    let knots = bspline::BSPLINE_KNOTS_F32.name();
    for (what, x, n_basis, degree, g, launched) in [
        ("infinite point", &inf, 8, 3, &g10, vec![knots]),
        ("NaN point", &nan, 8, 3, &g10, vec![knots]),
        ("n_basis ≤ degree", &x, 3, 3, &random(10, 3, 303), vec![]),
        ("gradient of the wrong shape", &x, 8, 3, &random(10, 7, 304), vec![]),
    ] {
        let (gx, gg, cx, cg) = (
            gpu.upload(x.view()).unwrap(),
            gpu.upload(g.view()).unwrap(),
            cpu.upload(x.view()).unwrap(),
            cpu.upload(g.view()).unwrap(),
        );
        if what != "gradient of the wrong shape" {
            device.take();
            let got = gpu.bspline_basis(&gx, n_basis, degree).unwrap_err();
            assert_eq!(device.take(), launched, "{what}: forward");
            let want = cpu.bspline_basis(&cx, n_basis, degree).unwrap_err();
            assert!(matches!(got, hagcn_autodiff::Error::Linalg(_)), "{what}: {got}");
            assert_eq!(got.to_string(), want.to_string(), "{what}");
        }
        let got = gpu.bspline_basis_backward(&gx, n_basis, degree, &gg).unwrap_err();
        assert_eq!(device.take(), launched, "{what}: backward");
        let want = cpu.bspline_basis_backward(&cx, n_basis, degree, &cg).unwrap_err();
        assert!(matches!(got, hagcn_autodiff::Error::Linalg(_)), "{what}: {got}");
        assert_eq!(got.to_string(), want.to_string(), "{what}: backward");
    }

    let column = gpu.upload(random(3, 1, 305).view()).unwrap();
    assert!(matches!(gpu.bspline_basis(&column, 4, 3), Err(hagcn_autodiff::Error::Shape { .. })));
    let g = gpu.upload(random(1, 4, 306).view()).unwrap();
    assert!(matches!(gpu.bspline_basis_backward(&column, 4, 3, &g), Err(hagcn_autodiff::Error::Shape { .. })));
}
