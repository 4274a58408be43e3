//! Fails the build with one clear line when the system OpenBLAS is missing, instead of the
//! linker's `unable to find library -lopenblas` after everything else has compiled.

#[path = "probe.rs"]
mod probe;

use std::env;
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-env-changed=HAGCN_SKIP_OPENBLAS_CHECK");
    println!("cargo::rerun-if-env-changed=LIBRARY_PATH");
    println!("cargo::rerun-if-env-changed=OPENBLAS_LIB_DIR");
    println!("cargo::rerun-if-changed=probe.rs");
    let linux = env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    if !linux || env::var_os("HAGCN_SKIP_OPENBLAS_CHECK").is_some() {
        return; // elsewhere the platform's own mechanisms decide; say nothing we cannot check
    }
    let pkg_config = Command::new("pkg-config").args(["--exists", "openblas"]).status().is_ok_and(|s| s.success());
    let dirs =
        probe::search_dirs(env::var("LIBRARY_PATH").ok().as_deref(), env::var("OPENBLAS_LIB_DIR").ok().as_deref());
    if !pkg_config && !probe::found_in(&dirs) {
        println!("cargo::error={}", probe::MISSING);
    }
}
