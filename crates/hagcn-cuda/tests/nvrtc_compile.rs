//! Every kernel file through the crate's NVRTC path (prelude + file, `compute_90`,
//! `--fmad=false`), the path the GPU takes.
//!
//! Without NVRTC on the library path the test checks that compiling is a clear
//! [`Error::NoNvrtc`] rather than a panic; `HAGCN_CUDA_REQUIRE_NVRTC=1` makes a missing NVRTC a
//! failure instead. `HAGCN_CUDA_PTX_DIR=DIR` also writes `DIR/<file>.ptx` (headed by
//! `nvrtc::precompiled_header`, so a GPU machine without NVRTC can load it), which
//! `cargo xtask cuda-kernels` then checks with `ptxas` (it sets all three variables, with the
//! NVRTC 13.0.88 PyPI wheel on `LD_LIBRARY_PATH`).

use hagcn_cuda::Error;
use hagcn_cuda::nvrtc::{ARCH, KERNEL_FILES, all_ptx, nvrtc_available, precompiled_header, ptx};

#[test]
fn every_kernel_file_compiles_with_nvrtc() {
    if !nvrtc_available() {
        assert!(
            std::env::var_os("HAGCN_CUDA_REQUIRE_NVRTC").is_none(),
            "HAGCN_CUDA_REQUIRE_NVRTC is set but libnvrtc.so.13 cannot be loaded"
        );
        let err = ptx(KERNEL_FILES[0].name).unwrap_err();
        assert!(matches!(err, Error::NoNvrtc), "{err}");
        return;
    }
    let start = std::time::Instant::now();
    let all = all_ptx().unwrap_or_else(|e| panic!("{e}"));
    let elapsed = start.elapsed();
    assert_eq!(all.len(), KERNEL_FILES.len());
    for ((name, text), file) in all.iter().zip(KERNEL_FILES) {
        assert_eq!(*name, file.name);
        // NVRTC 13.0 writes PTX ISA 9.0, which every CUDA 13 driver loads.
        assert!(text.contains(".version 9.0"), "{name}: not PTX 9.0");
        assert!(text.contains(&format!(".target {}", ARCH.replace("compute", "sm"))), "{name}: wrong target");
        for kernel in file.kernels {
            assert!(text.contains(&format!(".entry {kernel}(")), "{name}.cu: no entry {kernel} in the PTX");
        }
    }
    // The cache: a second request is the same compiled module.
    let first = ptx(KERNEL_FILES[0].name).unwrap();
    assert!(std::sync::Arc::ptr_eq(&first, &ptx(KERNEL_FILES[0].name).unwrap()));
    if let Some(dir) = std::env::var_os("HAGCN_CUDA_PTX_DIR") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        for ((name, text), file) in all.iter().zip(KERNEL_FILES) {
            std::fs::write(dir.join(format!("{name}.ptx")), format!("{}\n{text}", precompiled_header(file))).unwrap();
        }
    }
    eprintln!("NVRTC ({ARCH}): {} files in {:.2} s", all.len(), elapsed.as_secs_f64());
}
