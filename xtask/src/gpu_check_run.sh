#!/usr/bin/env bash
# The hagcn GPU check, prepared by `cargo xtask gpu-check --prepare DIR` on a machine with Rust.
# Needs no Rust and no internet: an NVIDIA driver (CUDA 13), python3 for the summary table, and
# cuBLAS (libcublas.so.13) somewhere this script can find it (the loader cache, a CUDA toolkit,
# or PyTorch's nvidia wheels). Takes about 5–8 minutes.
#
#   DIR/run.sh [RESULTS]     results go to RESULTS/gpu-check-DATE (default: DIR/results)
#
# Steps, each with its own time limit, each run even when an earlier one failed:
#   1. environment: nvidia-smi, glibc, the libraries the binaries need;
#   2. the CUDA tests on the GPU (--include-ignored): every backend kernel against the CPU
#      backend, one training step of every filter (small, and n = 128 with d = h = 768) against
#      the CPU backend, Hamming top-K against the CPU ranking;
#   3. `hagcn experiment --device cuda`: one epoch of every filter on MNIST (64 bits), and the
#      same on the CPU for comparison;
#   4. the criterion GPU benches (short measurement windows);
#   5. summary.md: pass/fail per step, the experiment's mAP on both devices, and the median
#      training-step times in the shape of the issue's PyTorch table.
# The exit status is non-zero when any step failed.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RESULTS="${1:-$HERE/results}/gpu-check-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RESULTS"
exec > >(tee "$RESULTS/run.log") 2>&1
echo "hagcn GPU check: results in $RESULTS"
STATUS="$RESULTS/steps.tsv"
: > "$STATUS"
FAILED=0

# Unpack the binaries, libraries and data (gzip keeps the folder small enough to copy).
WORK="$HERE/unpacked"
mkdir -p "$WORK"
for gz in $(cd "$HERE" && find bin lib data -name '*.gz'); do
    out="$WORK/${gz%.gz}"
    if [ ! -e "$out" ]; then
        mkdir -p "$(dirname "$out")"
        gzip -dc "$HERE/$gz" > "$out.part" && mv "$out.part" "$out"
    fi
done
chmod +x "$WORK"/bin/* 2>/dev/null

# Libraries: the bundled OpenBLAS first, then wherever CUDA's libraries are.
libdirs="$WORK/lib"
find_lib() { # prints the folder holding $1, searching the usual places
    local hit
    hit="$(ldconfig -p 2>/dev/null | awk -v n="$1" '$1 == n { print $NF; exit }')"
    if [ -n "$hit" ]; then dirname "$hit"; return; fi
    local roots=(/usr/local/cuda/lib64 /usr/local/cuda-13*/lib64 /usr/lib/x86_64-linux-gnu /usr/lib64 /opt/conda/lib)
    if command -v python3 > /dev/null; then
        while read -r p; do roots+=("$p/nvidia"); done < <(python3 -c 'import site, sys; print("\n".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null)
    fi
    for r in "${roots[@]}"; do
        [ -d "$r" ] || continue
        hit="$(find "$r" -maxdepth 4 -name "$1" 2>/dev/null | head -1)"
        if [ -n "$hit" ]; then dirname "$hit"; return; fi
    done
}
for lib in libcublas.so.13 libcublasLt.so.13 libcusolver.so.12 libnvrtc.so.13 libnvrtc-builtins.so.13.0; do
    d="$(find_lib "$lib")"
    if [ -n "$d" ]; then
        echo "found $lib in $d"
        case ":$libdirs:" in *":$d:"*) ;; *) libdirs="$libdirs:$d" ;; esac
    else
        echo "not found: $lib"
    fi
done
export LD_LIBRARY_PATH="$libdirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ -z "$(find_lib libnvrtc.so.13)" ]; then
    echo "no NVRTC here: loading the PTX compiled by NVRTC 13.0.88 at prepare time"
    export HAGCN_CUDA_PRECOMPILED_PTX="$HERE/ptx"
fi
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-$(nproc)}"

step() { # step NAME SECONDS COMMAND...: runs, logs to NAME.log, records pass/fail
    local name="$1" limit="$2"; shift 2
    echo "=== $name (limit ${limit} s)"
    local start=$SECONDS
    if declare -F "$1" > /dev/null; then # a function of this script: no timeout(1) for those
        "$@" > "$RESULTS/$name.log" 2>&1
    else
        timeout "$limit" "$@" > "$RESULTS/$name.log" 2>&1
    fi
    local rc=$?
    local took=$((SECONDS - start))
    tail -n 25 "$RESULTS/$name.log"
    if [ $rc -eq 0 ]; then
        printf '%s\tpass\t%s s\n' "$name" "$took" >> "$STATUS"
    else
        [ $rc -eq 124 ] && echo "$name: timed out after $limit s"
        printf '%s\tFAIL (exit %s)\t%s s\n' "$name" "$rc" "$took" >> "$STATUS"
        FAILED=1
    fi
}

env_report() {
    nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv || true
    nvidia-smi || true
    ldd --version | head -1
    echo "binaries need glibc up to: $(objdump -T "$WORK"/bin/* 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -V | tail -1)"
    for b in "$WORK"/bin/*; do
        if ldd "$b" | grep -q 'not found'; then echo "$b: missing libraries:"; ldd "$b" | grep 'not found'; return 1; fi
    done
    echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
    nproc
}
step environment 60 env_report

for t in "$WORK"/bin/test-*; do
    name="$(basename "$t")"
    step "$name" 240 "$t" --include-ignored --test-threads=1
done

DATA="$WORK/data/mnist"
EXPERIMENT=(experiment --dataset "$DATA" --epochs 1 --bits 64 --baselines none --plots false --tie-aware false
            --map-at 200,all --checkpoints false)
step experiment-cuda 240 "$WORK/bin/hagcn" "${EXPERIMENT[@]}" --device cuda --out "$RESULTS/experiment-cuda"
step experiment-cpu 150 "$WORK/bin/hagcn" "${EXPERIMENT[@]}" --device cpu --out "$RESULTS/experiment-cpu"

export CRITERION_HOME="$RESULTS/criterion"
step benches 420 "$WORK/bin/bench-gpu" --bench --warm-up-time 0.3 --measurement-time 1 --noplot

summarize() {
python3 - "$RESULTS" << 'PY'
import json, os, sys
res = sys.argv[1]
out = ["# hagcn GPU check", ""]
out += ["| step | result | time |", "|---|---|---|"]
for line in open(os.path.join(res, "steps.tsv")):
    out.append("| " + " | ".join(line.rstrip("\n").split("\t")) + " |")
out.append("")
def cells(dev):
    try:
        r = json.load(open(os.path.join(res, f"experiment-{dev}", "results.json")))
    except OSError:
        return {}
    got = {}
    for c in r["cells"]:
        m = {a["at"]: a["value"] for a in c["map"]}
        got[c["method"]] = (m.get("200"), c["epochs"][-1]["loss"], c["train_seconds"])
    return got
gpu, cpu = cells("cuda"), cells("cpu")
if gpu or cpu:
    out += ["## One epoch on MNIST, 64 bits", "", "| filter | mAP@200 cuda | mAP@200 cpu | loss cuda | loss cpu | train s cuda | train s cpu |", "|---|---|---|---|---|---|---|"]
    fmt = lambda v, f: "–" if v is None else f.format(v)
    for m in sorted(set(gpu) | set(cpu)):
        g, c = gpu.get(m, (None,) * 3), cpu.get(m, (None,) * 3)
        out.append(f"| {m} | {fmt(g[0], '{:.4f}')} | {fmt(c[0], '{:.4f}')} | {fmt(g[1], '{:.5f}')} | {fmt(c[1], '{:.5f}')} | {fmt(g[2], '{:.2f}')} | {fmt(c[2], '{:.2f}')} |")
    out.append("")
crit = os.path.join(res, "criterion")
def median_ms(*parts):
    try:
        e = json.load(open(os.path.join(crit, *parts, "new", "estimates.json")))
        return e["median"]["point_estimate"] / 1e6
    except OSError:
        return None
torch = {"gcn": (3.9, 5.4, 10.4), "fourier": (6.3, None, None), "spline": (108, 118, None),
         "cheby": (11.2, 19.9, 284), "lanczos": (14.2, 16.6, 33.5)}
sizes = (128, 1024, 4096)
out += ["## One training step (forward, backward, Adam), median ms, d = h = 768, b = 64, k = 18", "",
        "| filter | " + " | ".join(f"n = {n}" for n in sizes) + " | PyTorch H100 (issue) | speed-up |", "|---|---|---|---|---|---|"]
for f, ref in torch.items():
    ms = [median_ms("gpu_step", f, str(n)) for n in sizes]
    cellv = ["–" if v is None else f"{v:.2f}" for v in ms]
    refs = " / ".join("fails" if r is None else str(r) for r in ref)
    up = " / ".join("–" if (v is None or r is None) else f"{r / v:.1f}×" for v, r in zip(ms, ref))
    out.append(f"| {f} | " + " | ".join(cellv) + f" | {refs} | {up} |")
out.append("")
if os.path.isdir(crit):
    out += ["## Every GPU bench (median)", "", "| bench | median |", "|---|---|"]
    for root, dirs, files in sorted(os.walk(crit)):
        if os.path.basename(root) == "new" and "estimates.json" in files:
            name = os.path.relpath(os.path.dirname(root), crit)
            e = json.load(open(os.path.join(root, "estimates.json")))["median"]["point_estimate"]
            out.append(f"| {name} | {e / 1e6:.3f} ms |")
open(os.path.join(res, "summary.md"), "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY
}
summarize || echo "summary.md not written (python3 missing or failed); the logs are in $RESULTS"
echo "results: $RESULTS"
exit $FAILED
