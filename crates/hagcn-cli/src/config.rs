//! Settings of `hagcn experiment`: built-in defaults, then a TOML file (`--config`), then
//! command-line flags, each layer overriding the one before.
//!
//! The keys of the TOML file are the long flags with `_` for `-` (`batch_size = 64` is
//! `--batch-size 64`); unknown keys are an error, so a typo is never silently ignored. The
//! resolved settings are saved in the run directory as `config.toml`, which is itself a
//! valid `--config` file.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use hagcn_eval::TopK;
use hagcn_model::{Ablation, Filter, Objective};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::device::Device;
use crate::training::TrainingOptions;

/// A classic hashing baseline that `hagcn experiment` fits beside the filters; named `lsh`,
/// `pcah`, `itq`, `sh` in configs and results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Baseline {
    /// Locality-sensitive hashing (random projections).
    Lsh,
    /// PCA hashing.
    Pcah,
    /// Iterative quantisation (50 iterations).
    Itq,
    /// Spectral hashing.
    Sh,
}

impl Baseline {
    /// Every baseline, in the order of the docs.
    pub const ALL: [Baseline; 4] = [Baseline::Lsh, Baseline::Pcah, Baseline::Itq, Baseline::Sh];

    /// The name in configs and results.
    pub fn name(self) -> &'static str {
        match self {
            Baseline::Lsh => "lsh",
            Baseline::Pcah => "pcah",
            Baseline::Itq => "itq",
            Baseline::Sh => "sh",
        }
    }

    /// Whether it projects onto principal axes, so needs `bits ≤ d`.
    pub fn needs_bits_within_dim(self) -> bool {
        matches!(self, Baseline::Pcah | Baseline::Itq)
    }
}

impl fmt::Display for Baseline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Baseline {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        Baseline::ALL.into_iter().find(|b| b.name() == s).ok_or_else(|| {
            let names: Vec<_> = Baseline::ALL.iter().map(|b| b.name()).collect();
            anyhow::anyhow!("unknown baseline {s:?}; expected {} or none", names.join(", "))
        })
    }
}

/// A cut-off `K` of mAP@K: a positive integer, or `all`. In TOML either `200` or `"all"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cutoff(pub TopK);

impl fmt::Display for Cutoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for Cutoff {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        s.trim().parse::<TopK>().map(Cutoff).map_err(|e| anyhow::anyhow!("mAP cut-off {s:?}: {e}"))
    }
}

impl Serialize for Cutoff {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            TopK::K(k) => s.serialize_u64(k as u64),
            TopK::All => s.serialize_str("all"),
        }
    }
}

impl<'de> Deserialize<'de> for Cutoff {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(i64),
            Text(String),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Int(k) => k.to_string(),
            Raw::Text(s) => s,
        };
        text.parse().map_err(|e: anyhow::Error| serde::de::Error::custom(e))
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

/// Every setting of an experiment, resolved (defaults: spec §3 and the paper's figures).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExperimentConfig {
    /// Names the run directory (`runs/<name>-<date>`); empty for just the date.
    pub name: String,
    /// A dataset folder, or `mnist` for the bundled MNIST-10k.
    pub dataset: String,
    /// Where `mnist` is kept.
    pub datasets_dir: PathBuf,
    /// Graph filters to train.
    pub filters: Vec<String>,
    /// Code lengths.
    pub bits: Vec<usize>,
    /// Filter orders k (several for a sweep; gcn has no k and is trained once).
    #[serde(deserialize_with = "one_or_many")]
    pub k: Vec<usize>,
    /// Training epochs.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Hidden size h.
    pub hidden: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Weight γ of the hash loss.
    pub gamma: f64,
    /// Seed of the splits, the initialisation and the batch order.
    pub seed: u64,
    /// 1: one 80/10/10 split; F ≥ 2: F-fold cross-validation (each fold held out once, as
    /// database + query).
    pub folds: usize,
    /// Hashing baselines on the same splits and code lengths.
    pub baselines: Vec<String>,
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
    /// Training objective: `hagcn` (the faithful method) or `knn` (docs/KNN_OBJECTIVE.md).
    pub objective: String,
    /// Neighbours per row of the kNN batch graph (`knn` objective).
    pub knn: usize,
    /// Weight λ of the bit-balance and decorrelation terms (`knn` objective).
    pub regularization: f64,
    /// Ablation rows (`knn` objective): each entry is a list of parts switched off, trained
    /// as its own method (`gcn-knn.constant-graph`, …); `[[]]` is the full variant alone.
    pub ablations: Vec<Vec<String>>,
    /// Where models train: `cpu`, `cuda`, `cuda:N` or `cuda-emulated` (see `crate::device`).
    pub device: Device,
}

impl Default for ExperimentConfig {
    fn default() -> Self {
        let cut = |s: &str| s.parse::<Cutoff>().expect("valid default cut-off");
        ExperimentConfig {
            name: String::new(),
            dataset: "mnist".into(),
            datasets_dir: "datasets".into(),
            filters: ["lanczos", "gcn", "spline", "cheby", "fourier"].map(String::from).to_vec(),
            bits: vec![16, 28, 32, 64, 128],
            k: vec![18],
            epochs: 20,
            batch_size: 128,
            hidden: 768,
            lr: 1e-4,
            gamma: 1e-4,
            seed: 42,
            folds: 1,
            baselines: ["lsh", "pcah", "itq"].map(String::from).to_vec(),
            map_at: ["10", "100", "200", "500", "1000", "1500", "2000", "2500", "5000", "all"].map(cut).to_vec(),
            headline_map: cut("200"),
            precision_at: vec![10, 100, 500, 1000],
            lookup_radius: 2,
            eval_every: 0,
            tie_aware: true,
            plots: true,
            checkpoints: true,
            objective: "hagcn".into(),
            knn: 5,
            regularization: 0.1,
            ablations: vec![Vec::new()],
            device: Device::Cpu,
        }
    }
}

/// Options of `hagcn experiment`. Every flag overrides the same key of `--config`, which
/// overrides the defaults shown.
#[derive(Args, Clone, Debug, Default)]
pub struct ExperimentArgs {
    /// TOML file of settings (e.g. experiments/paper.toml); its keys are these flags' names
    /// with `_` for `-`
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Print the resolved settings as TOML and exit
    #[arg(long)]
    pub print_config: bool,
    /// Name of the run (the run directory is runs/NAME-DATE)
    #[arg(long)]
    pub name: Option<String>,
    /// A dataset folder (features.npy + labels.npy, or one sub-folder of .npy files per
    /// class), or `mnist` for the bundled MNIST-10k, fetched on first use [default: mnist]
    #[arg(long)]
    pub dataset: Option<String>,
    /// Where `mnist` is kept [default: datasets]
    #[arg(long)]
    pub datasets_dir: Option<PathBuf>,
    /// Graph filters, comma-separated (gcn, fourier, spline, cheby, lanczos) [default: all five]
    #[arg(long, value_delimiter = ',')]
    pub filters: Option<Vec<String>>,
    /// Code lengths in bits, comma-separated [default: 16,28,32,64,128]
    #[arg(long, value_delimiter = ',')]
    pub bits: Option<Vec<usize>>,
    /// Filter order k, or several (comma-separated) for a sweep [default: 18]
    #[arg(long, value_delimiter = ',')]
    pub k: Option<Vec<usize>>,
    /// Training epochs [default: 20]
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Mini-batch size [default: 128]
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Hidden size h [default: 768]
    #[arg(long)]
    pub hidden: Option<usize>,
    /// Adam learning rate [default: 1e-4]
    #[arg(long)]
    pub lr: Option<f64>,
    /// Weight γ of the hash loss [default: 1e-4]
    #[arg(long)]
    pub gamma: Option<f64>,
    /// Seed of the splits, the initialisation and the batch order [default: 42]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Cross-validation folds; 1 is a single 80/10/10 split [default: 1]
    #[arg(long)]
    pub folds: Option<usize>,
    /// Baselines, comma-separated (lsh, pcah, itq, sh), or `none` [default: lsh,pcah,itq]
    #[arg(long, value_delimiter = ',')]
    pub baselines: Option<Vec<String>>,
    /// Cut-offs K of mAP@K, comma-separated (integers or `all`)
    /// [default: 10,100,200,500,1000,1500,2000,2500,5000,all]
    #[arg(long, value_delimiter = ',')]
    pub map_at: Option<Vec<Cutoff>>,
    /// The K of the summary table and the mAP-vs-bits and mAP-vs-k figures [default: 200]
    #[arg(long)]
    pub headline_map: Option<Cutoff>,
    /// Cut-offs N of precision@N, comma-separated [default: 10,100,500,1000]
    #[arg(long, value_delimiter = ',')]
    pub precision_at: Option<Vec<usize>>,
    /// Hamming radius of the lookup precision and recall [default: 2]
    #[arg(long)]
    pub lookup_radius: Option<u32>,
    /// Also evaluate every N epochs; 0: only after the last epoch [default: 0]
    #[arg(long)]
    pub eval_every: Option<usize>,
    /// Compute the tie-aware mAP too (true or false) [default: true]
    #[arg(long)]
    pub tie_aware: Option<bool>,
    /// Draw the figures, SVG and PNG (true or false) [default: true]
    #[arg(long)]
    pub plots: Option<bool>,
    /// Keep each trained model's checkpoint.npz (true or false; about 12 MB each at
    /// d = h = 768) [default: true]
    #[arg(long)]
    pub checkpoints: Option<bool>,
    /// Training objective: hagcn (faithful) or knn
    #[arg(long)]
    pub objective: Option<String>,
    /// Neighbours per row of the kNN batch graph (knn objective)
    #[arg(long)]
    pub knn: Option<usize>,
    /// Weight of the bit-balance and decorrelation terms (knn objective)
    #[arg(long)]
    pub regularization: Option<f64>,
    /// One ablation row: parts of the knn objective to switch off, comma-separated ("none"
    /// for the full variant)
    #[arg(long, value_delimiter = ',')]
    pub ablate: Option<Vec<String>>,
    /// Where models train: cpu, cuda, cuda:N or cuda-emulated (CUDA needs a build with --features cuda)
    #[arg(long)]
    pub device: Option<Device>,
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
        macro_rules! set {
            ($($field:ident),*) => {$(
                if let Some(v) = &self.$field {
                    c.$field = v.clone();
                }
            )*};
        }
        set!(
            name,
            dataset,
            datasets_dir,
            filters,
            bits,
            k,
            epochs,
            batch_size,
            hidden,
            lr,
            gamma,
            seed,
            folds,
            baselines,
            map_at,
            headline_map,
            precision_at,
            lookup_radius,
            eval_every,
            tie_aware,
            plots,
            checkpoints,
            objective,
            knn,
            regularization,
            device
        );
        if let Some(row) = &self.ablate {
            c.ablations = vec![row.iter().filter(|a| a.trim() != "none").cloned().collect()];
        }
        c.validate()?;
        Ok(c)
    }
}

impl ExperimentConfig {
    /// Reads a `--config` TOML file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read config {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("config {} is not valid", path.display()))
    }

    /// The settings as TOML (a valid `--config` file).
    pub fn to_toml(&self) -> Result<String> {
        Ok(toml::to_string(self)?)
    }

    /// The filters, parsed.
    pub fn filters(&self) -> Result<Vec<Filter>> {
        Ok(self.filters.iter().map(|f| f.trim().parse()).collect::<Result<_, _>>()?)
    }

    /// The baselines, parsed, without `none`.
    pub fn baselines(&self) -> Result<Vec<Baseline>> {
        self.baselines.iter().map(|b| b.trim()).filter(|b| *b != "none").map(str::parse).collect()
    }

    /// The mAP cut-offs, with the headline one added when missing.
    pub fn cutoffs(&self) -> Vec<TopK> {
        let mut ks: Vec<TopK> = self.map_at.iter().map(|c| c.0).collect();
        if !ks.contains(&self.headline_map.0) {
            ks.push(self.headline_map.0);
        }
        ks
    }

    /// The training options of one model with filter order `k`.
    pub fn training(&self, k: usize, ablate: &[Ablation]) -> Result<TrainingOptions> {
        Ok(TrainingOptions {
            epochs: self.epochs,
            batch_size: self.batch_size,
            k,
            hidden: self.hidden,
            lr: self.lr,
            gamma: self.gamma,
            seed: self.seed,
            objective: self.objective()?,
            knn: self.knn,
            regularization: self.regularization,
            ablate: ablate.to_vec(),
            device: self.device,
        })
    }

    /// The training objective.
    pub fn objective(&self) -> Result<Objective> {
        Ok(self.objective.parse()?)
    }

    /// The ablation rows, parsed.
    pub fn ablations(&self) -> Result<Vec<Vec<Ablation>>> {
        let rows: Vec<Vec<Ablation>> = self
            .ablations
            .iter()
            .map(|row| row.iter().map(|a| a.parse::<Ablation>()).collect::<Result<_, _>>())
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Checks what can be checked before the data is loaded.
    pub fn validate(&self) -> Result<()> {
        self.filters()?;
        let objective = self.objective()?;
        let ablations = self.ablations()?;
        if ablations.is_empty() {
            bail!("ablations needs at least one row ([[]] for the full variant)");
        }
        if objective == Objective::Hagcn && ablations.iter().any(|r| !r.is_empty()) {
            bail!("ablations apply to the knn objective only (objective = \"knn\")");
        }
        if objective == Objective::Knn && self.knn == 0 {
            bail!("knn must be at least 1");
        }
        if !(self.regularization.is_finite() && self.regularization >= 0.0) {
            bail!("regularization must be finite and non-negative, got {}", self.regularization);
        }
        let baselines = self.baselines()?;
        if self.filters.is_empty() && baselines.is_empty() {
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
        if !(self.lr.is_finite() && self.lr > 0.0 && self.gamma.is_finite() && self.gamma >= 0.0) {
            bail!("lr must be positive and gamma non-negative (got lr = {}, gamma = {})", self.lr, self.gamma);
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
    /// (filters, bits, k, baselines) may differ, and so may the name, the figures and whether
    /// checkpoints are kept.
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
        std::fs::write(&path, "k = [1, 2, 3]\nepochs = 5\nmap_at = [10, \"all\"]\nfolds = 5\n").unwrap();
        let args = ExperimentArgs { config: Some(path.clone()), epochs: Some(7), ..Default::default() };
        let c = args.resolve().unwrap();
        assert_eq!(c.k, [1, 2, 3]);
        assert_eq!(c.epochs, 7, "the flag wins over the file");
        assert_eq!(c.folds, 5);
        assert_eq!(c.map_at, ["10".parse().unwrap(), "all".parse::<Cutoff>().unwrap()]);
        assert_eq!(c.batch_size, 128, "untouched keys keep their defaults");
        assert_eq!(c.cutoffs(), [TopK::K(10), TopK::All, TopK::K(200)], "the headline cut-off is always computed");
        // The saved form reads back to the same settings.
        let round: ExperimentConfig = toml::from_str(&c.to_toml().unwrap()).unwrap();
        assert_eq!(round, c);
        // A single k is accepted as a number.
        std::fs::write(&path, "k = 4\n").unwrap();
        assert_eq!(ExperimentConfig::load(&path).unwrap().k, [4]);
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
        assert!(err("epoch = 3\n").contains("unknown field `epoch`"));
        assert!(err("map_at = [0]\n").contains("cut-off"));
        assert!(err("bits = []\n").contains("bits"));
        assert!(err("folds = 0\n").contains("folds"));
        assert!(err("filters = [\"gnc\"]\n").contains("gnc"));
        assert!(err("baselines = [\"lhs\"]\n").contains("unknown baseline"));
        assert!(err("k = [3, 3]\n").contains("repeat"));
        let missing = ExperimentArgs { config: Some(dir.path().join("nope.toml")), ..Default::default() };
        assert!(format!("{:#}", missing.resolve().unwrap_err()).contains("nope.toml"));
    }

    #[test]
    fn resume_accepts_a_larger_grid_but_not_other_numbers() {
        let saved = ExperimentConfig::default();
        let mut grid = saved.clone();
        grid.bits.push(256);
        grid.baselines.push("sh".into());
        assert_eq!(grid.resume_mismatch(&saved), None);
        let mut other = saved.clone();
        other.epochs = 3;
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
                let c = ExperimentConfig::load(&path).unwrap();
                c.validate().unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
                n += 1;
            }
        }
        assert!(n >= 3, "paper, k-sweep and smoke configs expected in {}", dir.display());
    }
}
