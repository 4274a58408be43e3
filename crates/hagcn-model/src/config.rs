//! Model hyper-parameters and the choice of graph filter.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::objective::{Ablation, Objective};
use crate::{Error, Result};

/// The graph filter applied to the mini-batch similarity graph (spec §2 step 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Filter {
    /// `LayerNorm((Â Z) Wᵀ + b)`.
    Gcn,
    /// Learned filter on the `k` smallest eigenpairs of `Â`.
    Fourier,
    /// Fourier filter on a cubic B-spline basis of the eigenvalues.
    Spline,
    /// `Σ_(j=0..k) T_j(Â) Z`, Chebyshev polynomials of `Â`.
    Cheby,
    /// `V T Vᵀ Z` from `k` Lanczos steps on `Â`.
    Lanczos,
}

impl Filter {
    /// All five filters, in the order of the paper's tables.
    pub const ALL: [Filter; 5] = [Filter::Gcn, Filter::Fourier, Filter::Spline, Filter::Cheby, Filter::Lanczos];

    /// The name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Filter::Gcn => "gcn",
            Filter::Fourier => "fourier",
            Filter::Spline => "spline",
            Filter::Cheby => "cheby",
            Filter::Lanczos => "lanczos",
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Filter {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Filter::ALL.into_iter().find(|f| f.name() == s.trim().to_ascii_lowercase()).ok_or_else(|| {
            Error::Config(format!("unknown filter {s:?}; expected one of gcn, fourier, spline, cheby, lanczos"))
        })
    }
}

/// Hyper-parameters of a [`crate::Machine`] (spec §2–§3), before validation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineConfig {
    /// Input embedding size `d`.
    pub in_size: usize,
    /// Hidden size `h` (spec default 768).
    pub hidden: usize,
    /// Code length `b` in bits.
    pub bits: usize,
    /// The graph filter.
    pub filter: Filter,
    /// Filter order `k` (fourier, spline, cheby, lanczos; unused by gcn).
    pub k: usize,
    /// Weight γ of the similarity-preserving hash term (spec: 1e-4).
    pub gamma: f64,
    /// Layer-norm ε (PyTorch default 1e-5).
    pub layer_norm_eps: f64,
    /// The training objective: the faithful `hagcn` (default) or the `knn` variant.
    #[serde(default)]
    pub objective: Objective,
    /// Neighbours per row of the kNN batch graph (`knn` objective; default 5).
    #[serde(default = "default_knn")]
    pub knn: usize,
    /// Weight λ of the bit-balance and decorrelation terms (`knn` objective; default 0.1).
    #[serde(default = "default_regularization")]
    pub regularization: f64,
    /// Parts of the `knn` objective switched off (an ablation study); empty by default.
    #[serde(default)]
    pub ablate: Vec<Ablation>,
}

fn default_knn() -> usize {
    5
}

fn default_regularization() -> f64 {
    0.1
}

impl MachineConfig {
    /// The spec's defaults for input size `in_size`, `bits` and `filter`: `h = 768`, `k = 18`,
    /// `γ = 1e-4`.
    pub fn new(in_size: usize, bits: usize, filter: Filter) -> Self {
        MachineConfig {
            in_size,
            hidden: 768,
            bits,
            filter,
            k: 18,
            gamma: 1e-4,
            layer_norm_eps: 1e-5,
            objective: Objective::Hagcn,
            knn: default_knn(),
            regularization: default_regularization(),
            ablate: Vec::new(),
        }
    }

    /// Checks every value, returning a clear error for the first bad one.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if self.in_size == 0 {
            return bad("in_size must be at least 1".into());
        }
        if self.hidden == 0 {
            return bad("hidden size must be at least 1".into());
        }
        if self.bits == 0 {
            return bad("bits must be at least 1".into());
        }
        if self.filter != Filter::Gcn && self.k == 0 {
            return bad(format!("k must be at least 1 for the {} filter", self.filter));
        }
        if !(self.gamma.is_finite() && self.gamma >= 0.0) {
            return bad(format!("gamma must be finite and non-negative, got {}", self.gamma));
        }
        if !(self.layer_norm_eps.is_finite() && self.layer_norm_eps > 0.0) {
            return bad(format!("layer_norm_eps must be positive, got {}", self.layer_norm_eps));
        }
        if self.objective == Objective::Knn && self.knn == 0 {
            return bad("knn must be at least 1 for the knn objective".into());
        }
        if !(self.regularization.is_finite() && self.regularization >= 0.0) {
            return bad(format!("regularization must be finite and non-negative, got {}", self.regularization));
        }
        if self.objective == Objective::Hagcn && !self.ablate.is_empty() {
            return bad("ablate applies to the knn objective only".into());
        }
        if self.filter == Filter::Spline && self.k < 4 {
            return bad(format!("the spline filter needs k ≥ 4 (cubic B-splines), got {}", self.k));
        }
        Ok(())
    }
}
