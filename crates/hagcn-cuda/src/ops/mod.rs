//! The backend's ops, one module per kernel file (`activations.rs` beside
//! `kernels/activations.cu`, …), plus `gemm.rs` for the products that cuBLAS computes. Each op
//! is a function of the device and its tensors; `crate::backend` implements
//! `hagcn_autodiff::Backend` by calling them.
//!
//! This module holds what they share: launch shapes and the `int` sizes kernels take.
//!
//! Launches use whole warps, no more than the work needs, up to 256 threads (128 for
//! one-block-per-row kernels), so small tensors start few emulated threads; grid-stride loops
//! cover work beyond [`MAX_BLOCKS`] blocks.

pub(crate) mod activations;
pub(crate) mod adam;
pub(crate) mod adjacency;
pub(crate) mod bspline;
pub(crate) mod eigen;
pub(crate) mod elementwise;
pub(crate) mod gemm;
pub mod hamming;
pub(crate) mod layer_norm;
pub(crate) mod linear;
pub(crate) mod reduce;
pub(crate) mod tridiagonal;

use crate::device::KernelDevice;
use crate::emu::Dim3;
use crate::error::{Error, Result};
use crate::kernels::{Const, Kernel, Mut, Params};
use crate::tensor::{self, AdResult, DeviceTensor, Tensor, check_shape};

/// Most threads per block of elementwise kernels.
const BLOCK_1D: u32 = 256;
/// Most threads per block of one-block-per-row kernels.
const BLOCK_ROWS: u32 = 128;
/// The most blocks a launch uses (grid-stride loops do the rest).
const MAX_BLOCKS: usize = 1024;

/// Whole warps, as few as cover `n` items, at most `max` threads: small tensors get small
/// blocks (a GPU wastes fewer idle lanes, and the emulator starts one thread per lane).
fn block_for(n: usize, max: u32) -> u32 {
    (n.div_ceil(32) * 32).clamp(32, max as usize) as u32
}

/// A 1-D launch over `n` items (grid-stride loops cover any excess).
fn flat(n: usize) -> (Dim3, Dim3) {
    let block = block_for(n, BLOCK_1D);
    (Dim3::x(n.div_ceil(block as usize).clamp(1, MAX_BLOCKS) as u32), Dim3::x(block))
}

/// One block per row (grid-stride over rows), threads for `cols` columns.
fn rows_grid(rows: usize, cols: usize) -> (Dim3, Dim3) {
    (Dim3::x(rows.clamp(1, MAX_BLOCKS) as u32), Dim3::x(block_for(cols, BLOCK_ROWS)))
}

/// One block of whole warps for `n` items, at most `max` threads (kernels that reduce in one
/// block).
fn one_block(n: usize, max: u32) -> (Dim3, Dim3) {
    (Dim3::x(1), Dim3::x(block_for(n, max)))
}

/// `v` as a kernel's `int` size.
fn int(v: usize, what: &str) -> Result<i32> {
    i32::try_from(v).map_err(|_| Error::InvalidArgument(format!("{what} = {v} does not fit the kernels' int sizes")))
}

/// Runs `kernel` unless it has no work (`work == 0`: an empty grid is invalid).
///
/// # Safety
///
/// As [`KernelDevice::launch`].
unsafe fn run<D: KernelDevice, P: Params>(
    dev: &D,
    work: usize,
    kernel: &Kernel<P>,
    (grid, block): (Dim3, Dim3),
    args: P::Args<'_, D::Memory>,
) -> Result<()> {
    if work == 0 {
        return Ok(());
    }
    // SAFETY: forwarded to the caller.
    unsafe { dev.launch(kernel, grid, block, args) }
}

/// An elementwise kernel `(const float* x, float* out, int n)`.
type Unary = Kernel<(Const<f32>, Mut<f32>, i32)>;

/// An elementwise kernel `(const float* a, const float* b, float* out, int n)`.
type Binary = Kernel<(Const<f32>, Const<f32>, Mut<f32>, i32)>;

/// `out = kernel(x)` elementwise.
fn unary<D: KernelDevice>(dev: &D, kernel: &Unary, x: &Tensor<D>) -> AdResult<Tensor<D>> {
    let n = x.len();
    let mut out = tensor::alloc(dev, n)?;
    // SAFETY: x and out hold n entries, the kernel reads and writes n.
    unsafe { run(dev, n, kernel, flat(n), (&*x.buf, &mut out, int(n, "entries")?)) }?;
    Ok(DeviceTensor::new(x.rows, x.cols, out))
}

/// `out = kernel(a, b)` elementwise, for `a` and `b` of one shape.
fn binary<D: KernelDevice>(dev: &D, kernel: &Binary, a: &Tensor<D>, b: &Tensor<D>) -> AdResult<Tensor<D>> {
    check_shape(kernel.name(), b, a.shape())?;
    let n = a.len();
    let mut out = tensor::alloc(dev, n)?;
    // SAFETY: all three hold n entries.
    unsafe { run(dev, n, kernel, flat(n), (&*a.buf, &*b.buf, &mut out, int(n, "entries")?)) }?;
    Ok(DeviceTensor::new(a.rows, a.cols, out))
}
