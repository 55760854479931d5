"""Copy the deep-zoom viewer (OpenSeadragon, from ``npm ci``) into the package, so a wheel built
afterwards carries it and ``pip install clearzoom`` gives a working viewer without npm.

    .venv/bin/python -m scripts.vendor_viewer      # scripts/setup.sh runs it after npm ci

Copies ``openseadragon.min.js``, its ``images/`` and its licence (BSD-3-Clause) from
``node_modules/openseadragon`` to ``src/clearzoom/web/vendor/openseadragon/`` (git-ignored: it is a
build product of the npm lock file, not a source).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "node_modules" / "openseadragon"
TARGET = ROOT / "src" / "clearzoom" / "web" / "vendor" / "openseadragon"


def vendor(source: Path = SOURCE, target: Path = TARGET) -> Path:
    """Copy the viewer's files; returns the target folder."""
    build = source / "build" / "openseadragon"
    if not (build / "openseadragon.min.js").is_file():
        raise FileNotFoundError(f"{build}: no openseadragon.min.js (run npm ci first)")
    tmp = target.with_name(target.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "images").mkdir(parents=True)
    shutil.copy2(build / "openseadragon.min.js", tmp / "openseadragon.min.js")
    shutil.copy2(source / "LICENSE.txt", tmp / "LICENSE.txt")
    for png in (build / "images").glob("*.png"):
        shutil.copy2(png, tmp / "images" / png.name)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


if __name__ == "__main__":
    try:
        sys.stdout.write(f"vendored the viewer into {vendor().relative_to(ROOT)}\n")
    except FileNotFoundError as exc:
        sys.exit(f"vendor_viewer: {exc}")
