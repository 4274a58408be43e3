//! `hagcn encode`: embeddings to packed codes, streamed.
//!
//! A code depends only on its own row, `bit j = (x W2ᵀ + b2)_j ≥ 0`, so the input is read
//! [`BLOCK_ROWS`] rows at a time (the next block is read while the current one is
//! encoded) and each block's codes are written as soon as they are computed. Memory is a
//! few blocks, whatever the number of rows.
//!
//! Each block goes through `Machine::hash_logits_block`, the computation `Machine::hash_logits`
//! runs on each of its 4096-row chunks; its layers sum every logit in one fixed order
//! (`hagcn_autodiff::Arithmetic::Reproducible`), so the codes are bit-identical to the
//! in-memory encode and the same for any thread count and on any backend (tests compare
//! them). It skips what `hash_logits` adds around that call for a caller with arbitrary data
//! (an index-by-index NaN scan and a conversion of every value). A Fortran-order input is
//! read a block of rows at a time too (`RowReader`), with the same codes.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Result, bail, ensure};
use clap::Args;
use hagcn_autodiff::{AdamConfig, Backend};
use hagcn_data::npy::RowReader;
use hagcn_eval::PackedCodes;
use hagcn_model::{Checkpoint, Machine, load_checkpoint};
use ndarray::ArrayView2;

use crate::device::{Device, EigenSolver, with_backend};
use crate::output::{refuse_existing, write_atomic, write_npy_header};
use crate::read_ahead::read_ahead;

/// Rows encoded per block: the chunk size of `Machine::hash_logits`.
pub const BLOCK_ROWS: usize = hagcn_model::Machine::<hagcn_autodiff::CpuBackend<f32>>::HASH_CHUNK;

/// Options of `hagcn encode`.
#[derive(Args, Debug)]
pub struct EncodeArgs {
    /// A checkpoint written by `hagcn train` or `hagcn experiment`
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Embeddings, an `N × d` float32/float64 `.npy` (C or Fortran order; `d` must match the
    /// checkpoint); read in blocks, so it may be larger than memory
    #[arg(long)]
    pub input: PathBuf,
    /// Packed codes out: uint8 `N × ceil(bits/8)`, LSB-first (faiss IndexBinary layout)
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing output
    #[arg(long)]
    pub force: bool,
    /// Where to encode: cpu, cuda, cuda:N or cuda-emulated (CUDA needs a build with --features cuda)
    #[arg(long, default_value_t)]
    pub device: Device,
}

/// Runs `hagcn encode`.
pub fn encode(args: EncodeArgs) -> Result<()> {
    refuse_existing(&args.out, args.force)?;
    let ck = load_checkpoint(&args.checkpoint)?;
    let rows = RowReader::open_real(&args.input)?;
    let dim = rows.n_cols();
    if dim != ck.config.in_size {
        bail!(
            "{} has {dim} features per row but the checkpoint {} expects {}",
            args.input.display(),
            args.checkpoint.display(),
            ck.config.in_size
        );
    }
    let opened = crate::device::open(args.device, EigenSolver::default())?;
    with_backend!(&opened, |b| encode_on(b.clone(), &args, ck, rows))
}

fn encode_on<B: Backend<Elem = f32>>(backend: B, args: &EncodeArgs, ck: Checkpoint, mut rows: RowReader) -> Result<()> {
    let (n_rows, dim) = (rows.n_rows(), rows.n_cols());
    let bits = ck.config.bits;
    let machine = Machine::from_params(backend, ck.config, AdamConfig::default(), ck.params, 0)?;
    let bar = progress_bar(n_rows as u64, "rows");
    let input = &args.input;
    write_atomic(&args.out, |w| {
        write_npy_header::<u8>(w, &[n_rows, bits.div_ceil(8)])?;
        let mut done = 0;
        read_ahead(
            vec![Vec::new(), Vec::new(), Vec::new()],
            |block| rows.read_f32(BLOCK_ROWS, block).map_err(Into::into),
            |block, n| {
                if let Some(at) = block.iter().position(|v| !v.is_finite()) {
                    bail!("{}: non-finite value at row {}, column {}", input.display(), done + at / dim, at % dim);
                }
                let codes = PackedCodes::from_logits(
                    machine.hash_logits_block(ArrayView2::from_shape((n, dim), block)?)?.view(),
                );
                w.write_all(codes.bytes().as_slice().expect("codes are in standard layout"))?;
                done += n;
                bar.inc(n as u64);
                Ok(())
            },
        )?;
        ensure!(done == n_rows, "{}: read {done} of {n_rows} rows", input.display());
        Ok(())
    })?;
    bar.finish_and_clear();
    eprintln!("wrote {n_rows} codes of {bits} bits to {}", args.out.display());
    Ok(())
}

/// A progress bar over `len` items on standard error (hidden when it is not a terminal).
pub fn progress_bar(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    let style = format!("{{bar:40}} {{human_pos}}/{{human_len}} {what} ({{per_sec}}, {{eta}} left)");
    if let Ok(style) = indicatif::ProgressStyle::with_template(&style) {
        bar.set_style(style);
    }
    bar
}
