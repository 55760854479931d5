"""Inference-side probes of a JPEG-aware model on JPEG q30 LR at x4 (the models issue's open target).

    .venv/bin/python scripts/q30_probes.py MODEL [--json docs/results/q30-probes.json]

For Set5 and Set14 (MATLAB-bicubic LR, JPEG q30, 4:2:0), the PSNR-Y gain over bicubic of the same
JPEG when the model is rendered in different ways:

* ``told qN``: told the input's JPEG quality is N (the file says 30; ``told clean``: no JPEG);
* ``cascade``: first restored at x1 (told q30), then that restoration enlarged x4 as a clean
  input: does splitting artifact removal from enlargement help?
* ``self-ensemble``: told q30, the mean of the 8 flipped/transposed renders (``upscale --tta``).

``MODEL`` is a model file (``clearzoom export``) or a shipped model's name. One thread, fp32.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from clearzoom.atomic import write_atomic  # noqa: E402
from clearzoom.checkpoints import load_model  # noqa: E402
from clearzoom.data.degrade import quantize  # noqa: E402
from clearzoom.eval.protocol import bicubic_up, is_gray, load_rgb, make_lr, psnr_protocol, render_full  # noqa: E402
from clearzoom.inference.engine import RenderOptions  # noqa: E402
from clearzoom.inference.imageio import find_images  # noqa: E402

BENCH = ROOT.parent / "shared/data/bench"
SCALE, QUALITY = 4, 30
TOLD = (30, 20, 25, 40, 50, None)  # the first is the truth


def probes(model, lr: torch.Tensor, hw: tuple[int, int], opts: RenderOptions) -> dict[str, torch.Tensor]:
    out = {f"told {'clean' if q is None else f'q{q}'}": render_full(model, lr, hw, opts, jpeg_quality=q)
           for q in TOLD}
    restored = quantize(render_full(model, lr, tuple(lr.shape[-2:]), opts, jpeg_quality=QUALITY))
    out["cascade"] = render_full(model, restored, hw, opts, jpeg_quality=None)
    out["self-ensemble"] = render_full(model, lr, hw, dataclasses.replace(opts, tta=True),
                                       jpeg_quality=QUALITY)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--json", type=Path, help="also write the table here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, opts = load_model(args.model), RenderOptions(precision="fp32")
    table: dict[str, dict[str, float]] = {}
    for ds in ("Set5", "Set14"):
        gains: dict[str, list[float]] = {}
        for path in find_images(BENCH / ds):
            hr, gray = load_rgb(path), is_gray(path)
            hr, lr = make_lr(hr, SCALE, QUALITY)
            hw = tuple(hr.shape[-2:])
            base = psnr_protocol(quantize(bicubic_up(lr, hw)), hr, SCALE, gray)
            for name, sr in probes(model, lr, hw, opts).items():
                gains.setdefault(name, []).append(psnr_protocol(quantize(sr), hr, SCALE, gray) - base)
        table[ds] = {name: round(float(np.mean(v)), 3) for name, v in gains.items()}
    print(f"| render (x{SCALE} from JPEG q{QUALITY}) | " + " | ".join(table) + " |")
    print("|---|" + "---|" * len(table))
    for name in table["Set5"]:
        print(f"| {name} | " + " | ".join(f"{table[ds][name]:+.3f}" for ds in table) + " |")
    if args.json:
        record = {"date": datetime.date.today().isoformat(), "model": args.model,
                  "protocol": f"PSNR-Y gain over bicubic, MATLAB-bicubic LR x{SCALE}, JPEG q{QUALITY} "
                              "4:2:0, fp32", "gains": table}
        write_atomic(args.json, json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
