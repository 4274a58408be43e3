//! The emulator's own checks: it exposes the bugs of `tests/kernels/buggy.cu`.

mod test_kernels {
    include!(concat!(env!("OUT_DIR"), "/emu_test_kernels.rs"));
}

use hagcn_cuda::emu::Dim3;

/// Warp sums over 48 threads (one and a half warps): the second warp's butterfly reads lanes
/// 48..64, which do not exist, and gets NaN poison; the first warp and a 64-thread block are
/// exact.
#[test]
fn shuffles_from_missing_lanes_are_poisoned() {
    let x: Vec<f32> = (1..=64).map(|v| v as f32).collect();
    let mut out = [0.0f32; 2];
    // SAFETY: x has 64 entries, the kernel reads x[0..n] and writes out[0..2].
    unsafe { test_kernels::partial_warp_sum_f32(Dim3::x(1), Dim3::x(64), x.as_ptr(), out.as_mut_ptr(), 64) }.unwrap();
    assert_eq!(out, [528.0, 1552.0]); // 1 + … + 32, 33 + … + 64
    out = [0.0; 2];
    unsafe { test_kernels::partial_warp_sum_f32(Dim3::x(1), Dim3::x(48), x.as_ptr(), out.as_mut_ptr(), 48) }.unwrap();
    assert_eq!(out[0], 528.0);
    assert!(out[1].is_nan(), "a 16-lane warp reduction gave {} instead of poison", out[1]);
}

/// Lanes that returned before a warp reduction are poison to the lanes still shuffling.
#[test]
fn shuffles_from_exited_lanes_are_poisoned() {
    let x = [1.0f32; 32];
    let mut out = [0.0f32];
    // SAFETY: x has 32 entries; the kernel writes out[0].
    unsafe { test_kernels::exited_lanes_sum_f32(Dim3::x(1), Dim3::x(32), x.as_ptr(), out.as_mut_ptr(), 32) }.unwrap();
    assert!(out[0].is_nan(), "got {}", out[0]);
}

/// The racy kernel still only moves input values around (every output is some input or the
/// zero the shared tile starts with); that it is racy is what ThreadSanitizer must report when
/// this test runs under `cargo xtask cuda-kernels --tsan`.
#[test]
fn racy_kernel_canary() {
    let n = 64;
    let x: Vec<f32> = (0..n).map(|v| v as f32 + 1.0).collect();
    let mut out = vec![-1.0f32; n];
    // SAFETY: x and out have n entries.
    unsafe { test_kernels::racy_shift_f32(Dim3::x(1), Dim3::x(n as u32), x.as_ptr(), out.as_mut_ptr(), n as i32) }
        .unwrap();
    assert!(out.iter().all(|&v| v == 0.0 || x.contains(&v)), "{out:?}");
}
