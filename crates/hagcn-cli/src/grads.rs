//! `hagcn grads`: the loss and the gradient of every parameter for one batch, so that our
//! hand-written autodiff can be compared with another framework on the same weights.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use hagcn_autodiff::{Backend, CpuBackend, Element, Graph};
use hagcn_model::{BatchGraph, Filter, load_checkpoint, params::param_specs, record_loss};
use ndarray::{Array0, Array2, Ix1, Ix2};
use ndarray_npy::NpzWriter;

use crate::output::{read_float, refuse_existing, write_atomic};

/// Precision of the computation.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Dtype {
    /// float32, as the training runs
    F32,
    /// float64, a tighter reference
    F64,
}

/// Options of `hagcn grads`.
#[derive(Args, Debug)]
pub struct GradsArgs {
    /// A checkpoint (`.npz` with PyTorch state_dict names, as `hagcn experiment` writes)
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// The batch, an `n × d` float32 or float64 `.npy`
    #[arg(long)]
    pub batch: PathBuf,
    /// The lanczos filter's start vector, float32/float64 `.npy` of shape (n,) or (n, 1);
    /// it is normalised to unit length
    #[arg(long)]
    pub start_vector: Option<PathBuf>,
    /// Where to write the `.npz` of `loss`, `reconstruction`, `hash` and one gradient per
    /// parameter (under the parameter's own name and shape)
    #[arg(long)]
    pub out: PathBuf,
    /// Precision of the computation and of the written arrays
    #[arg(long, value_enum, default_value = "f64")]
    pub dtype: Dtype,
    /// Replace an existing output file
    #[arg(long)]
    pub force: bool,
}

/// Runs `hagcn grads`.
pub fn run(args: GradsArgs) -> Result<()> {
    refuse_existing(&args.out, args.force)?;
    let ck = load_checkpoint(&args.checkpoint)?;
    let x: Array2<f64> = read_float::<Ix2>(&args.batch)?;
    let (n, d) = x.dim();
    if d != ck.config.in_size || n == 0 {
        bail!("{}: batch is {n}×{d}, the checkpoint expects n×{} with n ≥ 1", args.batch.display(), ck.config.in_size);
    }
    if let Some(((r, c), _)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        bail!("{}: non-finite value at row {r}, column {c}", args.batch.display());
    }
    let start = match (&args.start_vector, ck.config.filter) {
        (Some(path), _) => {
            let v =
                read_float::<Ix1>(path).or_else(|_| read_float::<Ix2>(path).map(|a| a.iter().copied().collect()))?;
            if v.len() != n {
                bail!("{}: start vector has {} entries, the batch has {n} rows", path.display(), v.len());
            }
            let norm = v.dot(&v).sqrt();
            if !(norm.is_finite() && norm > 0.0) {
                bail!("{}: start vector must be finite and non-zero", path.display());
            }
            Some((v / norm).insert_axis(ndarray::Axis(1)))
        }
        (None, Filter::Lanczos) => bail!("the checkpoint uses the lanczos filter: pass --start-vector"),
        (None, _) => None,
    };
    match args.dtype {
        Dtype::F32 => compute::<f32>(&ck, &x, start.as_ref(), &args.out),
        Dtype::F64 => compute::<f64>(&ck, &x, start.as_ref(), &args.out),
    }?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}

fn compute<E: Element + ndarray_npy::WritableElement>(
    ck: &hagcn_model::Checkpoint,
    x: &Array2<f64>,
    start: Option<&Array2<f64>>,
    out: &Path,
) -> Result<()> {
    let be = CpuBackend::<E>::new();
    let mut g = Graph::new(be.clone());
    let specs = param_specs(&ck.config);
    // As the model sees the batch: centred by the stored training mean when it centres.
    let x = match specs.iter().position(|s| s.name == "input_mean") {
        Some(at) if ck.config.centres_inputs() => x - &ck.params[at].row(0),
        _ => x.clone(),
    };
    let graph = BatchGraph::new(&ck.config, x.view())?;
    let xv = g.constant(be.upload(x.mapv(E::of).view())?);
    let params = ck.params.iter().map(|p| Ok(g.param(be.upload(p.mapv(E::of).view())?))).collect::<Result<Vec<_>>>()?;
    let start = match start {
        Some(v) => Some(g.constant(be.upload(v.mapv(E::of).view())?)),
        None => None,
    };
    let parts = record_loss(&ck.config, &mut g, xv, &params, &graph, start)?;
    let grads = g.backward(parts.loss)?;
    let scalar = |v| -> Result<Array0<E>> { Ok(Array0::from_elem((), g.scalar(v)?)) };
    let (loss, recon, hash) = (scalar(parts.loss)?, scalar(parts.reconstruction)?, scalar(parts.hash)?);
    let mut tensors = Vec::new();
    for (spec, &var) in specs.iter().zip(&params) {
        let grad = match grads.get(var) {
            Some(t) => be.download(t)?,
            None => Array2::zeros(spec.shape),
        };
        tensors.push((spec, grad));
    }
    write_atomic(out, |w| {
        let mut npz = NpzWriter::new(w);
        npz.add_array("loss", &loss)?;
        npz.add_array("reconstruction", &recon)?;
        npz.add_array("hash", &hash)?;
        for (spec, grad) in &tensors {
            if spec.is_vector {
                npz.add_array(spec.name, &grad.row(0).to_owned())?;
            } else {
                npz.add_array(spec.name, grad)?;
            }
        }
        npz.finish()?;
        Ok(())
    })?;
    Ok(())
}
