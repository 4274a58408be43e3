//! `hagcn search`: Hamming top-K of query codes against a database streamed from disk.
//!
//! The queries are read whole; the database is read a block at a time (the next block
//! while the current one is scanned) into a [`StreamingTopK`], which gives exactly the
//! ranking of the in-memory `hamming_topk` (ties broken by database index). Memory is
//! the queries, `K` items per query and three blocks, so the database may be larger
//! than memory.
//!
//! With `--device cuda` (or `cuda-emulated`) each block is ranked on the device
//! (`hagcn_cuda::HammingIndex`, the block's codes uploaded once) and only its top `K` per
//! query comes back, to be merged in index order ([`StreamingTopK::push_ranked`]): the same
//! indices and distances as on the CPU.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use hagcn_eval::{PackedCodes, StreamingTopK};
use ndarray::Array2;

use crate::codes_file::{CodeBlocks, read_codes};
use crate::device::{Device, EigenSolver, Opened};
use crate::encode::progress_bar;
use crate::output::{refuse_existing, write_npy};
use crate::read_ahead::read_ahead;

/// Database bytes per block by default.
const BLOCK_BYTES: usize = 16 << 20;

/// Options of `hagcn search`.
#[derive(Args, Debug)]
pub struct SearchArgs {
    /// Query codes (uint8 `.npy` as `hagcn encode` writes, or a faiss IndexBinaryFlat file)
    #[arg(long)]
    pub query: PathBuf,
    /// Database codes (same width and formats); read in blocks, so it may be larger than memory
    #[arg(long)]
    pub database: PathBuf,
    /// Neighbours per query
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// Database codes read per block (default: 16 MiB of codes); memory holds three blocks
    #[arg(long)]
    pub block_codes: Option<usize>,
    /// Write the neighbour indices (`n_query × k`, int64) here instead of printing
    #[arg(long)]
    pub out_indices: Option<PathBuf>,
    /// Write the Hamming distances (`n_query × k`, int32) here
    #[arg(long)]
    pub out_distances: Option<PathBuf>,
    /// Replace existing outputs
    #[arg(long)]
    pub force: bool,
    /// Where to rank: cpu, cuda, cuda:N or cuda-emulated (CUDA needs a build with --features cuda)
    #[arg(long, default_value_t)]
    pub device: Device,
}

/// Runs `hagcn search`.
pub fn search(args: SearchArgs) -> Result<()> {
    for p in [&args.out_indices, &args.out_distances].into_iter().flatten() {
        refuse_existing(p, args.force)?;
    }
    if args.k == 0 {
        bail!("--k must be at least 1");
    }
    if args.block_codes == Some(0) {
        bail!("--block-codes must be at least 1");
    }
    let q = read_codes(&args.query)?;
    let mut db = CodeBlocks::open(&args.database)?;
    let n_bytes = db.n_bytes();
    if q.n_bytes() != n_bytes {
        bail!(
            "query codes are {} bytes wide but database codes are {n_bytes}: they come from different code lengths",
            q.n_bytes(),
        );
    }
    if db.n_codes() == 0 {
        bail!("{}: the database is empty", args.database.display());
    }
    let block_codes = args.block_codes.unwrap_or((BLOCK_BYTES / n_bytes).max(1));
    let opened = crate::device::open(args.device, EigenSolver::default())?;
    let mut topk = StreamingTopK::new(&q, args.k)?;
    let bar = progress_bar(db.n_codes() as u64, "database codes");
    read_ahead(
        vec![Vec::new(), Vec::new(), Vec::new()],
        |block| db.read(block_codes, block),
        |block, n| {
            let codes = PackedCodes::from_bytes(Array2::from_shape_vec((n, n_bytes), block.clone())?, 8 * n_bytes)?;
            match &opened {
                Opened::Cpu(_) => topk.push(&codes)?,
                #[cfg(feature = "cuda")]
                Opened::Cuda(b) => rank_on_device(b.device(), &q, &codes, args.k, &mut topk)?,
                #[cfg(feature = "cuda")]
                Opened::Emulated(b) => rank_on_device(b.device(), &q, &codes, args.k, &mut topk)?,
            }
            bar.inc(n as u64);
            Ok(())
        },
    )?;
    bar.finish_and_clear();
    let (idx, dist) = topk.finish()?;
    if args.out_indices.is_none() && args.out_distances.is_none() {
        for (qi, (row, drow)) in idx.rows().into_iter().zip(dist.rows()).enumerate() {
            let items: Vec<String> = row.iter().zip(drow).map(|(i, d)| format!("{i}:{d}")).collect();
            println!("query {qi}: {}", items.join(" "));
        }
    }
    if let Some(p) = &args.out_indices {
        write_npy(p, &idx.mapv(|i| i as i64))?;
    }
    if let Some(p) = &args.out_distances {
        write_npy(p, &dist.mapv(|d| d as i32))?;
    }
    Ok(())
}

/// The top `k` of every query among the block `codes`, ranked on `device`, merged into `topk`.
#[cfg(feature = "cuda")]
fn rank_on_device<D: hagcn_cuda::KernelDevice>(
    device: &std::sync::Arc<D>,
    queries: &PackedCodes,
    codes: &PackedCodes,
    k: usize,
    topk: &mut StreamingTopK,
) -> Result<()> {
    use hagcn_cuda::hamming::code_words;
    let words = |c: &PackedCodes| code_words(c.bytes().as_slice().expect("standard layout"), c.n_codes(), c.n_bits());
    let index = hagcn_cuda::HammingIndex::new(device.clone(), &words(codes)?, codes.n_codes(), codes.n_bits())?;
    let (idx, dist) = index.topk(&words(queries)?, queries.n_codes(), k)?;
    topk.push_ranked(codes.n_codes(), idx.view(), dist.view())?;
    Ok(())
}
