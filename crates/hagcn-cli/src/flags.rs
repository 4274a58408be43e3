//! Command-line flags over typed settings: flags are `Option`s that, when given, replace a
//! setting; `--help` shows each setting's default, read from the settings' `Default`
//! (so defaults are written in one place); settings enums list their names as the possible
//! values.

use std::fmt::Display;
use std::str::FromStr;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Arg, Args, Command};
use hagcn_model::{Objective, Readout, TrainingOptions};
use strum::VariantArray;

/// `overlay!(flags => target; a, b, c)` sets `target.a = flags.a` for every flag given.
macro_rules! overlay {
    ($flags:expr => $target:expr; $($field:ident),* $(,)?) => {$(
        if let Some(v) = &$flags.$field {
            $target.$field = v.clone();
        }
    )*};
}
pub(crate) use overlay;

/// Flags of the [`TrainingOptions`] every command that trains takes.
#[derive(Args, Clone, Debug, Default)]
pub struct TrainingFlags {
    /// Training epochs
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Mini-batch size (the last batch of an epoch may be shorter)
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Hidden size h
    #[arg(long)]
    pub hidden: Option<usize>,
    /// Adam learning rate
    #[arg(long)]
    pub lr: Option<f64>,
    /// Weight γ of the hash loss
    #[arg(long)]
    pub gamma: Option<f64>,
    /// Seed of the splits, the initialisation and the batch order
    #[arg(long)]
    pub seed: Option<u64>,
    /// Training objective: hagcn (the faithful method) or knn (docs/KNN_OBJECTIVE.md)
    #[arg(long, value_parser = names::<Objective>())]
    pub objective: Option<Objective>,
    /// Neighbours per row of the kNN batch graph (knn objective)
    #[arg(long)]
    pub knn: Option<usize>,
    /// Weight λ of the bit-balance and decorrelation terms (knn objective)
    #[arg(long)]
    pub regularization: Option<f64>,
    /// Anchors of the neighbourhood filter: inputs propagated over the anchor graph of the
    /// training set (0: off)
    #[arg(long)]
    pub anchors: Option<usize>,
    /// Nearest anchors each point is tied to (neighbourhood filter)
    #[arg(long)]
    pub nearest_anchors: Option<usize>,
    /// Propagation steps over the anchor graph (neighbourhood filter)
    #[arg(long)]
    pub hops: Option<usize>,
    /// Propagation steps of the logits over the anchor graph before the read-out: a point's
    /// logits become its anchors' walk average of the training rows' (neighbourhood filter; 0: none)
    #[arg(long)]
    pub code_hops: Option<usize>,
    /// How codes are read off the logits: sign, or itq (a rotation fitted after training)
    #[arg(long, value_parser = names::<Readout>())]
    pub readout: Option<Readout>,
}

impl TrainingFlags {
    /// Replaces the options given as flags.
    pub fn apply_to(&self, options: &mut TrainingOptions) {
        overlay!(self => options; epochs, batch_size, hidden, lr, gamma, seed, objective, knn, regularization, anchors,
            nearest_anchors, hops, code_hops, readout);
    }
}

/// A parser for a settings enum: its names are the possible values (listed by `--help`).
pub fn names<T>() -> impl TypedValueParser<Value = T>
where
    T: VariantArray + Display + FromStr + Clone + Send + Sync + 'static,
{
    PossibleValuesParser::new(T::VARIANTS.iter().map(|v| PossibleValue::new(v.to_string())))
        .map(|name| name.parse::<T>().unwrap_or_else(|_| unreachable!("{name} is one of the listed names")))
}

/// [`names`], and `none` (for an empty list).
pub fn names_or_none<T>() -> impl TypedValueParser<Value = Option<T>>
where
    T: VariantArray + Display + FromStr + Clone + Send + Sync + 'static,
{
    let values = T::VARIANTS.iter().map(|v| v.to_string()).chain(["none".to_string()]);
    PossibleValuesParser::new(values.map(PossibleValue::new))
        .map(|name| (name != "none").then(|| name.parse::<T>().unwrap_or_else(|_| unreachable!("{name} is listed"))))
}

/// Appends `[default: …]` to the help of every argument of `cmd` whose name is a key of
/// `defaults` (the `Default` of the settings the flags override, as a TOML table).
pub fn with_defaults(cmd: Command, defaults: &toml::Table) -> Command {
    cmd.mut_args(|arg: Arg| {
        let Some(value) = defaults.get(arg.get_id().as_str()).and_then(flag_text) else {
            return arg;
        };
        let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
        arg.help(format!("{help} [default: {value}]"))
    })
}

/// A default as it would be written on the command line (`16,28,32`, `mnist`, `1e-4`).
fn flag_text(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) if s.is_empty() => None,
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Array(items) => {
            let texts: Option<Vec<String>> = items.iter().map(flag_text).collect();
            texts.filter(|t| !t.is_empty()).map(|t| t.join(","))
        }
        toml::Value::Table(_) => None,
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use hagcn_model::Filter;

    #[derive(Parser)]
    struct Demo {
        /// Graph filters
        #[arg(long, value_delimiter = ',', value_parser = names::<Filter>())]
        filters: Option<Vec<Filter>>,
        #[command(flatten)]
        training: TrainingFlags,
    }

    #[test]
    fn help_shows_names_and_defaults() {
        use clap::CommandFactory;
        let defaults = toml::Table::try_from(TrainingOptions::default()).unwrap();
        let mut cmd = with_defaults(Demo::command(), &defaults);
        let help = cmd.render_long_help().to_string();
        assert!(help.contains("[default: 20]"), "{help}");
        assert!(help.contains("[default: hagcn]"), "{help}");
        assert!(help.contains("gcn") && help.contains("lanczos"), "{help}");
    }

    #[test]
    fn flags_parse_into_typed_values_and_override() {
        let d =
            Demo::try_parse_from(["demo", "--filters", "gcn,cheby", "--epochs", "3", "--objective", "knn"]).unwrap();
        assert_eq!(d.filters.unwrap(), [Filter::Gcn, Filter::Cheby]);
        let mut opts = TrainingOptions::default();
        d.training.apply_to(&mut opts);
        assert_eq!((opts.epochs, opts.objective, opts.batch_size), (3, Objective::Knn, 128));
        let err = Demo::try_parse_from(["demo", "--filters", "gnc"]).err().unwrap().to_string();
        assert!(err.contains("gnc") && err.contains("fourier"), "{err}");
    }
}
