#!/usr/bin/env bash
# One setup command for a fresh machine: a virtual environment in .venv with everything the
# package, its tests and its benchmarks need.
#
# torch is installed first and pinned (2.13.0, the CPU build these machines carry on disk), so
# that pip never resolves an unpinned torch (which would pull a multi-GB CUDA build). Elsewhere, set
# CLEARZOOM_TORCH to the torch requirement you want (e.g. "torch" for your platform's default wheel).
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian packages: chromium for the browser tests (the explain report, the web app), libomp5 and
# libvulkan1 for the Real-ESRGAN peer of the benchmarks. Without apt (or root/sudo) they are left
# out with a note: the tests that need them are skipped, saying why.
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
for lib in libomp5 libvulkan1; do dpkg -s "$lib" >/dev/null 2>&1 || need+=("$lib"); done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
  if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ]; }; then
    echo "setup: installing Debian packages: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get install -y -q "${need[@]}" >/dev/null \
      || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q "${need[@]}" >/dev/null; }
  else
    echo "setup: note: no apt-get as root here; not installing ${need[*]} (their tests are skipped)"
  fi
fi
PYTHON=${PYTHON:-python3}
TORCH_REQ=${CLEARZOOM_TORCH:-torch==2.13.0}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet "$TORCH_REQ"
echo "setup: installing the package and its dev, web, peers, onnx, ray and coding extras into .venv"
.venv/bin/python -m pip install --quiet -e ".[dev,web,peers,onnx,ray,coding]"
# The web viewer's OpenSeadragon, from the npm registry (package-lock.json pins it), and into the
# package, so that a wheel built from this tree carries it. Without npm the web app still works,
# without its deep-zoom viewer (the tests that need the viewer are skipped, saying why).
if command -v npm >/dev/null 2>&1; then
  echo "setup: installing the web viewer (npm ci)"
  npm ci --no-audit --no-fund --silent
  .venv/bin/python -m scripts.vendor_viewer
else
  echo "setup: note: no npm here; the web app's deep-zoom viewer is left out"
fi
.venv/bin/python -c "import torch, clearzoom; print('clearzoom', clearzoom.__version__, '| torch', torch.__version__)"
