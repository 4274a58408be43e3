//! `hagcn train | encode | search | eval`: using a trained hash function on new data.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use hagcn_autodiff::{AdamConfig, CpuBackend};
use hagcn_data::Dataset;
use hagcn_eval::{PackedCodes, TopK, hamming_topk, mean_average_precision};
use hagcn_model::{Filter, Machine, load_checkpoint, save_checkpoint};
use ndarray::{Array1, Array2};
use ndarray_npy::{ReadNpyError, read_npy};

use crate::output::{read_float, refuse_existing, write_npy};
use crate::training::TrainingOptions;

/// Reads an `N × d` float32 or float64 `.npy` as f32.
fn read_embeddings(path: &Path) -> Result<Array2<f32>> {
    let x = read_float::<ndarray::Ix2>(path)?.mapv(|v| v as f32);
    if let Some(((r, c), _)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        bail!("{}: non-finite value at row {r}, column {c}", path.display());
    }
    Ok(x)
}

/// Reads packed codes (`N × bytes`, uint8) written by `hagcn encode` or `hagcn experiment`.
fn read_codes(path: &Path, n_bits: Option<usize>) -> Result<PackedCodes> {
    let bytes: Array2<u8> =
        read_npy(path).with_context(|| format!("{}: expected a 2-D uint8 array of packed codes", path.display()))?;
    let bits = n_bits.unwrap_or(bytes.ncols() * 8);
    PackedCodes::from_bytes(bytes, bits).with_context(|| format!("{}: not valid {bits}-bit codes", path.display()))
}

/// Reads labels (any integer `.npy` of length N) as class indices.
fn read_labels(path: &Path) -> Result<Vec<usize>> {
    let labels: Array1<i64> = match read_npy::<_, Array1<i64>>(path) {
        Ok(l) => l,
        Err(ReadNpyError::WrongDescriptor(_)) => read_npy::<_, Array1<i32>>(path)
            .with_context(|| format!("{}: expected a 1-D int64 or int32 array", path.display()))?
            .mapv(i64::from),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    labels
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
    /// Graph filter (gcn, fourier, spline, cheby, lanczos)
    #[arg(long, default_value = "gcn")]
    pub filter: String,
    /// Code length in bits
    #[arg(long, default_value_t = 32)]
    pub bits: usize,
    /// Training hyper-parameters
    #[command(flatten)]
    pub training: TrainingOptions,
    /// Replace an existing checkpoint
    #[arg(long)]
    pub force: bool,
}

/// Runs `hagcn train`.
pub fn train(args: TrainArgs) -> Result<()> {
    refuse_existing(&args.out, args.force)?;
    let filter: Filter = args.filter.parse()?;
    let data = Dataset::load(&args.dataset).with_context(|| format!("loading {}", args.dataset.display()))?;
    let opts = &args.training;
    opts.validate(&[filter], data.n_samples())?;
    let config = opts.machine_config(data.dim(), args.bits, filter);
    let mut machine = Machine::new(CpuBackend::<f32>::new(), config, opts.adam(), opts.seed)?;
    let bar = indicatif::ProgressBar::new(opts.epochs as u64);
    for epoch in 0..opts.epochs {
        let batches = opts.epoch_batches(data.n_samples(), epoch, filter)?;
        let mean = machine.train_epoch(data.features.view(), &batches, |_, _| {})?;
        bar.set_message(format!("loss {:.5}", mean.loss));
        bar.inc(1);
    }
    bar.finish_and_clear();
    save_checkpoint(&machine, &args.out, args.force)?;
    eprintln!("wrote {} ({filter}, {} bits, {} steps)", args.out.display(), args.bits, machine.steps());
    Ok(())
}

/// Options of `hagcn encode`.
#[derive(Args, Debug)]
pub struct EncodeArgs {
    /// A checkpoint written by `hagcn train` or `hagcn experiment`
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Embeddings, an `N × d` float32/float64 `.npy` (`d` must match the checkpoint)
    #[arg(long)]
    pub input: PathBuf,
    /// Packed codes out: uint8 `N × ceil(bits/8)`, LSB-first (faiss IndexBinary layout)
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing output
    #[arg(long)]
    pub force: bool,
}

/// Runs `hagcn encode`.
pub fn encode(args: EncodeArgs) -> Result<()> {
    refuse_existing(&args.out, args.force)?;
    let ck = load_checkpoint(&args.checkpoint)?;
    let x = read_embeddings(&args.input)?;
    if x.ncols() != ck.config.in_size {
        bail!(
            "{} has {} features per row but the checkpoint {} expects {}",
            args.input.display(),
            x.ncols(),
            args.checkpoint.display(),
            ck.config.in_size
        );
    }
    let bits = ck.config.bits;
    let machine = Machine::from_params(CpuBackend::<f32>::new(), ck.config, AdamConfig::default(), ck.params, 0)?;
    let codes = PackedCodes::from_logits(machine.hash_logits(x.view())?.view());
    write_npy(&args.out, &codes.bytes())?;
    eprintln!("wrote {} codes of {bits} bits to {}", codes.n_codes(), args.out.display());
    Ok(())
}

/// Options of `hagcn search`.
#[derive(Args, Debug)]
pub struct SearchArgs {
    /// Query codes (uint8 `.npy`, as `hagcn encode` writes)
    #[arg(long)]
    pub query: PathBuf,
    /// Database codes (same width)
    #[arg(long)]
    pub database: PathBuf,
    /// Neighbours per query
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// Write the neighbour indices (`n_query × k`, int64) here instead of printing
    #[arg(long)]
    pub out_indices: Option<PathBuf>,
    /// Write the Hamming distances (`n_query × k`, int32) here
    #[arg(long)]
    pub out_distances: Option<PathBuf>,
    /// Replace existing outputs
    #[arg(long)]
    pub force: bool,
}

/// Runs `hagcn search`.
pub fn search(args: SearchArgs) -> Result<()> {
    for p in [&args.out_indices, &args.out_distances].into_iter().flatten() {
        refuse_existing(p, args.force)?;
    }
    let (q, db) = (read_codes(&args.query, None)?, read_codes(&args.database, None)?);
    if q.n_bytes() != db.n_bytes() {
        bail!(
            "query codes are {} bytes wide but database codes are {}: they come from different code lengths",
            q.n_bytes(),
            db.n_bytes()
        );
    }
    if args.k == 0 {
        bail!("--k must be at least 1");
    }
    let (idx, dist) = hamming_topk(&q, &db, TopK::K(args.k))?;
    if args.out_indices.is_none() && args.out_distances.is_none() {
        for (qi, (row, drow)) in idx.rows().into_iter().zip(dist.rows()).enumerate() {
            let items: Vec<String> = row.iter().zip(drow).map(|(i, d)| format!("{i}:{d}")).collect();
            println!("query {qi}: {}", items.join(" "));
        }
    }
    if let Some(p) = &args.out_indices {
        write_npy(p, &idx.mapv(|i| i as i64))?;
    }
    if let Some(p) = &args.out_distances {
        write_npy(p, &dist.mapv(|d| d as i32))?;
    }
    Ok(())
}

/// Options of `hagcn eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Query codes (uint8 `.npy`)
    #[arg(long)]
    pub query_codes: PathBuf,
    /// Query labels (int64/int32 `.npy`)
    #[arg(long)]
    pub query_labels: PathBuf,
    /// Database codes (uint8 `.npy`)
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
    let (q, db) = (read_codes(&args.query_codes, None)?, read_codes(&args.db_codes, None)?);
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
