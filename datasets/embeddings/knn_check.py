#!/usr/bin/env python3
"""Leave-one-out k-nearest-neighbour accuracy (cosine similarity) of a hagcn dataset folder.

usage: knn_check.py DIR [DIR ...]   -> prints k=1 and k=10 (majority vote, ties to the nearest)
accuracy for each folder (ties go to the class of the nearest tied neighbour) and writes DIR/knn_check.json.
"""
import json
import os
import sys

import numpy as np


def loo_knn(x, y, ks=(1, 10), chunk=1000):
    x = x.astype(np.float32)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    n, kmax = len(y), max(ks)
    ncls = int(y.max()) + 1
    correct = {k: 0 for k in ks}
    for s in range(0, n, chunk):
        sim = x[s:s + chunk] @ x.T
        sim[np.arange(len(sim)), np.arange(s, s + len(sim))] = -np.inf   # leave the query out
        nn = np.argpartition(-sim, kmax, axis=1)[:, :kmax]
        order = np.argsort(-np.take_along_axis(sim, nn, axis=1), axis=1)
        nn = np.take_along_axis(nn, order, axis=1)                       # nearest first
        for k in ks:
            lab = y[nn[:, :k]]
            rows = np.arange(len(lab))[:, None]
            votes = np.zeros((len(lab), ncls), dtype=np.int64)
            np.add.at(votes, (np.broadcast_to(rows, lab.shape), lab), 1)
            top = votes[rows, lab] == votes.max(1, keepdims=True)       # neighbour's class is a most-voted one
            pred = lab[np.arange(len(lab)), top.argmax(1)]              # ties go to the nearest such neighbour
            correct[k] += int((pred == y[s:s + chunk]).sum())
    return {f"k{k}": correct[k] / n for k in ks}


def main():
    for d in sys.argv[1:]:
        x = np.load(os.path.join(d, "features.npy"))
        y = np.load(os.path.join(d, "labels.npy"))
        assert x.dtype == np.float32 and y.dtype == np.int64 and len(x) == len(y)
        res = loo_knn(x, y)
        res.update({"n": int(len(y)), "d": int(x.shape[1]), "metric": "cosine, leave-one-out, majority vote"})
        with open(os.path.join(d, "knn_check.json"), "w") as f:
            json.dump(res, f, indent=1)
        print(f"{d}: N={len(y)} d={x.shape[1]}  1-NN {res['k1']:.4f}  10-NN {res['k10']:.4f}", flush=True)


if __name__ == "__main__":
    main()
