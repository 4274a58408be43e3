//! The HAGCN model ("Machine", spec §2): its parameters on a backend, its Adam state, a
//! training step, and encoding.

use hagcn_autodiff::{Adam, AdamConfig, Arithmetic, Backend, Graph, Var};
use hagcn_linalg::Real;
use ndarray::{Array2, ArrayView2, Axis, s};

use crate::batch_graph::BatchGraph;
use crate::fitted::{Fitted, Stage};
use crate::forward::{encoder, record_encoding};
use crate::loss::{LossParts, record_loss};
use crate::neighbourhood::Neighbourhood;
use crate::params::{ParamSpec, Params, init_params, param_specs};
use crate::{Error, Filter, MachineConfig, Readout, Result};

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
    /// What the model fits on its training set (input mean, neighbourhood filter, read-out);
    /// `None`s until fitted or loaded.
    fitted: Fitted,
}

impl<B: Backend> Machine<B> {
    /// A freshly initialised model (PyTorch's default initialisation, drawn from `seed`).
    /// A model that centres or filters its inputs needs [`Machine::fit_inputs`] before it
    /// trains or encodes, and one with the ITQ read-out [`Machine::fit_readout`] before it
    /// encodes ([`crate::TrainingOptions::train`] does both).
    pub fn new(backend: B, config: MachineConfig, adam: AdamConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        let specs = param_specs(&config);
        let values = init_params(&specs, seed);
        let mut machine = Self::from_params(backend, config, adam, values, seed)?;
        machine.fitted = Fitted::default(); // zeros until fitted: training refuses to start without them
        Ok(machine)
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
        let fitted = Fitted::from_values(&config, &specs, &values)?;
        let shapes: Vec<_> = specs.iter().map(|s| s.shape).collect();
        let adam = Adam::new(&backend, adam, &shapes)?;
        Ok(Machine { backend, config, specs, params, adam, seed, fitted })
    }

    /// Fits what the model takes from its training set, `features` (the training split):
    /// the input mean of a model that centres (column means in `f64`, rounded to `f32`, the
    /// precision of checkpoints), then the neighbourhood filter of one that propagates
    /// ([`crate::neighbourhood`], on the centred rows, seeded by the model's seed). Does
    /// nothing for a model that does neither.
    ///
    /// # Errors
    ///
    /// [`Error::BatchShape`] when `features` has no rows or the wrong width,
    /// [`Error::NonFiniteInput`] for NaN or infinite values, and the neighbourhood filter's.
    pub fn fit_inputs(&mut self, features: ArrayView2<f32>) -> Result<()> {
        if !self.config.centres_inputs() && !self.config.propagates() {
            return Ok(());
        }
        let (rows, cols) = features.dim();
        if rows == 0 || cols != self.config.in_size {
            return Err(Error::BatchShape { rows, cols, in_size: self.config.in_size });
        }
        if self.config.centres_inputs() {
            let mean = Fitted::fit_mean(features)?;
            self.set_param("input_mean", Array2::from_shape_vec((1, cols), mean.clone()).expect("1 × d"))?;
            self.fitted.input_mean = Some(mean);
        }
        if self.config.propagates() {
            self.fitted.neighbourhood = None;
            let centred = self.fitted.centre(&self.config, features.mapv(f64::from))?;
            let c = &self.config;
            let filter = Neighbourhood::fit(centred.view(), c.anchors, c.nearest_anchors, c.hops, self.seed)?;
            self.set_param("neighbourhood.anchors", filter.anchors().to_owned())?;
            self.set_param("neighbourhood.features", filter.features().to_owned())?;
            self.set_param("neighbourhood.bandwidth", Array2::from_elem((1, 1), filter.bandwidth()))?;
            self.set_param("neighbourhood.scale", Array2::from_elem((1, 1), filter.scale()))?;
            self.fitted.neighbourhood = Some(filter);
        }
        Ok(())
    }

    /// Fits what reads codes off the network after training, on `features` (the training
    /// split): the logits' propagation over the anchor graph (`code_hops > 0`), then the ITQ
    /// read-out ([`crate::Readout::Itq`]) of the (propagated) logits. Does nothing for a
    /// model with neither.
    ///
    /// # Errors
    ///
    /// As [`Machine::hash_logits`], and the ITQ rotation's.
    pub fn fit_readout(&mut self, features: ArrayView2<f32>) -> Result<()> {
        if self.config.readout != Readout::Itq && !self.config.propagates_codes() {
            return Ok(());
        }
        self.fitted.readout = None;
        self.fitted.anchor_logits = None;
        let mut logits = self.logits(features, false)?.mapv(f64::from);
        if self.config.propagates_codes() {
            let centred = self.fitted.centre(&self.config, features.mapv(f64::from))?;
            let filter = self.fitted.neighbourhood.as_ref().ok_or(Error::InputsNotFitted)?;
            let (g, walked) = filter.walk_values(centred.view(), logits.view(), self.config.code_hops);
            logits = walked;
            self.set_param("readout.anchor_logits", g.clone())?;
            self.fitted.anchor_logits = Some(g);
        }
        if self.config.readout == Readout::Itq {
            let (mean, rotation) = Fitted::fit_readout(logits.view(), self.seed)?;
            let b = mean.len();
            self.set_param("readout.mean", Array2::from_shape_vec((1, b), mean.clone()).expect("1 × b"))?;
            self.set_param("readout.rotation", rotation.clone())?;
            self.fitted.readout = Some((mean, rotation));
        }
        Ok(())
    }

    /// Uploads `value` as the parameter `name`.
    fn set_param(&mut self, name: &str, value: Array2<f64>) -> Result<()> {
        let at = self.specs.iter().position(|s| s.name == name).expect("a parameter of this configuration");
        self.params[at] = self.backend.upload(value.mapv(B::Elem::of).view())?;
        Ok(())
    }

    /// The rows the model sees for `x` at `stage` (see [`crate::fitted`]), as `f64`.
    fn inputs(&self, x: ArrayView2<B::Elem>, stage: Stage) -> Result<Array2<f64>> {
        self.fitted.inputs(&self.config, x.mapv(|v| v.as_f64()), stage)
    }

    /// Whether the model changes its rows before the network sees them.
    fn transforms_inputs(&self) -> bool {
        self.config.centres_inputs() || self.config.propagates()
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

    /// Records the batch `x` and the model's objective on `g`, with the parameters as
    /// trainable variables (`train`) or constants. Returns the parameter variables and the
    /// losses.
    fn record(&self, g: &mut Graph<B>, x: ArrayView2<B::Elem>, train: bool) -> Result<(Vec<Var>, LossParts<Var>)> {
        self.check_batch(x)?;
        let pv: Vec<Var> = self
            .specs
            .iter()
            .zip(&self.params)
            .map(|(s, t)| if train && s.trainable { g.param(t.clone()) } else { g.constant(t.clone()) })
            .collect();
        let start = self.lanczos_start(g, x.nrows())?;
        let inputs = self.inputs(x, Stage::Train)?; // x itself (as f64) when the model changes nothing
        let graph = BatchGraph::new(&self.config, inputs.view())?;
        let rows = if self.transforms_inputs() { inputs.mapv(B::Elem::of) } else { x.to_owned() };
        let xv = g.constant(self.backend.upload(rows.view())?);
        let parts = record_loss(&self.config, g, xv, &pv, &graph, start)?;
        Ok((pv, parts))
    }

    fn scalars(g: &Graph<B>, parts: &LossParts<Var>) -> Result<LossParts<f64>> {
        Ok(LossParts {
            loss: g.scalar(parts.loss)?.as_f64(),
            reconstruction: g.scalar(parts.reconstruction)?.as_f64(),
            hash: g.scalar(parts.hash)?.as_f64(),
            regularization: g.scalar(parts.regularization)?.as_f64(),
        })
    }

    /// The normalised adjacency `Â` the filter sees for the batch `x` (`n × n`, in `f64`):
    /// `D^-1/2 (Z Zᵀ/n + 1) D^-1/2` with the current `Z` for the faithful objective, the kNN
    /// graph of the centred batch (or `J/n` when ablated) for the `knn` one. For diagnostics.
    pub fn batch_graph(&self, x: ArrayView2<f32>) -> Result<Array2<f64>> {
        let x = x.mapv(|v| B::Elem::of(v as f64));
        self.check_batch(x.view())?;
        let inputs = self.inputs(x.view(), Stage::Train)?;
        match BatchGraph::new(&self.config, inputs.view())? {
            BatchGraph::Knn(batch) => Ok(batch.a_hat),
            BatchGraph::Similarity => {
                let mut g = Graph::new(self.backend.clone());
                let pv: Vec<Var> = self.params.iter().map(|t| g.constant(t.clone())).collect();
                let xv = g.constant(self.backend.upload(inputs.mapv(B::Elem::of).view())?);
                let z = encoder(&mut g, xv, &Params::new(&self.specs, &pv))?;
                let z = self.backend.download(g.value(z)?)?.mapv(|v| v.as_f64());
                let n = z.nrows() as f64;
                let a = z.dot(&z.t()).mapv(|v| v / n + 1.0);
                Ok(hagcn_linalg::normalized_adjacency(a.view())?.0)
            }
        }
    }

    /// The loss of a batch without updating anything.
    pub fn loss(&self, x: ArrayView2<B::Elem>) -> Result<LossParts<f64>> {
        let mut g = Graph::new(self.backend.clone());
        let (_, parts) = self.record(&mut g, x, false)?;
        Self::scalars(&g, &parts)
    }

    /// One training step on a batch (`n × d`): forward, backward and one Adam update.
    /// Returns the loss before the update.
    pub fn train_step(&mut self, x: ArrayView2<B::Elem>) -> Result<LossParts<f64>> {
        let mut g = Graph::new(self.backend.clone());
        let (pv, parts) = self.record(&mut g, x, true)?;
        let out = Self::scalars(&g, &parts)?;
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
        self.try_train_epoch(features, batches, |batch_idx, parts| -> Result<()> {
            on_step(batch_idx, parts);
            Ok(())
        })
    }

    /// [`Machine::train_epoch`] whose `on_step` may stop the epoch: its first error is
    /// returned at once, after the step it followed (so the model has taken every step
    /// before it and none after). A front end checks for an interrupt there, such as the
    /// Python package's Ctrl-C.
    pub fn try_train_epoch<E>(
        &mut self,
        features: ArrayView2<f32>,
        batches: &[Vec<usize>],
        mut on_step: impl FnMut(usize, &LossParts<f64>) -> std::result::Result<(), E>,
    ) -> std::result::Result<LossParts<f64>, E>
    where
        E: From<Error>,
    {
        let mut sum = LossParts { loss: 0.0, reconstruction: 0.0, hash: 0.0, regularization: 0.0 };
        for (batch_idx, rows) in batches.iter().enumerate() {
            let batch = features.select(Axis(0), rows).mapv(|v| B::Elem::of(v as f64));
            let parts = self.train_step(batch.view())?;
            sum.loss += parts.loss;
            sum.reconstruction += parts.reconstruction;
            sum.hash += parts.hash;
            sum.regularization += parts.regularization;
            on_step(batch_idx, &parts)?;
        }
        let n = batches.len().max(1) as f64;
        Ok(LossParts {
            loss: sum.loss / n,
            reconstruction: sum.reconstruction / n,
            hash: sum.hash / n,
            regularization: sum.regularization / n,
        })
    }

    /// The hash-layer logits (`n × bits`): `X W2ᵀ + b2` for the faithful objective,
    /// `GELU(X̄ W1ᵀ + b1) W2ᵀ + b2` with `X̄ = X − input_mean` for the `knn` one. Bit `j` of
    /// row `i` is 1 where the logit is `≥ 0` (spec §4). Rows are processed in chunks of
    /// [`Machine::HASH_CHUNK`] ([`Machine::hash_logits_block`]) so any number fits in memory.
    ///
    /// The layers run with [`Arithmetic::Reproducible`]: each logit is summed in one fixed
    /// order, so a checkpoint gives the same logits and codes, bit for bit, on any machine,
    /// thread count and backend (training uses the faster GEMM).
    pub fn hash_logits(&self, x: ArrayView2<f32>) -> Result<Array2<f32>> {
        self.logits(x, true)
    }

    /// [`Machine::hash_logits`], with or without the read-out's rotation.
    fn logits(&self, x: ArrayView2<f32>, read_out: bool) -> Result<Array2<f32>> {
        let (rows, cols) = x.dim();
        if cols != self.config.in_size {
            return Err(Error::BatchShape { rows, cols, in_size: self.config.in_size });
        }
        if let Some(((row, col), _)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFiniteInput { row, col });
        }
        let mut out = Array2::zeros((rows, self.config.bits));
        for start in (0..rows).step_by(Self::HASH_CHUNK) {
            let end = (start + Self::HASH_CHUNK).min(rows);
            let block = x.slice(s![start..end, ..]).mapv(|v| B::Elem::of(v as f64));
            let logits = self.logits_block(block.view(), read_out)?;
            out.slice_mut(s![start..end, ..]).assign(&logits.mapv(|v| v.as_f64() as f32));
        }
        Ok(out)
    }

    /// Rows per device call of [`Machine::hash_logits`].
    pub const HASH_CHUNK: usize = 4096;

    /// The logits of a block of rows already in the device's element type, with no checks
    /// and no conversion: what [`Machine::hash_logits`] computes for each chunk of
    /// [`Machine::HASH_CHUNK`] rows, so a streaming encoder that calls it on the same chunks
    /// gets bit-identical codes. The caller checks the width and that the values are finite.
    pub fn hash_logits_block(&self, x: ArrayView2<B::Elem>) -> Result<Array2<B::Elem>> {
        self.logits_block(x, true)
    }

    fn logits_block(&self, x: ArrayView2<B::Elem>, read_out: bool) -> Result<Array2<B::Elem>> {
        if read_out && self.config.propagates_codes() {
            let mut logits = self.fitted.anchor_logits(&self.config, x.mapv(|v| v.as_f64()))?;
            self.fitted.read_out(&self.config, &mut logits)?;
            return Ok(logits.mapv(B::Elem::of));
        }
        let mut g = Graph::with_arithmetic(self.backend.clone(), Arithmetic::Reproducible);
        let input = if self.transforms_inputs() {
            self.backend.upload(self.inputs(x, Stage::Encode)?.mapv(B::Elem::of).view())?
        } else {
            self.backend.upload(x)?
        };
        let xv = g.constant(input);
        let pv: Vec<Var> = self.params.iter().map(|t| g.constant(t.clone())).collect();
        let logits = record_encoding(&self.config, &mut g, xv, &Params::new(&self.specs, &pv))?;
        let logits = self.backend.download(g.value(logits)?)?;
        if !read_out || self.config.readout == Readout::Sign {
            return Ok(logits);
        }
        let mut rotated = logits.mapv(|v| v.as_f64());
        self.fitted.read_out(&self.config, &mut rotated)?;
        Ok(rotated.mapv(B::Elem::of))
    }
}
