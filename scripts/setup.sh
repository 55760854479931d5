#!/usr/bin/env bash
# One setup command for a fresh machine: a virtual environment in .venv with everything the
# package, its tests and its benchmarks need.
#
# torch is installed first and pinned (2.13.0, the CPU build these machines carry on disk), so
# that pip never resolves an unpinned torch (which would pull a multi-GB CUDA build). Elsewhere, set
# CLEARZOOM_TORCH to the torch requirement you want (e.g. "torch" for your platform's default wheel).
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian's Chromium (and its driver) for the browser tests (the explain report, the web app).
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -q chromium chromium-driver >/dev/null \
    || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q chromium chromium-driver >/dev/null; }
fi
PYTHON=${PYTHON:-python3}
TORCH_REQ=${CLEARZOOM_TORCH:-torch==2.13.0}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet "$TORCH_REQ"
.venv/bin/python -m pip install --quiet -e ".[dev,web]"
# The web viewer's OpenSeadragon, from the npm registry (package-lock.json pins it).
npm ci --no-audit --no-fund --silent
.venv/bin/python -c "import torch, clearzoom; print('clearzoom', clearzoom.__version__, '| torch', torch.__version__)"
