//! Files of packed codes: `.npy` (uint8, one code per row, as `hagcn encode` writes) or a
//! faiss `IndexBinaryFlat` file (as `hagcn export --format faiss` or faiss writes),
//! told apart by their first bytes and read whole or a block at a time.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use hagcn_data::npy::RowReader;
use hagcn_eval::PackedCodes;
use hagcn_eval::faiss::{FaissBinaryFlatHeader, HEADER_LEN};
use ndarray::Array2;

/// Where the codes come from.
enum Source {
    Npy(RowReader),
    Faiss { reader: BufReader<File>, left: usize },
}

/// A file of packed codes, read in blocks of whole codes.
pub struct CodeBlocks {
    path: PathBuf,
    n_codes: usize,
    n_bytes: usize,
    source: Source,
}

impl CodeBlocks {
    /// Opens `path`, checking its header against its size.
    pub fn open(path: &Path) -> Result<CodeBlocks> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let file_len = file.metadata().with_context(|| format!("cannot read {}", path.display()))?.len();
        let mut magic = Vec::with_capacity(6);
        file.take(6).read_to_end(&mut magic).with_context(|| format!("cannot read {}", path.display()))?;
        if magic.starts_with(&hagcn_eval::faiss::FOURCC) {
            let mut header = [0u8; HEADER_LEN];
            let mut reader = BufReader::with_capacity(1 << 16, File::open(path)?);
            reader
                .read_exact(&mut header)
                .with_context(|| format!("{}: file ends inside the faiss header", path.display()))?;
            let h = FaissBinaryFlatHeader::decode(&header, file_len).with_context(|| path.display().to_string())?;
            let n_codes = usize::try_from(h.n_codes)?;
            return Ok(CodeBlocks {
                path: path.to_path_buf(),
                n_codes,
                n_bytes: h.code_size,
                source: Source::Faiss { reader, left: n_codes },
            });
        }
        // Anything that starts like a .npy file (even a truncated one) gets the .npy reader's message.
        if !b"\x93NUMPY".starts_with(&magic) {
            bail!(
                "{}: neither a .npy file nor a faiss IndexBinaryFlat file (expected packed uint8 codes)",
                path.display()
            );
        }
        let rows = RowReader::open_bytes(path)?;
        if rows.n_cols() == 0 {
            bail!("{}: codes of 0 bytes (shape {:?})", path.display(), rows.header().shape);
        }
        Ok(CodeBlocks {
            path: path.to_path_buf(),
            n_codes: rows.n_rows(),
            n_bytes: rows.n_cols(),
            source: Source::Npy(rows),
        })
    }

    /// Number of codes in the file.
    pub fn n_codes(&self) -> usize {
        self.n_codes
    }

    /// Bytes per code.
    pub fn n_bytes(&self) -> usize {
        self.n_bytes
    }

    /// Reads up to `max_codes` codes into `out` (cleared first); `0` at the end.
    pub fn read(&mut self, max_codes: usize, out: &mut Vec<u8>) -> Result<usize> {
        match &mut self.source {
            Source::Npy(rows) => Ok(rows.read_bytes(max_codes, out)?),
            Source::Faiss { reader, left } => {
                let n = max_codes.min(*left);
                out.clear();
                out.resize(n * self.n_bytes, 0);
                reader
                    .read_exact(out)
                    .with_context(|| format!("{}: file was truncated while being read", self.path.display()))?;
                *left -= n;
                Ok(n)
            }
        }
    }
}

/// Reads a whole file of packed codes; they have `8 × bytes` bits (the files do not record
/// a shorter code length, and padding bits are zero either way).
pub fn read_codes(path: &Path) -> Result<PackedCodes> {
    let mut blocks = CodeBlocks::open(path)?;
    let (n, n_bytes) = (blocks.n_codes(), blocks.n_bytes());
    // The header was checked against the file's size, so this allocation is what the file holds.
    let mut all = Vec::with_capacity(n * n_bytes);
    let mut block = Vec::new();
    while blocks.read(1 << 20, &mut block)? > 0 {
        all.extend_from_slice(&block);
    }
    let bytes = Array2::from_shape_vec((n, n_bytes), all).expect("n codes of n_bytes were read");
    PackedCodes::from_bytes(bytes, 8 * n_bytes).with_context(|| format!("{}: not valid codes", path.display()))
}
