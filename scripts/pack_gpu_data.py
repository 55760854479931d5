"""Pack training crops small enough to travel to the device machine (the models issue's GPU item).

    python -m scripts.pack_gpu_data [--out .gpukit/train] [--side 256] [--budget-mb 12]

The device tool sends the repository (about 51 MB) and at most 64 MiB in all; ``../shared`` does
not travel. So each training image of ``../shared/data/train`` gives one random ``side`` x
``side`` crop (seeded: the same pack every time), stored as WebP q95, until ``--budget-mb`` is
reached. It prints the count, the size and the crops' PSNR-RGB against their source (mean,
worst). ``.gpukit/`` is git-ignored; name it
in the device call's ``carry`` (see docs/training.md, "The GPU route").
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from clearzoom.eval.metrics import psnr
from clearzoom.imageio import find_images

ROOT = Path(__file__).resolve().parents[1]


def _tensor(im: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(im.convert("RGB")).copy()).permute(2, 0, 1).double() / 255


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
    total, kept, small, fidelity = 0, 0, 0, []
    for i, path in enumerate(files):
        with Image.open(path) as im:
            im = im.convert("RGB")
            w, h = im.size
            if min(w, h) < args.side:
                small += 1
                continue
            x, y = rng.randrange(w - args.side + 1), rng.randrange(h - args.side + 1)
            buf = io.BytesIO()
            crop = im.crop((x, y, x + args.side, y + args.side))
            crop.save(buf, format="WEBP", quality=args.quality)
        if total + buf.tell() > args.budget_mb * 1e6:
            break
        (args.out / f"{i:04d}-{path.stem}.webp").write_bytes(buf.getvalue())
        total += buf.tell()
        kept += 1
        with Image.open(buf) as packed:
            fidelity.append(psnr(_tensor(packed), _tensor(crop), y_channel=False))
    print(
        f"{kept} crops of {args.side}px from {len(files)} images ({small} too small), "
        f"{total / 1e6:.1f} MB in {args.out}; PSNR-RGB against the source "
        f"{np.mean(fidelity):.1f} dB mean, {min(fidelity):.1f} worst"
    )


if __name__ == "__main__":
    main()
