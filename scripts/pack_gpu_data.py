"""Pack training crops small enough to travel to the device machine (the models issue's GPU item).

    .venv/bin/python scripts/pack_gpu_data.py [--out .gpukit/train] [--side 256] [--budget-mb 12]

The device tool sends the repository (about 51 MB) and at most 64 MiB in all; ``../shared`` does
not travel. So each training image of ``../shared/data/train`` gives one random ``side`` x
``side`` crop (seeded: the same pack every time), stored as WebP q95 (about 23 KB a crop; on 30
crops, 40.9 dB PSNR-RGB from the source on average, 33.1 at worst), until ``--budget-mb`` is
reached. ``.gpukit/`` is git-ignored; name it
in the device call's ``carry`` (see docs/training.md, "The GPU route").
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from clearzoom.inference.imageio import find_images  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/train")
    ap.add_argument("--out", type=Path, default=ROOT / ".gpukit/train")
    ap.add_argument("--side", type=int, default=256)
    ap.add_argument("--quality", type=int, default=95)
    ap.add_argument("--budget-mb", type=float, default=12.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    files = find_images(args.data)
    if not files:
        sys.exit(f"error: no images under {args.data}")
    rng = random.Random(args.seed)
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    total, kept, small = 0, 0, 0
    for i, path in enumerate(files):
        with Image.open(path) as im:
            im = im.convert("RGB")
            w, h = im.size
            if min(w, h) < args.side:
                small += 1
                continue
            x, y = rng.randrange(w - args.side + 1), rng.randrange(h - args.side + 1)
            buf = io.BytesIO()
            im.crop((x, y, x + args.side, y + args.side)).save(buf, format="WEBP", quality=args.quality)
        if total + buf.tell() > args.budget_mb * 1e6:
            break
        (args.out / f"{i:04d}-{path.stem}.webp").write_bytes(buf.getvalue())
        total += buf.tell()
        kept += 1
    print(f"{kept} crops of {args.side}px from {len(files)} images ({small} too small), "
          f"{total / 1e6:.1f} MB in {args.out}")


if __name__ == "__main__":
    main()
