"""hagcn: learned binary hash codes for embeddings, on NumPy arrays.

    import hagcn
    h = hagcn.Hasher(bits=64, objective="knn", filter="gcn", seed=42)
    h.fit(X)                                   # X: (n, d) float32/float64
    codes = h.encode(X)                        # uint8 (n, bits/8), faiss's binary layout
    h.save("model.npz"); h = hagcn.Hasher.load("model.npz")   # the CLI's checkpoint file
    D, I = hagcn.search(codes[:10], codes, k=10)               # like IndexBinaryFlat.search
    hagcn.evaluate(q_codes, db_codes, q_labels, db_labels, map_at=[200, "all"])

A thin layer over the Rust crates behind the `hagcn` command-line tool: the same settings,
checkpoints, codes and search results (`hagcn train`, `encode`, `search`, `eval`).
"""

import os as _os
import warnings as _warnings

_AVX512 = {"avx512f", "avx512bw", "avx512dq", "avx512vl"}


def _cpu_has_avx512() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return _AVX512 <= set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return False


# OpenBLAS reads OPENBLAS_CORETYPE once, when the library is loaded, which is when the
# extension below is imported. Debian's OpenBLAS 0.3.21 does not recognise recent AVX-512
# CPUs and falls back to its slowest kernels, so, as the hagcn binary does for itself, the
# SkylakeX kernels are chosen there unless the user chose a kernel. The variable is set only
# while the extension loads, so it does not leak into the rest of the process.
_chose_kernel = "OPENBLAS_CORETYPE" not in _os.environ and _cpu_has_avx512()
if _chose_kernel:
    _os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"
try:
    from ._hagcn import Hasher, evaluate, search, openblas_corename
finally:
    if _chose_kernel:
        del _os.environ["OPENBLAS_CORETYPE"]

if _chose_kernel and openblas_corename().lower() != "skylakex":
    # OpenBLAS was already loaded by something imported earlier, with its own choice.
    _warnings.warn(
        f"OpenBLAS runs its {openblas_corename()} kernels on this AVX-512 CPU (it was loaded before "
        "hagcn could choose); set OPENBLAS_CORETYPE=SkylakeX before starting Python for speed",
        RuntimeWarning,
        stacklevel=2,
    )

__all__ = ["Hasher", "search", "evaluate", "openblas_corename"]
