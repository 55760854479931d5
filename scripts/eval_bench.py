"""PSNR-Y of a model against bicubic on Set5/Set14, by the standard SR benchmark protocol.

    python scripts/eval_bench.py --model clearzoom-small --scales 2,3,4 --jpeg 30 \
        --out docs/results/clearzoom-small.json

The protocol is LIIF's (``clearzoom.eval.protocol``): HR cropped to a multiple of the scale;
LR = MATLAB-style bicubic, 8-bit, optionally JPEG 4:2:0; output at the HR size, 8-bit; PSNR on the
Y difference, shave = scale. The issue #3 harness (`clearzoom bench`) will supersede this script.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from clearzoom.checkpoints import load_model  # noqa: E402
from clearzoom.eval.protocol import evaluate_image, is_gray, load_rgb  # noqa: E402
from clearzoom.inference.engine import RenderOptions, resolve_precision  # noqa: E402

BENCH = Path(__file__).resolve().parents[2] / "shared" / "data" / "bench"


def evaluate(model, sets: list[str], cases: list[tuple[int, int | None]], precision: str) -> list[dict]:
    opts = RenderOptions(precision=resolve_precision(precision, torch.device("cpu")))
    rows = []
    for set_name in sets:
        files = sorted((BENCH / set_name).glob("*.png"))
        for scale, quality in cases:
            res = [evaluate_image(model, load_rgb(f), scale, jpeg_quality=quality, options=opts,
                                  gray=is_gray(f)) for f in files]
            row = {"set": set_name, "scale": scale,
                   "degradation": f"jpeg:{quality}" if quality else "clean",
                   "precision": opts.precision,
                   "psnr_y": round(float(np.mean([r.psnr_y for r in res])), 3),
                   "bicubic_psnr_y": round(float(np.mean([r.bicubic_psnr_y for r in res])), 3),
                   "seconds": round(sum(r.seconds for r in res), 2)}
            row["gain_db"] = round(row["psnr_y"] - row["bicubic_psnr_y"], 3)
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


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
    cases = [(int(s), None) for s in args.scales.split(",") if s]
    cases += [(int(s), int(q)) for q in args.jpeg.split(",") if q for s in args.jpeg_scales.split(",")]
    rows = evaluate(load_model(args.model), args.sets.split(","), cases, args.precision)
    if args.out:
        meta = {"date": datetime.date.today().isoformat(), "model": args.model,
                "torch": torch.__version__, "threads": torch.get_num_threads(),
                "command": "python " + " ".join(sys.argv)}
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
