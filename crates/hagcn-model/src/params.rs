//! The parameters of a model, named as in the reference's PyTorch `state_dict`.

use hagcn_autodiff::Var;
use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{Filter, MachineConfig, Readout};

/// How a parameter is initialised (PyTorch's defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// `U(−1/√fan_in, +1/√fan_in)`, as `torch.nn.Linear` does for weight and bias.
    Uniform {
        /// The layer's input size.
        fan_in: usize,
    },
    /// All ones (layer-norm weight).
    Ones,
    /// All zeros (layer-norm bias).
    Zeros,
    /// The identity matrix (the ITQ read-out's rotation before it is fitted).
    Identity,
}

/// Name, shape and initialisation of one parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSpec {
    /// The PyTorch `state_dict` name (for example `w5.0.weight`).
    pub name: &'static str,
    /// `(rows, cols)` as stored internally; biases and layer-norm vectors are `1 × n`
    /// here and 1-D (`n`) in checkpoints.
    pub shape: (usize, usize),
    /// Whether the parameter is a vector (1-D in PyTorch).
    pub is_vector: bool,
    /// Its initialisation.
    pub init: Init,
    /// Whether the optimiser updates it (`input_mean` is fitted once, not trained).
    pub trainable: bool,
}

/// The parameters a configuration has, in `state_dict` order (spec §2).
///
/// The `knn` objective hashes the hidden features (`w2` is `b × h`) and stores the training
/// mean of the inputs as a last, untrained `input_mean` (`1 × d`). Then come the other
/// fitted, untrained values: the neighbourhood filter's `neighbourhood.{anchors, features}`
/// (`m × d`), `neighbourhood.{bandwidth, scale}`, the propagated logits' `readout.anchor_logits`
/// (`m × b`, with `code_hops > 0`), and the ITQ read-out's `readout.mean`
/// (`1 × b`) and `readout.rotation` (`b × b`).
///
/// Unlike the reference, only parameters the filter uses exist: `layer_norm.*` and a
/// `h × h` `w.*` for gcn; `k × k` `w.*` for fourier and spline; no `w.*` for cheby and
/// lanczos (spec §7).
pub fn param_specs(c: &MachineConfig) -> Vec<ParamSpec> {
    let (d, h, b) = (c.in_size, c.hidden, c.bits);
    let mut specs = Vec::new();
    let mut linear = |prefix: &'static [&'static str; 2], out: usize, inp: usize| {
        specs.push(ParamSpec {
            name: prefix[0],
            shape: (out, inp),
            is_vector: false,
            init: Init::Uniform { fan_in: inp },
            trainable: true,
        });
        specs.push(ParamSpec {
            name: prefix[1],
            shape: (1, out),
            is_vector: true,
            init: Init::Uniform { fan_in: inp },
            trainable: true,
        });
    };
    linear(&["w1.weight", "w1.bias"], h, d);
    linear(&["w2.weight", "w2.bias"], b, if c.hashes_hidden() { h } else { d });
    match c.filter {
        Filter::Gcn => linear(&["w.weight", "w.bias"], h, h),
        Filter::Fourier | Filter::Spline => linear(&["w.weight", "w.bias"], c.k, c.k),
        Filter::Cheby | Filter::Lanczos => {}
    }
    linear(&["w4.weight", "w4.bias"], h, h);
    linear(&["w5.0.weight", "w5.0.bias"], h, h);
    linear(&["w5.2.weight", "w5.2.bias"], d, h);
    if c.filter == Filter::Gcn {
        let at = specs.iter().position(|s| s.name == "w4.weight").expect("w4 is always present");
        specs.insert(
            at,
            ParamSpec { name: "layer_norm.weight", shape: (1, h), is_vector: true, init: Init::Ones, trainable: true },
        );
        specs.insert(
            at + 1,
            ParamSpec { name: "layer_norm.bias", shape: (1, h), is_vector: true, init: Init::Zeros, trainable: true },
        );
    }
    if c.centres_inputs() {
        // last, and drawn from no random numbers, so the other parameters' draws are unchanged
        specs.push(ParamSpec {
            name: "input_mean",
            shape: (1, d),
            is_vector: true,
            init: Init::Zeros,
            trainable: false,
        });
    }
    // Fitted, not trained, after the rest for the same reason.
    let fitted =
        |name, shape: (usize, usize), is_vector, init| ParamSpec { name, shape, is_vector, init, trainable: false };
    if c.propagates() {
        let m = c.anchors;
        specs.push(fitted("neighbourhood.anchors", (m, d), false, Init::Zeros));
        specs.push(fitted("neighbourhood.features", (m, d), false, Init::Zeros));
        specs.push(fitted("neighbourhood.bandwidth", (1, 1), true, Init::Zeros));
        specs.push(fitted("neighbourhood.scale", (1, 1), true, Init::Zeros));
    }
    if c.propagates_codes() {
        specs.push(fitted("readout.anchor_logits", (c.anchors, b), false, Init::Zeros));
    }
    if c.readout == Readout::Itq {
        specs.push(fitted("readout.mean", (1, b), true, Init::Zeros));
        specs.push(fitted("readout.rotation", (b, b), false, Init::Identity));
    }
    specs
}

/// The graph variables of a model's parameters, looked up by their `state_dict` name.
#[derive(Clone, Debug, Default)]
pub struct Params(Vec<(&'static str, Var)>);

impl Params {
    /// Pairs `vars` (one per spec, in [`param_specs`] order) with their names.
    ///
    /// # Panics
    ///
    /// When the counts differ: callers build both from the same configuration.
    pub fn new(specs: &[ParamSpec], vars: &[Var]) -> Self {
        assert_eq!(specs.len(), vars.len(), "one variable per parameter");
        specs.iter().map(|s| s.name).zip(vars.iter().copied()).collect()
    }

    /// The variable of the parameter `name`.
    ///
    /// # Panics
    ///
    /// When there is no such parameter (a bug: each filter asks only for its own).
    pub fn get(&self, name: &str) -> Var {
        let found = self.0.iter().find(|(n, _)| *n == name);
        found.unwrap_or_else(|| panic!("no parameter {name} in this configuration")).1
    }
}

impl FromIterator<(&'static str, Var)> for Params {
    fn from_iter<I: IntoIterator<Item = (&'static str, Var)>>(iter: I) -> Self {
        Params(iter.into_iter().collect())
    }
}

/// Draws every parameter in `specs` order from a ChaCha8 generator seeded with `seed`.
pub fn init_params(specs: &[ParamSpec], seed: u64) -> Vec<Array2<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    specs
        .iter()
        .map(|s| match s.init {
            Init::Uniform { fan_in } => {
                let bound = 1.0 / (fan_in as f64).sqrt();
                Array2::from_shape_fn(s.shape, |_| rng.random_range(-bound..bound))
            }
            Init::Ones => Array2::ones(s.shape),
            Init::Zeros => Array2::zeros(s.shape),
            Init::Identity => Array2::eye(s.shape.0),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcn_has_the_reference_names_in_order() {
        let names: Vec<_> = param_specs(&MachineConfig::new(10, 16, Filter::Gcn)).iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "w1.weight",
                "w1.bias",
                "w2.weight",
                "w2.bias",
                "w.weight",
                "w.bias",
                "layer_norm.weight",
                "layer_norm.bias",
                "w4.weight",
                "w4.bias",
                "w5.0.weight",
                "w5.0.bias",
                "w5.2.weight",
                "w5.2.bias"
            ]
        );
    }

    #[test]
    fn shapes_follow_the_spec() {
        let mut c = MachineConfig::new(10, 6, Filter::Fourier);
        c.k = 3;
        c.hidden = 6;
        let specs = param_specs(&c);
        let shape = |n: &str| specs.iter().find(|s| s.name == n).unwrap().shape;
        assert_eq!(shape("w1.weight"), (6, 10));
        assert_eq!(shape("w2.weight"), (6, 10));
        assert_eq!(shape("w.weight"), (3, 3));
        assert_eq!(shape("w5.2.weight"), (10, 6));
        assert_eq!(shape("w5.2.bias"), (1, 10));
        assert!(specs.iter().all(|s| !s.name.starts_with("layer_norm")));
        c.filter = Filter::Cheby;
        assert!(param_specs(&c).iter().all(|s| !s.name.starts_with("w.")));
    }

    #[test]
    fn init_is_seeded_and_bounded() {
        let specs = param_specs(&MachineConfig::new(9, 4, Filter::Gcn));
        let a = init_params(&specs, 42);
        assert_eq!(a, init_params(&specs, 42));
        assert_ne!(a, init_params(&specs, 43));
        // w1: fan_in 9 → |x| < 1/3; w: fan_in 768 (hidden) → |x| < 1/√768
        assert!(a[0].iter().all(|x| x.abs() < 1.0 / 3.0));
        assert!(a[0].iter().any(|x| x.abs() > 0.2), "uses the whole range");
        assert!(a[4].iter().all(|x| x.abs() < 1.0 / 768f64.sqrt()));
        assert!(a[6].iter().all(|&x| x == 1.0) && a[7].iter().all(|&x| x == 0.0));
    }
}
