#!/usr/bin/env bash
# Creates (or reuses) the Python venv that the make_*.sh scripts use. Idempotent.
# VENV (default: target/embeddings-venv) overrides where it goes.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${VENV:-$HERE/../../target/embeddings-venv}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
  || { echo "need Python 3.11 (set PYTHON=...)" >&2; exit 1; }
if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating venv $VENV"
  "$PY" -m venv "$VENV"
fi
echo "== pip install -r requirements.lock.txt into $VENV (first time: ~4 GB, a few minutes)"
"$VENV/bin/pip" install --disable-pip-version-check --progress-bar off -r "$HERE/requirements.lock.txt" \
  | grep -E '^(Collecting|Successfully|ERROR)' || true
"$VENV/bin/python" -c 'import torch, onnxruntime, efficientnet_lite_pytorch; print("torch", torch.__version__, "onnxruntime", onnxruntime.__version__)'
