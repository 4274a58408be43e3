//! `hagcn search`: Hamming top-K of query codes against a database streamed from disk.
//!
//! The queries are read whole; the database is read a block at a time (the next block
//! while the current one is scanned) into a [`StreamingTopK`], which gives exactly the
//! ranking of the in-memory `hamming_topk` (ties broken by database index). Memory is
//! the queries, `K` items per query and three blocks, so the database may be larger
//! than memory.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use hagcn_eval::{PackedCodes, StreamingTopK};
use ndarray::Array2;

use crate::codes_file::{CodeBlocks, read_codes};
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
    let mut topk = StreamingTopK::new(&q, args.k)?;
    let bar = progress_bar(db.n_codes() as u64, "database codes");
    read_ahead(
        vec![Vec::new(), Vec::new(), Vec::new()],
        |block| db.read(block_codes, block),
        |block, n| {
            let codes = Array2::from_shape_vec((n, n_bytes), block.clone())?;
            topk.push(&PackedCodes::from_bytes(codes, 8 * n_bytes)?)?;
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
