"""PSNR of the default precision against exact fp32, on the shipped model (Set5/Set14).

    .venv/bin/python benchmarks/bench_precision_psnr.py --out benchmarks/results/precision_psnr.json

The engine's default CPU precision must stay within 0.05 dB of fp32 (PSNR-Y, LIIF rules).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))
from eval_bench import evaluate  # noqa: E402

from clearzoom.checkpoints import load_model  # noqa: E402
from clearzoom.inference.engine import resolve_precision  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="clearzoom-small")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    model = load_model(args.model)
    cases = [(2, None), (4, None), (4, 30)]
    auto = resolve_precision("auto", torch.device("cpu"))
    exact = evaluate(model, ["Set5", "Set14"], cases, "fp32")
    fast = evaluate(model, ["Set5", "Set14"], cases, auto)
    rows = [{"set": a["set"], "scale": a["scale"], "degradation": a["degradation"],
             "psnr_fp32": a["psnr_y"], "psnr_default": b["psnr_y"], "default": auto,
             "diff_db": round(b["psnr_y"] - a["psnr_y"], 3)} for a, b in zip(exact, fast)]
    meta = {"date": datetime.date.today().isoformat(), "model": args.model, "auto_precision": auto,
            "threads": torch.get_num_threads(), "torch": torch.__version__,
            "command": "python " + " ".join(sys.argv)}
    print(json.dumps(rows, indent=1))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
