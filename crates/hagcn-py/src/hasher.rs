//! `hagcn.Hasher`: train, encode, save and load a hash function, as `hagcn train`,
//! `hagcn encode` and their checkpoint files do.

use std::ffi::CString;
use std::fmt::Display;
use std::path::PathBuf;
use std::str::FromStr;

use hagcn_autodiff::{AdamConfig, CpuBackend};
use hagcn_eval::PackedCodes;
use hagcn_model::{
    Ablation, DEFAULT_K, Filter, Machine, MachineConfig, Objective, Readout, TrainingOptions, load_checkpoint,
    save_checkpoint,
};
use ndarray::{Array2, ArrayView2, s};
use numpy::PyArray2;
use pyo3::exceptions::{PyFileExistsError, PyFileNotFoundError, PyUserWarning};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use strum::VariantArray;

use crate::arrays::{self, FeaturesView};
use crate::errors::{Failure, value_error};
use crate::interrupt::Interrupts;

/// The model of a fitted or loaded hasher: the CPU backend, as `hagcn train` and
/// `hagcn encode` use by default.
type Model = Machine<CpuBackend<f32>>;

/// What `hagcn train` takes besides the data: the training options, the filter, the code
/// length, the order and the ablated parts of the knn objective.
#[derive(Clone, Debug)]
struct Settings {
    opts: TrainingOptions,
    bits: usize,
    filter: Filter,
    k: usize,
    ablate: Vec<Ablation>,
}

impl Settings {
    /// The settings of a checkpoint's model, with the default training loop (epochs,
    /// batch size, learning rate and seed are not stored in checkpoints).
    fn of_model(config: &MachineConfig) -> Settings {
        let opts = TrainingOptions {
            hidden: config.hidden,
            gamma: config.gamma,
            objective: config.objective,
            knn: config.knn,
            regularization: config.regularization,
            anchors: config.anchors,
            nearest_anchors: config.nearest_anchors,
            hops: config.hops,
            code_hops: config.code_hops,
            readout: config.readout,
            ..TrainingOptions::default()
        };
        Settings { opts, bits: config.bits, filter: config.filter, k: config.k, ablate: config.ablate.clone() }
    }
}

/// A learned hash function for embeddings: `fit` trains it (as `hagcn train`), `encode`
/// turns rows into packed binary codes (as `hagcn encode`), `save`/`load` use the CLI's
/// checkpoint files.
///
/// Every setting defaults to `hagcn train`'s default; see `Hasher.params`.
#[pyclass(module = "hagcn", name = "Hasher")]
pub struct Hasher {
    settings: Settings,
    model: Option<Model>,
    /// Optimiser steps of the model (those recorded in the checkpoint it was loaded from).
    steps: u64,
}

/// Parses a settings name, listing the accepted names on error.
fn parse<T: FromStr + VariantArray + Display>(setting: &str, value: &str) -> PyResult<T> {
    value.parse::<T>().map_err(|_| {
        let names: Vec<String> = T::VARIANTS.iter().map(ToString::to_string).collect();
        value_error(format!("{setting} {value:?}: expected one of {}", names.join(", ")))
    })
}

fn not_fitted() -> PyErr {
    value_error("this Hasher is not fitted: call fit(X) or Hasher.load(path) first")
}

#[pymethods]
impl Hasher {
    /// A hasher with `hagcn train`'s settings; every argument left out takes the CLI's
    /// default (see `params`). `device` must be `"cpu"`: the Python package is built
    /// without the CUDA backend.
    #[new]
    #[pyo3(signature = (
        bits=None, *, objective=None, filter=None, k=None, seed=None, device="cpu", epochs=None,
        batch_size=None, hidden=None, lr=None, gamma=None, knn=None, regularization=None, anchors=None,
        nearest_anchors=None, hops=None, code_hops=None, readout=None, ablate=None
    ))]
    #[allow(clippy::too_many_arguments)] // one per setting of `hagcn train`, all keyword arguments
    fn new(
        bits: Option<usize>,
        objective: Option<&str>,
        filter: Option<&str>,
        k: Option<usize>,
        seed: Option<u64>,
        device: &str,
        epochs: Option<usize>,
        batch_size: Option<usize>,
        hidden: Option<usize>,
        lr: Option<f64>,
        gamma: Option<f64>,
        knn: Option<usize>,
        regularization: Option<f64>,
        anchors: Option<usize>,
        nearest_anchors: Option<usize>,
        hops: Option<usize>,
        code_hops: Option<usize>,
        readout: Option<&str>,
        ablate: Option<Vec<String>>,
    ) -> PyResult<Self> {
        if device != "cpu" {
            return Err(value_error(format!(
                "device {device:?}: the Python package runs on the CPU only (\"cpu\"); the CUDA backend is in the \
                 hagcn binary built with --features cuda"
            )));
        }
        let mut opts = TrainingOptions::default();
        macro_rules! set {
            ($($field:ident),*) => { $(if let Some(v) = $field { opts.$field = v; })* };
        }
        set!(
            seed,
            epochs,
            batch_size,
            hidden,
            lr,
            gamma,
            knn,
            regularization,
            anchors,
            nearest_anchors,
            hops,
            code_hops
        );
        if let Some(o) = objective {
            opts.objective = parse::<Objective>("objective", o)?;
        }
        if let Some(r) = readout {
            opts.readout = parse::<Readout>("readout", r)?;
        }
        let ablate =
            ablate.unwrap_or_default().iter().map(|a| parse::<Ablation>("ablate", a)).collect::<PyResult<_>>()?;
        let filter = filter.map(|f| parse::<Filter>("filter", f)).transpose()?.unwrap_or(Filter::Gcn);
        let settings = Settings { opts, bits: bits.unwrap_or(32), filter, k: k.unwrap_or(DEFAULT_K), ablate };
        // The settings that do not depend on the data are checked now (bits, k, hidden, ...).
        settings
            .opts
            .machine_config(1, settings.bits, filter, settings.k, &settings.ablate)
            .validate()
            .map_err(Failure::from)?;
        Ok(Hasher { settings, model: None, steps: 0 })
    }

    /// Trains a fresh model on the rows of `X` (`(n, d)` float32 or float64; float32 in C
    /// order is read in place), exactly as `hagcn train` on a dataset whose `features.npy`
    /// holds `X`: the same seed gives the same checkpoint. Returns the hasher.
    ///
    /// The GIL is released while it trains; Ctrl-C raises `KeyboardInterrupt` after the
    /// training step in progress and leaves the hasher as it was. Bad input (NaN or
    /// infinite values, a wrong shape or dtype, settings the data cannot meet) raises
    /// `ValueError`.
    #[pyo3(signature = (X))]
    #[allow(non_snake_case)] // scikit-learn's name for the data matrix
    fn fit<'py>(slf: Bound<'py, Self>, X: &Bound<'py, PyAny>) -> PyResult<Bound<'py, Self>> {
        let py = slf.py();
        let settings = slf.borrow().settings.clone();
        let features = arrays::features(X, "X")?;
        let view = features.view();
        let (n, d) = view.dim();
        if n == 0 || d == 0 {
            return Err(value_error(format!("X: no data (shape ({n}, {d}))")));
        }
        if let Some((row, col, value)) = view.first_non_finite() {
            return Err(value_error(format!("X holds a non-finite value {value} at row {row}, column {col}")));
        }
        let Settings { opts, bits, filter, k, ablate } = &settings;
        let config = opts.machine_config(d, *bits, *filter, *k, ablate);
        opts.validate(&config, n).map_err(Failure::from)?;
        for warning in opts.warnings(&config) {
            let message = CString::new(warning).unwrap_or_default();
            PyErr::warn(py, &py.get_type::<PyUserWarning>(), &message, 1)?;
        }
        let (model, steps) = py.detach(|| -> Result<(Model, u64), Failure> {
            // The CLI trains on float32 rows in C order; other layouts are copied into it.
            let converted = match view {
                FeaturesView::F32(a) if a.is_standard_layout() => None,
                FeaturesView::F32(a) => Some(a.as_standard_layout().into_owned()),
                FeaturesView::F64(a) => Some(a.mapv(|v| v as f32)),
            };
            let rows = match (&converted, view) {
                (Some(c), _) => c.view(),
                (None, FeaturesView::F32(a)) => a,
                (None, FeaturesView::F64(_)) => unreachable!("float64 input is always converted"),
            };
            let mut model = opts.new_machine(CpuBackend::<f32>::new(), config)?;
            let mut interrupts = Interrupts::new();
            opts.try_train(&mut model, rows, |_, _| interrupts.check().map_err(Failure::from), |_, _| Ok(()))?;
            let steps = model.steps();
            Ok((model, steps))
        })?;
        let mut this = slf.borrow_mut();
        this.model = Some(model);
        this.steps = steps;
        drop(this);
        Ok(slf)
    }

    /// Packed codes of the rows of `X` (`(n, d)` float32 or float64, `d` the width the
    /// hasher was fitted on): uint8 `(n, ceil(bits / 8))`, bit `j` of a row in byte `j / 8`,
    /// least significant bit first, faiss's binary layout. They are `hagcn encode`'s codes,
    /// bit for bit (the same 4096-row blocks, reproducible arithmetic).
    ///
    /// The GIL is released; Ctrl-C raises `KeyboardInterrupt` after the block in progress.
    #[pyo3(signature = (X))]
    #[allow(non_snake_case)]
    fn encode<'py>(&self, py: Python<'py>, X: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyArray2<u8>>> {
        let model = self.model.as_ref().ok_or_else(not_fitted)?;
        let features = arrays::features(X, "X")?;
        let view = features.view();
        let (n, d) = view.dim();
        let (in_size, bits) = (model.config().in_size, model.config().bits);
        if d != in_size {
            return Err(value_error(format!("X has {d} features per row but the hasher expects {in_size}")));
        }
        let codes = py.detach(|| encode_rows(model, view, n, d, bits))?;
        Ok(PyArray2::from_owned_array(py, codes))
    }

    /// Writes the model to `path` as the CLI's checkpoint (`.npz`: float32 parameters under
    /// their PyTorch `state_dict` names and the settings as JSON), which `hagcn encode
    /// --checkpoint` reads. The file is written under a temporary name and renamed into
    /// place, so an interrupted save leaves no partial file. An existing file is replaced
    /// only with `overwrite=True` (`FileExistsError` otherwise).
    #[pyo3(signature = (path, *, overwrite=false))]
    fn save(&self, py: Python<'_>, path: PathBuf, overwrite: bool) -> PyResult<()> {
        let model = self.model.as_ref().ok_or_else(not_fitted)?;
        if path.exists() && !overwrite {
            return Err(PyFileExistsError::new_err(format!(
                "{} already exists; pass overwrite=True to replace it",
                path.display()
            )));
        }
        py.detach(|| save_checkpoint(model, &path, overwrite)).map_err(Failure::from)?;
        Ok(())
    }

    /// A hasher from a checkpoint written by `Hasher.save`, `hagcn train` or
    /// `hagcn experiment`; its settings are the checkpoint's, with the default training
    /// loop (`epochs`, `batch_size`, `lr`, `seed` are not stored), so `fit` retrains it from
    /// scratch with them. `FileNotFoundError` for a missing file, `OSError` for one that is
    /// not a valid checkpoint.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Hasher> {
        if !path.exists() {
            return Err(PyFileNotFoundError::new_err(format!("checkpoint {}: no such file", path.display())));
        }
        let (model, steps) = py.detach(|| -> Result<(Model, u64), Failure> {
            let ck = load_checkpoint(&path)?;
            // As `hagcn encode` builds it: Adam's defaults and seed 0 (neither affects codes).
            let model = Machine::from_params(CpuBackend::<f32>::new(), ck.config, AdamConfig::default(), ck.params, 0)?;
            Ok((model, ck.steps))
        })?;
        Ok(Hasher { settings: Settings::of_model(model.config()), model: Some(model), steps })
    }

    /// Code length in bits.
    #[getter]
    fn bits(&self) -> usize {
        self.settings.bits
    }

    /// Whether the hasher has a model (`fit` or `load`).
    #[getter]
    fn is_fitted(&self) -> bool {
        self.model.is_some()
    }

    /// The number of features per row the model takes, or `None` before `fit`.
    #[getter]
    fn n_features(&self) -> Option<usize> {
        self.model.as_ref().map(|m| m.config().in_size)
    }

    /// Optimiser steps the model has taken (0 before `fit`).
    #[getter]
    fn steps(&self) -> u64 {
        self.steps
    }

    /// Every setting, resolved (the arguments of `Hasher(...)`).
    #[getter]
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let Settings { opts, bits, filter, k, ablate } = &self.settings;
        let d = PyDict::new(py);
        d.set_item("bits", bits)?;
        d.set_item("objective", opts.objective.to_string())?;
        d.set_item("filter", filter.to_string())?;
        d.set_item("k", k)?;
        d.set_item("seed", opts.seed)?;
        d.set_item("device", "cpu")?;
        d.set_item("epochs", opts.epochs)?;
        d.set_item("batch_size", opts.batch_size)?;
        d.set_item("hidden", opts.hidden)?;
        d.set_item("lr", opts.lr)?;
        d.set_item("gamma", opts.gamma)?;
        d.set_item("knn", opts.knn)?;
        d.set_item("regularization", opts.regularization)?;
        d.set_item("anchors", opts.anchors)?;
        d.set_item("nearest_anchors", opts.nearest_anchors)?;
        d.set_item("hops", opts.hops)?;
        d.set_item("code_hops", opts.code_hops)?;
        d.set_item("readout", opts.readout.to_string())?;
        d.set_item("ablate", ablate.iter().map(ToString::to_string).collect::<Vec<_>>())?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let s = &self.settings;
        let state = match &self.model {
            Some(m) => format!("fitted on {} features, {} steps", m.config().in_size, self.steps),
            None => "not fitted".into(),
        };
        format!(
            "Hasher(bits={}, objective={:?}, filter={:?}, k={}; {state})",
            s.bits,
            s.opts.objective.to_string(),
            s.filter.to_string(),
            s.k
        )
    }
}

/// Codes of `n` rows of width `d`, [`hagcn_model::Machine::HASH_CHUNK`] rows at a time, as
/// `hagcn encode` computes them (`crates/hagcn-cli/src/encode.rs`): the same blocks, the
/// same non-finite check and message (with `X` for the file name).
fn encode_rows(model: &Model, rows: FeaturesView<'_>, n: usize, d: usize, bits: usize) -> Result<Array2<u8>, Failure> {
    let mut out = Array2::<u8>::zeros((n, bits.div_ceil(8)));
    let mut interrupts = Interrupts::new();
    let mut buffer: Vec<f32> = Vec::new();
    for start in (0..n).step_by(Model::HASH_CHUNK) {
        interrupts.check()?;
        let end = (start + Model::HASH_CHUNK).min(n);
        let block: ArrayView2<f32> = match rows {
            FeaturesView::F32(a) if a.slice(s![start..end, ..]).is_standard_layout() => {
                a.slice_move(s![start..end, ..])
            }
            FeaturesView::F32(a) => {
                buffer.clear();
                buffer.extend(a.slice(s![start..end, ..]).iter().copied());
                ArrayView2::from_shape((end - start, d), &buffer).expect("a block of rows")
            }
            FeaturesView::F64(a) => {
                buffer.clear();
                buffer.extend(a.slice(s![start..end, ..]).iter().map(|&v| v as f32));
                ArrayView2::from_shape((end - start, d), &buffer).expect("a block of rows")
            }
        };
        if let Some(at) = block.iter().position(|v| !v.is_finite()) {
            return Err(value_error(format!("X: non-finite value at row {}, column {}", start + at / d, at % d)).into());
        }
        let codes = PackedCodes::from_logits(model.hash_logits_block(block)?.view());
        out.slice_mut(s![start..end, ..]).assign(&codes.bytes());
    }
    Ok(out)
}
