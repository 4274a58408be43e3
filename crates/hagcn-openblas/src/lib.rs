//! Process set-up for hagcn binaries: links the system OpenBLAS (Debian: `libopenblas-dev`),
//! exposes its run-time controls, and tunes the allocator for training loops.
//!
//! The library crates of this workspace never choose a BLAS/LAPACK backend (see the
//! ndarray-linalg README, "For library developer"); binaries, benches and tests depend on
//! this crate instead, which pulls in `openblas-src` with its `system` feature and so
//! provides the `cblas_*` and LAPACK symbols that ndarray and ndarray-linalg call.
//!
//! ```
//! let name = hagcn_openblas::corename();
//! assert!(!name.is_empty());
//! ```
#![warn(missing_docs)]

extern crate openblas_src;

use std::ffi::CStr;
use std::os::raw::{c_char, c_int};

unsafe extern "C" {
    fn openblas_get_corename() -> *const c_char;
    fn openblas_get_num_threads() -> c_int;
    fn openblas_set_num_threads(n: c_int);
    fn openblas_get_config() -> *const c_char;
}

/// The name of the compute kernel OpenBLAS selected at load time (for example `SkylakeX`,
/// `Haswell` or `Prescott`).
pub fn corename() -> String {
    // SAFETY: OpenBLAS returns a pointer to a static NUL-terminated string.
    unsafe { CStr::from_ptr(openblas_get_corename()) }.to_string_lossy().trim().to_string()
}

/// OpenBLAS's build configuration string (version, `DYNAMIC_ARCH`, maximum threads).
pub fn config() -> String {
    // SAFETY: OpenBLAS returns a pointer to a static NUL-terminated string.
    unsafe { CStr::from_ptr(openblas_get_config()) }.to_string_lossy().trim().to_string()
}

/// The number of threads OpenBLAS uses for one call.
pub fn num_threads() -> usize {
    // SAFETY: a plain getter with no preconditions.
    unsafe { openblas_get_num_threads() }.max(1) as usize
}

/// Sets the number of threads OpenBLAS uses for one call (at least 1).
pub fn set_num_threads(n: usize) {
    let n = c_int::try_from(n.max(1)).unwrap_or(c_int::MAX);
    // SAFETY: a plain setter; OpenBLAS clamps the value to its compiled maximum.
    unsafe { openblas_set_num_threads(n) }
}

/// The `OPENBLAS_CORETYPE` this machine should use when the user has not chosen one.
///
/// Debian's OpenBLAS 0.3.21 does not recognise recent Xeons (AVX-512 with AMX) and falls
/// back to its slowest kernels (`Prescott`). On a CPU with AVX-512 F/BW/DQ/VL the `SkylakeX`
/// kernels are correct and 4–6× faster. Returns `None` when the variable is already set
/// (the user's choice is respected) or the CPU lacks AVX-512.
pub fn recommended_coretype() -> Option<&'static str> {
    if std::env::var_os("OPENBLAS_CORETYPE").is_some() {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512vl")
        {
            return Some("SkylakeX");
        }
    }
    None
}

/// Keeps freed heap memory in the process instead of returning it to the kernel (glibc only;
/// a no-op elsewhere).
///
/// A training step allocates and frees the same few dozen matrices of 0.4–2.4 MB every
/// time. With glibc's defaults, blocks that size come from `mmap` or are trimmed off the
/// heap when freed, so every step page-faults its memory back in (about a tenth of a CPU
/// step in profiles). Raising the mmap and trim thresholds to 1 GiB makes them reuse
/// heap memory. Call it once at the start of `main`.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn mallopt(param: c_int, value: c_int) -> c_int;
        }
        const M_TRIM_THRESHOLD: c_int = -1;
        const M_MMAP_THRESHOLD: c_int = -3;
        const ONE_GIB: c_int = 1 << 30;
        // SAFETY: mallopt only changes allocator tunables; both values are within range.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, ONE_GIB);
            mallopt(M_TRIM_THRESHOLD, ONE_GIB);
        }
    }
}

/// Makes sure the fast OpenBLAS kernels are in use, re-executing the current program once
/// with `OPENBLAS_CORETYPE` set when needed.
///
/// OpenBLAS reads `OPENBLAS_CORETYPE` when the shared library is loaded, before `main`, so
/// setting it from inside the process is too late. Call this first thing in `main` of a
/// binary or bench: when [`recommended_coretype`] returns a value, the program is started
/// again with the variable set (same arguments, same standard streams) and this process
/// exits with the child's status. A value the user set is left alone. When re-executing is
/// impossible, the process carries on with the kernels it has.
pub fn ensure_fast_kernels() {
    const GUARD: &str = "HAGCN_OPENBLAS_REEXEC";
    if std::env::var_os(GUARD).is_some() {
        return;
    }
    let Some(core) = recommended_coretype() else {
        return;
    };
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let status = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("OPENBLAS_CORETYPE", core)
        .env(GUARD, "1")
        .status();
    if let Ok(status) = status {
        std::process::exit(status.code().unwrap_or(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_count_round_trips() {
        let before = num_threads();
        set_num_threads(1);
        assert_eq!(num_threads(), 1);
        set_num_threads(before);
        assert_eq!(num_threads(), before);
    }

    #[test]
    fn config_names_openblas() {
        assert!(config().to_lowercase().contains("openblas"), "{}", config());
    }
}

#[cfg(test)]
#[path = "../probe.rs"]
mod probe;

#[cfg(test)]
mod probe_tests {
    use super::probe::{MISSING, found_in, search_dirs};

    #[test]
    fn a_missing_openblas_is_one_line_naming_the_doctor_and_apt() {
        let empty = tempfile::tempdir().unwrap();
        assert!(!found_in(&[empty.path().to_path_buf()]));
        assert!(!MISSING.contains('\n'));
        assert!(MISSING.contains("cargo xtask doctor") && MISSING.contains("apt-get install -y libopenblas-dev"));
        std::fs::write(empty.path().join("libopenblas.so"), b"").unwrap();
        assert!(found_in(&[empty.path().to_path_buf()]));
    }

    #[test]
    fn library_path_and_the_override_come_first() {
        let dirs = search_dirs(Some("/a:/b:"), Some("/o"));
        assert_eq!(&dirs[..3], [std::path::PathBuf::from("/o"), "/a".into(), "/b".into()]);
        // This machine builds, so its OpenBLAS is where the probe looks (or pkg-config knows it).
        let here = std::process::Command::new("pkg-config").args(["--exists", "openblas"]).status();
        assert!(here.is_ok_and(|s| s.success()) || found_in(&search_dirs(None, None)));
    }
}
