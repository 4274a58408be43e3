//! Checkpoints: `.npz` files a PyTorch user can load.
//!
//! Each parameter is stored as a float32 array under its `state_dict` name (`w1.weight`
//! is `h × d`, `w1.bias` is 1-D, …), so
//!
//! ```python
//! sd = {k: torch.from_numpy(v) for k, v in np.load("checkpoint.npz").items() if k != "hagcn_config"}
//! model.load_state_dict(sd, strict=False)  # strict=False: no unused reference weights here
//! ```
//!
//! works. The hyper-parameters are a JSON document stored as the `uint8` array
//! `hagcn_config` (`bytes(np.load(p)["hagcn_config"]).decode()`). Writes are atomic: the
//! file is written next to its destination and renamed into place.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use hagcn_autodiff::Backend;
use hagcn_linalg::Real;
use ndarray::{Array1, Array2, Ix1, Ix2};
use ndarray_npy::{NpzReader, NpzWriter};
use serde::{Deserialize, Serialize};

use crate::params::param_specs;
use crate::{Error, Machine, MachineConfig, Result};

/// The entry holding the JSON hyper-parameters.
const CONFIG_ENTRY: &str = "hagcn_config";

/// What a checkpoint holds besides the parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Meta {
    format: u32,
    machine: MachineConfig,
    steps: u64,
}

/// A checkpoint read from disk.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// The model's hyper-parameters.
    pub config: MachineConfig,
    /// Optimiser steps taken when it was saved.
    pub steps: u64,
    /// Parameter values in [`param_specs`] order, as stored (float32 values widened).
    pub params: Vec<Array2<f64>>,
}

/// Writes `file` through a temporary sibling and renames it into place, so a crash never
/// leaves a half-written file under the final name.
pub(crate) fn write_atomic(path: &Path, write: impl FnOnce(File) -> Result<()>) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| Error::checkpoint(path, "not a file path"))?;
    let tmp = dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let file =
        File::create(&tmp).map_err(|e| Error::checkpoint(path, format!("cannot create {}: {e}", tmp.display())))?;
    let result = write(file).and_then(|()| {
        std::fs::rename(&tmp, path).map_err(|e| Error::checkpoint(path, format!("cannot rename into place: {e}")))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Saves the model's parameters and hyper-parameters to `path` (see the module docs).
/// An existing file is replaced only when `overwrite` is set.
pub fn save_checkpoint<B: Backend>(machine: &Machine<B>, path: &Path, overwrite: bool) -> Result<()> {
    if path.exists() && !overwrite {
        return Err(Error::checkpoint(path, "already exists (refusing to overwrite)"));
    }
    let meta = Meta { format: 1, machine: machine.config().clone(), steps: machine.steps() };
    let json = serde_json::to_vec_pretty(&meta).map_err(|e| Error::checkpoint(path, e))?;
    let state = machine.state_dict()?;
    let specs = machine.specs().to_vec();
    write_atomic(path, |file| {
        let err = |e: ndarray_npy::WriteNpzError| Error::checkpoint(path, e);
        let mut npz = NpzWriter::new(BufWriter::new(file));
        for (spec, (name, value)) in specs.iter().zip(&state) {
            let value = value.mapv(|v| v.as_f64() as f32);
            if spec.is_vector {
                npz.add_array(*name, &value.row(0).to_owned()).map_err(err)?;
            } else {
                npz.add_array(*name, &value).map_err(err)?;
            }
        }
        npz.add_array(CONFIG_ENTRY, &Array1::from(json)).map_err(err)?;
        let mut inner = npz.finish().map_err(err)?;
        inner.flush().map_err(|e| Error::checkpoint(path, e))?;
        inner.get_ref().sync_all().map_err(|e| Error::checkpoint(path, e))?;
        Ok(())
    })
}

/// Reads a checkpoint written by [`save_checkpoint`], checking every name, shape and value.
pub fn load_checkpoint(path: &Path) -> Result<Checkpoint> {
    let file = File::open(path).map_err(|e| Error::checkpoint(path, format!("cannot open: {e}")))?;
    let mut npz = NpzReader::new(file).map_err(|e| Error::checkpoint(path, format!("not a valid .npz file: {e}")))?;
    let json: Array1<u8> = npz.by_name(CONFIG_ENTRY).map_err(|e| {
        Error::checkpoint(path, format!("no readable {CONFIG_ENTRY} entry ({e}); not a hagcn checkpoint?"))
    })?;
    let meta: Meta = serde_json::from_slice(json.as_slice().unwrap_or(&[]))
        .map_err(|e| Error::checkpoint(path, format!("bad {CONFIG_ENTRY}: {e}")))?;
    meta.machine.validate()?;
    let mut params = Vec::new();
    for spec in param_specs(&meta.machine) {
        let value: Array2<f32> = if spec.is_vector {
            let v = npz
                .by_name::<ndarray::OwnedRepr<f32>, Ix1>(spec.name)
                .map_err(|e| Error::checkpoint(path, format!("parameter {}: {e}", spec.name)))?;
            v.insert_axis(ndarray::Axis(0))
        } else {
            npz.by_name::<ndarray::OwnedRepr<f32>, Ix2>(spec.name)
                .map_err(|e| Error::checkpoint(path, format!("parameter {}: {e}", spec.name)))?
        };
        if value.dim() != spec.shape {
            return Err(Error::checkpoint(
                path,
                format!("parameter {} has shape {:?}, expected {:?}", spec.name, value.dim(), spec.shape),
            ));
        }
        if value.iter().any(|v| !v.is_finite()) {
            return Err(Error::checkpoint(path, format!("parameter {} holds NaN or infinite values", spec.name)));
        }
        params.push(value.mapv(f64::from));
    }
    Ok(Checkpoint { config: meta.machine, steps: meta.steps, params })
}
