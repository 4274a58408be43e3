//! The HAGCN model ("Machine", spec §2) and its loss (spec §3).

use hagcn_autodiff::{Adam, AdamConfig, Backend, Graph, Var};
use hagcn_linalg::Real;
use ndarray::{Array2, ArrayView2, Axis, s};

use crate::params::{ParamSpec, init_params, param_specs};
use crate::{Error, Filter, MachineConfig, Result};

/// The scalar parts of the loss of one batch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossParts<T> {
    /// `reconstruction + γ · hash`.
    pub loss: T,
    /// `mean((R − X)²)`.
    pub reconstruction: T,
    /// `mean((C Cᵀ − b·S)²)`.
    pub hash: T,
}

/// Records the forward pass and loss of one batch on `g` (spec §2 steps 1–6, §3) and returns
/// the three loss variables.
///
/// `params` are the graph variables of the parameters in [`param_specs`] order and `x` the
/// `n × d` batch; `lanczos_start` is the unit start vector (`n × 1`) the lanczos filter
/// needs (see [`crate::filters::lanczos_start`]) and is ignored by the other filters. This is the whole differentiable computation, exposed so that it can be
/// gradient-checked and reused; [`Machine::train_step`] is the usual entry point.
pub fn record_loss<B: Backend>(
    config: &MachineConfig,
    g: &mut Graph<B>,
    x: Var,
    params: &[Var],
    lanczos_start: Option<Var>,
) -> Result<LossParts<Var>> {
    let specs = param_specs(config);
    assert_eq!(specs.len(), params.len(), "record_loss: one variable per parameter");
    let p = |name: &str| params[specs.iter().position(|s| s.name == name).expect("parameter of this filter")];
    let n = g.shape(x)?.0;

    // 1. Z = GELU(X W1ᵀ + b1)
    let lin1 = g.linear(x, p("w1.weight"), p("w1.bias"))?;
    let z = g.gelu(lin1)?;
    // 2. S = Z Zᵀ / n
    let sim = g.gram(z, 1.0 / n as f64)?;
    // 3. H = sigmoid(X W2ᵀ + b2)
    let logits = g.linear(x, p("w2.weight"), p("w2.bias"))?;
    let h = g.sigmoid(logits)?;
    // 4. Â = D^-1/2 (S + 1) D^-1/2, and 5. the filter. fourier and spline build Â and its k
    //    smallest eigenpairs from Z themselves, in f64 (see filters::spectral).
    let f = match config.filter {
        Filter::Gcn => {
            let a_hat = batch_graph(g, sim)?;
            let az = g.matmul(a_hat, false, z, false)?;
            let lin = g.linear(az, p("w.weight"), p("w.bias"))?;
            g.layer_norm(lin, p("layer_norm.weight"), p("layer_norm.bias"), config.layer_norm_eps)?
        }
        Filter::Fourier | Filter::Spline => {
            let spline = config.filter == Filter::Spline;
            crate::filters::spectral(g, z, p("w.weight"), p("w.bias"), config.k, spline)?
        }
        Filter::Cheby => {
            let a_hat = batch_graph(g, sim)?;
            crate::filters::chebyshev(g, a_hat, z, config.k)?
        }
        Filter::Lanczos => {
            let start = lanczos_start.ok_or_else(|| Error::Config("the lanczos filter needs a start vector".into()))?;
            let a_hat = batch_graph(g, sim)?;
            crate::filters::lanczos(g, a_hat, z, start, config.k)?
        }
    };
    // 6. decoder: Y = GELU(F W4ᵀ + b4), R = GELU(Y W5aᵀ + b5a) W5bᵀ + b5b
    let lin4 = g.linear(f, p("w4.weight"), p("w4.bias"))?;
    let y = g.gelu(lin4)?;
    let lin5a = g.linear(y, p("w5.0.weight"), p("w5.0.bias"))?;
    let y2 = g.gelu(lin5a)?;
    let r = g.linear(y2, p("w5.2.weight"), p("w5.2.bias"))?;

    // loss = mean((R − X)²) + γ · mean((C Cᵀ − b·S)²), C = 2H − 1
    let reconstruction = g.mse(r, x)?;
    let c = g.affine(h, 2.0, -1.0)?;
    let cc = g.gram(c, 1.0)?;
    let bs = g.scale(sim, config.bits as f64)?;
    let hash = g.mse(cc, bs)?;
    let weighted = g.scale(hash, config.gamma)?;
    let loss = g.add(reconstruction, weighted)?;
    Ok(LossParts { loss, reconstruction, hash })
}

/// `Â = D^-1/2 (S + 1) D^-1/2` from the similarity `S` (spec §2 step 4).
fn batch_graph<B: Backend>(g: &mut Graph<B>, sim: Var) -> Result<Var> {
    let adj = g.add_scalar(sim, 1.0)?;
    Ok(g.normalized_adjacency(adj)?)
}

/// Parameter names and host copies of their values, in `state_dict` order.
pub type StateDict<E> = Vec<(&'static str, Array2<E>)>;

/// A HAGCN model with its parameters on backend `B`, and its Adam state.
pub struct Machine<B: Backend> {
    backend: B,
    config: MachineConfig,
    specs: Vec<ParamSpec>,
    params: Vec<B::Tensor>,
    adam: Adam<B>,
    seed: u64,
}

impl<B: Backend> Machine<B> {
    /// A freshly initialised model (PyTorch's default initialisation, drawn from `seed`).
    pub fn new(backend: B, config: MachineConfig, adam: AdamConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        let specs = param_specs(&config);
        let values = init_params(&specs, seed);
        Self::from_params(backend, config, adam, values, seed)
    }

    /// A model with the given parameter values (in [`param_specs`] order), fresh Adam state;
    /// `seed` drives the lanczos filter's start vectors.
    pub fn from_params(
        backend: B,
        config: MachineConfig,
        adam: AdamConfig,
        values: Vec<Array2<f64>>,
        seed: u64,
    ) -> Result<Self> {
        config.validate()?;
        let specs = param_specs(&config);
        if values.len() != specs.len() {
            return Err(Error::Config(format!("expected {} parameters, got {}", specs.len(), values.len())));
        }
        let mut params = Vec::with_capacity(specs.len());
        for (spec, v) in specs.iter().zip(&values) {
            if v.dim() != spec.shape {
                return Err(Error::Config(format!(
                    "parameter {} has shape {:?}, expected {:?}",
                    spec.name,
                    v.dim(),
                    spec.shape
                )));
            }
            params.push(backend.upload(v.mapv(B::Elem::of).view())?);
        }
        let shapes: Vec<_> = specs.iter().map(|s| s.shape).collect();
        let adam = Adam::new(&backend, adam, &shapes)?;
        Ok(Machine { backend, config, specs, params, adam, seed })
    }

    /// The model's hyper-parameters.
    pub fn config(&self) -> &MachineConfig {
        &self.config
    }

    /// The backend the parameters live on.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Optimiser steps taken so far.
    pub fn steps(&self) -> u64 {
        self.adam.steps()
    }

    /// `(name, value)` of every parameter, in `state_dict` order, copied to the host.
    pub fn state_dict(&self) -> Result<StateDict<B::Elem>> {
        self.specs.iter().zip(&self.params).map(|(s, t)| Ok((s.name, self.backend.download(t)?))).collect()
    }

    /// The parameter specifications (names, shapes), in `state_dict` order.
    pub fn specs(&self) -> &[ParamSpec] {
        &self.specs
    }

    /// The lanczos filter's start vector for the next step, recorded as a constant.
    fn lanczos_start(&self, g: &mut Graph<B>, n: usize) -> Result<Option<Var>> {
        if self.config.filter != Filter::Lanczos {
            return Ok(None);
        }
        let v = crate::filters::lanczos_start(n, self.seed, self.adam.steps());
        Ok(Some(g.constant(self.backend.upload(v.mapv(B::Elem::of).view())?)))
    }

    fn check_batch(&self, x: ArrayView2<B::Elem>) -> Result<()> {
        let (rows, cols) = x.dim();
        if rows == 0 || cols != self.config.in_size {
            return Err(Error::BatchShape { rows, cols, in_size: self.config.in_size });
        }
        if let Some(((row, col), _)) = x.indexed_iter().find(|(_, v)| !v.as_f64().is_finite()) {
            return Err(Error::NonFiniteInput { row, col });
        }
        Ok(())
    }

    /// The loss of a batch without updating anything.
    pub fn loss(&self, x: ArrayView2<B::Elem>) -> Result<LossParts<f64>> {
        self.check_batch(x)?;
        let mut g = Graph::new(self.backend.clone());
        let xv = g.constant(self.backend.upload(x)?);
        let pv: Vec<Var> = self.params.iter().map(|t| g.constant(t.clone())).collect();
        let start = self.lanczos_start(&mut g, x.nrows())?;
        let parts = record_loss(&self.config, &mut g, xv, &pv, start)?;
        Ok(LossParts {
            loss: g.scalar(parts.loss)?.as_f64(),
            reconstruction: g.scalar(parts.reconstruction)?.as_f64(),
            hash: g.scalar(parts.hash)?.as_f64(),
        })
    }

    /// One training step on a batch (`n × d`): forward, backward and one Adam update.
    /// Returns the loss before the update.
    pub fn train_step(&mut self, x: ArrayView2<B::Elem>) -> Result<LossParts<f64>> {
        self.check_batch(x)?;
        let mut g = Graph::new(self.backend.clone());
        let xv = g.constant(self.backend.upload(x)?);
        let pv: Vec<Var> = self.params.iter().map(|t| g.param(t.clone())).collect();
        let start = self.lanczos_start(&mut g, x.nrows())?;
        let parts = record_loss(&self.config, &mut g, xv, &pv, start)?;
        let out = LossParts {
            loss: g.scalar(parts.loss)?.as_f64(),
            reconstruction: g.scalar(parts.reconstruction)?.as_f64(),
            hash: g.scalar(parts.hash)?.as_f64(),
        };
        if !out.loss.is_finite() {
            return Err(Error::NonFiniteLoss { step: self.adam.steps() + 1, value: out.loss });
        }
        let mut grads = g.backward(parts.loss)?;
        let grads: Vec<Option<B::Tensor>> = pv.iter().map(|&v| grads.take(v)).collect();
        drop(g); // release the graph's references so Adam can update the parameters in place
        let grad_refs: Vec<Option<&B::Tensor>> = grads.iter().map(Option::as_ref).collect();
        let mut param_refs: Vec<&mut B::Tensor> = self.params.iter_mut().collect();
        self.adam.step(&self.backend, &mut param_refs, &grad_refs)?;
        Ok(out)
    }

    /// One epoch: a [`Machine::train_step`] per batch of row indices into `features`,
    /// calling `on_step(batch_idx, losses)` after each. Returns the mean loss over batches.
    pub fn train_epoch(
        &mut self,
        features: ArrayView2<f32>,
        batches: &[Vec<usize>],
        mut on_step: impl FnMut(usize, &LossParts<f64>),
    ) -> Result<LossParts<f64>> {
        let mut sum = LossParts { loss: 0.0, reconstruction: 0.0, hash: 0.0 };
        for (batch_idx, rows) in batches.iter().enumerate() {
            let batch = features.select(Axis(0), rows).mapv(|v| B::Elem::of(v as f64));
            let parts = self.train_step(batch.view())?;
            sum.loss += parts.loss;
            sum.reconstruction += parts.reconstruction;
            sum.hash += parts.hash;
            on_step(batch_idx, &parts);
        }
        let n = batches.len().max(1) as f64;
        Ok(LossParts { loss: sum.loss / n, reconstruction: sum.reconstruction / n, hash: sum.hash / n })
    }

    /// The hash-layer logits `X W2ᵀ + b2` (`n × bits`); bit `j` of row `i` is 1 where the
    /// logit is `≥ 0` (spec §4). Encoding needs only this affine map; rows are processed in
    /// chunks so any number of rows fits in memory.
    pub fn hash_logits(&self, x: ArrayView2<f32>) -> Result<Array2<f32>> {
        let (rows, cols) = x.dim();
        if cols != self.config.in_size {
            return Err(Error::BatchShape { rows, cols, in_size: self.config.in_size });
        }
        if let Some(((row, col), _)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFiniteInput { row, col });
        }
        let idx_w = self.specs.iter().position(|s| s.name == "w2.weight").expect("w2 always exists");
        let (w, b) = (&self.params[idx_w], &self.params[idx_w + 1]);
        let mut out = Array2::zeros((rows, self.config.bits));
        const CHUNK: usize = 4096;
        for start in (0..rows).step_by(CHUNK) {
            let end = (start + CHUNK).min(rows);
            let chunk = x.slice(s![start..end, ..]).mapv(|v| B::Elem::of(v as f64));
            let xw = self.backend.linear(&self.backend.upload(chunk.view())?, w, b)?;
            let logits = self.backend.download(&xw)?;
            out.slice_mut(s![start..end, ..]).assign(&logits.mapv(|v| v.as_f64() as f32));
        }
        Ok(out)
    }
}
