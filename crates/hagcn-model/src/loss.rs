//! The training loss of one batch: the forward pass ([`crate::forward`]) plus the terms of
//! the model's objective.
//!
//! * Faithful (spec §3): `loss = mse(R, X) + γ mse(C Cᵀ, b S)` with `C = 2 sigmoid(logits) − 1`
//!   and `S = Z Zᵀ / n` (not detached: the hash term also trains `W1`).
//! * kNN (`docs/KNN_OBJECTIVE.md`): on the centred batch `X̄`,
//!   `loss = mse(R, X̄) + γ (mse(C Cᵀ/b, T) + λ (mean_j c̄_j² + mse(Cᵀ C/n, I)))`, where `T` is the
//!   batch's hash target ([`crate::batch_graph::KnnBatch`]), `c̄_j` the mean of bit `j` over the
//!   batch (balance) and `Cᵀ C/n − I` the bits' correlation (decorrelation). Ablations set
//!   `λ = 0` or `γ = 0`.

use hagcn_autodiff::{Backend, Graph, Var};
use ndarray::Array2;

use crate::batch_graph::{BatchGraph, KnnBatch};
use crate::forward::{Forward, constant, record_forward};
use crate::params::{Params, param_specs};
use crate::{Ablation, Error, MachineConfig, Objective, Result};

/// The scalar parts of the loss of one batch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossParts<T> {
    /// `reconstruction + γ · (hash + λ · regularization)`.
    pub loss: T,
    /// `mean((R − X)²)`.
    pub reconstruction: T,
    /// The hash term: `mean((C Cᵀ − b·S)²)` (faithful) or `mean((C Cᵀ/b − T)²)` (`knn`).
    pub hash: T,
    /// Bit balance plus decorrelation, before its weight λ (`knn` objective; 0 otherwise).
    pub regularization: T,
}

/// Records the forward pass and loss of one batch on `g` and returns the loss variables.
///
/// `x` is the `n × d` batch as the model sees it (centred by the input mean when the model
/// centres), `params` the graph variables of the parameters in [`param_specs`] order, `graph`
/// the batch's graph ([`BatchGraph::new`] from the same rows; it must be the one of
/// `config`'s objective) and `lanczos_start` the unit start vector (`n × 1`) the lanczos
/// filter needs ([`crate::filters::lanczos_start`]). This is the whole differentiable
/// computation, exposed so that it can be gradient-checked and reused;
/// [`crate::Machine::train_step`] is the usual entry point.
pub fn record_loss<B: Backend>(
    config: &MachineConfig,
    g: &mut Graph<B>,
    x: Var,
    params: &[Var],
    graph: &BatchGraph,
    lanczos_start: Option<Var>,
) -> Result<LossParts<Var>> {
    let specs = param_specs(config);
    let p = Params::new(&specs, params);
    match (config.objective, graph) {
        (Objective::Hagcn, BatchGraph::Similarity) => {
            let forward = record_forward(config, g, x, &p, graph, lanczos_start)?;
            faithful_terms(config, g, x, &forward)
        }
        (Objective::Knn, BatchGraph::Knn(batch)) => {
            let forward = record_forward(config, g, x, &p, graph, lanczos_start)?;
            knn_terms(config, g, x, &forward, batch)
        }
        (objective, _) => {
            Err(Error::Config(format!("the batch graph given is not the one of the {objective} objective")))
        }
    }
}

/// `mse(R, X) + γ mse(C Cᵀ, b S)`.
fn faithful_terms<B: Backend>(
    config: &MachineConfig,
    g: &mut Graph<B>,
    x: Var,
    forward: &Forward,
) -> Result<LossParts<Var>> {
    let similarity = forward.similarity.expect("the faithful forward pass records S");
    let reconstruction = g.mse(forward.reconstruction, x)?;
    let h = g.sigmoid(forward.logits)?;
    let c = g.affine(h, 2.0, -1.0)?;
    let cc = g.gram(c, 1.0)?;
    let bs = g.scale(similarity, config.bits as f64)?;
    let hash = g.mse(cc, bs)?;
    let weighted = g.scale(hash, config.gamma)?;
    let loss = g.add(reconstruction, weighted)?;
    let regularization = constant(g, &Array2::zeros((1, 1)))?;
    Ok(LossParts { loss, reconstruction, hash, regularization })
}

/// `mse(R, X̄) + γ (mse(C Cᵀ/b, T) + λ (balance + decorrelation))`.
fn knn_terms<B: Backend>(
    config: &MachineConfig,
    g: &mut Graph<B>,
    x: Var,
    forward: &Forward,
    batch: &KnnBatch,
) -> Result<LossParts<Var>> {
    let (n, _) = g.shape(x)?;
    let reconstruction = g.mse(forward.reconstruction, x)?;
    let h = g.sigmoid(forward.logits)?;
    let c = g.affine(h, 2.0, -1.0)?;
    let bits = config.bits;
    let cc = g.gram(c, 1.0 / bits as f64)?;
    let target = constant(g, &batch.target)?;
    let hash = g.mse(cc, target)?;

    // balance: mean_j (mean_i C_ij)²; decorrelation: mean((Cᵀ C / n − I)²)
    let mean_row = constant(g, &Array2::from_elem((1, n), 1.0 / n as f64))?;
    let col_mean = g.matmul(mean_row, false, c, false)?;
    let col_sq = g.square(col_mean)?;
    let balance = g.mean(col_sq)?;
    let ctc = g.matmul(c, true, c, false)?;
    let ctc = g.scale(ctc, 1.0 / n as f64)?;
    let eye = constant(g, &Array2::eye(bits))?;
    let decorrelation = g.mse(ctc, eye)?;
    let regularization = g.add(balance, decorrelation)?;

    let lambda = if config.ablates(Ablation::NoRegularizers) { 0.0 } else { config.regularization };
    let weighted_reg = g.scale(regularization, lambda)?;
    let hash_total = g.add(hash, weighted_reg)?;
    let gamma = if config.ablates(Ablation::NoHashLoss) { 0.0 } else { config.gamma };
    let weighted = g.scale(hash_total, gamma)?;
    let loss = g.add(reconstruction, weighted)?;
    Ok(LossParts { loss, reconstruction, hash, regularization })
}
