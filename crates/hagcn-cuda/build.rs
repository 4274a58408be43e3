//! Build script of hagcn-cuda.
//!
//! 1. Reads the `extern "C" __global__` signatures of every `kernels/*.cu` file and generates
//!    `kernel_files.rs` (the sources, embedded with `include_str!`, and their kernel names) for
//!    the NVRTC path, and `kernel_handles.rs`: one module per file with one typed constant per
//!    kernel (`kernels::activations::GELU_FWD_F32: Kernel<(Const<f32>, Mut<f32>, i32)>`), so
//!    that host code names kernels by constants, and a misspelt kernel or an argument of the
//!    wrong kind is a compile error.
//! 2. Compiles every kernel file with g++ against `emu/cuda_emu.hpp` (the CUDA built-ins on the
//!    CPU), with one `extern "C"` launcher per kernel, into a static library, and generates the
//!    Rust bindings of those launchers (`emu_kernels.rs`) and, for each, the entry point the
//!    typed constant's emulated launch goes through, which checks the raw arguments kind by kind
//!    against the signature (`emu_checked.rs`).
//! 3. Does the same for the deliberately broken kernels of `tests/kernels/*.cu`, linked into
//!    test targets only (`emu_test_kernels.rs`).
//!
//! `HAGCN_CUDA_EMU_TSAN=1` builds the emulated kernels with `-fsanitize=thread` (the
//! ThreadSanitizer pass of `cargo xtask cuda-kernels --tsan`).

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One kernel parameter: its C declaration, its Rust type at the FFI boundary, its kind in a
/// typed kernel handle (`crate::kernels::{Const, Mut}` or a scalar) and its
/// `crate::emu::RawArg` variant.
struct Param {
    name: String,
    c_type: String,
    rust_type: &'static str,
    kind: &'static str,
    raw: &'static str,
}

struct Kernel {
    name: String,
    params: Vec<Param>,
}

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let tsan = env::var("HAGCN_CUDA_EMU_TSAN").is_ok_and(|v| v == "1");
    println!("cargo:rerun-if-env-changed=HAGCN_CUDA_EMU_TSAN");
    println!("cargo:rerun-if-env-changed=CXX");
    println!("cargo:rerun-if-changed=emu");
    println!("cargo:rerun-if-changed=kernels");
    println!("cargo:rerun-if-changed=tests/kernels");

    check_compiler();

    let kernel_dir = manifest.join("kernels");
    let files = cu_files(&kernel_dir);
    let parsed: Vec<(String, PathBuf, Vec<Kernel>)> =
        files.iter().map(|path| (stem(path), path.clone(), parse_kernels(path))).collect();

    // 1. The sources for NVRTC.
    let mut list = String::from("&[\n");
    for (name, path, kernels) in &parsed {
        let names: Vec<String> = kernels.iter().map(|k| format!("{:?}", k.name)).collect();
        writeln!(
            list,
            "    KernelFile {{ name: {name:?}, source: include_str!({path:?}), kernels: &[{}] }},",
            names.join(", ")
        )
        .unwrap();
    }
    list.push(']');
    fs::write(out.join("kernel_files.rs"), list).expect("write kernel_files.rs");

    // 2. The emulated kernels.
    let shims = write_shims(&out, "emu", &parsed);
    build(&manifest, &shims, tsan).compile("hagcn_cuda_emu");
    fs::write(out.join("emu_kernels.rs"), rust_bindings(&parsed, "kernels", "crate")).expect("write emu_kernels.rs");
    fs::write(out.join("emu_checked.rs"), checked_entries(&parsed)).expect("write emu_checked.rs");
    fs::write(out.join("kernel_handles.rs"), handles(&parsed)).expect("write kernel_handles.rs");
    if tsan {
        println!("cargo:rustc-link-lib=dylib=tsan");
    }

    // 3. The broken kernels of the emulator's own tests, linked into test targets only.
    let test_files = cu_files(&manifest.join("tests/kernels"));
    let test_parsed: Vec<(String, PathBuf, Vec<Kernel>)> =
        test_files.iter().map(|path| (stem(path), path.clone(), parse_kernels(path))).collect();
    let test_shims = write_shims(&out, "emu_test", &test_parsed);
    let objects = build(&manifest, &test_shims, tsan).compile_intermediates();
    for object in objects {
        println!("cargo:rustc-link-arg-tests={}", object.display());
    }
    fs::write(out.join("emu_test_kernels.rs"), rust_bindings(&test_parsed, "tests/kernels", "hagcn_cuda"))
        .expect("write emu_test_kernels.rs");
}

fn compiler() -> String {
    env::var("CXX").unwrap_or_else(|_| "g++".into())
}

/// Fails the build with one clear message when no C++20 compiler is available.
fn check_compiler() {
    let cxx = compiler();
    let probe =
        Command::new(&cxx).args(["-std=c++20", "-x", "c++", "-E", "-"]).stdin(std::process::Stdio::null()).output();
    match probe {
        Ok(o) if o.status.success() => {}
        _ => panic!(
            "hagcn-cuda: `{cxx}` cannot compile C++20. The crate runs its CUDA kernels on the CPU through a C++ \
             emulation of the CUDA built-ins (emu/cuda_emu.hpp), which needs g++ 11 or newer (Debian/Ubuntu: \
             apt-get install g++), or set CXX to another C++20 compiler"
        ),
    }
}

fn build(manifest: &Path, shims: &[PathBuf], tsan: bool) -> cc::Build {
    let mut b = cc::Build::new();
    b.cpp(true)
        .compiler(compiler())
        .std("c++20")
        .include(manifest.join("emu"))
        .include(manifest.join("kernels"))
        .files(shims)
        .flag("-pthread")
        // The kernels' formulas are written operation by operation to match the Rust references.
        .flag("-ffp-contract=off")
        .flag("-fno-fast-math")
        .warnings(true)
        .flag("-Wno-unused-parameter")
        .cargo_warnings(true);
    if tsan {
        b.flag("-fsanitize=thread").opt_level(1).debug(true);
    } else {
        b.opt_level(2);
    }
    b
}

fn cu_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.expect("read_dir entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "cu"))
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

fn stem(path: &Path) -> String {
    path.file_stem().expect("file stem").to_string_lossy().into_owned()
}

/// The `extern "C" __global__ void name(params)` kernels of a file, in order.
fn parse_kernels(path: &Path) -> Vec<Kernel> {
    let src = fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let marker = "extern \"C\" __global__ void";
    let mut kernels = Vec::new();
    let mut rest = src.as_str();
    while let Some(at) = rest.find(marker) {
        rest = &rest[at + marker.len()..];
        let open = rest.find('(').expect("kernel parameter list");
        let name = rest[..open].trim().to_string();
        let close = rest.find(')').expect("end of the kernel parameter list");
        let params = rest[open + 1..close].split(',').map(|p| parse_param(p, &name, path)).collect();
        kernels.push(Kernel { name, params });
        rest = &rest[close..];
    }
    kernels
}

fn parse_param(decl: &str, kernel: &str, path: &Path) -> Param {
    let cleaned = decl.replace("__restrict__", " ").replace('*', " * ");
    let tokens: Vec<&str> = cleaned.split_whitespace().collect();
    let (name, ty) = tokens.split_last().unwrap_or_else(|| panic!("{}: empty parameter in {kernel}", path.display()));
    let ty = ty.join(" ");
    let (rust_type, kind, raw) = match ty.as_str() {
        "const float *" => ("*const f32", "Const<f32>", "ConstF32"),
        "float *" => ("*mut f32", "Mut<f32>", "MutF32"),
        "const double *" => ("*const f64", "Const<f64>", "ConstF64"),
        "double *" => ("*mut f64", "Mut<f64>", "MutF64"),
        "const int *" => ("*const i32", "Const<i32>", "ConstI32"),
        "int *" => ("*mut i32", "Mut<i32>", "MutI32"),
        "const unsigned int *" => ("*const u32", "Const<u32>", "ConstU32"),
        "unsigned int *" => ("*mut u32", "Mut<u32>", "MutU32"),
        "const hagcn_u64 *" | "const unsigned long long *" => ("*const u64", "Const<u64>", "ConstU64"),
        "hagcn_u64 *" | "unsigned long long *" => ("*mut u64", "Mut<u64>", "MutU64"),
        "float" => ("f32", "f32", "F32"),
        "double" => ("f64", "f64", "F64"),
        "int" => ("i32", "i32", "I32"),
        "unsigned int" => ("u32", "u32", "U32"),
        "hagcn_u64" | "unsigned long long" => ("u64", "u64", "U64"),
        other => panic!("{}: kernel {kernel}: parameter type `{other}` has no Rust binding (build.rs)", path.display()),
    };
    Param { name: name.to_string(), c_type: ty, rust_type, kind, raw }
}

/// One C++ file per kernel file: the emulator, the prelude, the kernels, then a launcher per
/// kernel.
fn write_shims(out: &Path, prefix: &str, parsed: &[(String, PathBuf, Vec<Kernel>)]) -> Vec<PathBuf> {
    let mut shims = Vec::new();
    for (name, path, kernels) in parsed {
        let mut s = String::new();
        writeln!(s, "// Generated by hagcn-cuda's build.rs: {} on the CPU.", path.display()).unwrap();
        s.push_str("#include \"cuda_emu.hpp\"\n#include \"prelude.cuh\"\n");
        writeln!(s, "#include {:?}\n", path.display().to_string()).unwrap();
        for k in kernels {
            let decls: Vec<String> = k.params.iter().map(|p| format!("{} {}", p.c_type, p.name)).collect();
            let args: Vec<&str> = k.params.iter().map(|p| p.name.as_str()).collect();
            writeln!(
                s,
                "extern \"C\" int hagcn_emu_{n}(hagcn_dim3 grid, hagcn_dim3 block, {d}) {{\n    return hagcn_emu::launch(\"{n}\", grid, block, {n}, {a});\n}}\n",
                n = k.name,
                d = decls.join(", "),
                a = args.join(", ")
            )
            .unwrap();
        }
        let shim = out.join(format!("{prefix}_{name}.cpp"));
        fs::write(&shim, s).expect("write shim");
        shims.push(shim);
    }
    if prefix == "emu" {
        let runtime = out.join("emu_runtime.cpp");
        fs::write(
            &runtime,
            "// Generated by hagcn-cuda's build.rs: the emulator's queries.\n#include \"cuda_emu.hpp\"\n\
             extern \"C\" const char* hagcn_emu_last_error() { return hagcn_emu::last_error.c_str(); }\n\
             extern \"C\" int hagcn_emu_tsan() {\n#if defined(__SANITIZE_THREAD__)\n    return 1;\n#else\n    return 0;\n#endif\n}\n",
        )
        .expect("write emu_runtime.cpp");
        shims.push(runtime);
    }
    shims
}

/// The Rust side of the launchers: an `extern "C"` block and one documented `unsafe fn` per
/// kernel.
fn rust_bindings(parsed: &[(String, PathBuf, Vec<Kernel>)], dir: &str, krate: &str) -> String {
    // Inside the crate, `Error` and `Result` are named where they are defined.
    let errors = if krate == "crate" { "crate::error" } else { krate };
    let mut s = String::from("// Generated by hagcn-cuda's build.rs.\n\nmod ffi {\n    unsafe extern \"C\" {\n");
    for (_, _, kernels) in parsed {
        for k in kernels {
            let params: Vec<String> = k.params.iter().map(|p| format!("{}: {}", p.name, p.rust_type)).collect();
            writeln!(
                s,
                "        pub(super) fn hagcn_emu_{}(grid: {krate}::emu::Dim3, block: {krate}::emu::Dim3, {}) -> i32;",
                k.name,
                params.join(", "),
                krate = krate
            )
            .unwrap();
        }
    }
    s.push_str("    }\n}\n");
    for (file, _, kernels) in parsed {
        for k in kernels {
            let params: Vec<String> = k.params.iter().map(|p| format!("{}: {}", p.name, p.rust_type)).collect();
            let args: Vec<&str> = k.params.iter().map(|p| p.name.as_str()).collect();
            let c_sig: Vec<String> = k.params.iter().map(|p| format!("{} {}", p.c_type, p.name)).collect();
            writeln!(
                s,
                "/// Runs the kernel `{name}` of `{dir}/{file}.cu` on the CPU emulator over `grid` × `block`\n\
                 /// threads and waits for it.\n///\n/// C signature: `{name}({csig})`.\n///\n/// # Safety\n///\n\
                 /// Every pointer must be valid for all the reads and writes the kernel makes with these sizes\n\
                 /// (see its source), and buffers it writes must not be accessed elsewhere meanwhile.\n\
                 ///\n/// # Errors\n///\n/// [`{krate}::Error::Emulator`] for an invalid launch configuration.\n\
                 #[allow(clippy::too_many_arguments)]\n\
                 pub unsafe fn {name}(grid: {krate}::emu::Dim3, block: {krate}::emu::Dim3, {params}) -> {errors}::Result<()> {{\n\
                 \x20   // SAFETY: forwarded to the caller.\n\
                 \x20   {krate}::emu::check(unsafe {{ ffi::hagcn_emu_{name}(grid, block, {args}) }})\n}}\n",
                name = k.name,
                csig = c_sig.join(", "),
                params = params.join(", "),
                args = args.join(", "),
                krate = krate
            )
            .unwrap();
        }
    }
    s
}

/// The C signature of a kernel, types only: `const float *, float *, int`.
fn c_signature(k: &Kernel) -> String {
    k.params.iter().map(|p| p.c_type.as_str()).collect::<Vec<_>>().join(", ")
}

/// One checked entry point per kernel, `crate::emu::checked::<name>(grid, block, &[RawArg])`:
/// the raw arguments matched kind by kind against the signature, then the kernel's launcher.
/// The typed handles of `kernel_handles.rs` launch through these on the emulated device.
fn checked_entries(parsed: &[(String, PathBuf, Vec<Kernel>)]) -> String {
    let mut s = String::from("// Generated by hagcn-cuda's build.rs.\n\nuse crate::emu::{Dim3, RawArg};\n");
    for (file, _, kernels) in parsed {
        for k in kernels {
            let pats: Vec<String> = k.params.iter().map(|p| format!("RawArg::{}({})", p.raw, p.name)).collect();
            let args: Vec<String> = k.params.iter().map(|p| format!("*{}", p.name)).collect();
            writeln!(
                s,
                "\n/// `{name}` of `kernels/{file}.cu` with raw arguments, checked against `({sig})`.\n\
                 ///\n/// # Safety\n///\n/// As [`crate::emu::kernels::{name}`].\n\
                 pub(crate) unsafe fn {name}(grid: Dim3, block: Dim3, args: &[RawArg]) -> crate::error::Result<()> {{\n\
                 \x20   let [{pats}] = args else {{\n\
                 \x20       return Err(crate::error::Error::Emulator(format!(\"kernel {name}: arguments {{args:?}} do not match ({sig})\")));\n\
                 \x20   }};\n\
                 \x20   // SAFETY: forwarded to the caller.\n\
                 \x20   unsafe {{ crate::emu::kernels::{name}(grid, block, {args}) }}\n}}",
                name = k.name,
                sig = c_signature(k),
                pats = pats.join(", "),
                args = args.join(", ")
            )
            .unwrap();
        }
    }
    s
}

/// One module per kernel file with the file (`FILE`) and one typed handle per kernel, named
/// after the kernel in capitals.
fn handles(parsed: &[(String, PathBuf, Vec<Kernel>)]) -> String {
    let mut s = String::from("// Generated by hagcn-cuda's build.rs.\n");
    for (idx, (file, _, kernels)) in parsed.iter().enumerate() {
        writeln!(
            s,
            "\n/// The kernels of `kernels/{file}.cu`.\n#[allow(clippy::type_complexity)]\npub mod {file} {{\n\
             \x20   #[allow(unused_imports)]\n\
             \x20   use super::{{Const, Kernel, Mut}};\n\n\
             \x20   /// `kernels/{file}.cu`.\n\
             \x20   pub const FILE: &crate::nvrtc::KernelFile = &crate::nvrtc::KERNEL_FILES[{idx}];"
        )
        .unwrap();
        for k in kernels {
            let kinds: Vec<&str> = k.params.iter().map(|p| p.kind).collect();
            let decl: Vec<String> =
                k.params.iter().map(|p| format!("{} {}", p.c_type.replace(" *", "*"), p.name)).collect();
            let tuple = if kinds.len() == 1 { format!("({},)", kinds[0]) } else { format!("({})", kinds.join(", ")) };
            writeln!(
                s,
                "\n\x20   /// `{name}({decl})`.\n\
                 \x20   pub const {upper}: Kernel<{tuple}> = Kernel::new(FILE, {name:?}, crate::emu::checked::{name});",
                name = k.name,
                upper = k.name.to_uppercase(),
                decl = decl.join(", "),
            )
            .unwrap();
        }
        s.push_str("}\n");
    }
    s
}
