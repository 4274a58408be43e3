//! Whether the system OpenBLAS the linker needs (`libopenblas.so` or `.a`, Debian's
//! `libopenblas-dev`) is installed. Shared by `build.rs` and the crate's tests.

use std::path::{Path, PathBuf};

/// What a build without OpenBLAS prints, in one line, instead of the linker's
/// `unable to find library -lopenblas`.
pub const MISSING: &str = "OpenBLAS (with LAPACK) is not installed, and hagcn links it: run `cargo xtask doctor` \
    (it explains what is missing), or install it with `sudo apt-get install -y libopenblas-dev pkg-config` \
    (as root: `cargo xtask --install-deps test`); set HAGCN_SKIP_OPENBLAS_CHECK=1 if your linker finds it anyway";

/// The folders a linker searches for `-lopenblas` on Linux: those of `LIBRARY_PATH` and
/// `OPENBLAS_LIB_DIR` (openblas-src's override), then the usual system ones.
pub fn search_dirs(library_path: Option<&str>, openblas_lib_dir: Option<&str>) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = openblas_lib_dir.into_iter().map(PathBuf::from).collect();
    dirs.extend(library_path.into_iter().flat_map(|p| p.split(':')).filter(|p| !p.is_empty()).map(PathBuf::from));
    for dir in [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/x86_64-linux-gnu/openblas-pthread",
        "/usr/lib/x86_64-linux-gnu/openblas-openmp",
        "/usr/lib/x86_64-linux-gnu/openblas-serial",
        "/usr/lib/aarch64-linux-gnu",
        "/lib/x86_64-linux-gnu",
        "/usr/lib64",
        "/usr/lib",
        "/usr/local/lib",
        "/usr/local/lib64",
        "/opt/OpenBLAS/lib",
    ] {
        dirs.push(PathBuf::from(dir));
    }
    dirs
}

/// Whether one of `dirs` holds a library the linker takes for `-lopenblas`.
pub fn found_in(dirs: &[PathBuf]) -> bool {
    dirs.iter().any(|d| ["libopenblas.so", "libopenblas.a"].iter().any(|f| Path::new(d).join(f).exists()))
}
