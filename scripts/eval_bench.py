"""PSNR-Y of a model against bicubic on Set5/Set14, by the standard SR benchmark protocol.

    python scripts/eval_bench.py --model clearzoom-small --scales 2,3,4 --out docs/results/small.json

Protocol (LIIF's): HR cropped to a multiple of the scale; LR = MATLAB-style bicubic imresize,
rounded to 8 bits; optionally JPEG-compressed (Pillow, 4:2:0) at the given qualities; the output is
rendered at the HR size and rounded to 8 bits; PSNR on Y of the difference, shave = scale.
Bicubic = MATLAB-style bicubic upsampling of the same LR. The issue #3 harness will supersede this.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from clearzoom.checkpoints import load_model  # noqa: E402
from clearzoom.data.resize import imresize  # noqa: E402
from clearzoom.eval.metrics import psnr  # noqa: E402
from clearzoom.inference.engine import RenderOptions, render_color  # noqa: E402

BENCH = Path(__file__).resolve().parents[2] / "shared" / "data" / "bench"


def to_tensor(im: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(im.convert("RGB")).copy()).permute(2, 0, 1).float() / 255


def q8(x: torch.Tensor) -> torch.Tensor:
    return (x.clamp(0, 1) * 255).round() / 255


def jpeg(x: torch.Tensor, quality: int) -> torch.Tensor:
    buf = io.BytesIO()
    Image.fromarray((x.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(
        buf, "JPEG", quality=quality, subsampling="4:2:0")
    return to_tensor(Image.open(io.BytesIO(buf.getvalue())))


def render(model, lr: torch.Tensor, out_hw, precision: str) -> torch.Tensor:
    out = torch.empty(3, *out_hw)
    for tile, rgb in render_color(model, lr, out_hw, options=RenderOptions(precision=precision)):
        y0, x0, h, w = tile.out_window
        out[:, y0:y0 + h, x0:x0 + w] = rgb
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="clearzoom-small")
    ap.add_argument("--sets", default="Set5,Set14")
    ap.add_argument("--scales", default="2,3,4")
    ap.add_argument("--jpeg", default="", help="JPEG qualities for degraded-LR rows, e.g. 30")
    ap.add_argument("--jpeg-scales", default="4")
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    model = load_model(args.model)
    rows = []
    cases = [(s, None) for s in args.scales.split(",") if s]
    cases += [(s, int(q)) for q in args.jpeg.split(",") if q for s in args.jpeg_scales.split(",")]
    for set_name in args.sets.split(","):
        files = sorted((BENCH / set_name).glob("*.png"))
        for scale_s, quality in cases:
            scale = int(scale_s)
            ours, bic, secs = [], [], 0.0
            for f in files:
                hr = to_tensor(Image.open(f))
                h, w = (hr.shape[1] // scale) * scale, (hr.shape[2] // scale) * scale
                hr = hr[:, :h, :w]
                lr = q8(imresize(hr.double(), 1 / scale).float())
                if quality is not None:
                    lr = jpeg(lr, quality)
                t = time.perf_counter()
                sr = q8(render(model, lr, (h, w), args.precision))
                secs += time.perf_counter() - t
                bi = q8(imresize(lr.double(), scale).float())
                ours.append(psnr(sr, hr, shave=scale))
                bic.append(psnr(bi, hr, shave=scale))
            row = {"set": set_name, "scale": scale, "degradation": f"jpeg:{quality}" if quality else "clean",
                   "model": args.model, "precision": args.precision,
                   "psnr_y": round(float(np.mean(ours)), 3), "bicubic_psnr_y": round(float(np.mean(bic)), 3),
                   "seconds": round(secs, 2)}
            row["gain_db"] = round(row["psnr_y"] - row["bicubic_psnr_y"], 3)
            print(json.dumps(row), flush=True)
            rows.append(row)
    if args.out:
        meta = {"date": datetime.date.today().isoformat(), "machine": platform.processor() or platform.machine(),
                "torch": torch.__version__, "threads": torch.get_num_threads(),
                "command": "python " + " ".join(sys.argv)}
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
