//! Elementwise maps on the host, on the rayon thread pool for large arrays: what the host
//! kernels of the elementwise ops, the activations and the Gram backward are made of.

use ndarray::{Array2, ArrayView2, Zip};

use crate::Element;

/// Elementwise kernels on at least this many entries run on the rayon thread pool. The
/// kernels vectorise and are memory-bound, so only very large matrices gain from threads
/// (and below this size the pool would compete with OpenBLAS's own threads).
pub(crate) const PAR_MIN_LEN: usize = 1 << 21;

/// `f` applied to every entry of `a`, in parallel for large arrays.
pub(crate) fn map1<E: Element>(a: ArrayView2<E>, f: impl Fn(E) -> E + Sync + Send) -> Array2<E> {
    let zip = Zip::from(&a);
    if a.len() >= PAR_MIN_LEN { zip.par_map_collect(|&x| f(x)) } else { zip.map_collect(|&x| f(x)) }
}

/// `f` applied to every pair of entries of `a` and `b`, in parallel for large arrays.
pub(crate) fn map2<E: Element>(a: ArrayView2<E>, b: ArrayView2<E>, f: impl Fn(E, E) -> E + Sync + Send) -> Array2<E> {
    let zip = Zip::from(&a).and(&b);
    if a.len() >= PAR_MIN_LEN { zip.par_map_collect(|&x, &y| f(x, y)) } else { zip.map_collect(|&x, &y| f(x, y)) }
}
