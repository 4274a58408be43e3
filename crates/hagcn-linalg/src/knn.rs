//! k-nearest-neighbour graphs of a set of rows, and the nearest rows of a set for new points.
//!
//! # Metrics and order
//!
//! For rows `a`, `b` of an `n × d` matrix (`f32`):
//!
//! ```text
//! Cosine:     s(a, b) = a·b / (‖a‖ ‖b‖)           larger is closer
//! Euclidean:  d(a, b) = ‖a − b‖ = √(‖a‖² + ‖b‖² − 2 a·b)   smaller is closer
//! ```
//!
//! Row `i` of a [`KnnGraph`] lists the `k` rows closest to row `i`, best first, with their
//! similarity or distance; equal values are ordered by lower row index, so the result is a
//! function of the data alone. The graph of a set leaves each row out of its own list (by
//! index: a duplicate of row `i` is a neighbour of `i` at distance 0). Queries
//! ([`knn_query_exact`]) list, for each new point, the `k` closest rows of the set.
//!
//! # Exact search: blocked GEMM and a bounded top-k
//!
//! Both metrics reduce to inner products. Cosine normalises the rows first
//! (`â = a / ‖a‖`, the norm in `f64`), so that `s(a, b) = â·b̂`; Euclidean ranks by
//!
//! ```text
//! key(a, b) = −d(a, b)² = 2 a·b − ‖a‖² − ‖b‖²        (‖·‖² in f64, rounded to f32)
//! ```
//!
//! The rows are cut into blocks of [`EXACT_BLOCK_ROWS`] and, for two blocks `I`, `J`, one
//! `f32` GEMM (`ndarray::linalg::general_mat_mul`, BLAS `sgemm` when the binary links one)
//! gives the tile of keys `X_I X_Jᵀ`. Each row keeps its best `k` (key, index) pairs in a
//! bounded heap whose root is its worst; a new key is compared with the root (one comparison
//! for almost every entry of a tile) and replaces it only when better. The graph of a set uses
//! the symmetry `key(a, b) = key(b, a)`: only tiles with `I ≤ J` are computed, each offered
//! to the rows of `I` (along its rows) and of `J` (along its columns), which halves the GEMM
//! work. Tiles run in parallel on rayon; a block's heaps sit behind a lock.
//!
//! **Determinism.** The order `(key, index)`, keys descending and indices ascending, is a
//! strict total order on the candidates of a row, so the `k` best of them are the same set
//! whatever order they arrive in. Each key comes from one GEMM tile whose shape and inputs
//! depend only on the data and the fixed block size, not on the thread count or on which
//! worker ran it (OpenBLAS splits a product along its rows and columns, never the inner
//! dimension, so its own thread count does not change an entry either; both are tested). The
//! graph is therefore identical for any number of rayon or BLAS threads on a given machine
//! and BLAS build.
//!
//! **Reported values.** Once the `k` neighbours of a row are chosen, their similarity or
//! distance is recomputed in `f64` from the input rows (`a·b / (‖a‖‖b‖)`, clamped to
//! `[−1, 1]`, or `√Σ(a − b)²`), rounded to `f32`, and the list is sorted by it (ties by
//! index). Duplicates thus report exactly distance `0` or similarity `1`, and near neighbours
//! keep their digits, which the GEMM form `‖a‖² + ‖b‖² − 2 a·b` loses to cancellation.
//!
//! **Exactness.** The selection uses the `f32` GEMM keys, whose rounding error is about
//! `d · ε_f32 · ‖a‖ ‖b‖`. Against an `f64` brute force, two candidates whose true values
//! differ by less than that may trade places at the `k`-th position; on data whose products
//! are exact in `f32` (small integers, for example) the result is exactly the brute force's.
//!
//! **Cost.** About `n² d / 2` multiply–adds for a graph (the tiles with `I ≤ J`), `m n d` for
//! `m` queries, plus `O(n²)` comparisons and `O(n k d)` for the reported values. Memory: one
//! `EXACT_BLOCK_ROWS²` tile of `f32` per worker (1 MiB), the `n × k` heaps, and a copy of the
//! data when it is normalised (cosine) or not in row-major order; never `n × n`.
//! [`knn_graph_gemm_floor`] runs the same block products without the selection, the floor a
//! benchmark compares the build against.
//!
//! # Approximate search and the automatic choice
//!
//! [`knn_graph_nn_descent`](crate::knn_graph_nn_descent) builds the graph by
//! NN-descent in empirically about `O(n^1.14 d)` (Dong et al.); [`knn_graph`](crate::knn_graph)
//! (in [`nn_descent`](crate::nn_descent)) picks the exact build up to [`EXACT_MAX_ROWS`] rows and
//! NN-descent above.
//!
//! # Errors
//!
//! All entry points return [`Error`] instead of panicking: an empty input (no rows or no
//! columns), `k` outside `1..=n − 1` (graph) or `1..=n` (queries)
//! ([`Error::InvalidNeighborCount`]), more than `u32::MAX` rows, and [`Error::BadRow`] for
//! the first row holding NaN or infinity, a zero row under [`Metric::Cosine`] (its direction,
//! hence its cosine, is undefined; remove it or use [`Metric::Euclidean`]), or a row whose
//! squared norm exceeds `f32::MAX / 4` under [`Metric::Euclidean`] (its `f32` keys could
//! overflow; rescale the data). Queries whose width differs from the data's are an
//! [`Error::ShapeMismatch`].
//!
//! ```
//! # extern crate openblas_src;
//! use hagcn_linalg::{Metric, knn_graph_exact, knn_query_exact};
//! use ndarray::array;
//!
//! let x = array![[0.0f32, 0.0], [1.0, 0.0], [0.0, 2.0], [1.0, 0.0]];
//! let g = knn_graph_exact(x.view(), 2, Metric::Euclidean).unwrap();
//! // Row 1's duplicate (row 3) is its nearest neighbour, at distance 0; then the origin.
//! assert_eq!(g.indices().row(1).to_vec(), vec![3, 0]);
//! assert_eq!(g.values().row(1).to_vec(), vec![0.0, 1.0]);
//! // Row 0 is equally far from rows 1 and 3: the lower index comes first.
//! assert_eq!(g.indices().row(0).to_vec(), vec![1, 3]);
//!
//! // The nearest training rows of a new point, by cosine similarity.
//! let q = array![[0.1f32, 1.0]];
//! let near = knn_query_exact(x.view(), q.view(), 1, Metric::Cosine);
//! // Row 0 is zero: its cosine is undefined, so the query is refused.
//! assert!(near.is_err());
//! let near = knn_query_exact(x.slice(ndarray::s![1.., ..]), q.view(), 1, Metric::Cosine).unwrap();
//! assert_eq!(near.indices()[[0, 0]], 1); // row 2 of x, the second of the slice
//! ```

use std::ops::Range;
use std::sync::{Mutex, PoisonError};

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewMut2, CowArray, Ix2, s};
use rayon::prelude::*;

use crate::{Error, Result};

/// Rows per block of the exact search: tiles are `EXACT_BLOCK_ROWS × EXACT_BLOCK_ROWS` keys
/// (1 MiB of `f32`) from one GEMM each.
///
/// Fixed (not derived from the thread count) so that every tile, hence every key, is the
/// same on any number of threads. 512 is the fastest of 256, 512 and 1024 for `sgemm` with
/// `d = 768` on two Zen 4 cores (OpenBLAS 0.3.21) and the tile fits in a 2 MiB L2 cache, where
/// the selection passes read it back.
pub const EXACT_BLOCK_ROWS: usize = 512;

/// The largest set [`knn_graph`](crate::knn_graph) builds exactly; above it, it runs NN-descent.
///
/// The exact build costs `n² d / 2` multiply–adds, NN-descent empirically about `n^1.14 d`
/// with a much larger constant. Measured in process CPU time on two Zen 4 cores (OpenBLAS
/// single-threaded under rayon, `d = 768`, `k = 10`, cosine, the overlapping clusters of
/// `benches/knn.rs`; NN-descent with the default options):
///
/// | rows | exact | NN-descent | its recall |
/// |---:|---:|---:|---:|
/// | 20,000 | 4.3 s | 6.7 s | 0.978 |
/// | 50,000 | 24 s | 20 s | 0.952 |
/// | 100,000 | 91 s | 40 s | 0.925 |
/// | 200,000 | 353 s | 89 s | 0.893 |
///
/// Up to 100,000 rows the exact graph costs at most about twice NN-descent's and loses no
/// neighbour (NN-descent with a pool of 40 gets 0.964 at 100,000 rows but then takes 61 s);
/// beyond, the quadratic cost pulls away (4× at 200,000 rows, and growing linearly with `n`).
/// At smaller `d` the exact build is relatively cheaper still (its per-pair cost is a GEMM's,
/// NN-descent's carries a fixed overhead), so the threshold errs towards NN-descent there.
pub const EXACT_MAX_ROWS: usize = 100_000;

/// How closeness between two rows is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Cosine similarity `a·b / (‖a‖ ‖b‖)`, in `[−1, 1]`; larger is closer. Zero rows are
    /// rejected.
    Cosine,
    /// Euclidean distance `‖a − b‖`; smaller is closer.
    Euclidean,
}

impl Metric {
    /// Whether a larger value means closer (`true` for [`Metric::Cosine`]).
    pub fn larger_is_closer(self) -> bool {
        matches!(self, Metric::Cosine)
    }
}

/// The `k` nearest rows of each of `n` points: `n × k` indices and their values, best first.
///
/// Row `i` holds the neighbours of point `i` (a row of the set for [`knn_graph_exact`] and
/// the other builders, a query for [`knn_query_exact`]), sorted by value, closest first, ties
/// by lower index. Values are cosine similarities or Euclidean distances according to
/// [`KnnGraph::metric`]; see the [module docs](self) for how they are computed.
#[derive(Clone, Debug, PartialEq)]
pub struct KnnGraph {
    metric: Metric,
    indices: Array2<u32>,
    values: Array2<f32>,
}

impl KnnGraph {
    /// The metric of the values.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// The number of points (rows of [`KnnGraph::indices`]).
    pub fn n_points(&self) -> usize {
        self.indices.nrows()
    }

    /// The number of neighbours per point.
    pub fn k(&self) -> usize {
        self.indices.ncols()
    }

    /// `n × k` row indices of the neighbours, closest first.
    pub fn indices(&self) -> ArrayView2<'_, u32> {
        self.indices.view()
    }

    /// `n × k` similarities ([`Metric::Cosine`]) or distances ([`Metric::Euclidean`]) of the
    /// neighbours in [`KnnGraph::indices`].
    pub fn values(&self) -> ArrayView2<'_, f32> {
        self.values.view()
    }

    /// The neighbours of point `i` and their values, or `None` when `i ≥ n`.
    pub fn neighbors(&self, i: usize) -> Option<(ArrayView1<'_, u32>, ArrayView1<'_, f32>)> {
        (i < self.n_points()).then(|| (self.indices.row(i), self.values.row(i)))
    }

    /// The indices and values, consumed.
    pub fn into_parts(self) -> (Array2<u32>, Array2<f32>) {
        (self.indices, self.values)
    }

    /// The recall of `self` against a reference graph of the same points: the fraction of the
    /// reference's (point, neighbour) pairs that `self` also lists, `Σ_i |N_i ∩ R_i| / (n k)`.
    ///
    /// Fails with [`Error::ShapeMismatch`] when the two graphs differ in `n` or `k`.
    pub fn recall(&self, reference: &KnnGraph) -> Result<f64> {
        if self.indices.dim() != reference.indices.dim() {
            return Err(Error::ShapeMismatch {
                op: "KnnGraph::recall",
                left: self.indices.dim(),
                right: reference.indices.dim(),
            });
        }
        let (n, k) = self.indices.dim();
        if n == 0 || k == 0 {
            return Ok(1.0);
        }
        let hits: usize = (0..n)
            .into_par_iter()
            .map(|i| {
                let mine = self.indices.row(i);
                reference.indices.row(i).iter().filter(|r| mine.iter().any(|m| m == *r)).count()
            })
            .sum();
        Ok(hits as f64 / (n * k) as f64)
    }
}

/// The `k`-nearest-neighbour graph of the rows of `data` (`n × d`), exactly: blocked GEMM and
/// a bounded top-k per row (see the [module docs](self)). A row is not its own neighbour.
///
/// Deterministic, and identical for any thread count. Fails on empty input, `k ∉ 1..=n − 1`
/// and bad rows (see [Errors](self#errors)).
pub fn knn_graph_exact(data: ArrayView2<f32>, k: usize, metric: Metric) -> Result<KnnGraph> {
    const OP: &str = "knn_graph_exact";
    let rows = Prepared::new(OP, data, metric)?;
    let n = rows.n();
    check_k(OP, k, n - 1)?;
    let n_blocks = n.div_ceil(EXACT_BLOCK_ROWS);
    let blocks: Vec<Mutex<BlockTopK>> =
        (0..n_blocks).map(|b| Mutex::new(BlockTopK::new(block(b, n).len(), k))).collect();
    let pairs: Vec<(usize, usize)> = (0..n_blocks).flat_map(|i| (i..n_blocks).map(move |j| (i, j))).collect();
    pairs.into_par_iter().for_each_init(Vec::new, |buf, (bi, bj)| {
        let (ri, rj) = (block(bi, n), block(bj, n));
        let cols = rj.len();
        let tile = tile_keys(&rows, ri.clone(), &rows, rj.clone(), buf);
        lock(&blocks[bi]).offer_rows(tile, cols, rj.start as u32, bi == bj);
        if bi != bj {
            lock(&blocks[bj]).offer_columns(tile, cols, ri.start as u32);
        }
    });
    let candidates = blocks.into_iter().map(|b| b.into_inner().unwrap_or_else(PoisonError::into_inner)).collect();
    Ok(finish(&rows, &rows, k, candidates))
}

/// The `k` nearest rows of `data` (`n × d`) to each row of `queries` (`m × d`), exactly, by
/// the same blocked GEMM and bounded top-k as [`knn_graph_exact`]: row `q` of the result lists
/// rows of `data`. For encoding new points against an indexed training set.
///
/// Deterministic, and identical for any thread count. Fails on empty input, `k ∉ 1..=n`,
/// bad rows in either matrix, and queries of another width ([`Error::ShapeMismatch`]).
pub fn knn_query_exact(data: ArrayView2<f32>, queries: ArrayView2<f32>, k: usize, metric: Metric) -> Result<KnnGraph> {
    const OP: &str = "knn_query_exact";
    if data.ncols() != queries.ncols() {
        return Err(Error::ShapeMismatch { op: OP, left: data.dim(), right: queries.dim() });
    }
    let rows = Prepared::new(OP, data, metric)?;
    let new = Prepared::new(OP, queries, metric)?;
    check_k(OP, k, rows.n())?;
    let (m, n) = (new.n(), rows.n());
    let (m_blocks, n_blocks) = (m.div_ceil(EXACT_BLOCK_ROWS), n.div_ceil(EXACT_BLOCK_ROWS));
    let blocks: Vec<Mutex<BlockTopK>> =
        (0..m_blocks).map(|b| Mutex::new(BlockTopK::new(block(b, m).len(), k))).collect();
    let pairs: Vec<(usize, usize)> = (0..m_blocks).flat_map(|i| (0..n_blocks).map(move |j| (i, j))).collect();
    pairs.into_par_iter().for_each_init(Vec::new, |buf, (bi, bj)| {
        let rj = block(bj, n);
        let cols = rj.len();
        let tile = tile_keys(&new, block(bi, m), &rows, rj.clone(), buf);
        lock(&blocks[bi]).offer_rows(tile, cols, rj.start as u32, false);
    });
    let candidates = blocks.into_iter().map(|b| b.into_inner().unwrap_or_else(PoisonError::into_inner)).collect();
    Ok(finish(&new, &rows, k, candidates))
}

/// The block products of [`knn_graph_exact`] on `data` with no selection: the same tiles
/// `X_I X_Jᵀ` (`I ≤ J`, [`EXACT_BLOCK_ROWS`] rows each) from the same parallel loop, each
/// product written to a per-worker buffer and dropped. This is the floor a benchmark compares
/// the exact build against; it returns a checksum (the sum of each tile's first entry, in
/// `f64`) so that the work cannot be optimised away.
///
/// Fails on empty or non-finite input.
pub fn knn_graph_gemm_floor(data: ArrayView2<f32>) -> Result<f64> {
    const OP: &str = "knn_graph_gemm_floor";
    check_shape(OP, data)?;
    if !data.iter().all(|x| x.is_finite()) {
        return Err(Error::NonFinite { op: OP });
    }
    let x = data.as_standard_layout();
    let n = x.nrows();
    let n_blocks = n.div_ceil(EXACT_BLOCK_ROWS);
    let pairs: Vec<(usize, usize)> = (0..n_blocks).flat_map(|i| (i..n_blocks).map(move |j| (i, j))).collect();
    Ok(pairs
        .into_par_iter()
        .map_init(Vec::new, |buf: &mut Vec<f32>, (bi, bj)| {
            let (ri, rj) = (block(bi, n), block(bj, n));
            let tile = gemm_tile(x.slice(s![ri, ..]), x.slice(s![rj, ..]), 1.0, buf);
            f64::from(tile.first().copied().unwrap_or(0.0))
        })
        .sum())
}

/// Rows `b·B .. min((b + 1)·B, n)` of block `b`.
fn block(b: usize, n: usize) -> Range<usize> {
    b * EXACT_BLOCK_ROWS..((b + 1) * EXACT_BLOCK_ROWS).min(n)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The critical sections cannot panic, but a poisoned lock still holds consistent heaps.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `alpha · A Bᵀ` for row-major `A` (`r × d`) and `B` (`c × d`), written to the first
/// `r · c` entries of `buf` (grown as needed) in row-major order.
fn gemm_tile<'b>(a: ArrayView2<f32>, b: ArrayView2<f32>, alpha: f32, buf: &'b mut Vec<f32>) -> &'b mut [f32] {
    let (r, c) = (a.nrows(), b.nrows());
    if buf.len() < r * c {
        buf.resize(r * c, 0.0);
    }
    let tile = &mut buf[..r * c];
    // The slice holds exactly r·c entries, so the shape always fits.
    let mut out = ArrayViewMut2::from_shape((r, c), &mut *tile).expect("tile buffer holds r × c entries");
    general_mat_mul(alpha, &a, &b.t(), 0.0, &mut out);
    tile
}

/// The selection keys of left rows `ri` against right rows `rj` (see the module docs),
/// `ri.len() × rj.len()` row-major in `buf`.
fn tile_keys<'b>(
    left: &Prepared,
    ri: Range<usize>,
    right: &Prepared,
    rj: Range<usize>,
    buf: &'b mut Vec<f32>,
) -> &'b [f32] {
    let a = left.rows.slice(s![ri.clone(), ..]);
    let b = right.rows.slice(s![rj.clone(), ..]);
    match left.metric {
        Metric::Cosine => gemm_tile(a, b, 1.0, buf),
        Metric::Euclidean => {
            let cols = rj.len();
            let tile = gemm_tile(a, b, 2.0, buf);
            let (ln, rn) = (&left.sq_norms[ri], &right.sq_norms[rj]);
            for (row, &l) in tile.chunks_exact_mut(cols).zip(ln) {
                for (key, &r) in row.iter_mut().zip(rn) {
                    *key = *key - l - r;
                }
            }
            tile
        }
    }
}

fn check_shape(op: &'static str, data: ArrayView2<f32>) -> Result<()> {
    let (n, d) = data.dim();
    if n == 0 {
        return Err(Error::InvalidArgument { op, reason: "the input has no rows".into() });
    }
    if d == 0 {
        return Err(Error::InvalidArgument { op, reason: "the rows have no columns".into() });
    }
    if u32::try_from(n).is_err() {
        return Err(Error::InvalidArgument { op, reason: format!("{n} rows do not fit u32 indices") });
    }
    Ok(())
}

pub(crate) fn check_k(op: &'static str, k: usize, available: usize) -> Result<()> {
    if k == 0 || k > available {
        return Err(Error::InvalidNeighborCount { op, k, available });
    }
    Ok(())
}

/// The largest squared norm a Euclidean row may have: with `‖a‖², ‖b‖² ≤ f32::MAX / 4`, the
/// keys `2 a·b − ‖a‖² − ‖b‖²` and every partial sum of the GEMM stay finite.
const MAX_SQ_NORM: f64 = f32::MAX as f64 / 4.0;

/// Checked rows in the form the searches use.
pub(crate) struct Prepared<'a> {
    pub(crate) metric: Metric,
    /// The input, for the reported values.
    original: ArrayView2<'a, f32>,
    /// Row-major rows the keys are computed from: normalised for cosine, the input otherwise.
    pub(crate) rows: CowArray<'a, f32, Ix2>,
    /// `‖x‖²` rounded to `f32` (Euclidean only).
    pub(crate) sq_norms: Vec<f32>,
    /// `‖x‖` in `f64` (cosine only).
    norms: Vec<f64>,
}

impl<'a> Prepared<'a> {
    /// Validates `data` for `metric` and prepares its rows (see the module's Errors section).
    pub(crate) fn new(op: &'static str, data: ArrayView2<'a, f32>, metric: Metric) -> Result<Self> {
        check_shape(op, data)?;
        let sq: Vec<f64> = (0..data.nrows())
            .into_par_iter()
            .map(|i| data.row(i).iter().map(|&x| f64::from(x) * f64::from(x)).sum())
            .collect();
        // A finite f32 squares to a finite f64, so a non-finite sum means a non-finite entry.
        let bad = sq.par_iter().position_first(|&s| {
            !s.is_finite()
                || match metric {
                    Metric::Cosine => s == 0.0,
                    Metric::Euclidean => s > MAX_SQ_NORM,
                }
        });
        if let Some(row) = bad {
            let reason = if !sq[row].is_finite() {
                "holds NaN or infinity"
            } else if metric == Metric::Cosine {
                "is zero, so its cosine similarity to anything is undefined"
            } else {
                "has a squared norm above f32::MAX / 4, where f32 distances may overflow; rescale the data"
            };
            return Err(Error::BadRow { op, row, reason });
        }
        Ok(match metric {
            Metric::Cosine => {
                let norms: Vec<f64> = sq.into_iter().map(f64::sqrt).collect();
                let mut rows = Array2::zeros(data.dim());
                rows.axis_iter_mut(ndarray::Axis(0)).into_par_iter().zip(&norms).enumerate().for_each(
                    |(i, (mut out, &norm))| {
                        for (o, &x) in out.iter_mut().zip(data.row(i)) {
                            *o = (f64::from(x) / norm) as f32;
                        }
                    },
                );
                Prepared { metric, original: data, rows: CowArray::from(rows), sq_norms: Vec::new(), norms }
            }
            Metric::Euclidean => Prepared {
                metric,
                original: data,
                rows: if data.is_standard_layout() {
                    CowArray::from(data)
                } else {
                    CowArray::from(data.as_standard_layout().into_owned())
                },
                sq_norms: sq.into_iter().map(|s| s as f32).collect(),
                norms: Vec::new(),
            },
        })
    }

    /// The number of rows.
    pub(crate) fn n(&self) -> usize {
        self.rows.nrows()
    }

    /// The reported value between row `i` of `self` and row `j` of `other`, in `f64` from the
    /// input rows, rounded to `f32` (see the module docs).
    fn value(&self, i: usize, other: &Prepared, j: usize) -> f32 {
        let (a, b) = (self.original.row(i), other.original.row(j));
        match self.metric {
            Metric::Cosine => {
                let dot: f64 = a.iter().zip(b).map(|(&x, &y)| f64::from(x) * f64::from(y)).sum();
                (dot / (self.norms[i] * other.norms[j])).clamp(-1.0, 1.0) as f32
            }
            Metric::Euclidean => {
                let sq: f64 = a.iter().zip(b).map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2)).sum();
                sq.sqrt() as f32
            }
        }
    }
}

/// Whether candidate `(key_a, a)` ranks before `(key_b, b)`: larger key, then lower index.
#[inline]
pub(crate) fn better(key_a: f32, a: u32, key_b: f32, b: u32) -> bool {
    key_a > key_b || (key_a == key_b && a < b)
}

/// A candidate neighbour in a bounded heap: a selection key (larger is closer) and a row
/// index, ranked by [`better`].
pub(crate) trait Ranked: Copy {
    /// The selection key.
    fn key(&self) -> f32;
    /// The row index.
    fn id(&self) -> u32;
}

/// One candidate neighbour of the exact search.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Candidate {
    pub(crate) key: f32,
    pub(crate) id: u32,
}

impl Ranked for Candidate {
    #[inline]
    fn key(&self) -> f32 {
        self.key
    }
    #[inline]
    fn id(&self) -> u32 {
        self.id
    }
}

#[inline]
fn ranks_before<T: Ranked>(a: &T, b: &T) -> bool {
    better(a.key(), a.id(), b.key(), b.id())
}

/// Restores the heap order (the worst candidate at the root) after `heap[i]` got better.
fn sift_down<T: Ranked>(heap: &mut [T], mut i: usize) {
    let len = heap.len();
    loop {
        let (l, r) = (2 * i + 1, 2 * i + 2);
        let mut worst = i;
        if l < len && ranks_before(&heap[worst], &heap[l]) {
            worst = l;
        }
        if r < len && ranks_before(&heap[worst], &heap[r]) {
            worst = r;
        }
        if worst == i {
            return;
        }
        heap.swap(i, worst);
        i = worst;
    }
}

/// Restores the heap order after appending `heap[i]`.
fn sift_up<T: Ranked>(heap: &mut [T], mut i: usize) {
    while i > 0 {
        let parent = (i - 1) / 2;
        if !ranks_before(&heap[parent], &heap[i]) {
            return;
        }
        heap.swap(i, parent);
        i = parent;
    }
}

/// Offers `c` to the bounded heap `heap[..*len]` of capacity `heap.len()` (worst at the
/// root); returns the new threshold (the root's key once full, `−∞` before). The caller
/// guarantees that `c.id()` is not in the heap.
#[inline]
pub(crate) fn offer<T: Ranked>(heap: &mut [T], len: &mut usize, c: T) -> f32 {
    let k = heap.len();
    if *len < k {
        heap[*len] = c;
        sift_up(&mut heap[..=*len], *len);
        *len += 1;
        if *len < k {
            return f32::NEG_INFINITY;
        }
    } else if ranks_before(&c, &heap[0]) {
        heap[0] = c;
        sift_down(heap, 0);
    }
    heap[0].key()
}

/// Entries per chunk of a selection pass: a chunk whose keys all fall below the threshold(s)
/// is skipped after one vectorised test.
const CHUNK: usize = 16;

/// The bounded heaps of the rows of one block.
struct BlockTopK {
    k: usize,
    heaps: Vec<Candidate>,
    len: Vec<usize>,
    /// Per row, the key a candidate must reach to be considered: the root's once the heap is
    /// full, `−∞` before.
    threshold: Vec<f32>,
}

impl BlockTopK {
    fn new(rows: usize, k: usize) -> Self {
        BlockTopK {
            k,
            heaps: vec![Candidate { key: f32::NEG_INFINITY, id: u32::MAX }; rows * k],
            len: vec![0; rows],
            threshold: vec![f32::NEG_INFINITY; rows],
        }
    }

    #[inline]
    fn offer(&mut self, row: usize, c: Candidate) {
        let heap = &mut self.heaps[row * self.k..(row + 1) * self.k];
        self.threshold[row] = offer(heap, &mut self.len[row], c);
    }

    /// Offers each row of `tile` (`rows × cols`, column `c` is candidate `col0 + c`) to the
    /// heap of the same row of this block; `diagonal` skips entry `(r, r)` (a row itself).
    fn offer_rows(&mut self, tile: &[f32], cols: usize, col0: u32, diagonal: bool) {
        for (r, keys) in tile.chunks_exact(cols).enumerate() {
            let mut threshold = self.threshold[r];
            for (chunk_idx, chunk) in keys.chunks(CHUNK).enumerate() {
                if chunk.iter().fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m }) < threshold {
                    continue;
                }
                for (o, &key) in chunk.iter().enumerate() {
                    let c = chunk_idx * CHUNK + o;
                    if key >= threshold && !(diagonal && c == r) {
                        self.offer(r, Candidate { key, id: col0 + c as u32 });
                        threshold = self.threshold[r];
                    }
                }
            }
        }
    }

    /// Offers each column `c` of `tile` (`rows × cols`, row `r` is candidate `row0 + r`) to
    /// the heap of row `c` of this block.
    fn offer_columns(&mut self, tile: &[f32], cols: usize, row0: u32) {
        for (r, keys) in tile.chunks_exact(cols).enumerate() {
            for (chunk_idx, chunk) in keys.chunks(CHUNK).enumerate() {
                let base = chunk_idx * CHUNK;
                let thresholds = &self.threshold[base..base + chunk.len()];
                if !chunk.iter().zip(thresholds).fold(false, |any, (&x, &t)| any | (x >= t)) {
                    continue;
                }
                for (o, &key) in chunk.iter().enumerate() {
                    if key >= self.threshold[base + o] {
                        self.offer(base + o, Candidate { key, id: row0 + r as u32 });
                    }
                }
            }
        }
    }
}

/// The graph from the chosen candidates of every left row (`k` each, in blocks of rows):
/// values recomputed against the right rows, then sorted (see the module docs).
fn finish(left: &Prepared, right: &Prepared, k: usize, blocks: Vec<BlockTopK>) -> KnnGraph {
    let n = left.n();
    let chosen: Vec<Candidate> = blocks.into_iter().flat_map(|b| b.heaps).collect();
    debug_assert_eq!(chosen.len(), n * k);
    sorted_graph(left, right, k, &chosen)
}

/// Sorts `k` chosen candidates per left row by their recomputed value (ties by index).
pub(crate) fn sorted_graph(left: &Prepared, right: &Prepared, k: usize, chosen: &[Candidate]) -> KnnGraph {
    let n = left.n();
    let metric = left.metric;
    let mut indices = vec![0u32; n * k];
    let mut values = vec![0f32; n * k];
    indices.par_chunks_mut(k).zip(values.par_chunks_mut(k)).enumerate().for_each(|(i, (idx, val))| {
        let mut row: Vec<(f32, u32)> =
            chosen[i * k..(i + 1) * k].iter().map(|c| (left.value(i, right, c.id as usize), c.id)).collect();
        match metric {
            Metric::Cosine => row.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))),
            Metric::Euclidean => row.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))),
        }
        for ((v, j), (value, id)) in row.into_iter().zip(val.iter_mut().zip(idx.iter_mut())) {
            *value = v;
            *id = j;
        }
    });
    // Both vectors hold exactly n·k entries.
    KnnGraph {
        metric,
        indices: Array2::from_shape_vec((n, k), indices).expect("n × k indices"),
        values: Array2::from_shape_vec((n, k), values).expect("n × k values"),
    }
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn the_bounded_heap_keeps_the_best_k_whatever_the_order() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for k in [1, 2, 5, 16] {
            // Few distinct keys, so many ties broken by index.
            let mut all: Vec<Candidate> =
                (0..60).map(|id| Candidate { key: rng.random_range(0..6) as f32, id }).collect();
            let mut best = all.clone();
            best.sort_by(|a, b| b.key.total_cmp(&a.key).then(a.id.cmp(&b.id)));
            let best: Vec<(f32, u32)> = best[..k].iter().map(|c| (c.key, c.id)).collect();
            for _ in 0..20 {
                for i in (1..all.len()).rev() {
                    all.swap(i, rng.random_range(0..=i));
                }
                let mut heap = vec![Candidate { key: f32::NEG_INFINITY, id: u32::MAX }; k];
                let mut len = 0;
                let mut threshold = f32::NEG_INFINITY;
                for &c in &all {
                    threshold = offer(&mut heap, &mut len, c);
                }
                assert_eq!(threshold, best[k - 1].0, "the threshold is the k-th key");
                heap.sort_by(|a, b| b.key.total_cmp(&a.key).then(a.id.cmp(&b.id)));
                assert_eq!(heap.iter().map(|c| (c.key, c.id)).collect::<Vec<_>>(), best);
            }
        }
    }
}
