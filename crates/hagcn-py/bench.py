"""Times the Python package against the `hagcn` binary on the same data: fit against
`hagcn train`, encode against `hagcn encode`, search against `hagcn search`.

    cargo build --release -p hagcn-cli
    PATH=target/py-venv/bin:$PATH maturin build --release -m crates/hagcn-py/Cargo.toml -o target/py-wheels \\
        -i target/py-venv/bin/python && target/py-venv/bin/pip install --force-reinstall target/py-wheels/*.whl
    target/py-venv/bin/python crates/hagcn-py/bench.py --hagcn target/release/hagcn --out target/py-bench
    cargo xtask publish target/py-bench python-bench    # the README's table: cargo xtask tables

Each timing is the best of `--repeat` runs of wall time. The CLI's include what a command
does around the computation (starting, reading the `.npy` input from the page cache, writing
the output); Python's are the call on arrays already in memory, which is what a Python user
pays. Both use the same OpenBLAS kernels (SkylakeX on an AVX-512 CPU) and threads.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

import hagcn


def best(f, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hagcn", required=True, help="the hagcn binary (a release build)")
    p.add_argument("--train-rows", type=int, default=2000)
    p.add_argument("--encode-rows", type=int, default=100_000)
    p.add_argument("--dim", type=int, default=768)
    p.add_argument("--bits", type=int, default=64)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--db-codes", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", type=pathlib.Path,
                   help="also write metrics.csv, summary.csv and config.json here (a run folder for `cargo xtask publish`)")
    args = p.parse_args()
    env = dict(os.environ)
    if hagcn.openblas_corename() == "SkylakeX":
        env.setdefault("OPENBLAS_CORETYPE", "SkylakeX")  # as the Python package chose

    rng = np.random.default_rng(0)
    centres = rng.standard_normal((10, args.dim)).astype(np.float32)
    def rows(n):
        labels = rng.integers(0, 10, n)
        return centres[labels] + rng.standard_normal((n, args.dim), dtype=np.float32)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        train_x, x = rows(args.train_rows), rows(args.encode_rows)
        (tmp / "data").mkdir()
        np.save(tmp / "data" / "features.npy", train_x)
        np.save(tmp / "data" / "labels.npy", np.zeros(args.train_rows, np.int64))
        np.save(tmp / "x.npy", x)
        settings = dict(bits=args.bits, objective="knn", epochs=args.epochs)

        def cli(*a):
            subprocess.run([args.hagcn, *map(str, a), "--force"], check=True, capture_output=True, env=env)

        rows_out = []
        t_cli = best(lambda: cli("train", "--dataset", tmp / "data", "--out", tmp / "ck.npz", "--bits", args.bits,
                                 "--objective", "knn", "--epochs", args.epochs), args.repeat)
        h = hagcn.Hasher(**settings)
        t_py = best(lambda: h.fit(train_x), args.repeat)
        rows_out.append(("fit", f"{args.train_rows} × {args.dim}, {args.epochs} epochs", t_py, t_cli))

        t_cli = best(lambda: cli("encode", "--checkpoint", tmp / "ck.npz", "--input", tmp / "x.npy", "--out",
                                 tmp / "codes.npy"), args.repeat)
        t_py = best(lambda: h.encode(x), args.repeat)
        rows_out.append(("encode", f"{args.encode_rows} × {args.dim}", t_py, t_cli))

        n_bytes = (args.bits + 7) // 8
        db = rng.integers(0, 256, (args.db_codes, n_bytes), dtype=np.uint8)
        q = rng.integers(0, 256, (args.queries, n_bytes), dtype=np.uint8)
        np.save(tmp / "db.npy", db)
        np.save(tmp / "q.npy", q)
        t_cli = best(lambda: cli("search", "--query", tmp / "q.npy", "--database", tmp / "db.npy", "--k", 10,
                                 "--out-indices", tmp / "i.npy", "--out-distances", tmp / "d.npy"), args.repeat)
        t_py = best(lambda: hagcn.search(q, db, k=10), args.repeat)
        rows_out.append(("search", f"{args.queries} × {args.db_codes} codes, k = 10", t_py, t_cli))

    print(f"OpenBLAS {hagcn.openblas_corename()}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print("| call / command | data | Python (s) | CLI (s) | Python / CLI |")
    print("| --- | --- | ---: | ---: | ---: |")
    for name, data, t_py, t_cli in rows_out:
        print(f"| {name} | {data} | {t_py:.3f} | {t_cli:.3f} | {t_py / t_cli:.2f} |")
    if args.out:
        write_run(args, rows_out)


def write_run(args, rows_out):
    """The bench as a run folder in `hagcn experiment`'s layout (one "fold"), each file
    written to a temporary name and renamed."""
    args.out.mkdir(parents=True, exist_ok=True)
    values = [(name, metric, f"{value:.4f}") for name, _, t_py, t_cli in rows_out
              for metric, value in (("python_seconds", t_py), ("cli_seconds", t_cli), ("python_over_cli", t_py / t_cli))]
    metrics = ["method,bits,k,fold,metric,at,value"] + [f"{n},{args.bits},,1,{m},,{v}" for n, m, v in values]
    summary = ["method,bits,k,metric,at,mean,std,folds"] + [f"{n},{args.bits},,{m},,{v},,1" for n, m, v in values]
    rev = subprocess.run(["git", "-C", str(pathlib.Path(__file__).parent), "describe", "--always", "--dirty",
                          "--abbrev=40"], capture_output=True, text=True).stdout.strip() or None
    config = {
        "git_revision": rev,
        "blas": {"threads": int(os.environ.get("OPENBLAS_NUM_THREADS", os.cpu_count())),
                 "coretype": hagcn.openblas_corename()},
        "config": {k: v for k, v in vars(args).items() if k not in ("hagcn", "out")},
        "command": "python crates/hagcn-py/bench.py " + " ".join(sys.argv[1:]),
        "machine": f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}",
    }
    for name, text in (("metrics.csv", "\n".join(metrics) + "\n"), ("summary.csv", "\n".join(summary) + "\n"),
                       ("config.json", json.dumps(config, indent=2) + "\n")):
        tmp = args.out / (name + ".tmp")
        tmp.write_text(text)
        tmp.replace(args.out / name)


if __name__ == "__main__":
    main()
