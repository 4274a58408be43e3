//! Settings of `hagcn experiment`: built-in defaults, then a TOML file (`--config`), then
//! command-line flags, each layer overriding the one before, parsed once into typed values.
//!
//! The keys of the TOML file are the long flags with `_` for `-` (`batch_size = 64` is
//! `--batch-size 64`); unknown keys are an error, so a typo is never silently ignored. The
//! resolved settings are saved in the run directory as `config.toml`, which is itself a
//! valid `--config` file. The defaults live in [`ExperimentConfig::default`] and
//! [`TrainingOptions::default`] alone; `--help` shows them from there.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use hagcn_data::Bundled;
use hagcn_eval::TopK;
use hagcn_model::{Ablation, DEFAULT_K, Filter, Objective, TrainingOptions};
use serde::{Deserialize, Deserializer, Serialize};
use serde_with::{DeserializeFromStr, SerializeDisplay};
use strum::VariantArray;

use crate::device::{Device, EigenSolver};
use crate::flags::{TrainingFlags, names, names_or_none, overlay};

/// A classic hashing baseline that `hagcn experiment` fits beside the filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, VariantArray)]
#[serde(rename_all = "kebab-case")]
pub enum Baseline {
    /// Locality-sensitive hashing (random projections).
    Lsh,
    /// PCA hashing.
    Pcah,
    /// Iterative quantisation (50 iterations).
    Itq,
    /// Spectral hashing.
    Sh,
    /// Anchor Graph Hashing, one layer (Liu et al. 2011: 300 k-means anchors, 3 nearest).
    Agh,
    /// Anchor Graph Hashing, two layers (two bits per eigenvector).
    Agh2,
    /// The AGH embedding with an ITQ rotation (50 iterations) instead of the plain sign.
    AghItq,
}
serde_plain::derive_display_from_serialize!(Baseline);
serde_plain::derive_fromstr_from_deserialize!(Baseline);

impl Baseline {
    /// Why the baseline cannot make `bits`-bit codes of `dim`-dimensional inputs from
    /// `n_train` training rows, if it cannot: PCAH and ITQ project onto at most `d` principal
    /// axes; AGH needs more training rows than anchors, has at most `anchors − 1`
    /// eigenvectors, and two-layer AGH spends two bits on each.
    pub fn cannot_make(self, bits: usize, dim: usize, n_train: usize) -> Option<String> {
        let anchors = hagcn_eval::AghOptions::default().n_anchors;
        match self {
            Baseline::Agh | Baseline::Agh2 | Baseline::AghItq if n_train <= anchors => {
                Some(format!("{self} needs more training rows than its {anchors} anchors, got {n_train}"))
            }
            Baseline::Pcah | Baseline::Itq if bits > dim => {
                Some(format!("{self} needs at most as many bits as dimensions ({dim})"))
            }
            Baseline::Agh | Baseline::AghItq if bits >= anchors => {
                Some(format!("{self} gives at most {} bits with {anchors} anchors", anchors - 1))
            }
            Baseline::Agh2 if bits % 2 == 1 || bits >= 2 * anchors => {
                Some(format!("{self} needs an even number of bits, at most {}", 2 * (anchors - 1)))
            }
            _ => None,
        }
    }
}

/// A cut-off `K` of mAP@K: a positive integer, or `all`. In TOML either `200` or `"all"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CutoffText", into = "CutoffText")]
pub struct Cutoff(pub TopK);

/// How a [`Cutoff`] is written in TOML and JSON: a number, or the word `all`.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum CutoffText {
    K(i64),
    Word(String),
}

impl TryFrom<CutoffText> for Cutoff {
    type Error = anyhow::Error;
    fn try_from(text: CutoffText) -> Result<Self> {
        match text {
            CutoffText::K(k) => k.to_string().parse(),
            CutoffText::Word(w) => w.parse(),
        }
    }
}

impl From<Cutoff> for CutoffText {
    fn from(c: Cutoff) -> Self {
        match c.0 {
            TopK::K(k) => CutoffText::K(k as i64),
            TopK::All => CutoffText::Word("all".into()),
        }
    }
}

impl fmt::Display for Cutoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for Cutoff {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        s.trim().parse::<TopK>().map(Cutoff).map_err(|e| anyhow::anyhow!("mAP cut-off {s:?}: {e}"))
    }
}

/// Where the data comes from: a bundled dataset by name (fetched on first use), or a folder.
#[derive(Clone, Debug, PartialEq, Eq, SerializeDisplay, DeserializeFromStr)]
pub enum DatasetSource {
    /// `mnist` or `digits` ([`Bundled`]), kept under `datasets_dir`.
    Bundled(Bundled),
    /// A dataset folder (features.npy + labels.npy, or one sub-folder of .npy files per class).
    Folder(PathBuf),
}

impl fmt::Display for DatasetSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatasetSource::Bundled(b) => b.fmt(f),
            DatasetSource::Folder(p) => p.display().fmt(f),
        }
    }
}

impl FromStr for DatasetSource {
    type Err = std::convert::Infallible;
    /// A bundled dataset's name, else a folder path.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(s.parse::<Bundled>().map_or_else(|_| DatasetSource::Folder(s.into()), DatasetSource::Bundled))
    }
}

/// One value or a list: `k = 18` and `k = [1, 2, 3]` both work in TOML.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<usize>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(usize),
        Many(Vec<usize>),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::One(k) => vec![k],
        Raw::Many(ks) => ks,
    })
}

/// Every setting of an experiment, resolved and typed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExperimentConfig {
    /// Names the run directory (`runs/<name>-<date>`); empty for just the date.
    pub name: String,
    /// The dataset: `mnist` or `digits` (fetched into `datasets_dir` on first use), or a folder.
    pub dataset: DatasetSource,
    /// Where the bundled datasets are kept.
    pub datasets_dir: PathBuf,
    /// Graph filters to train.
    pub filters: Vec<Filter>,
    /// Code lengths.
    pub bits: Vec<usize>,
    /// Filter orders k (several for a sweep; gcn has no k and is trained once).
    #[serde(deserialize_with = "one_or_many")]
    pub k: Vec<usize>,
    /// 1: one 80/10/10 split; F ≥ 2: F-fold cross-validation (each fold held out once, as
    /// database + query).
    pub folds: usize,
    /// Evaluate on a validation split carved from each fold's training rows (80/10/10 of
    /// them) instead of the fold's database and queries: for choosing settings without
    /// looking at the numbers that are reported.
    pub validation: bool,
    /// Hashing baselines on the same splits and code lengths.
    pub baselines: Vec<Baseline>,
    /// Cut-offs of mAP@K (the mAP-vs-neighbours curve).
    pub map_at: Vec<Cutoff>,
    /// The cut-off of the summary table, the mAP-vs-bits and the mAP-vs-k figures.
    pub headline_map: Cutoff,
    /// Cut-offs N of precision@N.
    pub precision_at: Vec<usize>,
    /// Hamming radius of the lookup precision and recall.
    pub lookup_radius: u32,
    /// Also evaluate every N epochs (0: only at the end).
    pub eval_every: usize,
    /// Also compute the tie-aware mAP (expected AP over random orders of tied distances).
    pub tie_aware: bool,
    /// Draw the figures (SVG + PNG) under `plots/`.
    pub plots: bool,
    /// Keep each trained model's `checkpoint.npz` (about 12 MB each at d = h = 768).
    pub checkpoints: bool,
    /// Ablation rows (`knn` objective): each entry is a list of parts switched off, trained
    /// as its own method (`gcn-knn.constant-graph`, …); `[[]]` is the full variant alone.
    pub ablations: Vec<Vec<Ablation>>,
    /// Where models train: `cpu`, `cuda`, `cuda:N` or `cuda-emulated`.
    pub device: Device,
    /// Where a CUDA backend solves eigenproblems: `host`, `device` or `auto:N`.
    pub eigen_solver: EigenSolver,
    /// The options every model of the run trains with.
    #[serde(flatten)]
    pub training: TrainingOptions,
}

impl Default for ExperimentConfig {
    /// The reference script's grid (all five filters, the paper's code lengths, k = 18, one
    /// split) with LSH, PCAH and ITQ, and the paper's mAP cut-offs.
    fn default() -> Self {
        let cut = |s: &str| s.parse::<Cutoff>().expect("valid default cut-off");
        ExperimentConfig {
            name: String::new(),
            dataset: DatasetSource::Bundled(Bundled::Mnist),
            datasets_dir: "datasets".into(),
            filters: vec![Filter::Lanczos, Filter::Gcn, Filter::Spline, Filter::Cheby, Filter::Fourier],
            bits: vec![16, 28, 32, 64, 128],
            k: vec![DEFAULT_K],
            folds: 1,
            validation: false,
            baselines: vec![Baseline::Lsh, Baseline::Pcah, Baseline::Itq],
            map_at: ["10", "100", "200", "500", "1000", "1500", "2000", "2500", "5000", "all"].map(cut).to_vec(),
            headline_map: cut("200"),
            precision_at: vec![10, 100, 500, 1000],
            lookup_radius: 2,
            eval_every: 0,
            tie_aware: true,
            plots: true,
            checkpoints: true,
            ablations: vec![Vec::new()],
            device: Device::Cpu,
            eigen_solver: EigenSolver::Host,
            training: TrainingOptions::default(),
        }
    }
}

/// How `--print-config` writes the resolved settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ConfigFormat {
    /// A `--config` file.
    Toml,
    /// One JSON object, for scripts (`cargo xtask` reads it).
    Json,
}

/// Options of `hagcn experiment`. Every flag overrides the same key of `--config`, which
/// overrides the defaults shown.
#[derive(Args, Clone, Debug, Default)]
pub struct ExperimentArgs {
    /// TOML file of settings (e.g. experiments/paper.toml); its keys are these flags' names
    /// with `_` for `-`
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Print the resolved settings and exit: as a TOML config file, or as JSON
    #[arg(long, value_name = "FORMAT", num_args = 0..=1, default_missing_value = "toml")]
    pub print_config: Option<ConfigFormat>,
    /// Name of the run (the run directory is runs/NAME-DATE)
    #[arg(long)]
    pub name: Option<String>,
    /// mnist or digits (fetched on first use), or a dataset folder (features.npy + labels.npy,
    /// or one sub-folder of .npy files per class)
    #[arg(long)]
    pub dataset: Option<DatasetSource>,
    /// Where the bundled datasets are kept
    #[arg(long)]
    pub datasets_dir: Option<PathBuf>,
    /// Graph filters, comma-separated
    #[arg(long, value_delimiter = ',', value_parser = names::<Filter>())]
    pub filters: Option<Vec<Filter>>,
    /// Code lengths in bits, comma-separated
    #[arg(long, value_delimiter = ',')]
    pub bits: Option<Vec<usize>>,
    /// Filter order k, or several (comma-separated) for a sweep
    #[arg(long, value_delimiter = ',')]
    pub k: Option<Vec<usize>>,
    /// Training options
    #[command(flatten)]
    pub training: TrainingFlags,
    /// Cross-validation folds; 1 is a single 80/10/10 split
    #[arg(long)]
    pub folds: Option<usize>,
    /// Evaluate on a validation split of each fold's training rows (true or false), to choose
    /// settings without the reported folds
    #[arg(long)]
    pub validation: Option<bool>,
    /// Baselines, comma-separated, or none
    #[arg(long, value_delimiter = ',', value_parser = names_or_none::<Baseline>())]
    pub baselines: Option<Vec<Option<Baseline>>>,
    /// Cut-offs K of mAP@K, comma-separated (integers or `all`)
    #[arg(long, value_delimiter = ',')]
    pub map_at: Option<Vec<Cutoff>>,
    /// The K of the summary table and the mAP-vs-bits and mAP-vs-k figures
    #[arg(long)]
    pub headline_map: Option<Cutoff>,
    /// Cut-offs N of precision@N, comma-separated
    #[arg(long, value_delimiter = ',')]
    pub precision_at: Option<Vec<usize>>,
    /// Hamming radius of the lookup precision and recall
    #[arg(long)]
    pub lookup_radius: Option<u32>,
    /// Also evaluate every N epochs; 0: only after the last epoch
    #[arg(long)]
    pub eval_every: Option<usize>,
    /// Compute the tie-aware mAP too (true or false)
    #[arg(long)]
    pub tie_aware: Option<bool>,
    /// Draw the figures, SVG and PNG (true or false)
    #[arg(long)]
    pub plots: Option<bool>,
    /// Keep each trained model's checkpoint.npz (true or false; about 12 MB each at
    /// d = h = 768)
    #[arg(long)]
    pub checkpoints: Option<bool>,
    /// One ablation row (knn objective): parts to switch off, comma-separated, or none for
    /// the full variant
    #[arg(long, value_delimiter = ',', value_parser = names_or_none::<Ablation>())]
    pub ablate: Option<Vec<Option<Ablation>>>,
    /// Where models train: cpu, cuda, cuda:N or cuda-emulated (CUDA needs a build with
    /// --features cuda)
    #[arg(long)]
    pub device: Option<Device>,
    /// Where a CUDA backend solves eigenproblems: host, device (cuSOLVER) or auto:N (the
    /// device from N × N up)
    #[arg(long)]
    pub eigen_solver: Option<EigenSolver>,
    /// Continue the run in `--out`: finished (method, bits, k, fold) cells are kept, the
    /// others computed, tables and figures redrawn; the settings that change numbers must
    /// match (the grid may grow)
    #[arg(long, requires = "out")]
    pub resume: bool,
    /// Run directory (default: runs/[NAME-]YYYYMMDD-HHMMSS); must not exist or be empty,
    /// unless --resume
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl ExperimentArgs {
    /// Defaults, then the `--config` file, then the flags given.
    pub fn resolve(&self) -> Result<ExperimentConfig> {
        let mut c = match &self.config {
            Some(path) => ExperimentConfig::load(path)?,
            None => ExperimentConfig::default(),
        };
        overlay!(self => c; name, dataset, datasets_dir, filters, bits, k, folds, validation, map_at, headline_map,
            precision_at, lookup_radius, eval_every, tie_aware, plots, checkpoints, device, eigen_solver);
        self.training.apply_to(&mut c.training);
        if let Some(list) = &self.baselines {
            c.baselines = list.iter().flatten().copied().collect();
        }
        if let Some(row) = &self.ablate {
            c.ablations = vec![row.iter().flatten().copied().collect()];
        }
        c.validate()?;
        Ok(c)
    }
}

impl ExperimentConfig {
    /// The settings' keys and default values, as a TOML table.
    pub fn defaults_table() -> toml::Table {
        toml::Table::try_from(ExperimentConfig::default()).expect("the defaults serialise")
    }

    /// Reads a `--config` TOML file: every key must be a setting.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read config {}", path.display()))?;
        Self::from_toml(&text).with_context(|| format!("config {} is not valid", path.display()))
    }

    /// Parses TOML settings; a key that is not a setting is an error naming the settings.
    pub fn from_toml(text: &str) -> Result<Self> {
        let table: toml::Table = toml::from_str(text)?;
        let known = Self::defaults_table();
        if let Some(key) = table.keys().find(|key| !known.contains_key(*key)) {
            let names: Vec<String> = known.keys().map(|k| format!("`{k}`")).collect();
            bail!("unknown field `{key}`, expected one of {}", names.join(", "));
        }
        Ok(table.try_into()?)
    }

    /// The settings as TOML (a valid `--config` file).
    pub fn to_toml(&self) -> Result<String> {
        Ok(toml::to_string(self)?)
    }

    /// The mAP cut-offs, with the headline one added when missing.
    pub fn cutoffs(&self) -> Vec<TopK> {
        let mut ks: Vec<TopK> = self.map_at.iter().map(|c| c.0).collect();
        if !ks.contains(&self.headline_map.0) {
            ks.push(self.headline_map.0);
        }
        ks
    }

    /// Checks what can be checked before the data is loaded.
    pub fn validate(&self) -> Result<()> {
        let t = &self.training;
        if self.ablations.is_empty() {
            bail!("ablations needs at least one row ([[]] for the full variant)");
        }
        if t.objective == Objective::Hagcn && self.ablations.iter().any(|r| !r.is_empty()) {
            bail!("ablations apply to the knn objective only (objective = \"knn\")");
        }
        if t.objective == Objective::Knn && t.knn == 0 {
            bail!("knn must be at least 1");
        }
        if !(t.regularization.is_finite() && t.regularization >= 0.0) {
            bail!("regularization must be finite and non-negative, got {}", t.regularization);
        }
        if self.filters.is_empty() && self.baselines.is_empty() {
            bail!("nothing to run: no filters and no baselines");
        }
        if self.bits.is_empty() || self.bits.contains(&0) {
            bail!("bits needs one or more positive code lengths");
        }
        if self.k.is_empty() || self.k.contains(&0) {
            bail!("k needs one or more positive filter orders");
        }
        if self.folds == 0 {
            bail!("folds must be at least 1 (1: a single 80/10/10 split)");
        }
        if self.map_at.is_empty() {
            bail!("map_at needs at least one cut-off");
        }
        if self.precision_at.contains(&0) {
            bail!("precision_at cut-offs must be positive");
        }
        if !(t.lr.is_finite() && t.lr > 0.0 && t.gamma.is_finite() && t.gamma >= 0.0) {
            bail!("lr must be positive and gamma non-negative (got lr = {}, gamma = {})", t.lr, t.gamma);
        }
        for list in [&self.bits, &self.k] {
            let mut sorted = list.clone();
            sorted.sort_unstable();
            sorted.dedup();
            if sorted.len() != list.len() {
                bail!("bits and k must not repeat a value (got {list:?})");
            }
        }
        Ok(())
    }

    /// The settings that change a cell's numbers: a resumed run must share them. The grid
    /// (filters, bits, k, baselines, ablations) may differ, and so may the name, the figures
    /// and whether checkpoints are kept.
    pub fn resume_mismatch(&self, saved: &ExperimentConfig) -> Option<String> {
        let mut a = self.clone();
        let b = saved;
        (a.filters, a.bits, a.k, a.baselines) = (b.filters.clone(), b.bits.clone(), b.k.clone(), b.baselines.clone());
        a.ablations = b.ablations.clone();
        (a.name, a.plots, a.headline_map, a.checkpoints) = (b.name.clone(), b.plots, b.headline_map, b.checkpoints);
        if a == *b {
            return None;
        }
        let (now, then) = (toml::Table::try_from(&a).ok()?, toml::Table::try_from(b).ok()?);
        let keys: Vec<String> = now
            .iter()
            .filter(|(key, v)| then.get(*key) != Some(*v))
            .map(|(key, v)| format!("{key} = {} (saved: {})", v, then.get(key).map_or("–".into(), |t| t.to_string())))
            .collect();
        Some(keys.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_overrides_defaults_and_flags_override_toml() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "k = [1, 2, 3]\nepochs = 5\nmap_at = [10, \"all\"]\nfolds = 5\nobjective = \"knn\"\n")
            .unwrap();
        let args = ExperimentArgs {
            config: Some(path.clone()),
            training: TrainingFlags { epochs: Some(7), ..Default::default() },
            ..Default::default()
        };
        let c = args.resolve().unwrap();
        assert_eq!(c.k, [1, 2, 3]);
        assert_eq!(c.training.epochs, 7, "the flag wins over the file");
        assert_eq!(c.training.objective, Objective::Knn, "training options come from the same file");
        assert_eq!(c.folds, 5);
        assert_eq!(c.map_at, ["10".parse().unwrap(), "all".parse::<Cutoff>().unwrap()]);
        assert_eq!(c.training.batch_size, 128, "untouched keys keep their defaults");
        assert_eq!(c.cutoffs(), [TopK::K(10), TopK::All, TopK::K(200)], "the headline cut-off is always computed");
        // The saved form reads back to the same settings.
        assert_eq!(ExperimentConfig::from_toml(&c.to_toml().unwrap()).unwrap(), c);
        // A single k is accepted as a number.
        std::fs::write(&path, "k = 4\n").unwrap();
        assert_eq!(ExperimentConfig::load(&path).unwrap().k, [4]);
        // Bundled datasets by name, anything else is a folder.
        assert_eq!("digits".parse::<DatasetSource>().unwrap(), DatasetSource::Bundled(Bundled::Digits));
        assert_eq!("data/x".parse::<DatasetSource>().unwrap(), DatasetSource::Folder("data/x".into()));
    }

    #[test]
    fn flags_with_none_empty_their_list() {
        let args = ExperimentArgs {
            baselines: Some(vec![None]),
            ablate: Some(vec![None]),
            filters: Some(vec![Filter::Gcn]),
            ..Default::default()
        };
        let c = args.resolve().unwrap();
        assert!(c.baselines.is_empty());
        assert_eq!(c.ablations, [Vec::<Ablation>::new()]);
    }

    #[test]
    fn bad_configs_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let err = |text: &str| {
            std::fs::write(&path, text).unwrap();
            let args = ExperimentArgs { config: Some(path.clone()), ..Default::default() };
            format!("{:#}", args.resolve().unwrap_err())
        };
        let unknown = err("epoch = 3\n");
        assert!(unknown.contains("unknown field `epoch`") && unknown.contains("`epochs`"), "{unknown}");
        assert!(err("map_at = [0]\n").contains("cut-off"));
        assert!(err("bits = []\n").contains("bits"));
        assert!(err("folds = 0\n").contains("folds"));
        let filter = err("filters = [\"gnc\"]\n");
        assert!(filter.contains("gnc") && filter.contains("`lanczos`"), "{filter}");
        assert!(err("baselines = [\"lhs\"]\n").contains("unknown variant `lhs`"));
        assert!(err("device = \"gpu\"\n").contains("expected cpu, cuda"));
        assert!(err("k = [3, 3]\n").contains("repeat"));
        assert!(err("ablations = [[\"identity-filter\"]]\n").contains("knn objective only"));
        let missing = ExperimentArgs { config: Some(dir.path().join("nope.toml")), ..Default::default() };
        assert!(format!("{:#}", missing.resolve().unwrap_err()).contains("nope.toml"));
    }

    #[test]
    fn resume_accepts_a_larger_grid_but_not_other_numbers() {
        let saved = ExperimentConfig::default();
        let mut grid = saved.clone();
        grid.bits.push(256);
        grid.baselines.push(Baseline::Sh);
        assert_eq!(grid.resume_mismatch(&saved), None);
        let mut other = saved.clone();
        other.training.epochs = 3;
        let why = other.resume_mismatch(&saved).unwrap();
        assert!(why.contains("epochs = 3 (saved: 20)"), "{why}");
    }

    #[test]
    fn ready_configs_in_the_repository_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let c = ExperimentConfig::load(&path).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
                c.validate().unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
                n += 1;
            }
        }
        assert!(n >= 3, "paper, k-sweep and smoke configs expected in {}", dir.display());
    }
}
