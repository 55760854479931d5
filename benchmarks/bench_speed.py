"""Inference speed: ms per output megapixel, clearzoom's engine vs the paper-style reference.

    .venv/bin/python -m benchmarks.bench_speed --out benchmarks/results/speed.json

For each model, input size (256², 1024²) and scale (×2, ×4, ×8):

* **ours**: the engine (tiled, projected first layer, chunked queries) at ``fp32`` and at the
  default precision (``auto``), rendering a centred window of the output of at most
  ``--window-mp`` megapixels (the engine encodes only the input it needs, halo included, so this
  is the cost per output pixel of a full render, or slightly more).
* **reference**: ``benchmarks/reference_liif.py`` (the official ``query_rgb`` + ``demo.py``, fp32):
  the whole input is encoded once and queries are decoded 30000 at a time; its time per output MP
  is ``encode / output_MP + (time of the first N chunks) / (their MP)``.

Both use the same weights (``--models``); warm-up runs are excluded; the median of ``--repeats``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from benchmarks.reference_liif import reference_query_rgb
from clearzoom.checkpoints import load_model
from clearzoom.coords import make_coord
from clearzoom.eval.speed import centred_window, cpu_name
from clearzoom.inference.engine import RenderOptions, render_color
from clearzoom.precision import resolve_precision

ROOT = Path(__file__).resolve().parents[1]

OFFICIAL = ROOT.parent / "shared" / "fixtures" / "liif-official" / "edsr-baseline-liif-random-seed0.pth"


def time_ours(model, x, out_hw, window, precision, repeats):
    opts = RenderOptions(precision=precision)
    times = []
    for i in range(repeats + 1):
        t = time.perf_counter()
        for _ in render_color(model, x, out_hw, window, options=opts):
            pass
        if i:  # the first run is warm-up
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def time_reference(model, x, out_hw, chunks, repeats, bsize=30000):
    net, norm = model.net, model.normalization
    h, w = out_hw
    enc_t, dec_t, n_q = [], [], 0
    with torch.no_grad():
        inp = ((x - norm.inp_sub) / norm.inp_div).unsqueeze(0)
        for i in range(repeats + 1):
            t = time.perf_counter()
            feat = net.gen_feat(inp)
            te = time.perf_counter() - t
            coord = make_coord((h, w)).unsqueeze(0)
            cell = torch.ones_like(coord)
            cell[:, :, 0] *= 2 / h
            cell[:, :, 1] *= 2 / w
            t = time.perf_counter()
            n_q = 0
            for k in range(chunks):
                s = k * bsize
                if s >= coord.shape[1]:
                    break
                q = coord[:, s : s + bsize]
                reference_query_rgb(net, feat, q, cell[:, s : s + bsize], inp)
                n_q += q.shape[1]
            td = time.perf_counter() - t
            if i:
                enc_t.append(te)
                dec_t.append(td)
    out_mp = h * w / 1e6
    return statistics.median(enc_t) / out_mp + statistics.median(dec_t) / (n_q / 1e6)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=f"paper-size={OFFICIAL},clearzoom-small=clearzoom-small")
    ap.add_argument("--sizes", default="256,1024")
    ap.add_argument("--scales", default="2,4,8")
    ap.add_argument("--window-mp", type=float, default=1.0)
    ap.add_argument("--ref-chunks", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    auto = resolve_precision("auto", torch.device("cpu"))
    rows = []
    torch.manual_seed(0)
    for spec in args.models.split(","):
        label, src = spec.split("=", 1)
        model = load_model(src)
        for size in (int(s) for s in args.sizes.split(",")):
            x = torch.rand(3, size, size)
            for scale in (int(s) for s in args.scales.split(",")):
                out_hw = (size * scale, size * scale)
                window = centred_window(out_hw, int(args.window_mp * 1e6))
                mp = window[2] * window[3] / 1e6
                row = {
                    "model": label,
                    "params_m": round(model.num_parameters / 1e6, 3),
                    "input": f"{size}x{size}",
                    "scale": scale,
                    "window_mp": round(mp, 3),
                }
                for prec in dict.fromkeys(["fp32", auto]):
                    row[f"ours_{prec}_ms_per_mp"] = round(
                        1000 * time_ours(model, x, out_hw, window, prec, args.repeats) / mp, 1
                    )
                row["reference_fp32_ms_per_mp"] = round(
                    1000 * time_reference(model, x, out_hw, args.ref_chunks, args.repeats), 1
                )
                row["speedup_fp32"] = round(row["reference_fp32_ms_per_mp"] / row["ours_fp32_ms_per_mp"], 2)
                row[f"speedup_{auto}"] = round(
                    row["reference_fp32_ms_per_mp"] / row[f"ours_{auto}_ms_per_mp"], 2
                )
                print(json.dumps(row), flush=True)
                rows.append(row)
    meta = {
        "date": datetime.date.today().isoformat(),
        "cpu": cpu_name(),
        "cores": torch.get_num_threads(),
        "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "auto_precision": auto,
        "command": "python " + " ".join(sys.argv),
    }
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
