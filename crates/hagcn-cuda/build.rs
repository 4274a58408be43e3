//! Build script of hagcn-cuda.
//!
//! 1. Reads the `extern "C" __global__` signatures of every `kernels/*.cu` file and generates
//!    `kernel_files.rs` (the sources, embedded with `include_str!`, and their kernel names) for
//!    the NVRTC path.
//! 2. Compiles every kernel file with g++ against `emu/cuda_emu.hpp` (the CUDA built-ins on the
//!    CPU), with one `extern "C"` launcher per kernel, into a static library, and generates the
//!    Rust bindings of those launchers (`emu_kernels.rs`).
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

/// One kernel parameter: its C declaration and its Rust type.
struct Param {
    name: String,
    c_type: String,
    rust_type: &'static str,
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
    fs::write(out.join("emu_dispatch.rs"), dispatcher(&parsed)).expect("write emu_dispatch.rs");
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
    let rust_type = match ty.as_str() {
        "const float *" => "*const f32",
        "float *" => "*mut f32",
        "const double *" => "*const f64",
        "double *" => "*mut f64",
        "const int *" => "*const i32",
        "int *" => "*mut i32",
        "const unsigned int *" => "*const u32",
        "unsigned int *" => "*mut u32",
        "const hagcn_u64 *" | "const unsigned long long *" => "*const u64",
        "hagcn_u64 *" | "unsigned long long *" => "*mut u64",
        "float" => "f32",
        "double" => "f64",
        "int" => "i32",
        "unsigned int" => "u32",
        other => panic!("{}: kernel {kernel}: parameter type `{other}` has no Rust binding (build.rs)", path.display()),
    };
    Param { name: name.to_string(), c_type: ty, rust_type }
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
                 pub unsafe fn {name}(grid: {krate}::emu::Dim3, block: {krate}::emu::Dim3, {params}) -> {krate}::Result<()> {{\n\
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

/// `launch_by_name`: the launchers of the kernels whose parameters are f32 or f64 buffers, `int`
/// buffers, read `unsigned long long` buffers, written `unsigned int` buffers and i32/f32
/// scalars (every kernel), selected by name, with the argument kinds checked against the
/// signature.
fn dispatcher(parsed: &[(String, PathBuf, Vec<Kernel>)]) -> String {
    let mut s = String::from(
        "// Generated by hagcn-cuda's build.rs.\n\n\
         /// Runs the kernel `name` on the emulator with `args`, checked kind by kind against its\n\
         /// signature (kernels whose buffers are `float`, `double`, `int`, read `unsigned long long`\n\
         /// or written `unsigned int`, and whose scalars are `int`/`float`).\n\
         ///\n/// # Safety\n///\n/// As the kernel's launcher in [`crate::emu::kernels`]: the pointers must be valid for\n\
         /// everything the kernel reads and writes with these sizes.\n///\n/// # Errors\n///\n\
         /// [`crate::Error::Emulator`] for an unknown kernel, arguments of the wrong number or kind,\n\
         /// or an invalid launch configuration.\n\
         pub unsafe fn launch_by_name(name: &str, grid: crate::emu::Dim3, block: crate::emu::Dim3, args: &[crate::emu::RawArg]) -> crate::Result<()> {\n\
         \x20   use crate::emu::RawArg;\n\
         \x20   match name {\n",
    );
    for (_, _, kernels) in parsed {
        for k in kernels {
            let mut pats = Vec::new();
            let mut ok = true;
            for p in &k.params {
                let pat = match p.rust_type {
                    "*const f32" => format!("RawArg::ConstF32({})", p.name),
                    "*mut f32" => format!("RawArg::MutF32({})", p.name),
                    "*const i32" => format!("RawArg::ConstI32({})", p.name),
                    "*mut i32" => format!("RawArg::MutI32({})", p.name),
                    "*const u64" => format!("RawArg::ConstU64({})", p.name),
                    "*mut u32" => format!("RawArg::MutU32({})", p.name),
                    "*const f64" => format!("RawArg::ConstF64({})", p.name),
                    "*mut f64" => format!("RawArg::MutF64({})", p.name),
                    "i32" => format!("RawArg::I32({})", p.name),
                    "f32" => format!("RawArg::F32({})", p.name),
                    _ => {
                        ok = false;
                        break;
                    }
                };
                pats.push(pat);
            }
            if !ok {
                continue;
            }
            let args: Vec<String> = k.params.iter().map(|p| format!("*{}", p.name)).collect();
            let c_sig: Vec<String> = k.params.iter().map(|p| p.c_type.clone()).collect();
            writeln!(
                s,
                "        {name:?} => {{\n\
                 \x20           let [{pats}] = args else {{\n\
                 \x20               return Err(crate::Error::Emulator(format!(\"kernel {name}: arguments {{args:?}} do not match ({sig})\")));\n\
                 \x20           }};\n\
                 \x20           // SAFETY: forwarded to the caller.\n\
                 \x20           unsafe {{ crate::emu::kernels::{name}(grid, block, {args}) }}\n\
                 \x20       }}",
                name = k.name,
                pats = pats.join(", "),
                sig = c_sig.join(", "),
                args = args.join(", ")
            )
            .unwrap();
        }
    }
    s.push_str(
        "        _ => Err(crate::Error::Emulator(format!(\"no kernel {name:?} taking only f32/f64 and int buffers, read u64 buffers, written u32 buffers and i32/f32 scalars\"))),\n    }\n}\n",
    );
    s
}
