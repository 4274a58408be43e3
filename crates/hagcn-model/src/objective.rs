//! The training objectives: the faithful HAGCN loss (spec §3) and the kNN-graph variant
//! written out in `docs/KNN_OBJECTIVE.md`.
//!
//! The kNN objective keeps the HAGCN network (encoder, graph filter, decoder) and changes
//! four things:
//!
//! 1. inputs are centred by the mean of the training split (stored in the model as
//!    `input_mean`, applied again when encoding);
//! 2. the batch graph is the symmetric k-nearest-neighbour graph of the cosine similarity of
//!    the centred inputs, with self-loops, normalised: `Â = D^-1/2 (M + I) D^-1/2`. It is a
//!    constant of the batch (no gradient flows into it), so the spectral filters need no
//!    eigen-gradient;
//! 3. the codes are `sign(Z W2ᵀ + b2)` on the hidden features `Z = GELU(X̄ W1ᵀ + b1)`
//!    instead of a linear map of the input;
//! 4. the hash term regresses `C Cᵀ / b` onto the graph itself, `T = M + I`, and adds bit
//!    balance and decorrelation terms:
//!    `loss = mse(R, X̄) + γ (mse(C Cᵀ/b, T) + λ (mean_j c̄_j² + mse(Cᵀ C/n, I)))`.
//!
//! Each part can be switched off for an ablation ([`Ablation`]).

use std::fmt;
use std::str::FromStr;

use hagcn_autodiff::{Backend, Graph, Var};
use hagcn_linalg::Real;
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::{Error, Filter, MachineConfig, Result};

/// Which loss a model trains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// The method as the spec writes it (§2–§3): dense graph `S + 1`, codes from the input,
    /// `mse(R, X) + γ mse(C Cᵀ, b S)`.
    #[default]
    Hagcn,
    /// The kNN-graph variant (module docs, `docs/KNN_OBJECTIVE.md`).
    Knn,
}

impl Objective {
    /// Both objectives.
    pub const ALL: [Objective; 2] = [Objective::Hagcn, Objective::Knn];

    /// The name in configs and files.
    pub fn name(self) -> &'static str {
        match self {
            Objective::Hagcn => "hagcn",
            Objective::Knn => "knn",
        }
    }
}

impl fmt::Display for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Objective {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Objective::ALL
            .into_iter()
            .find(|o| o.name() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| Error::Config(format!("unknown objective {s:?}; expected hagcn or knn")))
    }
}

/// One part of the kNN objective switched off, for an ablation study.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ablation {
    /// The graph filter is replaced by the identity, `F = Z`.
    IdentityFilter,
    /// The filter's graph is the constant `J/n` instead of the kNN graph.
    ConstantGraph,
    /// The hash target is the cosine similarity of the centred inputs instead of the graph.
    CosineTarget,
    /// Codes are a linear map of the (centred) input, as in the faithful method.
    InputHash,
    /// Inputs are not centred.
    NoCentring,
    /// No bit-balance or decorrelation terms (`λ = 0`).
    NoRegularizers,
    /// No hash loss at all (`γ = 0`): the model is trained by reconstruction alone.
    NoHashLoss,
}

impl Ablation {
    /// Every ablation.
    pub const ALL: [Ablation; 7] = [
        Ablation::IdentityFilter,
        Ablation::ConstantGraph,
        Ablation::CosineTarget,
        Ablation::InputHash,
        Ablation::NoCentring,
        Ablation::NoRegularizers,
        Ablation::NoHashLoss,
    ];

    /// The name in configs and files.
    pub fn name(self) -> &'static str {
        match self {
            Ablation::IdentityFilter => "identity-filter",
            Ablation::ConstantGraph => "constant-graph",
            Ablation::CosineTarget => "cosine-target",
            Ablation::InputHash => "input-hash",
            Ablation::NoCentring => "no-centring",
            Ablation::NoRegularizers => "no-regularizers",
            Ablation::NoHashLoss => "no-hash-loss",
        }
    }
}

impl fmt::Display for Ablation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Ablation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ablation::ALL.into_iter().find(|a| a.name() == s.trim().to_ascii_lowercase()).ok_or_else(|| {
            let names: Vec<_> = Ablation::ALL.iter().map(|a| a.name()).collect();
            Error::Config(format!("unknown ablation {s:?}; expected one of {}", names.join(", ")))
        })
    }
}

impl MachineConfig {
    /// Whether `ablation` is switched on (always false for the faithful objective).
    pub fn ablates(&self, ablation: Ablation) -> bool {
        self.objective == Objective::Knn && self.ablate.contains(&ablation)
    }

    /// Whether inputs are centred by the stored training mean.
    pub fn centres_inputs(&self) -> bool {
        self.objective == Objective::Knn && !self.ablates(Ablation::NoCentring)
    }

    /// Whether the codes are computed from the hidden features `Z` (else from the input).
    pub fn hashes_hidden(&self) -> bool {
        self.objective == Objective::Knn && !self.ablates(Ablation::InputHash)
    }

    /// The fewest rows a training batch may have: `k` for fourier and spline (they keep `k`
    /// eigenpairs), `knn + 1` for the kNN objective (each row needs `knn` other rows).
    pub fn min_batch_rows(&self) -> usize {
        let spectral = if matches!(self.filter, Filter::Fourier | Filter::Spline) { self.k } else { 1 };
        let knn = if self.objective == Objective::Knn { self.knn + 1 } else { 1 };
        spectral.max(knn)
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

/// The loss variables of the kNN objective.
pub(crate) struct KnnLoss {
    pub(crate) loss: Var,
    pub(crate) reconstruction: Var,
    pub(crate) hash: Var,
    pub(crate) regularization: Var,
}

/// Records the kNN objective of one batch (module docs). `x` is the centred batch (`n × d`),
/// `p` looks up a parameter's variable by name, `batch` holds the batch's graph and target.
pub(crate) fn record_knn_loss<B: Backend>(
    config: &MachineConfig,
    g: &mut Graph<B>,
    x: Var,
    p: &dyn Fn(&str) -> Var,
    batch: &KnnBatch,
    lanczos_start: Option<Var>,
) -> Result<KnnLoss> {
    let (n, _) = g.shape(x)?;
    let upload = |g: &mut Graph<B>, a: &Array2<f64>| -> Result<Var> {
        let t = g.backend().upload(a.mapv(B::Elem::of).view())?;
        Ok(g.constant(t))
    };
    let lin1 = g.linear(x, p("w1.weight"), p("w1.bias"))?;
    let z = g.gelu(lin1)?;
    let f = if config.ablates(Ablation::IdentityFilter) {
        z
    } else {
        let a_hat = upload(g, &batch.a_hat)?;
        match config.filter {
            Filter::Gcn => crate::filters::gcn(g, a_hat, z, p, config.layer_norm_eps)?,
            Filter::Fourier | Filter::Spline => {
                if config.k > n {
                    return Err(Error::KTooLarge { k: config.k, rows: n });
                }
                // The graph is a constant, so its eigenpairs are too: no eigen-gradient.
                let eig = hagcn_linalg::smallest_eigen(batch.a_hat.view(), config.k)?;
                let lambda = upload(g, &eig.values.clone().insert_axis(ndarray::Axis(0)))?;
                let u_k = upload(g, &eig.vectors)?;
                let features = if config.filter == Filter::Spline {
                    let basis = g.bspline_basis(lambda, config.k, 3)?;
                    g.matmul(u_k, false, basis, false)?
                } else {
                    u_k
                };
                let filtered = g.linear(features, p("w.weight"), p("w.bias"))?;
                let coeffs = g.matmul(u_k, true, z, false)?;
                g.matmul(filtered, false, coeffs, false)?
            }
            Filter::Cheby => crate::filters::chebyshev(g, a_hat, z, config.k)?,
            Filter::Lanczos => {
                let start =
                    lanczos_start.ok_or_else(|| Error::Config("the lanczos filter needs a start vector".into()))?;
                crate::filters::lanczos(g, a_hat, z, start, config.k)?
            }
        }
    };
    let r = crate::machine::decoder(g, f, p)?;
    let reconstruction = g.mse(r, x)?;

    let hash_in = if config.hashes_hidden() { z } else { x };
    let logits = g.linear(hash_in, p("w2.weight"), p("w2.bias"))?;
    let h = g.sigmoid(logits)?;
    let c = g.affine(h, 2.0, -1.0)?;
    let bits = config.bits;
    let cc = g.gram(c, 1.0 / bits as f64)?;
    let target = upload(g, &batch.target)?;
    let hash = g.mse(cc, target)?;

    // balance: mean_j (mean_i C_ij)²; decorrelation: mean((Cᵀ C / n − I)²)
    let mean_row = upload(g, &Array2::from_elem((1, n), 1.0 / n as f64))?;
    let col_mean = g.matmul(mean_row, false, c, false)?;
    let col_sq = g.square(col_mean)?;
    let balance = g.mean(col_sq)?;
    let ctc = g.matmul(c, true, c, false)?;
    let ctc = g.scale(ctc, 1.0 / n as f64)?;
    let eye = upload(g, &Array2::eye(bits))?;
    let decorrelation = g.mse(ctc, eye)?;
    let regularization = g.add(balance, decorrelation)?;

    let lambda = if config.ablates(Ablation::NoRegularizers) { 0.0 } else { config.regularization };
    let weighted_reg = g.scale(regularization, lambda)?;
    let hash_total = g.add(hash, weighted_reg)?;
    let gamma = if config.ablates(Ablation::NoHashLoss) { 0.0 } else { config.gamma };
    let weighted = g.scale(hash_total, gamma)?;
    let loss = g.add(reconstruction, weighted)?;
    Ok(KnnLoss { loss, reconstruction, hash, regularization })
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

    #[test]
    fn names_round_trip() {
        for a in Ablation::ALL {
            assert_eq!(a.name().parse::<Ablation>().unwrap(), a);
        }
        for o in Objective::ALL {
            assert_eq!(o.name().parse::<Objective>().unwrap(), o);
        }
        assert!("graph".parse::<Ablation>().is_err());
    }
}
