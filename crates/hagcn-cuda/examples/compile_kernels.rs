//! Compiles every kernel file with the crate's own NVRTC path and writes `<name>.ptx` files.
//!
//! ```text
//! cargo run -p hagcn-cuda --example compile_kernels -- OUT_DIR
//! ```
//!
//! Needs `libnvrtc.so.13` on the library path (no driver, no GPU). `cargo xtask cuda-kernels`
//! runs it with the PyPI wheel's NVRTC, then checks each PTX file with `ptxas`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};

fn main() -> Result<()> {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        bail!("usage: compile_kernels OUT_DIR");
    };
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let start = Instant::now();
    for file in hagcn_cuda::nvrtc::KERNEL_FILES {
        let t = Instant::now();
        let ptx = hagcn_cuda::nvrtc::ptx(file.name)?.to_src();
        let path = out.join(format!("{}.ptx", file.name));
        std::fs::write(&path, &ptx).with_context(|| format!("cannot write {}", path.display()))?;
        println!(
            "{:>12}.cu -> {} ({} kernels, {:.0} ms)",
            file.name,
            path.display(),
            file.kernels.len(),
            t.elapsed().as_secs_f64() * 1e3
        );
    }
    println!(
        "NVRTC ({}): {} files in {:.2} s",
        hagcn_cuda::nvrtc::ARCH,
        hagcn_cuda::nvrtc::KERNEL_FILES.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
