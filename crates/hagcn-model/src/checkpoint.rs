//! Checkpoints: `.npz` files a PyTorch user can load.
//!
//! Each parameter is stored as a float32 array under its `state_dict` name (`w1.weight`
//! is `h × d`, `w1.bias` is 1-D, …), so
//!
//! ```python
//! sd = {k: torch.from_numpy(v) for k, v in np.load("checkpoint.npz").items() if k != "hagcn_config"}
//! model.load_state_dict(sd, strict=False)  # strict=False: no unused reference weights here
//! ```
//!
//! works. The hyper-parameters are a JSON document stored as the `uint8` array
//! `hagcn_config` (`bytes(np.load(p)["hagcn_config"]).decode()`). Writes are atomic: the
//! file is written next to its destination and renamed into place.
//!
//! Reading trusts nothing in the file: before any array is read, every zip entry is
//! located through the zip central directory and its `.npy` header is checked against
//! the bytes the entry holds (see [`npz_check`]), because the `.npy` reader allocates
//! `prod(shape)` elements from the header before reading them. A header that claims
//! 10¹² rows is an error naming the file and the entry, never an allocation failure.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use hagcn_autodiff::Backend;
use hagcn_linalg::Real;
use ndarray::{Array1, Array2, Ix1, Ix2};
use ndarray_npy::{NpzReader, NpzWriter};
use serde::{Deserialize, Serialize};

use crate::params::param_specs;
use crate::{Error, Machine, MachineConfig, Result};

/// The entry holding the JSON hyper-parameters.
const CONFIG_ENTRY: &str = "hagcn_config";

/// What a checkpoint holds besides the parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Meta {
    format: u32,
    machine: MachineConfig,
    steps: u64,
}

/// A checkpoint read from disk.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// The model's hyper-parameters.
    pub config: MachineConfig,
    /// Optimiser steps taken when it was saved.
    pub steps: u64,
    /// Parameter values in [`param_specs`] order, as stored (float32 values widened).
    pub params: Vec<Array2<f64>>,
}

/// Writes `file` through a temporary sibling and renames it into place, so a crash never
/// leaves a half-written file under the final name.
pub(crate) fn write_atomic(path: &Path, write: impl FnOnce(File) -> Result<()>) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| Error::checkpoint(path, "not a file path"))?;
    let tmp = dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let file =
        File::create(&tmp).map_err(|e| Error::checkpoint(path, format!("cannot create {}: {e}", tmp.display())))?;
    let result = write(file).and_then(|()| {
        std::fs::rename(&tmp, path).map_err(|e| Error::checkpoint(path, format!("cannot rename into place: {e}")))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Saves the model's parameters and hyper-parameters to `path` (see the module docs).
/// An existing file is replaced only when `overwrite` is set.
pub fn save_checkpoint<B: Backend>(machine: &Machine<B>, path: &Path, overwrite: bool) -> Result<()> {
    if path.exists() && !overwrite {
        return Err(Error::checkpoint(path, "already exists (refusing to overwrite)"));
    }
    let meta = Meta { format: 1, machine: machine.config().clone(), steps: machine.steps() };
    let json = serde_json::to_vec_pretty(&meta).map_err(|e| Error::checkpoint(path, e))?;
    let state = machine.state_dict()?;
    let specs = machine.specs().to_vec();
    write_atomic(path, |file| {
        let err = |e: ndarray_npy::WriteNpzError| Error::checkpoint(path, e);
        let mut npz = NpzWriter::new(BufWriter::new(file));
        for (spec, (name, value)) in specs.iter().zip(&state) {
            let value = value.mapv(|v| v.as_f64() as f32);
            if spec.is_vector {
                npz.add_array(*name, &value.row(0).to_owned()).map_err(err)?;
            } else {
                npz.add_array(*name, &value).map_err(err)?;
            }
        }
        npz.add_array(CONFIG_ENTRY, &Array1::from(json)).map_err(err)?;
        let mut inner = npz.finish().map_err(err)?;
        inner.flush().map_err(|e| Error::checkpoint(path, e))?;
        inner.get_ref().sync_all().map_err(|e| Error::checkpoint(path, e))?;
        Ok(())
    })
}

/// Reads a checkpoint written by [`save_checkpoint`], checking every name, shape and value.
pub fn load_checkpoint(path: &Path) -> Result<Checkpoint> {
    let file = File::open(path).map_err(|e| Error::checkpoint(path, format!("cannot open: {e}")))?;
    let mut npz = NpzReader::new(file).map_err(|e| Error::checkpoint(path, format!("not a valid .npz file: {e}")))?;
    npz_check::check_entries(path)?;
    let json: Array1<u8> = npz.by_name(CONFIG_ENTRY).map_err(|e| {
        Error::checkpoint(path, format!("no readable {CONFIG_ENTRY} entry ({e}); not a hagcn checkpoint?"))
    })?;
    let meta: Meta = serde_json::from_slice(json.as_slice().unwrap_or(&[]))
        .map_err(|e| Error::checkpoint(path, format!("bad {CONFIG_ENTRY}: {e}")))?;
    meta.machine.validate()?;
    let mut params = Vec::new();
    for spec in param_specs(&meta.machine) {
        let value: Array2<f32> = if spec.is_vector {
            let v = npz
                .by_name::<ndarray::OwnedRepr<f32>, Ix1>(spec.name)
                .map_err(|e| Error::checkpoint(path, format!("parameter {}: {e}", spec.name)))?;
            v.insert_axis(ndarray::Axis(0))
        } else {
            npz.by_name::<ndarray::OwnedRepr<f32>, Ix2>(spec.name)
                .map_err(|e| Error::checkpoint(path, format!("parameter {}: {e}", spec.name)))?
        };
        if value.dim() != spec.shape {
            return Err(Error::checkpoint(
                path,
                format!("parameter {} has shape {:?}, expected {:?}", spec.name, value.dim(), spec.shape),
            ));
        }
        if value.iter().any(|v| !v.is_finite()) {
            return Err(Error::checkpoint(path, format!("parameter {} holds NaN or infinite values", spec.name)));
        }
        params.push(value.mapv(f64::from));
    }
    Ok(Checkpoint { config: meta.machine, steps: meta.steps, params })
}

/// Checks every entry of an `.npz` (a zip of `.npy` files) against the bytes it holds.
///
/// The zip's end-of-central-directory record (zip64 when its fields overflow) gives the
/// central directory, whose entries give each member's compression method, sizes and
/// local-header offset; the local header gives where its data start. Each member must be
/// stored uncompressed (as `numpy.savez` and `NpzWriter::new` write; this build reads no
/// other method) and lie inside the file, and its `.npy` header must be followed by
/// exactly the `prod(shape) × itemsize` bytes it announces.
pub(crate) mod npz_check {
    use std::fs::File;
    use std::io::{Cursor, Read, Seek, SeekFrom};
    use std::path::Path;

    use ndarray_npy::npy::header::Header;

    use crate::{Error, Result};

    const EOCD: u32 = 0x0605_4b50;
    const ZIP64_LOCATOR: u32 = 0x0706_4b50;
    const ZIP64_EOCD: u32 = 0x0606_4b50;
    const CENTRAL: u32 = 0x0201_4b50;
    const LOCAL: u32 = 0x0403_4b50;
    /// The longest `.npy` header dict read (numpy itself refuses more than 10,000 bytes).
    const MAX_NPY_HEADER: u64 = 1 << 20;

    fn u16_at(b: &[u8], at: usize) -> Option<u16> {
        Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
    }
    fn u32_at(b: &[u8], at: usize) -> Option<u32> {
        Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
    }
    fn u64_at(b: &[u8], at: usize) -> Option<u64> {
        Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
    }

    /// Reads `len` bytes at `offset`, which the caller has checked lie inside the file.
    fn read_at(file: &mut File, offset: u64, len: u64) -> std::io::Result<Vec<u8>> {
        file.seek(SeekFrom::Start(offset))?;
        let mut buf = vec![0; len as usize];
        file.read_exact(&mut buf)?;
        Ok(buf)
    }

    /// One member of the archive, as the central directory describes it.
    struct Entry {
        name: String,
        method: u16,
        compressed: u64,
        uncompressed: u64,
        local_offset: u64,
    }

    /// Checks every member of the `.npz` at `path` (see the module docs).
    pub(crate) fn check_entries(path: &Path) -> Result<()> {
        let bad = |m: String| Error::checkpoint(path, format!("not a valid .npz file: {m}"));
        let mut file = File::open(path).map_err(|e| Error::checkpoint(path, format!("cannot open: {e}")))?;
        let file_len = file.metadata().map_err(|e| Error::checkpoint(path, e))?.len();
        let io = |e: std::io::Error| Error::checkpoint(path, format!("cannot read: {e}"));

        // The end-of-central-directory record is in the last 22 + 65535 bytes.
        let tail_len = file_len.min(22 + 65_535);
        let tail = read_at(&mut file, file_len - tail_len, tail_len).map_err(io)?;
        let eocd = (0..tail.len().saturating_sub(21))
            .rev()
            .find(|&i| u32_at(&tail, i) == Some(EOCD))
            .ok_or_else(|| bad("no end-of-central-directory record".into()))?;
        let mut n_entries = u64::from(u16_at(&tail, eocd + 10).unwrap_or(0));
        let mut cd_len = u64::from(u32_at(&tail, eocd + 12).unwrap_or(0));
        let mut cd_offset = u64::from(u32_at(&tail, eocd + 16).unwrap_or(0));
        if n_entries == 0xFFFF || cd_len == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF {
            let locator = eocd.checked_sub(20).filter(|&l| u32_at(&tail, l) == Some(ZIP64_LOCATOR));
            let record_at = locator
                .and_then(|l| u64_at(&tail, l + 8))
                .filter(|&at| at.checked_add(56).is_some_and(|end| end <= file_len))
                .ok_or_else(|| bad("zip64 fields without a zip64 record".into()))?;
            let record = read_at(&mut file, record_at, 56).map_err(io)?;
            if u32_at(&record, 0) != Some(ZIP64_EOCD) {
                return Err(bad("bad zip64 end-of-central-directory record".into()));
            }
            n_entries = u64_at(&record, 32).unwrap_or(0);
            cd_len = u64_at(&record, 40).unwrap_or(0);
            cd_offset = u64_at(&record, 48).unwrap_or(0);
        }
        if cd_offset.checked_add(cd_len).is_none_or(|end| end > file_len) {
            return Err(bad(format!("central directory of {cd_len} bytes at {cd_offset} lies outside the file")));
        }
        let cd = read_at(&mut file, cd_offset, cd_len).map_err(io)?;

        let mut at = 0usize;
        for _ in 0..n_entries {
            let entry = parse_central_entry(&cd, &mut at).ok_or_else(|| bad("truncated central directory".into()))?;
            check_entry(&mut file, file_len, &entry).map_err(|m| bad(format!("entry {}: {m}", entry.name)))?;
        }
        Ok(())
    }

    /// Parses the central-directory entry at `*at` and moves `*at` past it.
    fn parse_central_entry(cd: &[u8], at: &mut usize) -> Option<Entry> {
        let e = cd.get(*at..)?;
        if u32_at(e, 0)? != CENTRAL {
            return None;
        }
        let method = u16_at(e, 10)?;
        let (name_len, extra_len, comment_len) =
            (u16_at(e, 28)? as usize, u16_at(e, 30)? as usize, u16_at(e, 32)? as usize);
        let name = String::from_utf8_lossy(e.get(46..46 + name_len)?).into_owned();
        let mut compressed = u64::from(u32_at(e, 20)?);
        let mut uncompressed = u64::from(u32_at(e, 24)?);
        let mut local_offset = u64::from(u32_at(e, 42)?);
        // Zip64 extra field: the 64-bit values of the fields that read 0xFFFFFFFF, in order.
        let extra = e.get(46 + name_len..46 + name_len + extra_len)?;
        let mut x = 0;
        while x + 4 <= extra.len() {
            let (id, len) = (u16_at(extra, x)?, u16_at(extra, x + 2)? as usize);
            let body = extra.get(x + 4..x + 4 + len)?;
            if id == 0x0001 {
                let mut f = 0;
                for field in [&mut uncompressed, &mut compressed, &mut local_offset] {
                    if *field == 0xFFFF_FFFF {
                        *field = u64_at(body, f)?;
                        f += 8;
                    }
                }
            }
            x += 4 + len;
        }
        *at += 46 + name_len + extra_len + comment_len;
        Some(Entry { name, method, compressed, uncompressed, local_offset })
    }

    /// Checks one member: stored, inside the file, and its `.npy` header consistent with
    /// its size.
    fn check_entry(file: &mut File, file_len: u64, entry: &Entry) -> std::result::Result<(), String> {
        if entry.method != 0 {
            return Err(format!(
                "compressed with zip method {} (only uncompressed .npz files are read: numpy.savez, not savez_compressed)",
                entry.method
            ));
        }
        if entry.compressed != entry.uncompressed {
            return Err(format!(
                "stored entry of {} bytes claims {} uncompressed",
                entry.compressed, entry.uncompressed
            ));
        }
        let local_end = entry.local_offset.checked_add(30).filter(|&end| end <= file_len);
        let local = local_end
            .and_then(|_| read_at(file, entry.local_offset, 30).ok())
            .filter(|l| u32_at(l, 0) == Some(LOCAL))
            .ok_or("no local file header where the central directory points")?;
        let data_start = entry.local_offset
            + 30
            + u64::from(u16_at(&local, 26).unwrap_or(0))
            + u64::from(u16_at(&local, 28).unwrap_or(0));
        let size = entry.uncompressed;
        if data_start.checked_add(size).is_none_or(|end| end > file_len) {
            return Err(format!("{size} bytes of data at offset {data_start} lie outside the file"));
        }

        // The .npy prefix: magic, version, HEADER_LEN.
        let prefix = read_at(file, data_start, size.min(12)).map_err(|e| e.to_string())?;
        if prefix.len() < 10 || &prefix[..6] != b"\x93NUMPY" {
            return Err("not a .npy array".into());
        }
        let (len_bytes, header_len) = match prefix[6] {
            1 => (2, u64::from(u16_at(&prefix, 8).unwrap_or(0))),
            2 | 3 => (4, u64::from(u32_at(&prefix, 8).ok_or(".npy header cut short")?)),
            v => return Err(format!("unknown .npy format version {v}")),
        };
        let header_end = 8 + len_bytes + header_len;
        if header_end > size || header_len > MAX_NPY_HEADER {
            return Err(format!(".npy header claims {header_len} bytes but the entry holds {size}"));
        }
        let raw = read_at(file, data_start, header_end).map_err(|e| e.to_string())?;
        let header = Header::from_reader(&mut Cursor::new(raw)).map_err(|e| format!("bad .npy header: {e}"))?;
        let descr = header.type_descriptor.as_string().cloned().unwrap_or_default();
        let item_size: u64 = descr
            .trim_start_matches(['<', '>', '|', '='])
            .get(1..)
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("unsupported dtype {}", header.type_descriptor))?;
        let payload = header
            .shape
            .iter()
            .try_fold(item_size, |acc, &s| acc.checked_mul(s as u64))
            .ok_or_else(|| format!("shape {:?} is too large", header.shape))?;
        if header_end.checked_add(payload) != Some(size) {
            return Err(format!(
                "shape {:?} of {descr} needs {payload} bytes of data but the entry holds {}",
                header.shape,
                size - header_end
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Filter, MachineConfig};
    use hagcn_autodiff::{AdamConfig, CpuBackend};
    use hagcn_openblas as _;

    fn saved(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
        let mut c = MachineConfig::new(5, 3, Filter::Gcn);
        c.hidden = 4;
        let m = Machine::new(CpuBackend::<f32>::new(), c, AdamConfig::default(), 5).unwrap();
        let path = dir.join("good.npz");
        save_checkpoint(&m, &path, true).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        (path, bytes)
    }

    /// The offset of the `.npy` data of member `name` (found after its local header).
    fn npy_start(bytes: &[u8], name: &str) -> usize {
        let key = format!("{name}.npy");
        let at = bytes.windows(key.len()).position(|w| w == key.as_bytes()).unwrap();
        at + bytes[at..].windows(6).position(|w| w == b"\x93NUMPY").unwrap()
    }

    /// Rewrites member `name`'s header dict with `shape`, keeping its length.
    fn claim_shape(bytes: &mut [u8], name: &str, shape: &str) {
        let start = npy_start(bytes, name);
        let len = u16::from_le_bytes([bytes[start + 8], bytes[start + 9]]) as usize;
        let dict = String::from_utf8(bytes[start + 10..start + 10 + len].to_vec()).unwrap();
        let (head, rest) = dict.split_once("'shape': ").unwrap();
        let tail = &rest[rest.find(')').unwrap() + 1..];
        let mut new = format!("{head}'shape': {shape}{}", tail.trim_end());
        assert!(new.len() < len, "the new dict fits");
        while new.len() < len - 1 {
            new.push(' ');
        }
        new.push('\n');
        bytes[start + 10..start + 10 + len].copy_from_slice(new.as_bytes());
    }

    fn assert_error(path: &Path, bytes: &[u8], needles: &[&str]) {
        std::fs::write(path, bytes).unwrap();
        let msg = load_checkpoint(path).unwrap_err().to_string();
        assert!(!msg.contains('\n'), "one line: {msg}");
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        for needle in needles {
            assert!(msg.contains(needle), "{needle:?} not in: {msg}");
        }
    }

    #[test]
    fn hostile_npy_headers_inside_a_checkpoint_are_clean_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (good, bytes) = saved(dir.path());
        assert!(load_checkpoint(&good).is_ok());
        let bad = dir.path().join("bad.npz");

        // A parameter claiming 10¹² rows: without the check, this aborts on allocation.
        let mut b = bytes.clone();
        claim_shape(&mut b, "w1.weight", "(1000000000000, 5)");
        assert_error(&bad, &b, &["entry w1.weight.npy", "1000000000000", "entry holds"]);

        // The config entry claiming a terabyte.
        let mut b = bytes.clone();
        claim_shape(&mut b, "hagcn_config", "(1000000000000,)");
        assert_error(&bad, &b, &["entry hagcn_config.npy", "needs 1000000000000 bytes"]);

        // An overflowing shape.
        let mut b = bytes.clone();
        claim_shape(&mut b, "w2.bias", "(18446744073709551615, 9)");
        assert_error(&bad, &b, &["entry w2.bias.npy", "too large"]);

        // Too few elements for the entry is an error too (nothing may be left unread).
        let mut b = bytes.clone();
        claim_shape(&mut b, "w2.bias", "(1,)");
        assert_error(&bad, &b, &["entry w2.bias.npy", "entry holds"]);

        // HEADER_LEN longer than the entry.
        let mut b = bytes.clone();
        let at = npy_start(&b, "w1.bias");
        b[at + 8..at + 10].copy_from_slice(&60_000u16.to_le_bytes());
        assert_error(&bad, &b, &["entry w1.bias.npy", "header claims 60000 bytes"]);

        // A central directory pointing past the end of the file.
        let mut b = bytes.clone();
        let eocd = b.windows(4).rposition(|w| w == b"PK\x05\x06").unwrap();
        b[eocd + 16..eocd + 20].copy_from_slice(&u32::MAX.to_le_bytes());
        std::fs::write(&bad, &b).unwrap();
        assert!(!load_checkpoint(&bad).unwrap_err().to_string().contains('\n'));
    }
}
