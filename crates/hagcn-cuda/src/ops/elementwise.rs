//! Elementwise arithmetic, row and scalar broadcasts, column sums, and the strided block copy
//! that every slice and concatenation is made of (`kernels/elementwise.cu`), each rounding
//! exactly as `CpuBackend`.

use super::{binary, flat, int, run, unary};
use crate::device::{Buffer, KernelDevice};
use crate::error::Result;
use crate::kernels::elementwise as k;
use crate::tensor::{self, AdResult, DeviceTensor, Tensor, check_shape};

/// A `rows × cols` tensor of `value`.
pub(crate) fn full<D: KernelDevice>(dev: &D, rows: usize, cols: usize, value: f32) -> AdResult<Tensor<D>> {
    let n = rows * cols;
    let mut out = tensor::alloc(dev, n)?;
    // SAFETY: out holds n entries.
    unsafe { run(dev, n, &k::FILL_F32, flat(n), (&mut out, int(n, "entries")?, value)) }?;
    Ok(DeviceTensor::new(rows, cols, out))
}

/// `a + b`.
pub(crate) fn add<D: KernelDevice>(dev: &D, a: &Tensor<D>, b: &Tensor<D>) -> AdResult<Tensor<D>> {
    binary(dev, &k::ADD_F32, a, b)
}

/// `a − b`.
pub(crate) fn sub<D: KernelDevice>(dev: &D, a: &Tensor<D>, b: &Tensor<D>) -> AdResult<Tensor<D>> {
    binary(dev, &k::SUB_F32, a, b)
}

/// `a ⊙ b`.
pub(crate) fn mul<D: KernelDevice>(dev: &D, a: &Tensor<D>, b: &Tensor<D>) -> AdResult<Tensor<D>> {
    binary(dev, &k::MUL_F32, a, b)
}

/// `a · scale + shift`.
pub(crate) fn affine<D: KernelDevice>(dev: &D, a: &Tensor<D>, scale: f32, shift: f32) -> AdResult<Tensor<D>> {
    let n = a.len();
    let mut out = tensor::alloc(dev, n)?;
    // SAFETY: a and out hold n entries.
    unsafe { run(dev, n, &k::AFFINE_F32, flat(n), (&*a.buf, &mut out, int(n, "entries")?, scale, shift)) }?;
    Ok(DeviceTensor::new(a.rows, a.cols, out))
}

/// `a` plus the `1 × cols` `row` on every row (a bias).
pub(crate) fn add_row<D: KernelDevice>(dev: &D, a: &Tensor<D>, row: &Tensor<D>) -> AdResult<Tensor<D>> {
    check_shape("add_row", row, (1, a.cols))?;
    let n = a.len();
    let mut out = tensor::alloc(dev, n)?;
    let args = (&*a.buf, &*row.buf, &mut out, int(a.rows, "rows")?, int(a.cols, "cols")?);
    // SAFETY: a and out hold rows × cols entries, row cols.
    unsafe { run(dev, n, &k::ADD_ROW_F32, flat(n), args) }?;
    Ok(DeviceTensor::new(a.rows, a.cols, out))
}

/// The `1 × cols` `row` repeated on `rows` rows (the C of `linear`'s GEMM with β = 1).
pub(crate) fn broadcast_row<D: KernelDevice>(dev: &D, row: &Tensor<D>, rows: usize) -> AdResult<Tensor<D>> {
    let cols = row.cols;
    let n = rows * cols;
    let mut out = tensor::alloc(dev, n)?;
    // SAFETY: row holds cols entries, out rows × cols.
    unsafe {
        run(dev, n, &k::BROADCAST_ROW_F32, flat(n), (&*row.buf, &mut out, int(rows, "rows")?, int(cols, "cols")?))
    }?;
    Ok(DeviceTensor::new(rows, cols, out))
}

/// The column sums `1 × cols`, rows added in order (one thread per column).
pub(crate) fn sum_rows<D: KernelDevice>(dev: &D, a: &Tensor<D>) -> AdResult<Tensor<D>> {
    let mut out = tensor::alloc(dev, a.cols)?;
    let args = (&*a.buf, &mut out, int(a.rows, "rows")?, int(a.cols, "cols")?);
    // SAFETY: a holds rows × cols entries, out cols.
    unsafe { run(dev, a.cols, &k::SUM_ROWS_F32, flat(a.cols), args) }?;
    Ok(DeviceTensor::new(1, a.cols, out))
}

/// `rows × cols` copies of the `1 × 1` `s` times `scale`.
pub(crate) fn broadcast_scalar<D: KernelDevice>(
    dev: &D,
    s: &Tensor<D>,
    rows: usize,
    cols: usize,
    scale: f32,
) -> AdResult<Tensor<D>> {
    check_shape("broadcast_scalar", s, (1, 1))?;
    let n = rows * cols;
    let mut out = tensor::alloc(dev, n)?;
    // SAFETY: s holds one entry, out n.
    unsafe { run(dev, n, &k::BROADCAST_SCALAR_F32, flat(n), (&*s.buf, &mut out, int(n, "entries")?, scale)) }?;
    Ok(DeviceTensor::new(rows, cols, out))
}

/// `a` times the `1 × 1` `s`.
pub(crate) fn scale_by<D: KernelDevice>(dev: &D, a: &Tensor<D>, s: &Tensor<D>) -> AdResult<Tensor<D>> {
    check_shape("scale_by", s, (1, 1))?;
    let n = a.len();
    let mut out = tensor::alloc(dev, n)?;
    // SAFETY: a and out hold n entries, s one.
    unsafe { run(dev, n, &k::SCALE_BY_F32, flat(n), (&*a.buf, &*s.buf, &mut out, int(n, "entries")?)) }?;
    Ok(DeviceTensor::new(a.rows, a.cols, out))
}

/// `√a`, correctly rounded.
pub(crate) fn sqrt<D: KernelDevice>(dev: &D, a: &Tensor<D>) -> AdResult<Tensor<D>> {
    unary(dev, &k::SQRT_F32, a)
}

/// `1 / a`.
pub(crate) fn recip<D: KernelDevice>(dev: &D, a: &Tensor<D>) -> AdResult<Tensor<D>> {
    unary(dev, &k::RECIP_F32, a)
}

/// Copies the `rows × cols` block at column `src_col` of `src` (row length `src_ld`) to column
/// `dst_col` of `dst` (row length `dst_ld`).
fn copy_block<D: KernelDevice>(
    dev: &D,
    src: &Buffer<D, f32>,
    dst: &mut Buffer<D, f32>,
    (rows, cols): (usize, usize),
    (src_ld, src_col): (usize, usize),
    (dst_ld, dst_col): (usize, usize),
) -> Result<()> {
    let n = rows * cols;
    let args = (
        src,
        dst,
        int(rows, "rows")?,
        int(cols, "cols")?,
        int(src_ld, "row length")?,
        int(src_col, "offset")?,
        int(dst_ld, "row length")?,
        int(dst_col, "offset")?,
    );
    // SAFETY: the callers pass blocks inside both matrices (checked against the shapes).
    unsafe { run(dev, n, &k::COPY_BLOCK_F32, flat(n), args) }
}

/// Columns `start .. start + len` of `a`.
pub(crate) fn slice_cols<D: KernelDevice>(dev: &D, a: &Tensor<D>, start: usize, len: usize) -> AdResult<Tensor<D>> {
    if start + len > a.cols {
        return Err(hagcn_autodiff::Error::Shape { op: "slice_cols", left: a.shape(), right: (a.rows, start + len) });
    }
    let mut out = tensor::alloc(dev, a.rows * len)?;
    copy_block(dev, &a.buf, &mut out, (a.rows, len), (a.cols, start), (len, 0))?;
    Ok(DeviceTensor::new(a.rows, len, out))
}

/// `a` as columns `start ..` of a `rows × total` tensor of zeros.
pub(crate) fn embed_cols<D: KernelDevice>(dev: &D, a: &Tensor<D>, total: usize, start: usize) -> AdResult<Tensor<D>> {
    if start + a.cols > total {
        return Err(hagcn_autodiff::Error::Shape { op: "embed_cols", left: a.shape(), right: (a.rows, total) });
    }
    let mut out = tensor::alloc(dev, a.rows * total)?;
    copy_block(dev, &a.buf, &mut out, a.shape(), (a.cols, 0), (total, start))?;
    Ok(DeviceTensor::new(a.rows, total, out))
}

/// `parts` side by side.
pub(crate) fn concat_cols<D: KernelDevice>(dev: &D, parts: &[&Tensor<D>]) -> AdResult<Tensor<D>> {
    let rows = parts.first().map_or(0, |p| p.rows);
    let total = parts.iter().map(|p| p.cols).sum();
    let mut out = tensor::alloc(dev, rows * total)?;
    let mut start = 0;
    for p in parts {
        check_shape("concat_cols", p, (rows, p.cols))?;
        copy_block(dev, &p.buf, &mut out, p.shape(), (p.cols, 0), (total, start))?;
        start += p.cols;
    }
    Ok(DeviceTensor::new(rows, total, out))
}

/// Rows `start .. start + len` of `a`.
pub(crate) fn slice_rows<D: KernelDevice>(dev: &D, a: &Tensor<D>, start: usize, len: usize) -> AdResult<Tensor<D>> {
    if start + len > a.rows {
        return Err(hagcn_autodiff::Error::Shape { op: "slice_rows", left: a.shape(), right: (start + len, a.cols) });
    }
    let mut out = tensor::alloc(dev, len * a.cols)?;
    copy_block(dev, &a.buf, &mut out, (len, a.cols), (a.cols, start * a.cols), (a.cols, 0))?;
    Ok(DeviceTensor::new(len, a.cols, out))
}

/// `parts` one below the other.
pub(crate) fn concat_rows<D: KernelDevice>(dev: &D, parts: &[&Tensor<D>]) -> AdResult<Tensor<D>> {
    let cols = parts.first().map_or(0, |p| p.cols);
    let total = parts.iter().map(|p| p.rows).sum();
    let mut out = tensor::alloc(dev, total * cols)?;
    let mut start = 0;
    for p in parts {
        check_shape("concat_rows", p, (p.rows, cols))?;
        copy_block(dev, &p.buf, &mut out, p.shape(), (cols, 0), (cols, start * cols))?;
        start += p.rows;
    }
    Ok(DeviceTensor::new(total, cols, out))
}
