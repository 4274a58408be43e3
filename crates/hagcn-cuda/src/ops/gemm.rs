//! Products through the device's SGEMM (cuBLAS on a GPU, BLAS on the emulated device): `matmul`,
//! `matmul_acc` and `linear`.
//!
//! Row-major products on a column-major BLAS: a row-major `C (m × n) = op(A) op(B)` is the
//! column-major `Cᵀ = op(B)ᵀ op(A)ᵀ`, and a row-major `X` is the column-major `Xᵀ`, so one SGEMM
//! with the operands swapped and `m`, `n` exchanged computes it, the flags as they are (as
//! candle's `gemm_config`).

use super::elementwise;
use crate::device::{KernelDevice, Sgemm};
use crate::tensor::{self, AdResult, Tensor, check_shape};

/// `c ← op(a) · op(b) + beta · c`, writing `c`'s buffer in place (copied first if shared).
fn gemm_into<D: KernelDevice>(
    dev: &D,
    c: &mut Tensor<D>,
    (a, transpose_a): (&Tensor<D>, bool),
    (b, transpose_b): (&Tensor<D>, bool),
    beta: f32,
) -> AdResult<()> {
    let (m, ka) = if transpose_a { (a.cols, a.rows) } else { (a.rows, a.cols) };
    let (kb, n) = if transpose_b { (b.cols, b.rows) } else { (b.rows, b.cols) };
    if ka != kb {
        return Err(hagcn_autodiff::Error::Shape { op: "matmul", left: (m, ka), right: (kb, n) });
    }
    check_shape("matmul (accumulator)", c, (m, n))?;
    if m == 0 || n == 0 {
        return Ok(());
    }
    let gemm = Sgemm { transa: transpose_b, transb: transpose_a, m: n, n: m, k: ka, alpha: 1.0, beta };
    let c_buf = tensor::unique(dev, c)?;
    dev.sgemm(gemm, &b.buf, &a.buf, c_buf)?;
    Ok(())
}

/// `op(a) · op(b)`.
pub(crate) fn matmul<D: KernelDevice>(
    dev: &D,
    a: &Tensor<D>,
    transpose_a: bool,
    b: &Tensor<D>,
    transpose_b: bool,
) -> AdResult<Tensor<D>> {
    let m = if transpose_a { a.cols } else { a.rows };
    let n = if transpose_b { b.rows } else { b.cols };
    let mut c = tensor::zeros(dev, m, n)?;
    gemm_into(dev, &mut c, (a, transpose_a), (b, transpose_b), 0.0)?;
    Ok(c)
}

/// `acc ← acc + op(a) · op(b)`: one SGEMM with β = 1.
pub(crate) fn matmul_acc<D: KernelDevice>(
    dev: &D,
    acc: &mut Tensor<D>,
    a: &Tensor<D>,
    transpose_a: bool,
    b: &Tensor<D>,
    transpose_b: bool,
) -> AdResult<()> {
    gemm_into(dev, acc, (a, transpose_a), (b, transpose_b), 1.0)
}

/// `x wᵀ + b`: the bias broadcast over rows, then one SGEMM with β = 1, as `CpuBackend`.
pub(crate) fn linear<D: KernelDevice>(dev: &D, x: &Tensor<D>, w: &Tensor<D>, b: &Tensor<D>) -> AdResult<Tensor<D>> {
    check_shape("linear (bias)", b, (1, w.rows))?;
    let mut c = elementwise::broadcast_row(dev, b, x.rows)?;
    gemm_into(dev, &mut c, (x, false), (w, true), 1.0)?;
    Ok(c)
}
