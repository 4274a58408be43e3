#!/usr/bin/env python3
"""Synthetic clustered embeddings for timing runs, with the Python standard library only.

Writes DIR/features.npy (float32, rows x dim, C order) and DIR/labels.npy (int64): `clusters`
Gaussian clusters whose centres are drawn from N(0, 1) per coordinate, each point its centre
plus N(0, noise^2) per coordinate. Deterministic for a given seed.

    python3 experiments/scale/clustered.py --rows 100000 --dim 768 --out target/scale/clustered
"""
import argparse
import array
import os
import random
import struct
import sys


def npy_header(descr, shape):
    """The version-1.0 header of a C-order .npy file."""
    dict_text = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr,
        ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else ""),
    )
    pad = 64 - (10 + len(dict_text) + 1) % 64
    dict_text += " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(dict_text)) + dict_text.encode("latin1")


def write_atomic(path, header, chunks):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(header)
        for chunk in chunks:
            f.write(chunk)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--dim", type=int, default=768)
    p.add_argument("--clusters", type=int, default=100)
    p.add_argument("--noise", type=float, default=0.7)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    if min(a.rows, a.dim, a.clusters) <= 0:
        sys.exit("rows, dim and clusters must be positive")
    if sys.byteorder != "little":
        sys.exit("this writer emits little-endian float32 and needs a little-endian machine")
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(a.seed)
    centres = [[rng.gauss(0.0, 1.0) for _ in range(a.dim)] for _ in range(a.clusters)]
    labels = [rng.randrange(a.clusters) for _ in range(a.rows)]

    def rows():
        for i in range(a.rows):
            c = centres[labels[i]]
            yield array.array("f", [x + rng.gauss(0.0, a.noise) for x in c]).tobytes()

    write_atomic(os.path.join(a.out, "features.npy"), npy_header("<f4", (a.rows, a.dim)), rows())
    write_atomic(
        os.path.join(a.out, "labels.npy"),
        npy_header("<i8", (a.rows,)),
        [array.array("q", labels).tobytes()],
    )
    print(f"wrote {a.rows} x {a.dim} rows in {a.clusters} clusters to {a.out}")


if __name__ == "__main__":
    main()
