"""Where the long runs stand against the models issue's targets, measured on Set5 and Set14.

    .venv/bin/python scripts/track_long_runs.py [--threads 1]

For runs/clearzoom-jpeg and runs/clearzoom-clean (``bash scripts/train_long.sh``): export each
run's latest checkpoint (EMA weights) to ``runs/<name>/model.safetensors``, benchmark both with
``clearzoom bench quality`` (Set5 + Set14, x2 and x4, clean and JPEG q30 LR, fp32), check the
targets of the ``clearzoom-jpeg`` card and append one record to ``runs/progress.jsonl``:
date, steps and CPU-hours of each run, PSNR-Y gains over bicubic, targets met. Safe while the
runs train (checkpoints are written atomically); takes a few minutes on one thread.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))
from make_model_card import jpeg_targets  # noqa: E402

from clearzoom.atomic import write_atomic  # noqa: E402
from clearzoom.checkpoints import load_model  # noqa: E402
from clearzoom.eval.runner import BenchConfig, psnr_cell, run_quality  # noqa: E402
from clearzoom.train import export_model  # noqa: E402

RUNS = {"jpeg": ROOT / "runs/clearzoom-jpeg", "clean": ROOT / "runs/clearzoom-clean"}
BENCH = ROOT.parent / "shared/data/bench"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    models, record = {}, {"date": datetime.datetime.now().isoformat(timespec="minutes")}
    for key, run in RUNS.items():
        ck = run / "checkpoint.pt"
        if not ck.exists():
            sys.exit(f"{ck}: no checkpoint yet (start the runs with scripts/train_long.sh)")
        dst = export_model(ck, run / "model.safetensors")
        prov = load_model(dst).provenance
        record[key] = {"steps": prov["steps"],
                       "cpu_hours": round(prov["train_cpu_seconds"] / 3600, 2)}
        models[key] = str(dst)
    # a folder per pair of checkpoints: a call that fails late resumes its finished cells
    out = Path(tempfile.gettempdir()) / (f"clearzoom-track-{record['jpeg']['steps']}-"
                                         f"{record['clean']['steps']}")
    cfg = BenchConfig(data=(BENCH / "Set5", BENCH / "Set14"), scales=(2, 4),
                      degradations=("clean", "jpeg:30"),
                      methods=("bicubic", models["jpeg"], models["clean"]),
                      out_dir=out, precision="fp32")
    rows = run_quality(cfg)
    names = {models["jpeg"]: "clearzoom-jpeg", models["clean"]: "clearzoom-clean"}
    record["gains"] = {
        f"{names[r['method']]} {r['dataset']} x{r['scale']} {r['degradation']}":
            round(r["psnr_y"] - psnr_cell(rows, "bicubic", r["dataset"], r["degradation"], r["scale"]), 3)
        for r in rows if r["method"] in names}
    targets = jpeg_targets(rows, model=models["jpeg"], twin=models["clean"])
    record["targets"] = [{"target": t, "measured": v, "met": ok} for t, v, ok in targets]
    log = ROOT / "runs/progress.jsonl"
    old = log.read_text() if log.exists() else ""
    write_atomic(log, old + json.dumps(record) + "\n")
    print(json.dumps({k: record[k] for k in ("date", "jpeg", "clean")}))
    for k, v in record["gains"].items():
        print(f"  {k}: {v:+.2f} dB over bicubic")
    for t, v, ok in targets:
        print(f"  [{'met' if ok else 'not yet'}] {t}: {v}")


if __name__ == "__main__":
    main()
