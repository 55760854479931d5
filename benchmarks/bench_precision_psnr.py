"""PSNR of the default precision against exact fp32, on the default model (Set5/Set14).

    .venv/bin/python -m benchmarks.bench_precision_psnr --out benchmarks/results/precision_psnr.json

The engine's default CPU precision must stay within 0.05 dB of fp32 (PSNR-Y, LIIF rules). The
default depends on the CPU (int8 decoder on AVX2, bf16 autocast with native bf16); ``--precision``
measures another one, e.g. ``--precision bf16 --out benchmarks/results/precision_psnr_bf16.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import torch

from clearzoom.checkpoints import load_model
from clearzoom.eval.protocol import evaluate_image, is_gray, load_rgb
from clearzoom.inference.engine import RenderOptions
from clearzoom.models.pretrained import DEFAULT_MODEL
from clearzoom.precision import cpu_has_fast_bf16, resolve_precision

ROOT = Path(__file__).resolve().parents[1]

BENCH = ROOT.parent / "shared" / "data" / "bench"


def evaluate(model, sets: list[str], cases: list[tuple[int, int | None]], precision: str) -> list[dict]:
    """Mean PSNR-Y (LIIF rules) per (set, scale, JPEG quality) in ``precision``."""
    import numpy as np

    opts = RenderOptions(precision=resolve_precision(precision, torch.device("cpu")))
    rows = []
    for set_name in sets:
        files = sorted((BENCH / set_name).glob("*.png"))
        for scale, quality in cases:
            res = [
                evaluate_image(model, load_rgb(f), scale, jpeg_quality=quality, options=opts, gray=is_gray(f))
                for f in files
            ]
            rows.append(
                {
                    "set": set_name,
                    "scale": scale,
                    "degradation": f"jpeg:{quality}" if quality else "clean",
                    "psnr_y": round(float(np.mean([r.psnr_y for r in res])), 3),
                }
            )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=DEFAULT_MODEL, help="a model name or file (default: %(default)s)")
    ap.add_argument("--precision", default="auto", help="the precision compared with fp32")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    model = load_model(args.model)
    cases = [(2, None), (4, None), (4, 30)]
    cpu = torch.device("cpu")
    compared = resolve_precision(args.precision, cpu)
    exact = evaluate(model, ["Set5", "Set14"], cases, "fp32")
    fast = evaluate(model, ["Set5", "Set14"], cases, compared)
    rows = [
        {
            "set": a["set"],
            "scale": a["scale"],
            "degradation": a["degradation"],
            "psnr_fp32": a["psnr_y"],
            "psnr_default": b["psnr_y"],
            "default": compared,
            "diff_db": round(b["psnr_y"] - a["psnr_y"], 3),
        }
        for a, b in zip(exact, fast)
    ]
    meta = {
        "date": datetime.date.today().isoformat(),
        "model": args.model,
        "auto_precision": resolve_precision("auto", cpu),
        "compared": compared,
        "cpu_bf16": cpu_has_fast_bf16(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "command": "python " + " ".join(sys.argv),
    }
    print(json.dumps(rows, indent=1))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
