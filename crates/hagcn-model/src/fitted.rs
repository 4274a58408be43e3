//! What a model fits on its training set instead of training: the input mean it centres by,
//! the neighbourhood filter ([`crate::neighbourhood`]) and the ITQ read-out of its codes.
//! Each is stored among the parameters (untrained, see [`crate::params::param_specs`]) in
//! `f32`, so a checkpoint reproduces it exactly.
//!
//! The rows a model sees are `X̄ = X − mean` (when it centres), then `F(X̄)` (when it
//! propagates); its codes are the signs of the logits `L`, or with the ITQ read-out of
//! `(L − μ) R`, where `μ` is the training rows' mean logit and `R` the ITQ rotation of the
//! centred training logits (Gong & Lazebnik 2011, 50 iterations), fitted after training.
//! With `code_hops = q > 0` the logits `L` are first propagated over the anchor graph: a
//! point's logits are `z(x) G_q`, `G_q = M^{q-1} Λ^{-1} Zᵀ L_train` (`m × b`, fitted after
//! training from the network's logits of the training rows), and the network itself is not
//! run on new points.

use hagcn_eval::itq_rotation;
use ndarray::{Array2, ArrayView2};

use crate::neighbourhood::Neighbourhood;
use crate::params::ParamSpec;
use crate::{Ablation, Error, MachineConfig, Readout, Result};

/// Whether rows are being prepared for a training step or for encoding (which an ablation
/// may treat differently).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// A training batch.
    Train,
    /// New points to encode.
    Encode,
}

/// The fitted values of a model; `None` until fitted (or loaded).
#[derive(Clone, Debug, Default)]
pub(crate) struct Fitted {
    pub(crate) input_mean: Option<Vec<f64>>,
    pub(crate) neighbourhood: Option<Neighbourhood>,
    /// `G_q`, the anchors' propagated logits (`m × b`).
    pub(crate) anchor_logits: Option<Array2<f64>>,
    /// `(μ, R)`.
    pub(crate) readout: Option<(Vec<f64>, Array2<f64>)>,
}

/// The value of parameter `name` among `values` (in `specs` order), if the model has it.
fn value<'a>(specs: &[ParamSpec], values: &'a [Array2<f64>], name: &str) -> Option<&'a Array2<f64>> {
    specs.iter().position(|s| s.name == name).map(|at| &values[at])
}

impl Fitted {
    /// The fitted values stored among `values` (a checkpoint's); unfitted ones (a zero
    /// bandwidth) stay `None`.
    pub(crate) fn from_values(config: &MachineConfig, specs: &[ParamSpec], values: &[Array2<f64>]) -> Result<Self> {
        let input_mean = value(specs, values, "input_mean").map(|m| m.iter().copied().collect());
        let neighbourhood = match value(specs, values, "neighbourhood.bandwidth") {
            Some(bandwidth) if bandwidth[[0, 0]] > 0.0 => Some(Neighbourhood::from_parts(
                value(specs, values, "neighbourhood.anchors").expect("stored with the bandwidth").clone(),
                value(specs, values, "neighbourhood.features").expect("stored with the bandwidth").clone(),
                config.nearest_anchors,
                bandwidth[[0, 0]],
                value(specs, values, "neighbourhood.scale").expect("stored with the bandwidth")[[0, 0]],
            )?),
            _ => None,
        };
        let anchor_logits = value(specs, values, "readout.anchor_logits").cloned();
        let readout = value(specs, values, "readout.rotation").map(|rotation| {
            let mean = value(specs, values, "readout.mean").expect("stored with the rotation");
            (mean.iter().copied().collect(), rotation.clone())
        });
        Ok(Fitted { input_mean, neighbourhood, anchor_logits, readout })
    }

    /// The rows the model sees for the raw rows `x` at `stage`, in `f64`: centred, then
    /// filtered over the neighbourhood graph, as the configuration says.
    ///
    /// # Errors
    ///
    /// [`Error::InputsNotFitted`] when a needed value has not been fitted.
    pub(crate) fn inputs(&self, config: &MachineConfig, x: Array2<f64>, stage: Stage) -> Result<Array2<f64>> {
        let mut rows = self.centre(config, x)?;
        if config.propagates() {
            let filter = self.neighbourhood.as_ref().ok_or(Error::InputsNotFitted)?;
            rows = if stage == Stage::Encode && config.ablates(Ablation::EncodeWithoutNeighbours) {
                filter.scale_only(rows.view())
            } else {
                filter.propagate(rows.view())
            };
        }
        Ok(rows)
    }

    /// The propagated logits `z(x) G_q` of the raw rows `x` ([`MachineConfig::propagates_codes`]).
    ///
    /// # Errors
    ///
    /// [`Error::InputsNotFitted`] before [`crate::Machine::fit_readout`].
    pub(crate) fn anchor_logits(&self, config: &MachineConfig, x: Array2<f64>) -> Result<Array2<f64>> {
        let g = self.anchor_logits.as_ref().ok_or(Error::InputsNotFitted)?;
        let filter = self.neighbourhood.as_ref().ok_or(Error::InputsNotFitted)?;
        Ok(filter.apply(self.centre(config, x)?.view(), g))
    }

    /// `x` minus the input mean when the model centres, else `x`.
    pub(crate) fn centre(&self, config: &MachineConfig, mut x: Array2<f64>) -> Result<Array2<f64>> {
        if config.centres_inputs() {
            let mean = self.input_mean.as_ref().ok_or(Error::InputsNotFitted)?;
            for mut row in x.rows_mut() {
                row.iter_mut().zip(mean).for_each(|(v, m)| *v -= m);
            }
        }
        Ok(x)
    }

    /// The column means of `features` in `f64`, rounded to `f32`.
    ///
    /// # Errors
    ///
    /// [`Error::NonFiniteInput`] for NaN or infinite values.
    pub(crate) fn fit_mean(features: ArrayView2<f32>) -> Result<Vec<f64>> {
        let (rows, cols) = features.dim();
        let mut mean = vec![0.0f64; cols];
        for ((row, col), &v) in features.indexed_iter() {
            if !v.is_finite() {
                return Err(Error::NonFiniteInput { row, col });
            }
            mean[col] += v as f64;
        }
        // rounded to f32, as a checkpoint stores it, so a reloaded model encodes identically
        mean.iter_mut().for_each(|m| *m = (*m / rows as f64) as f32 as f64);
        Ok(mean)
    }

    /// The ITQ read-out of the training rows' logits (`n × b`): their mean and rotation,
    /// rounded to `f32`.
    pub(crate) fn fit_readout(logits: ArrayView2<f64>, seed: u64) -> Result<(Vec<f64>, Array2<f64>)> {
        let (n, b) = logits.dim();
        let mut mean = vec![0.0f64; b];
        for row in logits.rows() {
            mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
        }
        mean.iter_mut().for_each(|m| *m = (*m / n as f64) as f32 as f64);
        let centred = Array2::from_shape_fn((n, b), |(i, j)| logits[[i, j]] - mean[j]);
        let (rotation, _) = itq_rotation(&centred, 50, seed)?;
        Ok((mean, rotation.mapv(|v| v as f32 as f64)))
    }

    /// The read-out's `(L − μ) R` of logits `L` (`n × b`), in place; every entry one sum in
    /// a fixed order, so the same on every machine. Logits stay as they are without it.
    pub(crate) fn read_out(&self, config: &MachineConfig, logits: &mut Array2<f64>) -> Result<()> {
        if config.readout != Readout::Itq {
            return Ok(());
        }
        let (mean, rotation) = self.readout.as_ref().ok_or(Error::InputsNotFitted)?;
        let b = mean.len();
        let mut centred = vec![0.0f64; b];
        for mut row in logits.rows_mut() {
            centred.iter_mut().zip(row.iter()).zip(mean).for_each(|((c, v), m)| *c = v - m);
            for (j, out) in row.iter_mut().enumerate() {
                *out = centred.iter().enumerate().fold(0.0, |acc, (k, c)| c.mul_add(rotation[[k, j]], acc));
            }
        }
        Ok(())
    }
}
