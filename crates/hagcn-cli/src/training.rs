//! Training options shared by `hagcn experiment` and `hagcn train`, the batch schedule, and
//! the one training loop.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use hagcn_autodiff::{AdamConfig, Backend};
use hagcn_data::epoch_batches;
use hagcn_model::{Ablation, Filter, LossParts, Machine, MachineConfig, Objective};
use ndarray::ArrayView2;
use serde::Serialize;

use crate::device::Device;

/// What [`TrainingOptions::train`] reports after each epoch.
pub struct EpochEnd {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean loss terms over the epoch's steps.
    pub mean: LossParts<f64>,
    /// Wall time of the epoch's steps.
    pub seconds: f64,
}

/// Hyper-parameters of one training run (defaults: spec §3).
#[derive(Args, Clone, Debug, Serialize)]
pub struct TrainingOptions {
    /// Training epochs
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Mini-batch size (the last batch of an epoch may be shorter)
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    /// Filter order k (fourier, spline, cheby, lanczos)
    #[arg(long, default_value_t = 18)]
    pub k: usize,
    /// Hidden size h
    #[arg(long, default_value_t = 768)]
    pub hidden: usize,
    /// Adam learning rate
    #[arg(long, default_value_t = 1e-4)]
    pub lr: f64,
    /// Weight γ of the hash loss
    #[arg(long, default_value_t = 1e-4)]
    pub gamma: f64,
    /// Seed of the split, the initialisation and the batch order
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Training objective: hagcn (the faithful method) or knn (docs/KNN_OBJECTIVE.md)
    #[arg(long, default_value = "hagcn")]
    pub objective: Objective,
    /// Neighbours per row of the kNN batch graph (knn objective)
    #[arg(long, default_value_t = 5)]
    pub knn: usize,
    /// Weight λ of the bit-balance and decorrelation terms (knn objective)
    #[arg(long, default_value_t = 0.1)]
    pub regularization: f64,
    /// Parts of the knn objective to switch off, comma-separated (an ablation)
    #[arg(long, value_delimiter = ',')]
    pub ablate: Vec<Ablation>,
    /// Where to train: cpu, cuda, cuda:N or cuda-emulated (CUDA needs a build with --features cuda)
    #[arg(long, default_value = "cpu")]
    pub device: Device,
}

impl TrainingOptions {
    /// The model's hyper-parameters for input size `in_size`, `bits` and `filter`.
    pub fn machine_config(&self, in_size: usize, bits: usize, filter: Filter) -> MachineConfig {
        let mut config = MachineConfig::new(in_size, bits, filter);
        config.hidden = self.hidden;
        config.k = self.k;
        config.gamma = self.gamma;
        config.objective = self.objective;
        config.knn = self.knn;
        config.regularization = self.regularization;
        config.ablate = self.ablate.clone();
        config
    }

    /// The fewest rows a training batch of `filter` may have ([`MachineConfig::min_batch_rows`]).
    fn min_batch_rows(&self, filter: Filter) -> usize {
        self.machine_config(1, 1, filter).min_batch_rows()
    }

    /// A freshly initialised model with hyper-parameters `config` on `backend` (the device
    /// opened from [`TrainingOptions::device`] by [`crate::device::open`]).
    pub fn new_machine<B: Backend<Elem = f32>>(&self, backend: B, config: MachineConfig) -> Result<Machine<B>> {
        Ok(Machine::new(backend, config, self.adam(), self.seed)?)
    }

    /// The training loop of `experiment` and `train`: `epochs` epochs over the rows of
    /// `features`, batched by [`TrainingOptions::epoch_batches`] (so a short last batch of a
    /// spectral filter is merged). `on_step(epoch, losses)` runs after every step and
    /// `on_epoch` after every epoch, with the model (to evaluate it, for example).
    pub fn train<B: Backend>(
        &self,
        machine: &mut Machine<B>,
        features: ArrayView2<f32>,
        mut on_step: impl FnMut(usize, &LossParts<f64>),
        mut on_epoch: impl FnMut(EpochEnd, &Machine<B>) -> Result<()>,
    ) -> Result<()> {
        let filter = machine.config().filter;
        if machine.steps() == 0 {
            // the knn objective centres inputs by the training mean (a no-op otherwise)
            machine.fit_input_mean(features)?;
        }
        for epoch in 0..self.epochs {
            let batches = self.epoch_batches(features.nrows(), epoch, filter)?;
            let start = Instant::now();
            let mean = machine
                .train_epoch(features, &batches, |_, parts| on_step(epoch + 1, parts))
                .with_context(|| format!("epoch {}", epoch + 1))?;
            let seconds = start.elapsed().as_secs_f64();
            on_epoch(EpochEnd { epoch: epoch + 1, mean, seconds }, machine)?;
        }
        Ok(())
    }

    /// Adam with the chosen learning rate and PyTorch's other defaults.
    pub fn adam(&self) -> AdamConfig {
        AdamConfig { lr: self.lr, ..AdamConfig::default() }
    }

    /// Checks the options against the filters to train and the number of training rows.
    pub fn validate(&self, filters: &[Filter], n_train: usize) -> Result<()> {
        if self.epochs == 0 || self.batch_size == 0 {
            bail!("--epochs and --batch-size must be at least 1");
        }
        if self.batch_size > n_train {
            bail!("--batch-size {} is larger than the training set ({n_train} samples)", self.batch_size);
        }
        if self.objective == Objective::Knn && self.knn >= self.batch_size {
            bail!(
                "--knn {} must be smaller than --batch-size {}: each row needs knn other rows",
                self.knn,
                self.batch_size
            );
        }
        if let Some(f) = filters.iter().find(|&&f| self.min_batch_rows(f) > self.batch_size) {
            bail!(
                "--k {} exceeds --batch-size {}: the {f} filter keeps k eigenpairs of each batch",
                self.k,
                self.batch_size
            );
        }
        if let Some(f) = filters.iter().find(|&&f| {
            self.objective == Objective::Hagcn
                && matches!(f, Filter::Fourier | Filter::Spline)
                && self.batch_size > self.hidden + 1
        }) {
            // S = Z Zᵀ/n has rank ≤ h, so Â = D (S + 1) D has a null space of dimension n − h − 1:
            // its k smallest eigenvectors are then any basis of it, chosen by rounding.
            eprintln!(
                "warning: --batch-size {} exceeds --hidden {} + 1: the batch graph has a null space of dimension {}, \
                 so the {f} filter's k smallest eigenvectors are not determined by the data",
                self.batch_size,
                self.hidden,
                self.batch_size - self.hidden - 1
            );
        }
        Ok(())
    }

    /// The batches of epoch `epoch` over `n_rows` rows. A short last batch with fewer rows
    /// than the model needs (`k` for fourier and spline, `knn + 1` for the knn objective) is
    /// merged into the one before it.
    pub fn epoch_batches(&self, n_rows: usize, epoch: usize, filter: Filter) -> Result<Vec<Vec<usize>>> {
        let mut batches = epoch_batches(n_rows, self.batch_size, self.seed, epoch)?;
        let min_rows = self.min_batch_rows(filter);
        if batches.len() > 1 && batches.last().is_some_and(|b| b.len() < min_rows) {
            let last = batches.pop().expect("checked above");
            batches.last_mut().expect("checked above").extend(last);
        }
        Ok(batches)
    }

    /// How many batches [`TrainingOptions::epoch_batches`] yields per epoch.
    pub fn batches_per_epoch(&self, n_rows: usize, filter: Filter) -> usize {
        let n = n_rows.div_ceil(self.batch_size.max(1));
        let short = n_rows % self.batch_size.max(1);
        if n > 1 && short != 0 && short < self.min_batch_rows(filter) { n - 1 } else { n }
    }
}
