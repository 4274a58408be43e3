//! `hagcn export`: packed codes in the formats index servers load.
//!
//! - `faiss`: faiss's own serialisation of an `IndexBinaryFlat` (the layout is documented
//!   in [`hagcn_eval::faiss`]), loaded by `faiss.read_index_binary(path)`; its search gives
//!   the neighbours and distances of `hagcn search`.
//! - `milvus`: a folder of numpy files for Milvus bulk insert (`utility.do_bulk_insert` /
//!   `bulk_import`), one file per field named after the field: `<id-field>.npy` (int64
//!   row numbers `0..N`, the primary key, so search results are database indices as in
//!   `hagcn search`) and `<vector-field>.npy` (uint8 `N × dim/8`, what Milvus reads for a
//!   `BINARY_VECTOR` field of dimension `dim`), plus `collection.json`, the schema to
//!   create (`examples/milvus_roundtrip.py` reads it).
//!
//! Codes are copied a block at a time, so the database may be larger than memory; every
//! file is written to a temporary name and renamed into place.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use clap::{Args, ValueEnum};
use hagcn_eval::FaissBinaryFlatHeader;

use crate::codes_file::CodeBlocks;
use crate::output::{refuse_existing, write_atomic, write_npy_header, write_text};

/// Codes per block copied.
const BLOCK_CODES: usize = 1 << 20;

/// Target formats of `hagcn export`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// A faiss IndexBinaryFlat file (`faiss.read_index_binary`)
    Faiss,
    /// A folder of numpy files for Milvus bulk insert into a BINARY_VECTOR field
    Milvus,
}

/// Options of `hagcn export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Target format
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Packed codes (uint8 `.npy` as `hagcn encode` writes, or a faiss IndexBinaryFlat file)
    #[arg(long)]
    pub codes: PathBuf,
    /// Output: the index file (faiss) or a folder (milvus)
    #[arg(long)]
    pub out: PathBuf,
    /// Milvus: name of the int64 primary-key field (row numbers 0..N)
    #[arg(long, default_value = "id")]
    pub id_field: String,
    /// Milvus: name of the BINARY_VECTOR field
    #[arg(long, default_value = "vector")]
    pub vector_field: String,
    /// Replace existing outputs
    #[arg(long)]
    pub force: bool,
}

/// Runs `hagcn export`.
pub fn export(args: ExportArgs) -> Result<()> {
    let mut codes = CodeBlocks::open(&args.codes)?;
    match args.format {
        ExportFormat::Faiss => {
            refuse_existing(&args.out, args.force)?;
            faiss(&mut codes, &args.out)?;
        }
        ExportFormat::Milvus => milvus(&mut codes, &args)?,
    }
    eprintln!(
        "wrote {} codes of {} bits from {} to {}",
        codes.n_codes(),
        8 * codes.n_bytes(),
        args.codes.display(),
        args.out.display()
    );
    Ok(())
}

/// Writes the rest of `codes` to `w`, a block at a time.
fn copy_codes(codes: &mut CodeBlocks, w: &mut impl Write) -> Result<()> {
    let mut block = Vec::new();
    let mut done = 0;
    while codes.read(BLOCK_CODES, &mut block)? > 0 {
        w.write_all(&block)?;
        done += block.len() / codes.n_bytes();
    }
    ensure!(done == codes.n_codes(), "read {done} of {} codes", codes.n_codes());
    Ok(())
}

fn faiss(codes: &mut CodeBlocks, out: &Path) -> Result<()> {
    let header = FaissBinaryFlatHeader::new(codes.n_codes() as u64, codes.n_bytes())?;
    write_atomic(out, |w| {
        w.write_all(&header.encode())?;
        copy_codes(codes, w)
    })
}

/// A Milvus field name: a letter or `_`, then letters, digits and `_` (Milvus's rule).
fn check_field_name(name: &str, flag: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 255;
    if !ok {
        bail!("{flag} {name:?} is not a Milvus field name (a letter or _, then letters, digits and _)");
    }
    Ok(())
}

fn milvus(codes: &mut CodeBlocks, args: &ExportArgs) -> Result<()> {
    check_field_name(&args.id_field, "--id-field")?;
    check_field_name(&args.vector_field, "--vector-field")?;
    if args.id_field == args.vector_field {
        bail!("--id-field and --vector-field are both {:?}", args.id_field);
    }
    if args.out.exists() && !args.out.is_dir() {
        bail!("{} exists and is not a folder", args.out.display());
    }
    let ids = args.out.join(format!("{}.npy", args.id_field));
    let vectors = args.out.join(format!("{}.npy", args.vector_field));
    let schema = args.out.join("collection.json");
    for p in [&ids, &vectors, &schema] {
        refuse_existing(p, args.force)?;
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let (n, n_bytes) = (codes.n_codes(), codes.n_bytes());
    write_atomic(&vectors, |w| {
        write_npy_header::<u8>(w, &[n, n_bytes])?;
        copy_codes(codes, w)
    })?;
    write_atomic(&ids, |w| {
        write_npy_header::<i64>(w, &[n])?;
        for start in (0..n).step_by(BLOCK_CODES) {
            let block: Vec<u8> = (start..(start + BLOCK_CODES).min(n)).flat_map(|i| (i as i64).to_le_bytes()).collect();
            w.write_all(&block)?;
        }
        Ok(())
    })?;
    let description = serde_json::json!({
        "about": "hagcn codes for Milvus bulk insert (numpy format): one file per field, named after it",
        "rows": n,
        "fields": [
            {"name": args.id_field, "dtype": "INT64", "is_primary": true, "auto_id": false, "file": format!("{}.npy", args.id_field)},
            {"name": args.vector_field, "dtype": "BINARY_VECTOR", "dim": 8 * n_bytes, "file": format!("{}.npy", args.vector_field)},
        ],
        "metric_type": "HAMMING",
    });
    write_text(&schema, &(serde_json::to_string_pretty(&description)? + "\n"))
}
