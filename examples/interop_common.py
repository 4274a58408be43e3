"""Shared by the round-trip scripts (faiss, milvus-lite, a Milvus server): codes made by the
hagcn binary itself, and the comparison of a Milvus search with `hagcn search`.

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


def command_line(doc, name, parser=None):
    """Parses `--hagcn` and `--work` (and the arguments `parser` already has) for a round-trip
    script; returns the binary, the script's own folder, `WORK/name`, and all the arguments."""
    if parser is None:
        parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hagcn", required=True, help="the hagcn binary")
    parser.add_argument("--work", required=True, help="a folder for the files")
    args = parser.parse_args()
    return args.hagcn, pathlib.Path(args.work) / name, args


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


def check_hits(what, k, queries, db, want_idx, want_dist, got):
    """Checks a Milvus HAMMING search against `hagcn search`'s (want_idx, want_dist), both
    n_query × k; `got` holds per query its (ids, distances). Milvus promises no order among
    equally distant results, so: identical distances rank by rank; for every distance below
    the K-th, the same set of ids; at the K-th distance (where the cut falls among ties), ids
    that really are at that distance. Prints a line; returns the queries in the same order."""
    same_order = 0
    for qi, (ids, distances) in enumerate(got):
        got_idx = np.array(ids)
        got_dist = np.array([round(d) for d in distances])
        assert np.array_equal(got_dist, want_dist[qi]), f"{what} k={k} query {qi}: distances {got_dist} != {want_dist[qi]}"
        cut = want_dist[qi, -1]
        for d in np.unique(want_dist[qi]):
            mine, theirs = set(want_idx[qi][want_dist[qi] == d]), set(got_idx[got_dist == d])
            if d < cut:
                assert mine == theirs, f"{what} k={k} query {qi}: ids at distance {d} differ: {sorted(mine ^ theirs)}"
            else:
                assert all(hamming(queries[qi], db[i]) == d for i in theirs), f"{what} k={k} query {qi}: wrong distance"
        same_order += np.array_equal(got_idx, want_idx[qi])
    print(f"{what}: k={k}: same top-K as hagcn search for all {len(got)} queries "
          f"(distances rank by rank; ids per distance; {same_order} also in the same order)")
    return same_order
