//! Host math of the elementwise ops and reductions, as `CpuBackend` runs them (large arrays on
//! rayon through `ops/par.rs`).

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, Zip};

use crate::Element;
use crate::ops::par::{PAR_MIN_LEN, map1, map2};

/// `a + b`.
pub(crate) fn add<E: Element>(a: ArrayView2<E>, b: ArrayView2<E>) -> Array2<E> {
    map2(a, b, |x, y| x + y)
}

/// `acc ← acc + b` in place (gradient accumulation).
pub(crate) fn add_assign<E: Element>(acc: ArrayViewMut2<E>, b: ArrayView2<E>) {
    let zip = Zip::from(acc).and(&b);
    if b.len() >= PAR_MIN_LEN {
        zip.par_for_each(|x, &y| *x = *x + y);
    } else {
        zip.for_each(|x, &y| *x = *x + y);
    }
}

/// `a − b`.
pub(crate) fn sub<E: Element>(a: ArrayView2<E>, b: ArrayView2<E>) -> Array2<E> {
    map2(a, b, |x, y| x - y)
}

/// `a ⊙ b`.
pub(crate) fn mul<E: Element>(a: ArrayView2<E>, b: ArrayView2<E>) -> Array2<E> {
    map2(a, b, |x, y| x * y)
}

/// `scale · a + shift`, computed as `a · scale + shift`.
pub(crate) fn affine<E: Element>(a: ArrayView2<E>, scale: E, shift: E) -> Array2<E> {
    map1(a, |x| x * scale + shift)
}

/// The `1 × cols` row `row` added to every row of `a`.
pub(crate) fn add_row<E: Element>(a: ArrayView2<E>, row: ArrayView2<E>) -> Array2<E> {
    let row = row.broadcast(a.dim()).expect("the graph checked the shapes");
    Zip::from(&a).and(&row).map_collect(|&x, &b| x + b)
}

/// Column sums, as a `1 × cols` row (rows added in order).
pub(crate) fn sum_rows<E: Element>(a: ArrayView2<E>) -> Array2<E> {
    a.sum_axis(Axis(0)).insert_axis(Axis(0))
}

/// The sum of all entries, as `1 × 1`.
pub(crate) fn sum<E: Element>(a: ArrayView2<E>) -> Array2<E> {
    Array2::from_elem((1, 1), a.sum())
}

/// `rows × cols` entries `s · scale` for the `1 × 1` matrix `s`.
pub(crate) fn broadcast_scalar<E: Element>(s: ArrayView2<E>, rows: usize, cols: usize, scale: E) -> Array2<E> {
    Array2::from_elem((rows, cols), s[[0, 0]] * scale)
}

/// `s · a` for the `1 × 1` matrix `s`.
pub(crate) fn scale_by<E: Element>(a: ArrayView2<E>, s: ArrayView2<E>) -> Array2<E> {
    let s = s[[0, 0]];
    map1(a, |x| x * s)
}

/// `√a`.
pub(crate) fn sqrt<E: Element>(a: ArrayView2<E>) -> Array2<E> {
    map1(a, |x| x.sqrt())
}

/// `1 / a`.
pub(crate) fn recip<E: Element>(a: ArrayView2<E>) -> Array2<E> {
    map1(a, |x| x.recip())
}
