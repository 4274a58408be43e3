//! The Milvus server part of `cargo xtask interop`: a real Milvus v2.3.5 standalone server
//! (bundled by the PyPI package `milvus` 2.3.5) loaded by bulk insert from
//! `hagcn export --format milvus` and searched against `hagcn search`
//! (`examples/milvus_server_roundtrip.py`, which starts and stops the server).
//!
//! It has its own venv: the server's client, pymilvus 2.3.7, cannot share one with the
//! pymilvus 2.5 that milvus-lite's round trip needs.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use crate::{python_venv, run_checked, target_dir};

/// The server and its client, pinned to the versions the check was run with; pymilvus
/// 2.3.7 imports `pkg_resources` (setuptools before 70) and its `environs` breaks with
/// marshmallow 4.
const SERVER_PACKAGES: [&str; 5] = ["milvus==2.3.5", "pymilvus==2.3.7", "setuptools<70", "marshmallow<4", "numpy"];

/// Runs `examples/milvus_server_roundtrip.py` with the `hagcn` binary, its files under
/// `target/interop/milvus-server` and the server's data under `target/milvus-server`.
pub fn server_roundtrip(root: &Path, hagcn: &Path) -> Result<()> {
    let target = root.join(target_dir());
    let (_, python) = python_venv(root, "milvus-venv")?;
    eprintln!("xtask: installing {} from PyPI", SERVER_PACKAGES.join(" "));
    run_checked(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
            .args(SERVER_PACKAGES),
    )?;
    eprintln!("xtask: milvus_server_roundtrip.py (starts a Milvus 2.3.5 server; about 20 s)");
    run_checked(
        Command::new(&python)
            .arg(root.join("examples").join("milvus_server_roundtrip.py"))
            .arg("--hagcn")
            .arg(hagcn)
            .arg("--work")
            .arg(target.join("interop"))
            .arg("--server-dir")
            .arg(target.join("milvus-server")),
    )
    .context("the Milvus server round trip")
}
