//! `hagcn train | eval`: training a hash function on a dataset, and scoring codes.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use hagcn_autodiff::Backend;
use hagcn_data::Dataset;
use hagcn_eval::{TopK, mean_average_precision};
use hagcn_model::{Ablation, DEFAULT_K, Filter, MachineConfig, TrainingOptions, save_checkpoint};

use crate::codes_file::read_codes;
use crate::device::{Device, EigenSolver, with_backend};
use crate::flags::{TrainingFlags, names};
use crate::output::refuse_existing;

/// Reads labels (any integer `.npy` of length N) as class indices.
fn read_labels(path: &Path) -> Result<Vec<usize>> {
    let labels = hagcn_data::npy::read_int(path)?;
    if labels.shape.len() != 1 {
        bail!("{}: expected a 1-D array of labels, found shape {:?}", path.display(), labels.shape);
    }
    labels
        .data
        .iter()
        .enumerate()
        .map(|(i, &l)| usize::try_from(l).map_err(|_| anyhow::anyhow!("{}: negative label {l} at {i}", path.display())))
        .collect()
}

/// Options of `hagcn train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Dataset folder (fast or per-class layout); every sample is used for training
    #[arg(long)]
    pub dataset: PathBuf,
    /// Where to write the checkpoint (.npz)
    #[arg(long)]
    pub out: PathBuf,
    /// Graph filter
    #[arg(long, default_value = "gcn", value_parser = names::<Filter>())]
    pub filter: Filter,
    /// Code length in bits
    #[arg(long, default_value_t = 32)]
    pub bits: usize,
    /// Filter order k (fourier, spline, cheby, lanczos)
    #[arg(long, default_value_t = DEFAULT_K)]
    pub k: usize,
    /// Parts of the knn objective to switch off, comma-separated (an ablation)
    #[arg(long, value_delimiter = ',', value_parser = names::<Ablation>())]
    pub ablate: Vec<Ablation>,
    /// Training options
    #[command(flatten)]
    pub training: TrainingFlags,
    /// Where to train: cpu, cuda, cuda:N or cuda-emulated (CUDA needs a build with --features cuda)
    #[arg(long, default_value_t)]
    pub device: Device,
    /// Where a CUDA backend solves eigenproblems: host, device or auto:N
    #[arg(long, default_value_t)]
    pub eigen_solver: EigenSolver,
    /// Replace an existing checkpoint
    #[arg(long)]
    pub force: bool,
}

/// Runs `hagcn train`.
pub fn train(args: TrainArgs) -> Result<()> {
    refuse_existing(&args.out, args.force)?;
    let data = Dataset::load(&args.dataset).with_context(|| format!("loading {}", args.dataset.display()))?;
    let mut opts = TrainingOptions::default();
    args.training.apply_to(&mut opts);
    let config = opts.machine_config(data.dim(), args.bits, args.filter, args.k, &args.ablate);
    opts.validate(&config, data.n_samples())?;
    for warning in opts.warnings(&config) {
        eprintln!("warning: {warning}");
    }
    let backend = crate::device::open(args.device, args.eigen_solver)?;
    with_backend!(&backend, |b| train_on(b.clone(), &args, &opts, &data, config))
}

fn train_on<B: Backend<Elem = f32>>(
    backend: B,
    args: &TrainArgs,
    opts: &TrainingOptions,
    data: &Dataset,
    config: MachineConfig,
) -> Result<()> {
    let mut machine = opts.new_machine(backend, config)?;
    let bar = indicatif::ProgressBar::new(opts.epochs as u64);
    opts.train(
        &mut machine,
        data.features.view(),
        |_, _| {},
        |end, _| -> Result<()> {
            bar.set_message(format!("loss {:.5}", end.mean.loss));
            bar.inc(1);
            Ok(())
        },
    )?;
    bar.finish_and_clear();
    save_checkpoint(&machine, &args.out, args.force)?;
    eprintln!("wrote {} ({}, {} bits, {} steps)", args.out.display(), args.filter, args.bits, machine.steps());
    Ok(())
}

/// Options of `hagcn eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Query codes (uint8 `.npy`, or a faiss IndexBinaryFlat file)
    #[arg(long)]
    pub query_codes: PathBuf,
    /// Query labels (int64/int32 `.npy`)
    #[arg(long)]
    pub query_labels: PathBuf,
    /// Database codes (uint8 `.npy`, or a faiss IndexBinaryFlat file)
    #[arg(long)]
    pub db_codes: PathBuf,
    /// Database labels (int64/int32 `.npy`)
    #[arg(long)]
    pub db_labels: PathBuf,
    /// Cut-offs K of mAP@K, comma-separated (an integer or `all`)
    #[arg(long, value_delimiter = ',', default_value = "200,all")]
    pub map_at: Vec<String>,
}

/// Runs `hagcn eval`.
pub fn eval(args: EvalArgs) -> Result<()> {
    let (q, db) = (read_codes(&args.query_codes)?, read_codes(&args.db_codes)?);
    let (ql, dbl) = (read_labels(&args.query_labels)?, read_labels(&args.db_labels)?);
    let ks: Vec<TopK> = args
        .map_at
        .iter()
        .map(|s| s.parse::<TopK>().map_err(|e| anyhow::anyhow!("--map-at {s:?}: {e}")))
        .collect::<Result<_>>()?;
    let maps = mean_average_precision(&q, &ql, &db, &dbl, &ks)?;
    for (k, m) in ks.iter().zip(maps) {
        println!("mAP@{k}\t{m:.6}");
    }
    Ok(())
}
