//! Model hyper-parameters: the graph filter, the training objective, the parts of the kNN
//! objective an ablation switches off, and [`MachineConfig`].
//!
//! The settings enums take their names from their serde attributes alone: `Display` and
//! `FromStr` are derived from them (serde_plain), the list of variants from strum, so a name
//! is written once.

use serde::{Deserialize, Serialize};
use strum::VariantArray;

use crate::{Error, Result};

/// The graph filter applied to the mini-batch graph (spec §2 step 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, VariantArray)]
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
serde_plain::derive_display_from_serialize!(Filter);
serde_plain::derive_fromstr_from_deserialize!(Filter);

impl Filter {
    /// All five filters, in the order of the paper's tables.
    pub const ALL: &[Filter] = Filter::VARIANTS;

    /// Whether the filter keeps the `k` smallest eigenpairs of the batch graph.
    pub fn is_spectral(self) -> bool {
        matches!(self, Filter::Fourier | Filter::Spline)
    }

    /// Whether the filter has an order `k` (every filter but gcn).
    pub fn has_order(self) -> bool {
        self != Filter::Gcn
    }
}

/// Which loss a model trains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, VariantArray)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// The method as the spec writes it (§2–§3): dense graph `S + 1`, codes from the input,
    /// `mse(R, X) + γ mse(C Cᵀ, b S)`.
    #[default]
    Hagcn,
    /// The kNN-graph variant (`docs/KNN_OBJECTIVE.md`, [`crate::batch_graph`]).
    Knn,
}
serde_plain::derive_display_from_serialize!(Objective);
serde_plain::derive_fromstr_from_deserialize!(Objective);

/// One part of the kNN objective switched off, for an ablation study.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, VariantArray)]
#[serde(rename_all = "kebab-case")]
pub enum Ablation {
    /// The graph filter is replaced by the identity, `F = Z`.
    IdentityFilter,
    /// The filter's graph is the constant `J/n` instead of the kNN graph.
    ConstantGraph,
    /// The hash target is the cosine similarity of the centred inputs instead of the graph.
    CosineTarget,
    /// Codes are a linear map of the (centred) input, as in the faithful method.
    InputHash,
    /// Inputs are not centred.
    NoCentring,
    /// No bit-balance or decorrelation terms (`λ = 0`).
    NoRegularizers,
    /// No hash loss at all (`γ = 0`): the model is trained by reconstruction alone.
    NoHashLoss,
    /// No propagation over the anchor graph: the model sees the centred inputs themselves
    /// (the neighbourhood filter replaced by the identity).
    NoPropagation,
    /// Trained on propagated inputs, but new points are encoded without their neighbours
    /// (their own scaled, centred rows instead of their anchors' propagated features).
    EncodeWithoutNeighbours,
    /// No propagation of the logits over the anchor graph (`code_hops` switched off): codes
    /// are read off each point's own logits.
    NoCodePropagation,
}
serde_plain::derive_display_from_serialize!(Ablation);
serde_plain::derive_fromstr_from_deserialize!(Ablation);

impl Ablation {
    /// Every ablation.
    pub const ALL: &[Ablation] = Ablation::VARIANTS;
}

/// How codes are read off the hash layer's logits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, VariantArray)]
#[serde(rename_all = "lowercase")]
pub enum Readout {
    /// Bit = logit ≥ 0 (spec §4).
    #[default]
    Sign,
    /// Bit = sign of the centred logits times an ITQ rotation fitted on the training rows
    /// after training (Gong & Lazebnik's iterative quantisation, 50 iterations).
    Itq,
}
serde_plain::derive_display_from_serialize!(Readout);
serde_plain::derive_fromstr_from_deserialize!(Readout);

/// The filter order of the reference (`k = 18`), and the default everywhere.
pub const DEFAULT_K: usize = 18;

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
    /// Anchors `m` of the neighbourhood filter over the training set (0: none): each input
    /// is replaced by its propagation over the anchor graph ([`crate::neighbourhood`]).
    #[serde(default)]
    pub anchors: usize,
    /// Nearest anchors `s` each point is tied to (neighbourhood filter; default 3).
    #[serde(default = "default_nearest_anchors")]
    pub nearest_anchors: usize,
    /// Steps `p` of propagation over the anchor graph (neighbourhood filter; default 2).
    #[serde(default = "default_hops")]
    pub hops: usize,
    /// Steps `q` of propagation of the logits over the anchor graph before the read-out
    /// (neighbourhood filter; 0, the default: none). With `q > 0` a point's logits are the
    /// `q`-step anchor-walk average of the training rows' logits, `z(x) M^{q-1} Λ^{-1} Zᵀ L`
    /// ([`crate::neighbourhood`]), fitted after training.
    #[serde(default)]
    pub code_hops: usize,
    /// How codes are read off the logits: `sign` (default) or `itq`.
    #[serde(default)]
    pub readout: Readout,
}

fn default_nearest_anchors() -> usize {
    3
}

fn default_hops() -> usize {
    2
}

fn default_knn() -> usize {
    5
}

fn default_regularization() -> f64 {
    0.1
}

impl MachineConfig {
    /// The defaults of every model hyper-parameter, here and nowhere else: the spec's
    /// `h = 768`, `k = 18`, `γ = 1e-4`, the faithful objective, and for the knn objective 5
    /// neighbours and `λ = 0.1`; for input size `in_size`, `bits` and `filter`.
    /// [`crate::TrainingOptions::default`] takes its model settings from here.
    pub fn new(in_size: usize, bits: usize, filter: Filter) -> Self {
        MachineConfig {
            in_size,
            hidden: 768,
            bits,
            filter,
            k: DEFAULT_K,
            gamma: 1e-4,
            layer_norm_eps: 1e-5,
            objective: Objective::Hagcn,
            knn: default_knn(),
            regularization: default_regularization(),
            ablate: Vec::new(),
            anchors: 0,
            nearest_anchors: default_nearest_anchors(),
            hops: default_hops(),
            code_hops: 0,
            readout: Readout::Sign,
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
        if self.filter.has_order() && self.k == 0 {
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
        if self.anchors > 0 && !(1..=self.anchors).contains(&self.nearest_anchors) {
            return bad(format!(
                "nearest_anchors must be between 1 and anchors ({}), got {}",
                self.anchors, self.nearest_anchors
            ));
        }
        if self.anchors > 0 && self.hops == 0 {
            return bad("hops must be at least 1 when the neighbourhood filter is on (anchors > 0)".into());
        }
        if self.anchors == 0 && self.code_hops > 0 {
            return bad("code_hops needs the neighbourhood filter (anchors > 0)".into());
        }
        if self.anchors == 0
            && self.ablate.iter().any(|a| matches!(a, Ablation::NoPropagation | Ablation::EncodeWithoutNeighbours))
        {
            return bad("the no-propagation ablations need the neighbourhood filter (anchors > 0)".into());
        }
        if self.code_hops == 0 && self.ablate.contains(&Ablation::NoCodePropagation) {
            return bad("the no-code-propagation ablation needs code_hops > 0".into());
        }
        if self.filter == Filter::Spline && self.k < 4 {
            return bad(format!("the spline filter needs k ≥ 4 (cubic B-splines), got {}", self.k));
        }
        Ok(())
    }

    /// Whether `ablation` is switched on (always false for the faithful objective).
    pub fn ablates(&self, ablation: Ablation) -> bool {
        self.objective == Objective::Knn && self.ablate.contains(&ablation)
    }

    /// Whether inputs are centred by the stored training mean.
    pub fn centres_inputs(&self) -> bool {
        self.objective == Objective::Knn && !self.ablates(Ablation::NoCentring)
    }

    /// Whether inputs are propagated over the anchor graph of the training set.
    pub fn propagates(&self) -> bool {
        self.anchors > 0 && !self.ablates(Ablation::NoPropagation)
    }

    /// Whether the logits are propagated over the anchor graph before the read-out: only
    /// with propagated inputs, and not when new points are encoded without neighbours.
    pub fn propagates_codes(&self) -> bool {
        self.code_hops > 0
            && self.propagates()
            && !self.ablates(Ablation::EncodeWithoutNeighbours)
            && !self.ablates(Ablation::NoCodePropagation)
    }

    /// Whether the codes are computed from the hidden features `Z` (else from the input).
    pub fn hashes_hidden(&self) -> bool {
        self.objective == Objective::Knn && !self.ablates(Ablation::InputHash)
    }

    /// The fewest rows a training batch may have: `k` for fourier and spline (they keep `k`
    /// eigenpairs), `knn + 1` for the kNN objective (each row needs `knn` other rows).
    pub fn min_batch_rows(&self) -> usize {
        let spectral = if self.filter.is_spectral() { self.k } else { 1 };
        let knn = if self.objective == Objective::Knn { self.knn + 1 } else { 1 };
        spectral.max(knn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serde_names_and_round_trip() {
        let names: Vec<String> = Filter::ALL.iter().map(Filter::to_string).collect();
        assert_eq!(names, ["gcn", "fourier", "spline", "cheby", "lanczos"]);
        for &f in Filter::ALL {
            assert_eq!(f.to_string().parse::<Filter>().unwrap(), f);
            assert_eq!(serde_json::to_string(&f).unwrap(), format!("\"{f}\""));
        }
        for &a in Ablation::ALL {
            assert_eq!(a.to_string().parse::<Ablation>().unwrap(), a);
        }
        assert_eq!(Ablation::NoHashLoss.to_string(), "no-hash-loss");
        for &o in Objective::VARIANTS {
            assert_eq!(o.to_string().parse::<Objective>().unwrap(), o);
        }
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let err = "gnc".parse::<Filter>().unwrap_err().to_string();
        assert!(err.contains("gnc") && err.contains("gcn") && err.contains("lanczos"), "{err}");
        assert!("graph".parse::<Ablation>().unwrap_err().to_string().contains("identity-filter"));
    }
}
