//! The graph a batch gives the model: the one its filter propagates over, and the one its
//! hash codes are trained to reproduce. Each objective chooses its own.
//!
//! * The faithful objective ([`BatchGraph::Similarity`], spec §2): the dense similarity of the
//!   current hidden features, `S = Z Zᵀ / n`, as the graph `Â = D^-1/2 (S + 1) D^-1/2`
//!   (differentiable, recorded by the forward pass) and as the hash target `b·S`.
//! * The kNN objective ([`BatchGraph::Knn`], `docs/KNN_OBJECTIVE.md`): computed once on the
//!   host from the centred batch `X̄` and constant during the step:
//!    1. `M`, the symmetric k-nearest-neighbour graph of the cosine similarity of the rows of
//!       `X̄` ([`knn_graph`]);
//!    2. the filter's graph `Â = D^-1/2 (M + I) D^-1/2` ([`normalized_knn_adjacency`]); being a
//!       constant of the batch, the spectral filters need no eigen-gradient;
//!    3. the hash target `T = M + I`, regressed by `C Cᵀ / b`.
//!
//!   Ablations replace the graph by the constant `J/n` and the target by the cosine similarity.

use ndarray::{Array2, ArrayView2};

use crate::{Ablation, Error, MachineConfig, Objective, Result};

/// The graph of one batch, as its objective defines it (module docs).
#[derive(Clone, Debug)]
pub enum BatchGraph {
    /// The faithful objective's graph of the hidden features' similarity, built on the
    /// autodiff graph during the forward pass.
    Similarity,
    /// The kNN objective's constants for this batch.
    Knn(KnnBatch),
}

impl BatchGraph {
    /// The graph `config`'s objective gives the batch `x` (the rows the model sees: centred
    /// by the input mean when the model centres).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the kNN graph needs more rows than the batch has.
    pub fn new(config: &MachineConfig, x: ArrayView2<f64>) -> Result<Self> {
        Ok(match config.objective {
            Objective::Hagcn => BatchGraph::Similarity,
            Objective::Knn => BatchGraph::Knn(KnnBatch::new(config, x)?),
        })
    }
}

/// The constants the kNN objective needs for one batch, computed on the host from the
/// centred batch: the filter's graph `Â` and the hash target `T`.
#[derive(Clone, Debug)]
pub struct KnnBatch {
    /// The filter's graph (`n × n`): the normalised kNN graph, or `J/n` when ablated.
    pub a_hat: Array2<f64>,
    /// The hash target (`n × n`): `M + I`, or the cosine similarity when ablated.
    pub target: Array2<f64>,
}

impl KnnBatch {
    /// The graph and target of the centred batch `x` under `config`.
    pub fn new(config: &MachineConfig, x: ArrayView2<f64>) -> Result<Self> {
        let n = x.nrows();
        let m = knn_graph(x, config.knn)?;
        let a_hat = if config.ablates(Ablation::ConstantGraph) {
            Array2::from_elem((n, n), 1.0 / n as f64)
        } else {
            normalized_knn_adjacency(m.view())
        };
        let target =
            if config.ablates(Ablation::CosineTarget) { cosine_similarity(x) } else { m + Array2::<f64>::eye(n) };
        Ok(KnnBatch { a_hat, target })
    }
}

/// The symmetric k-nearest-neighbour graph of the rows of `x` under cosine similarity:
/// `M_ij = 1` when `j` is among the `k` most similar other rows of `i` or `i` among those of
/// `j`, else 0; the diagonal is 0. Ties go to the lower index, so the graph is deterministic.
/// A zero row has similarity 0 to every row.
///
/// # Errors
///
/// [`Error::Config`] when `k` is 0 or not smaller than the number of rows.
pub fn knn_graph(x: ArrayView2<f64>, k: usize) -> Result<Array2<f64>> {
    let n = x.nrows();
    if k == 0 || k >= n {
        return Err(Error::Config(format!(
            "the kNN graph needs 1 ≤ knn < batch rows; got knn = {k} for a batch of {n} rows"
        )));
    }
    let cos = cosine_similarity(x);
    let mut m = Array2::zeros((n, n));
    let mut order: Vec<usize> = Vec::with_capacity(n);
    for i in 0..n {
        order.clear();
        order.extend((0..n).filter(|&j| j != i));
        // descending similarity, ties by index; total order because NaN cannot occur
        order.sort_by(|&a, &b| cos[[i, b]].total_cmp(&cos[[i, a]]).then(a.cmp(&b)));
        for &j in &order[..k] {
            m[[i, j]] = 1.0;
            m[[j, i]] = 1.0;
        }
    }
    Ok(m)
}

/// `cos(x_i, x_j)` for every pair of rows (0 where a row is zero).
pub fn cosine_similarity(x: ArrayView2<f64>) -> Array2<f64> {
    let norms: Vec<f64> = x.rows().into_iter().map(|r| r.dot(&r).sqrt()).collect();
    let mut cos = x.dot(&x.t());
    for ((i, j), v) in cos.indexed_iter_mut() {
        let d = norms[i] * norms[j];
        *v = if d > 0.0 { *v / d } else { 0.0 };
    }
    cos
}

/// `D^-1/2 (M + I) D^-1/2`: the kNN graph with self-loops, symmetrically normalised.
pub fn normalized_knn_adjacency(m: ArrayView2<f64>) -> Array2<f64> {
    let n = m.nrows();
    let a = &m + &Array2::<f64>::eye(n);
    let d: Vec<f64> = a.rows().into_iter().map(|r| 1.0 / r.sum().sqrt()).collect();
    Array2::from_shape_fn((n, n), |(i, j)| d[i] * a[[i, j]] * d[j])
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn knn_graph_matches_a_brute_force_count() {
        // rows on a circle: each row's nearest neighbours are the adjacent angles
        let n = 12;
        let x = Array2::from_shape_fn((n, 2), |(i, j)| {
            let t = i as f64 * std::f64::consts::TAU / n as f64;
            if j == 0 { t.cos() } else { t.sin() }
        });
        let m = knn_graph(x.view(), 2).unwrap();
        for i in 0..n {
            assert_eq!(m[[i, i]], 0.0);
            for j in 0..n {
                let ring = (i as isize - j as isize).rem_euclid(n as isize);
                let adjacent = ring == 1 || ring == n as isize - 1;
                assert_eq!(m[[i, j]], if adjacent { 1.0 } else { 0.0 }, "({i}, {j})");
            }
        }
    }

    #[test]
    fn knn_graph_is_symmetric_and_breaks_ties_by_index() {
        // rows 1 and 2 are equally similar to row 0 (cosine exactly 0); k = 1 picks row 1
        let x = array![[1.0, 0.0], [0.0, 1.0], [0.0, -1.0], [-1.0, 0.0]];
        let m = knn_graph(x.view(), 1).unwrap();
        assert_eq!(m, m.t());
        // each row picks the lowest index among its tied nearest rows: 0→1, 1→0, 2→0, 3→1
        let edges = [(0, 1), (0, 2), (1, 3)];
        for i in 0..4 {
            for j in 0..4 {
                let edge = edges.contains(&(i.min(j), i.max(j)));
                assert_eq!(m[[i, j]], if edge { 1.0 } else { 0.0 }, "({i}, {j})");
            }
        }
        // a symmetric union: each row has at least k neighbours
        assert!(m.rows().into_iter().all(|r| r.sum() >= 1.0));
    }

    #[test]
    fn knn_larger_than_the_batch_is_an_error() {
        let x = Array2::<f64>::ones((4, 3));
        assert!(knn_graph(x.view(), 4).unwrap_err().to_string().contains("knn = 4 for a batch of 4 rows"));
        assert!(knn_graph(x.view(), 0).is_err());
    }

    #[test]
    fn normalized_adjacency_has_unit_spectral_radius() {
        let x = Array2::from_shape_fn((9, 4), |(i, j)| ((i * 7 + j * 3) as f64).sin());
        let a = normalized_knn_adjacency(knn_graph(x.view(), 3).unwrap().view());
        let eig = hagcn_linalg::symmetric_eigen(a.view()).unwrap();
        let top = eig.values[eig.values.len() - 1];
        assert!((top - 1.0).abs() < 1e-12, "largest eigenvalue {top}");
        assert!(eig.values.iter().all(|&v| v > -1.0 - 1e-12));
    }
}
