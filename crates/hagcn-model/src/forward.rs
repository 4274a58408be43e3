//! The forward pass (spec §2), written once for both objectives and for encoding:
//!
//! 1. encoder: `Z = GELU(X W1ᵀ + b1)` (`n × h`);
//! 2. the batch graph, as the objective defines it ([`BatchGraph`]): the faithful one records
//!    `S = Z Zᵀ / n` and builds `Â = D^-1/2 (S + 1) D^-1/2` from it; the kNN one is a constant;
//! 3. the graph filter `F` ([`crate::filters`]; `F = Z` when the filter is ablated);
//! 4. decoder: `Y = GELU(F W4ᵀ + b4)`, `R = GELU(Y W5aᵀ + b5a) W5bᵀ + b5b` (`n × d`);
//! 5. hash layer: logits `X W2ᵀ + b2` (faithful) or `Z W2ᵀ + b2` (kNN); bit = logit ≥ 0.
//!
//! Encoding a new point runs steps 1 and 5 only ([`record_encoding`]), with the same
//! functions, on a graph with [`hagcn_autodiff::Arithmetic::Reproducible`] layers.

use hagcn_autodiff::{Backend, Graph, Var};
use hagcn_linalg::Real;
use ndarray::{Array2, Axis};

use crate::batch_graph::BatchGraph;
use crate::filters;
use crate::params::Params;
use crate::{Ablation, Error, Filter, MachineConfig, Result};

/// The variables of one recorded forward pass.
#[derive(Clone, Copy, Debug)]
pub struct Forward {
    /// The hidden features `Z`.
    pub hidden: Var,
    /// `S = Z Zᵀ / n` for the faithful objective's [`BatchGraph::Similarity`], else `None`.
    pub similarity: Option<Var>,
    /// The reconstruction `R` of the input.
    pub reconstruction: Var,
    /// The hash-layer logits (`n × bits`).
    pub logits: Var,
}

/// Records the forward pass of the batch `x` (`n × d`, centred when the model centres) on
/// `g`: steps 1–5 of the module docs. `lanczos_start` is the lanczos filter's unit start
/// vector (`n × 1`, see [`filters::lanczos_start`]); other filters ignore it.
pub fn record_forward<B: Backend>(
    config: &MachineConfig,
    g: &mut Graph<B>,
    x: Var,
    p: &Params,
    graph: &BatchGraph,
    lanczos_start: Option<Var>,
) -> Result<Forward> {
    let n = g.shape(x)?.0;
    let hidden = encoder(g, x, p)?;
    let similarity = match graph {
        BatchGraph::Similarity => Some(g.gram(hidden, 1.0 / n as f64)?),
        BatchGraph::Knn(_) => None,
    };
    let filtered = if config.ablates(Ablation::IdentityFilter) {
        hidden
    } else {
        filter(config, g, hidden, graph, similarity, p, lanczos_start)?
    };
    let reconstruction = decoder(g, filtered, p)?;
    let logits = hash_layer(g, if config.hashes_hidden() { hidden } else { x }, p)?;
    Ok(Forward { hidden, similarity, reconstruction, logits })
}

/// Records the hash-layer logits of `x` (steps 1 and 5): what encoding computes.
pub fn record_encoding<B: Backend>(config: &MachineConfig, g: &mut Graph<B>, x: Var, p: &Params) -> Result<Var> {
    let input = if config.hashes_hidden() { encoder(g, x, p)? } else { x };
    hash_layer(g, input, p)
}

/// `Z = GELU(X W1ᵀ + b1)`.
pub(crate) fn encoder<B: Backend>(g: &mut Graph<B>, x: Var, p: &Params) -> Result<Var> {
    let lin1 = g.linear(x, p.get("w1.weight"), p.get("w1.bias"))?;
    Ok(g.gelu(lin1)?)
}

/// The logits `input W2ᵀ + b2`.
fn hash_layer<B: Backend>(g: &mut Graph<B>, input: Var, p: &Params) -> Result<Var> {
    Ok(g.linear(input, p.get("w2.weight"), p.get("w2.bias"))?)
}

/// `Y = GELU(F W4ᵀ + b4)`, `R = GELU(Y W5aᵀ + b5a) W5bᵀ + b5b`.
fn decoder<B: Backend>(g: &mut Graph<B>, f: Var, p: &Params) -> Result<Var> {
    let lin4 = g.linear(f, p.get("w4.weight"), p.get("w4.bias"))?;
    let y = g.gelu(lin4)?;
    let lin5a = g.linear(y, p.get("w5.0.weight"), p.get("w5.0.bias"))?;
    let y2 = g.gelu(lin5a)?;
    Ok(g.linear(y2, p.get("w5.2.weight"), p.get("w5.2.bias"))?)
}

/// The configured filter of `z` over the batch graph.
fn filter<B: Backend>(
    config: &MachineConfig,
    g: &mut Graph<B>,
    z: Var,
    graph: &BatchGraph,
    similarity: Option<Var>,
    p: &Params,
    lanczos_start: Option<Var>,
) -> Result<Var> {
    let n = g.shape(z)?.0;
    let k = config.k;
    let a_hat = |g: &mut Graph<B>| -> Result<Var> {
        match graph {
            BatchGraph::Similarity => {
                let sim = similarity.expect("recorded for the similarity graph");
                let adj = g.add_scalar(sim, 1.0)?;
                Ok(g.normalized_adjacency(adj)?)
            }
            BatchGraph::Knn(batch) => constant(g, &batch.a_hat),
        }
    };
    match config.filter {
        Filter::Gcn => {
            let a_hat = a_hat(g)?;
            filters::gcn(g, a_hat, z, p, config.layer_norm_eps)
        }
        Filter::Fourier | Filter::Spline => {
            if k > n {
                return Err(Error::KTooLarge { k, rows: n });
            }
            let (lambda_k, u_k) = match graph {
                // Â and its eigenpairs from Z in f64, with the exact eigen-gradient.
                BatchGraph::Similarity => g.gram_graph_smallest_eigen(z, 1.0 / n as f64, 1.0, k)?,
                // A constant graph has constant eigenpairs: no eigen-gradient.
                BatchGraph::Knn(batch) => {
                    let eig = hagcn_linalg::smallest_eigen(batch.a_hat.view(), k)?;
                    let lambda_k = constant(g, &eig.values.insert_axis(Axis(0)))?;
                    (lambda_k, constant(g, &eig.vectors)?)
                }
            };
            let spline = config.filter == Filter::Spline;
            filters::spectral(g, lambda_k, u_k, z, p.get("w.weight"), p.get("w.bias"), spline)
        }
        Filter::Cheby => {
            let a_hat = a_hat(g)?;
            filters::chebyshev(g, a_hat, z, k)
        }
        Filter::Lanczos => {
            let start = lanczos_start.ok_or_else(|| Error::Config("the lanczos filter needs a start vector".into()))?;
            let a_hat = a_hat(g)?;
            filters::lanczos(g, a_hat, z, start, k)
        }
    }
}

/// A host matrix recorded as a constant in the backend's element type.
pub(crate) fn constant<B: Backend>(g: &mut Graph<B>, a: &Array2<f64>) -> Result<Var> {
    let t = g.backend().upload(a.mapv(B::Elem::of).view())?;
    Ok(g.constant(t))
}
