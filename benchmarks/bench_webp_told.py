"""Which JPEG quality to tell a JPEG-aware model about a lossy WebP: the calibration of
:func:`clearzoom.analysis.webp.told_quality`, on held-out training photos (not the bench sets).

    .venv/bin/python -m benchmarks.bench_webp_told --out docs/results/webp-told.json

For each WebP quality Q (``--qualities``) and each told JPEG quality T (``--told``, plus "clean"),
every photo (every 3rd of the validation split of ``../shared/data/train``, cropped to 480², 8 of
them) is downscaled x4 (MATLAB bicubic), saved as WebP Q, and restored by the default model told T.
Recorded: the mean PSNR-Y over the photos, beside the same photos saved as JPEG Q and told Q
(what a JPEG input gets). The rule in analysis/webp.py (``min(Q + 45, 90)``) is read off this
table: near each row's best, and never past a quality where restoration starts to get worse.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from clearzoom.atomic import write_atomic
    from clearzoom.checkpoints import load_model
    from clearzoom.data.degrade import quantize
    from clearzoom.eval.protocol import Degradation, load_rgb, make_lr, psnr_protocol, render_full
    from clearzoom.eval.speed import cpu_name
    from clearzoom.train.data import list_images, split_files

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qualities", default="15,30,60,80")
    ap.add_argument("--told", default="offsets:-15,0,20,35,50,65")
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = load_model()
    _, val = split_files(list_images(ROOT.parent / "shared" / "data" / "train"), 20)
    photos = val[::3][: args.images]
    offsets = [int(x) for x in args.told.split(":", 1)[1].split(",")]
    table = []
    for q in (int(x) for x in args.qualities.split(",")):
        scores: dict[str, list[float]] = {}
        for path in photos:
            hr, lr = make_lr(load_rgb(path)[:, :480, :480], 4)
            hw = tuple(hr.shape[-2:])
            webp, estimated = Degradation("webp", q).apply(lr)
            jpeg, _ = Degradation("jpeg", q).apply(lr)
            cases = {
                "jpeg told Q": (jpeg, q),
                "webp told clean": (webp, None),
                "webp, the rule": (webp, estimated),
            }
            cases.update({f"webp told {q + o}": (webp, q + o) for o in offsets if 1 <= q + o <= 100})
            for name, (inp, told) in cases.items():
                sr = quantize(render_full(model, inp, hw, jpeg_quality=told))
                scores.setdefault(name, []).append(psnr_protocol(sr, hr, 4))
        row = {"webp_quality": q, **{k: round(float(np.mean(v)), 3) for k, v in scores.items()}}
        table.append(row)
        sys.stdout.write(json.dumps(row) + "\n")
    result = {
        "date": datetime.date.today().isoformat(),
        "machine": cpu_name(),
        "photos": [str(p.relative_to(ROOT.parent / "shared")) for p in photos],
        "psnr_y_x4": table,
    }
    if args.out:
        write_atomic(args.out, json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
