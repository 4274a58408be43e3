//! `cargo xtask gpu-check --prepare DIR`: everything a GPU machine without Rust or internet
//! needs to check the CUDA backend, in one folder small enough to copy there (`run.sh` is
//! `gpu_check_run.sh`, which says what it runs).
//!
//! DIR receives, gzipped where that saves space:
//! * `bin/hagcn` (release, `--features cuda`), `bin/test-*` (the hagcn-cuda test binaries
//!   that have GPU twins, release) and `bin/bench-gpu` (the criterion GPU bench);
//! * `lib/`: the shared libraries of those binaries that a GPU machine may lack (OpenBLAS and
//!   the Fortran runtime it needs), found with `ldd`;
//! * `ptx/`: every kernel file compiled by NVRTC 13.0.88 here, checked by ptxas, headed by its
//!   source hash, for a GPU machine without NVRTC;
//! * `data/mnist/`: the bundled MNIST-10k;
//! * `run.sh` and `PREPARED.txt` (the git revision and what was built).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{build_release_cli, cargo, cuda_kernels, run_checked, target_dir};

/// What the device tool carries to the GPU machine, at most.
const CARRY_LIMIT_BYTES: u64 = 64 * 1024 * 1024;
/// Marks a folder this task made, which it may replace.
const MARKER: &str = "PREPARED.txt";
const RUN_SH: &str = include_str!("gpu_check_run.sh");
/// Libraries a GPU machine may lack, bundled when a binary links them.
const BUNDLED_LIBS: [&str; 3] = ["libopenblas.so.0", "libgfortran.so.5", "libquadmath.so.0"];

/// `cargo xtask gpu-check --prepare DIR`.
pub fn prepare(root: &Path, dir: &Path) -> Result<()> {
    let start = std::time::Instant::now();
    clear(dir)?;
    // The kernels first: NVRTC and ptxas must accept them before anything is built for a GPU.
    cuda_kernels(root)?;
    let ptx_dir = root.join(target_dir()).join("cuda-kernels");

    let mnist = root.join("datasets").join("mnist");
    if !mnist.join("features.npy").exists() {
        eprintln!("xtask: fetching MNIST into {}", mnist.display());
        let hagcn = build_release_cli()?;
        run_checked(Command::new(hagcn).args(["data", "mnist", "--out"]).arg(&mnist))?;
    }

    eprintln!("xtask: building hagcn, the hagcn-cuda tests and the GPU bench (release, --features cuda)");
    let hagcn =
        executables(cargo().args(["build", "--release", "-p", "hagcn-cli", "--features", "cuda", "--bin", "hagcn"]))?;
    let tests = executables(cargo().args(["test", "--release", "-p", "hagcn-cuda", "--tests", "--no-run"]))?;
    let bench = executables(cargo().args([
        "bench",
        "-p",
        "hagcn-benches",
        "--features",
        "cuda",
        "--bench",
        "gpu",
        "--no-run",
    ]))?;
    let mut binaries: Vec<(String, PathBuf)> = Vec::new();
    binaries.extend(hagcn.into_iter().map(|(_, p)| ("hagcn".to_string(), p)));
    for (name, path) in tests {
        // Only the test binaries with GPU twins (`*_on_gpu`, ignored without a GPU).
        let list = Command::new(&path).args(["--list", "--ignored"]).output().context("listing tests")?;
        if String::from_utf8_lossy(&list.stdout).contains("_on_gpu: test") {
            binaries.push((format!("test-{name}"), path));
        }
    }
    binaries.extend(bench.into_iter().map(|(_, p)| ("bench-gpu".to_string(), p)));
    if !binaries.iter().any(|(n, _)| n.starts_with("test-")) || !binaries.iter().any(|(n, _)| n == "bench-gpu") {
        bail!("found no GPU test or bench binary among {binaries:?}");
    }

    std::fs::create_dir_all(dir.join("bin"))?;
    // (the name binaries ask the loader for, the file it resolves to here)
    let mut libs: Vec<(String, PathBuf)> = Vec::new();
    for (name, path) in &binaries {
        let copy = dir.join("bin").join(name);
        std::fs::copy(path, &copy).with_context(|| format!("copying {}", path.display()))?;
        if crate::have("strip") {
            run_checked(Command::new("strip").arg(&copy))?;
        }
        gzip(&copy)?;
        for lib in linked_libraries(path)? {
            if !libs.contains(&lib) {
                libs.push(lib);
            }
        }
    }
    std::fs::create_dir_all(dir.join("lib"))?;
    for (name, lib) in &libs {
        // Under the name the binaries link (libopenblas.so.0), not the file's own
        // (libopenblasp-r0.3.21.so): the loader looks for the former.
        let copy = dir.join("lib").join(name);
        std::fs::copy(lib, &copy).with_context(|| format!("copying {}", lib.display()))?;
        gzip(&copy)?;
    }
    std::fs::create_dir_all(dir.join("ptx"))?;
    let mut n_ptx = 0;
    for entry in std::fs::read_dir(&ptx_dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "ptx") {
            std::fs::copy(&path, dir.join("ptx").join(path.file_name().context("ptx name")?))?;
            n_ptx += 1;
        }
    }
    let data = dir.join("data").join("mnist");
    std::fs::create_dir_all(&data)?;
    for file in ["features.npy", "labels.npy", "classes.json"] {
        let from = mnist.join(file);
        if from.exists() {
            std::fs::copy(&from, data.join(file))?;
            gzip(&data.join(file))?;
        }
    }
    let run_sh = dir.join("run.sh");
    std::fs::write(&run_sh, RUN_SH)?;
    set_executable(&run_sh)?;
    let names: Vec<&str> = binaries.iter().map(|(n, _)| n.as_str()).collect();
    let libs: Vec<String> = libs.iter().map(|(name, l)| format!("{name} ({})", l.display())).collect();
    std::fs::write(
        dir.join(MARKER),
        format!(
            "prepared by `cargo xtask gpu-check --prepare` at git revision {}\nbinaries: {}\nbundled libraries: {}\nPTX files: {n_ptx}\n\
             run on the GPU machine: ./run.sh [RESULTS_DIR]\n",
            git_revision().unwrap_or_else(|| "unknown".into()),
            names.join(", "),
            libs.join(", "),
        ),
    )?;
    let size = folder_size(dir)?;
    eprintln!(
        "xtask: prepared {} ({:.1} MiB: {}; {n_ptx} PTX files; MNIST) in {:.0} s; on the GPU machine run {}",
        dir.display(),
        size as f64 / (1024.0 * 1024.0),
        names.join(", "),
        start.elapsed().as_secs_f64(),
        run_sh.display()
    );
    if size > CARRY_LIMIT_BYTES {
        bail!("{} holds {size} bytes, more than the {CARRY_LIMIT_BYTES} a device run can carry", dir.display());
    }
    Ok(())
}

fn git_revision() -> Option<String> {
    let out = Command::new("git").args(["rev-parse", "HEAD"]).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Empties `dir` if this task made it; refuses a folder with anything else in it.
fn clear(dir: &Path) -> Result<()> {
    if dir.exists() {
        let empty = std::fs::read_dir(dir)?.next().is_none();
        if !empty && !dir.join(MARKER).exists() {
            bail!(
                "{} exists and was not made by `cargo xtask gpu-check --prepare`; choose an empty or new folder",
                dir.display()
            );
        }
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

/// Runs a cargo build with `--message-format=json` and returns `(target name, executable)` of
/// every executable it produced.
fn executables(cmd: &mut Command) -> Result<Vec<(String, PathBuf)>> {
    cmd.arg("--message-format=json");
    let output = cmd.output().with_context(|| format!("cannot start {}", crate::describe(cmd)))?;
    if !output.status.success() {
        bail!("{} failed:\n{}", crate::describe(cmd), String::from_utf8_lossy(&output.stderr));
    }
    let mut out = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        if !line.contains("\"reason\":\"compiler-artifact\"") {
            continue;
        }
        let (Some(exe), Some(name)) = (json_string(line, "executable"), json_string(line, "name")) else { continue };
        out.push((name, PathBuf::from(exe)));
    }
    Ok(out)
}

/// The string value of the first `"key":"…"` in a line of cargo's JSON (paths and target
/// names: no escapes to undo beyond `\\` and `\"`).
fn json_string(line: &str, key: &str) -> Option<String> {
    let rest = line.split(&format!("\"{key}\":\"")).nth(1)?;
    let mut value = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(value),
            '\\' => value.push(chars.next()?),
            c => value.push(c),
        }
    }
    None
}

/// The libraries of [`BUNDLED_LIBS`] that `binary` links, as `(linked name, file)` resolved by
/// `ldd`.
fn linked_libraries(binary: &Path) -> Result<Vec<(String, PathBuf)>> {
    let output = Command::new("ldd").arg(binary).output().context("cannot run ldd")?;
    let mut libs = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let mut parts = line.split("=>");
        let (Some(name), Some(path)) = (parts.next(), parts.next()) else { continue };
        if BUNDLED_LIBS.contains(&name.trim()) {
            let path = path.split_whitespace().next().unwrap_or("");
            let file = std::fs::canonicalize(path).with_context(|| format!("{}: {line}", binary.display()))?;
            libs.push((name.trim().to_string(), file));
        }
    }
    Ok(libs)
}

/// Replaces `file` by `file.gz`.
fn gzip(file: &Path) -> Result<()> {
    run_checked(Command::new("gzip").args(["-9", "-f"]).arg(file))
}

fn set_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut perms = std::fs::metadata(path)?.permissions();
    perms.set_mode(0o755);
    std::fs::set_permissions(path, perms)?;
    Ok(())
}

fn folder_size(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() { folder_size(&entry.path())? } else { meta.len() };
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_strings_from_cargo_json() {
        let line = r#"{"reason":"compiler-artifact","target":{"name":"hamming_on_emulator","kind":["test"]},"executable":"/t/a \"b\"/x"}"#;
        assert_eq!(json_string(line, "name").as_deref(), Some("hamming_on_emulator"));
        assert_eq!(json_string(line, "executable").as_deref(), Some("/t/a \"b\"/x"));
        assert_eq!(json_string(line, "missing"), None);
        assert_eq!(json_string(r#"{"executable":"/unterminated"#, "executable"), None);
    }

    #[test]
    fn refuses_a_folder_it_did_not_make() {
        let dir = std::env::temp_dir().join(format!("hagcn-gpu-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        assert!(clear(&dir).unwrap_err().to_string().contains("was not made by"));
        assert!(dir.join("notes.txt").exists());
        std::fs::write(dir.join(MARKER), "").unwrap();
        clear(&dir).unwrap();
        assert!(dir.exists() && std::fs::read_dir(&dir).unwrap().next().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
