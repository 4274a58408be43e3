//! The training options every front end shares (`hagcn train`, `hagcn experiment`, the
//! Python package), their defaults (here and nowhere else), the batch schedule and the one
//! training loop.

use std::time::Instant;

use hagcn_autodiff::{AdamConfig, Backend};
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::{Ablation, Error, Filter, LossParts, Machine, MachineConfig, Objective, Readout, Result};

/// Hyper-parameters of a training run beside the model's shape (filter, code length, order
/// and ablations, which a run chooses per model). Defaults: spec §3 and the reference's
/// script; for the `knn` objective, `docs/KNN_OBJECTIVE.md`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainingOptions {
    /// Training epochs.
    pub epochs: usize,
    /// Mini-batch size (the last batch of an epoch may be shorter).
    pub batch_size: usize,
    /// Hidden size `h`.
    pub hidden: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Weight γ of the hash loss.
    pub gamma: f64,
    /// Seed of the splits, the initialisation and the batch order.
    pub seed: u64,
    /// The training objective: `hagcn` (the faithful method) or `knn`.
    pub objective: Objective,
    /// Neighbours per row of the kNN batch graph (`knn` objective).
    pub knn: usize,
    /// Weight λ of the bit-balance and decorrelation terms (`knn` objective).
    pub regularization: f64,
    /// Anchors of the neighbourhood filter over the training set; 0 turns it off
    /// ([`crate::neighbourhood`]).
    pub anchors: usize,
    /// Nearest anchors each point is tied to (neighbourhood filter).
    pub nearest_anchors: usize,
    /// Propagation steps over the anchor graph (neighbourhood filter).
    pub hops: usize,
    /// Propagation steps of the logits over the anchor graph before the read-out (0: none).
    pub code_hops: usize,
    /// How codes are read off the logits: `sign` or `itq`.
    pub readout: Readout,
}

impl Default for TrainingOptions {
    /// The reference script's loop (20 epochs, batches of 128, seed 42), Adam's learning rate
    /// (spec §3), and the model's own defaults ([`MachineConfig::new`]).
    fn default() -> Self {
        let model = MachineConfig::new(1, 1, Filter::Gcn);
        TrainingOptions {
            epochs: 20,
            batch_size: 128,
            hidden: model.hidden,
            lr: AdamConfig::default().lr,
            gamma: model.gamma,
            seed: 42,
            objective: model.objective,
            knn: model.knn,
            regularization: model.regularization,
            anchors: model.anchors,
            nearest_anchors: model.nearest_anchors,
            hops: model.hops,
            code_hops: model.code_hops,
            readout: model.readout,
        }
    }
}

/// What [`TrainingOptions::train`] reports after each epoch.
pub struct EpochEnd {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean loss terms over the epoch's steps.
    pub mean: LossParts<f64>,
    /// Wall time of the epoch's steps.
    pub seconds: f64,
}

impl TrainingOptions {
    /// The hyper-parameters of a model with input size `in_size`, `bits`, `filter`, order `k`
    /// and the `ablate`d parts of the kNN objective.
    pub fn machine_config(
        &self,
        in_size: usize,
        bits: usize,
        filter: Filter,
        k: usize,
        ablate: &[Ablation],
    ) -> MachineConfig {
        let mut config = MachineConfig::new(in_size, bits, filter);
        config.hidden = self.hidden;
        config.k = k;
        config.gamma = self.gamma;
        config.objective = self.objective;
        config.knn = self.knn;
        config.regularization = self.regularization;
        config.ablate = ablate.to_vec();
        config.anchors = self.anchors;
        config.nearest_anchors = self.nearest_anchors;
        config.hops = self.hops;
        config.code_hops = self.code_hops;
        config.readout = self.readout;
        config
    }

    /// Adam with the chosen learning rate and PyTorch's other defaults.
    pub fn adam(&self) -> AdamConfig {
        AdamConfig { lr: self.lr, ..AdamConfig::default() }
    }

    /// A freshly initialised model with hyper-parameters `config` on `backend`, seeded by
    /// [`TrainingOptions::seed`].
    pub fn new_machine<B: Backend>(&self, backend: B, config: MachineConfig) -> Result<Machine<B>> {
        Machine::new(backend, config, self.adam(), self.seed)
    }

    /// Checks the options against a model and the number of training rows.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the setting: no epochs, an empty or too large batch, a kNN
    /// graph or a spectral filter that needs more rows than a batch has, a non-finite rate.
    pub fn validate(&self, model: &MachineConfig, n_train: usize) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        model.validate()?;
        if self.epochs == 0 || self.batch_size == 0 {
            return bad("epochs and batch_size must be at least 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("lr must be positive, got {}", self.lr));
        }
        if self.batch_size > n_train {
            return bad(format!("batch_size {} is larger than the training set ({n_train} samples)", self.batch_size));
        }
        if model.objective == Objective::Knn && model.knn >= self.batch_size {
            return bad(format!(
                "knn {} must be smaller than batch_size {}: each row needs knn other rows",
                model.knn, self.batch_size
            ));
        }
        if model.propagates() && model.anchors >= n_train {
            return bad(format!(
                "anchors {} must be fewer than the training rows ({n_train}): the neighbourhood filter's k-means \
                 needs a point per anchor",
                model.anchors
            ));
        }
        if model.min_batch_rows() > self.batch_size {
            return bad(format!(
                "k {} exceeds batch_size {}: the {} filter keeps k eigenpairs of each batch",
                model.k, self.batch_size, model.filter
            ));
        }
        Ok(())
    }

    /// Settings that are legal but probably not what the user meant.
    pub fn warnings(&self, model: &MachineConfig) -> Vec<String> {
        let mut out = Vec::new();
        if model.objective == Objective::Hagcn && model.filter.is_spectral() && self.batch_size > model.hidden + 1 {
            // S = Z Zᵀ/n has rank ≤ h, so Â = D (S + 1) D has a null space of dimension n − h − 1:
            // its k smallest eigenvectors are then any basis of it, chosen by rounding.
            out.push(format!(
                "batch_size {} exceeds hidden {} + 1: the batch graph has a null space of dimension {}, so the {} \
                 filter's k smallest eigenvectors are not determined by the data",
                self.batch_size,
                model.hidden,
                self.batch_size - model.hidden - 1,
                model.filter
            ));
        }
        out
    }

    /// The batches of epoch `epoch` over `n_rows` rows for `model`. A short last batch with
    /// fewer rows than the model needs ([`MachineConfig::min_batch_rows`]) is merged into the
    /// one before it.
    pub fn epoch_batches(&self, n_rows: usize, epoch: usize, model: &MachineConfig) -> Result<Vec<Vec<usize>>> {
        let mut batches = hagcn_data::epoch_batches(n_rows, self.batch_size, self.seed, epoch)?;
        if batches.len() > 1 && batches.last().is_some_and(|b| b.len() < model.min_batch_rows()) {
            let last = batches.pop().expect("checked above");
            batches.last_mut().expect("checked above").extend(last);
        }
        Ok(batches)
    }

    /// How many batches [`TrainingOptions::epoch_batches`] yields per epoch.
    pub fn batches_per_epoch(&self, n_rows: usize, model: &MachineConfig) -> usize {
        let size = self.batch_size.max(1);
        let n = n_rows.div_ceil(size);
        let short = n_rows % size;
        if n > 1 && short != 0 && short < model.min_batch_rows() { n - 1 } else { n }
    }

    /// The training loop: [`TrainingOptions::epochs`] epochs over the rows of `features`,
    /// batched by [`TrainingOptions::epoch_batches`]. A model first fits what it takes from
    /// its training set on `features` ([`Machine::fit_inputs`]), and after the last epoch its
    /// read-out ([`Machine::fit_readout`]). `on_step(epoch, losses)` runs after every step and
    /// `on_epoch` after every epoch, with the model (to evaluate it, for example).
    pub fn train<B: Backend, E>(
        &self,
        machine: &mut Machine<B>,
        features: ArrayView2<f32>,
        mut on_step: impl FnMut(usize, &LossParts<f64>),
        on_epoch: impl FnMut(EpochEnd, &Machine<B>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E>
    where
        E: From<Error>,
    {
        self.try_train(
            machine,
            features,
            |epoch, parts| {
                on_step(epoch, parts);
                Ok(())
            },
            on_epoch,
        )
    }

    /// [`TrainingOptions::train`] whose `on_step` may stop training: its first error is
    /// returned at once, after the step it followed, and the model keeps the steps taken
    /// (its read-out is then not fitted). The Python package stops there on Ctrl-C.
    pub fn try_train<B: Backend, E>(
        &self,
        machine: &mut Machine<B>,
        features: ArrayView2<f32>,
        mut on_step: impl FnMut(usize, &LossParts<f64>) -> std::result::Result<(), E>,
        mut on_epoch: impl FnMut(EpochEnd, &Machine<B>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E>
    where
        E: From<Error>,
    {
        if machine.steps() == 0 {
            machine.fit_inputs(features)?; // a no-op for a model that neither centres nor filters
        }
        let model = machine.config().clone();
        for epoch in 0..self.epochs {
            let batches = self.epoch_batches(features.nrows(), epoch, &model)?;
            let start = Instant::now();
            let mean = machine.try_train_epoch(features, &batches, |_, parts| on_step(epoch + 1, parts))?;
            let seconds = start.elapsed().as_secs_f64();
            if epoch + 1 == self.epochs {
                machine.fit_readout(features)?; // a no-op for the sign read-out of unpropagated logits
            }
            on_epoch(EpochEnd { epoch: epoch + 1, mean, seconds }, machine)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_last_batches_are_merged_when_the_model_needs_more_rows() {
        let opts = TrainingOptions { batch_size: 10, ..TrainingOptions::default() };
        let mut model = opts.machine_config(4, 8, Filter::Fourier, 4, &[]);
        // 23 rows: 10, 10, 3 → the 3-row batch cannot hold k = 4 eigenpairs
        let batches = opts.epoch_batches(23, 0, &model).unwrap();
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [10, 13]);
        assert_eq!(opts.batches_per_epoch(23, &model), 2);
        model.filter = Filter::Gcn;
        assert_eq!(opts.epoch_batches(23, 0, &model).unwrap().len(), 3);
        assert_eq!(opts.batches_per_epoch(23, &model), 3);
    }

    #[test]
    fn try_train_stops_after_the_step_whose_callback_fails_and_otherwise_equals_train() {
        use hagcn_autodiff::CpuBackend;
        let opts = TrainingOptions { epochs: 3, batch_size: 4, hidden: 8, ..TrainingOptions::default() };
        let features = ndarray::Array2::from_shape_fn((16, 6), |(i, j)| ((i * 6 + j) as f32 * 0.37).sin());
        let config = opts.machine_config(6, 8, Filter::Gcn, crate::DEFAULT_K, &[]);
        let machine = || opts.new_machine(CpuBackend::<f32>::new(), config.clone()).unwrap();

        // 4 batches per epoch: a stop after the 6th step comes in the second epoch.
        let (mut stopped, mut steps_seen, mut epochs_seen) = (machine(), 0, 0);
        let result = opts.try_train(
            &mut stopped,
            features.view(),
            |_, _| {
                steps_seen += 1;
                if steps_seen == 6 { Err(Error::Config("stop".into())) } else { Ok(()) }
            },
            |_, _| -> Result<()> {
                epochs_seen += 1;
                Ok(())
            },
        );
        assert!(matches!(result, Err(Error::Config(m)) if m == "stop"));
        assert_eq!((stopped.steps(), steps_seen, epochs_seen), (6, 6, 1));

        let (mut a, mut b) = (machine(), machine());
        opts.train(&mut a, features.view(), |_, _| {}, |_, _| -> Result<()> { Ok(()) }).unwrap();
        opts.try_train(&mut b, features.view(), |_, _| -> Result<()> { Ok(()) }, |_, _| Ok(())).unwrap();
        assert_eq!(a.steps(), 12);
        assert_eq!(a.state_dict().unwrap(), b.state_dict().unwrap());
    }

    #[test]
    fn validation_names_the_setting() {
        let opts = TrainingOptions { batch_size: 8, ..TrainingOptions::default() };
        let model = opts.machine_config(4, 8, Filter::Fourier, 9, &[]);
        assert!(opts.validate(&model, 100).unwrap_err().to_string().contains("k 9 exceeds batch_size 8"));
        let knn = TrainingOptions { objective: Objective::Knn, knn: 8, ..opts.clone() };
        let model = knn.machine_config(4, 8, Filter::Gcn, 4, &[]);
        assert!(knn.validate(&model, 100).unwrap_err().to_string().contains("knn 8 must be smaller"));
        let model = opts.machine_config(4, 8, Filter::Gcn, 4, &[]);
        assert!(opts.validate(&model, 5).unwrap_err().to_string().contains("larger than the training set"));
        let zero = TrainingOptions { epochs: 0, ..opts.clone() };
        assert!(zero.validate(&model, 100).is_err());
        assert!(opts.validate(&model, 100).is_ok());
    }
}
