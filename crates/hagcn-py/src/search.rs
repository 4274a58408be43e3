//! `hagcn.search` and `hagcn.evaluate`: `hagcn search` and `hagcn eval` on NumPy arrays.

use hagcn_eval::{PackedCodes, StreamingTopK, TopK, average_precisions_per_query, mean_over_queries};
use ndarray::{ArrayView2, s};
use numpy::PyArray2;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arrays;
use crate::errors::{Failure, value_error};
use crate::interrupt::Interrupts;

/// `(D, I)`: distances and database indices, as faiss returns them.
type Neighbours<'py> = (Bound<'py, PyArray2<i32>>, Bound<'py, PyArray2<i64>>);

/// Database bytes per block at most: `hagcn search`'s default block.
const BLOCK_BYTES: usize = 16 << 20;

/// (query, database code) pairs per block at most, so that Ctrl-C is seen within a fraction
/// of a second however many queries there are (about 0.01 s in a release build, 0.3 s in a
/// debug build); blocks give the same result whatever their size.
const BLOCK_PAIRS: usize = 1 << 23;

/// Database codes per block for `n_queries` queries of `n_bytes` bytes.
fn block_codes(n_queries: usize, n_bytes: usize) -> usize {
    (BLOCK_PAIRS / n_queries.max(1)).clamp(1024, (BLOCK_BYTES / n_bytes).max(1024))
}

/// Checks two sets of codes as `hagcn search` does: the same width, a non-empty database.
fn check_widths(q: ArrayView2<u8>, db: ArrayView2<u8>) -> PyResult<usize> {
    if q.ncols() != db.ncols() {
        return Err(value_error(format!(
            "query codes are {} bytes wide but database codes are {}: they come from different code lengths",
            q.ncols(),
            db.ncols()
        )));
    }
    if db.ncols() == 0 {
        return Err(value_error(format!("codes of 0 bytes (shape {:?})", db.shape())));
    }
    if db.nrows() == 0 {
        return Err(value_error("db_codes: the database is empty"));
    }
    Ok(db.ncols())
}

/// The `k` nearest database codes of every query by Hamming distance, as faiss's
/// `IndexBinaryFlat.search` returns them: `(D, I)`, distances int32 and database indices
/// int64, both `(n_query, min(k, n_db))`, nearest first, ties in database order. They are
/// `hagcn search`'s results, read the same way (blocks of database codes, which give the
/// same result whatever their size).
///
/// The GIL is released; Ctrl-C raises `KeyboardInterrupt` after the block in progress.
#[pyfunction]
#[pyo3(signature = (query_codes, db_codes, k=10))]
pub fn search<'py>(
    py: Python<'py>,
    query_codes: &Bound<'py, PyAny>,
    db_codes: &Bound<'py, PyAny>,
    k: usize,
) -> PyResult<Neighbours<'py>> {
    if k == 0 {
        return Err(value_error("k must be at least 1"));
    }
    let q = arrays::codes(query_codes, "query_codes")?;
    let db = arrays::codes(db_codes, "db_codes")?;
    let (qv, dbv) = (q.as_array(), db.as_array());
    let n_bytes = check_widths(qv, dbv)?;
    let (idx, dist) = py.detach(|| -> Result<_, Failure> {
        let queries = PackedCodes::from_bytes(qv.to_owned(), 8 * n_bytes)?;
        let mut topk = StreamingTopK::new(&queries, k)?;
        let per_block = block_codes(queries.n_codes(), n_bytes);
        let mut interrupts = Interrupts::new();
        for start in (0..dbv.nrows()).step_by(per_block) {
            interrupts.check()?;
            let end = (start + per_block).min(dbv.nrows());
            topk.push(&PackedCodes::from_bytes(dbv.slice(s![start..end, ..]).to_owned(), 8 * n_bytes)?)?;
        }
        Ok(topk.finish()?)
    })?;
    let distances = PyArray2::from_owned_array(py, dist.mapv(|d| d as i32));
    let indices = PyArray2::from_owned_array(py, idx.mapv(|i| i as i64));
    Ok((distances, indices))
}

/// mAP@K of the Hamming ranking of the queries against the database (relevant = the same
/// label; every query counts; ties by database index), one value per entry of `map_at`
/// (integers, or `"all"` for the whole database), as `hagcn eval` prints them. Returns a
/// dict from each entry of `map_at` to its mAP.
///
/// The GIL is released; Ctrl-C raises `KeyboardInterrupt` after the block of queries in
/// progress.
#[pyfunction]
#[pyo3(signature = (query_codes, db_codes, query_labels, db_labels, map_at=None))]
pub fn evaluate<'py>(
    py: Python<'py>,
    query_codes: &Bound<'py, PyAny>,
    db_codes: &Bound<'py, PyAny>,
    query_labels: &Bound<'py, PyAny>,
    db_labels: &Bound<'py, PyAny>,
    map_at: Option<Vec<Bound<'py, PyAny>>>,
) -> PyResult<Bound<'py, PyDict>> {
    let q = arrays::codes(query_codes, "query_codes")?;
    let db = arrays::codes(db_codes, "db_codes")?;
    let (qv, dbv) = (q.as_array(), db.as_array());
    let n_bytes = check_widths(qv, dbv)?;
    let (ql, dbl) = (arrays::labels(query_labels, "query_labels")?, arrays::labels(db_labels, "db_labels")?);
    let keys = match map_at {
        Some(keys) => keys,
        None => vec![200usize.into_pyobject(py)?.into_any(), "all".into_pyobject(py)?.into_any()],
    };
    let ks = keys
        .iter()
        .map(|key| {
            let text = key.str()?.to_string();
            text.parse::<TopK>().map_err(|e| value_error(format!("map_at {text:?}: {e}")))
        })
        .collect::<PyResult<Vec<TopK>>>()?;
    let maps = py.detach(|| -> Result<Vec<f64>, Failure> {
        let database = PackedCodes::from_bytes(dbv.to_owned(), 8 * n_bytes)?;
        let n_queries = qv.nrows();
        if ql.len() != n_queries {
            // checked here, as the library checks it, before the labels are cut into blocks
            let (n_codes, n_labels) = (n_queries, ql.len());
            return Err(hagcn_eval::Error::LabelsLength { set: "query set", n_codes, n_labels }.into());
        }
        // Blocks of queries, so that Ctrl-C is seen between them; the per-query values do not
        // depend on the blocks, and `mean_over_queries` averages them in query order as
        // `hagcn_eval::mean_average_precision` does: the same numbers, bit for bit.
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let per_block = (BLOCK_PAIRS / database.n_codes()).max(4 * threads);
        let mut per_query: Vec<Vec<f64>> = Vec::with_capacity(n_queries);
        let mut interrupts = Interrupts::new();
        // An empty query set still goes through once, for the library's error.
        for start in (0..n_queries.max(1)).step_by(per_block) {
            interrupts.check()?;
            let end = (start + per_block).min(n_queries);
            let block = PackedCodes::from_bytes(qv.slice(s![start..end, ..]).to_owned(), 8 * n_bytes)?;
            per_query.extend(average_precisions_per_query(&block, &ql[start..end], &database, &dbl, &ks)?);
        }
        Ok(mean_over_queries(&per_query, ks.len()))
    })?;
    let out = PyDict::new(py);
    for (key, value) in keys.iter().zip(maps) {
        out.set_item(key, value)?;
    }
    Ok(out)
}
