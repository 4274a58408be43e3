"""Shared by faiss_roundtrip.py and milvus_roundtrip.py: codes made by the hagcn binary itself.

A small clustered dataset is trained into a 28-bit hash function (not a multiple of 8, so the
zero padding bits of the last byte are part of the check) and a database and a query set are
encoded with `hagcn encode`; `hagcn search` gives the reference neighbours.
"""

import argparse
import pathlib
import subprocess

import numpy as np

BITS = 28
N_DB, N_QUERY, DIM = 3000, 64, 32


def command_line(doc, name):
    """Parses `--hagcn` and `--work` for a round-trip script; returns the binary and the
    script's own folder, `WORK/name`."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hagcn", required=True, help="the hagcn binary")
    parser.add_argument("--work", required=True, help="a folder for the files")
    args = parser.parse_args()
    return args.hagcn, pathlib.Path(args.work) / name


def run(hagcn, *args):
    """Runs the hagcn binary; stops with its message if it fails."""
    done = subprocess.run([str(hagcn), *map(str, args)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"hagcn {' '.join(map(str, args))} failed:\n{done.stderr}")
    return done.stdout


def make_codes(hagcn, work):
    """Trains a checkpoint and encodes a database and queries; returns (db.npy, query.npy)."""
    work = pathlib.Path(work)
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((8, DIM)).astype(np.float32)
    labels = rng.integers(0, 8, N_DB + N_QUERY + 500)
    x = centres[labels] + 0.6 * rng.standard_normal((len(labels), DIM)).astype(np.float32)
    data = work / "train"
    data.mkdir(exist_ok=True)
    np.save(data / "features.npy", x[:500])
    np.save(data / "labels.npy", labels[:500].astype(np.int64))
    np.save(work / "db_x.npy", x[500 : 500 + N_DB])
    np.save(work / "query_x.npy", x[500 + N_DB :])
    ck = work / "ck.npz"
    run(hagcn, "train", "--dataset", data, "--out", ck, "--bits", BITS, "--epochs", 3, "--hidden", 64,
        "--batch-size", 100, "--force")
    for name in ("db", "query"):
        run(hagcn, "encode", "--checkpoint", ck, "--input", work / f"{name}_x.npy", "--out",
            work / f"{name}.npy", "--force")
    return work / "db.npy", work / "query.npy"


def hagcn_search(hagcn, work, query, database, k):
    """`hagcn search` as (indices, distances), both n_query × k."""
    work = pathlib.Path(work)
    idx, dist = work / f"hagcn_idx_{k}.npy", work / f"hagcn_dist_{k}.npy"
    run(hagcn, "search", "--query", query, "--database", database, "--k", k, "--out-indices", idx,
        "--out-distances", dist, "--force")
    return np.load(idx), np.load(dist)


def hamming(a, b):
    """Hamming distance between two packed codes (uint8 rows)."""
    return int(np.unpackbits(np.bitwise_xor(a, b)).sum())
