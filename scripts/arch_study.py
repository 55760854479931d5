"""Architecture study: train each variant of configs/cpu-jpeg.yaml for the same CPU budget, compare.

    python scripts/arch_study.py run --budget-minutes 20 --jobs 2   # resumable; skips finished ones
    python scripts/arch_study.py report                              # -> docs/architecture-study.md

Each variant is configs/cpu-jpeg.yaml with a few keys overridden (``VARIANTS``), trained with one
thread for ``--budget-minutes`` of training CPU time (validation excluded) into runs/study/<variant>.
The report reads each run's final validation (held-out training files, PSNR-Y by the evaluation
protocol at x2/x4/x8 from clean and JPEG-q30 LR), exports the weights and measures inference speed
(ms per output megapixel, 256x256 input at x4, one thread, default precision, fresh process).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
BASE = ROOT / "configs/cpu-jpeg.yaml"
RUNS = ROOT / "runs/study"
ENC = "model.spec.args.encoder_spec.args"
MLP = "model.spec.args.imnet_spec.args.hidden_list"

VARIANTS: dict[str, tuple[str, dict]] = {
    "base": ("EDSR 32x8, MLP 128x4, unfold + ensemble + cell, bilinear skip, 1024 queries, lr 5e-4", {}),
    "no-skip": ("base without the bilinear global skip (the paper's LIIF)", {"model.spec.args.skip": None}),
    "enc-64x16": ("encoder EDSR-baseline 64x16 (the paper's)", {f"{ENC}.n_feats": 64, f"{ENC}.n_resblocks": 16}),
    "enc-16x4": ("lighter encoder 16x4", {f"{ENC}.n_feats": 16, f"{ENC}.n_resblocks": 4}),
    "mlp-256x4": ("wider decoder MLP 256x4 (the paper's)", {MLP: [256, 256, 256, 256]}),
    "mlp-64x2": ("lighter decoder MLP 64x2", {MLP: [64, 64]}),
    "no-ensemble": ("local ensemble off", {"model.spec.args.local_ensemble": False}),
    "no-unfold": ("feature unfolding off", {"model.spec.args.feat_unfold": False}),
    "queries-2304": ("2304 queries per patch (the paper's)", {"data.queries": 2304}),
    "lr-1e-3": ("learning rate 1e-3", {"optim.lr": 1.0e-3}),
    "patch-64-batch-9": ("64² patches, batch 9 (the same LR pixels per step)",
                         {"data.patch": 64, "data.batch": 9}),
}


def _finished(run: Path, budget: float) -> bool:
    """Done when its checkpoint, or (for finished runs, whose checkpoints are not committed) its
    exported model, records the whole budget of training CPU time."""
    ck, exported = run / "checkpoint.pt", run / "model.safetensors"
    if ck.exists():
        import torch

        seconds = torch.load(ck, map_location="cpu", weights_only=True)["cpu_seconds"]
    elif exported.exists():
        from clearzoom.checkpoints import load_model

        seconds = load_model(exported).provenance.get("train_cpu_seconds", 0.0)
    else:
        return False
    return seconds >= budget * 60 - 1


def command(name: str, budget: float) -> list[str]:
    run = RUNS / name
    cmd = [sys.executable, "-m", "clearzoom", "train", "--config", str(BASE), "--out", str(run),
           "--budget-minutes", str(budget), "--quiet", "--threads", "1"]
    for key, value in VARIANTS[name][1].items():
        cmd += ["--set", f"{key}={json.dumps(value)}"]
    if (run / "checkpoint.pt").exists():
        cmd += ["--resume", str(run / "checkpoint.pt")]
    return cmd


def run_all(names: list[str], budget: float, jobs: int) -> None:
    todo = [n for n in names if not _finished(RUNS / n, budget)]
    running: list[tuple[str, subprocess.Popen]] = []
    while todo or running:
        while todo and len(running) < jobs:
            name = todo.pop(0)
            (RUNS / name).mkdir(parents=True, exist_ok=True)
            logf = open(RUNS / name / "stdout.log", "a")
            print(f"start {name}", flush=True)
            running.append((name, subprocess.Popen(command(name, budget), cwd=ROOT, stdout=logf,
                                                   stderr=subprocess.STDOUT)))
        time.sleep(5)
        for name, proc in list(running):
            if proc.poll() is not None:
                print(f"done {name} (exit {proc.returncode})", flush=True)
                running.remove((name, proc))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--budget-minutes", type=float, default=20)
    r.add_argument("--jobs", type=int, default=1)
    r.add_argument("variants", nargs="*", default=list(VARIANTS))
    rep = sub.add_parser("report")
    rep.add_argument("--budget-minutes", type=float, default=20)
    args = ap.parse_args()
    if args.cmd == "run":
        unknown = set(args.variants) - set(VARIANTS)
        if unknown:
            ap.error(f"unknown variants: {', '.join(sorted(unknown))}")
        run_all(args.variants, args.budget_minutes, args.jobs)
    else:
        sys.path.insert(0, str(Path(__file__).parent))
        from arch_study_report import report

        report(VARIANTS, RUNS, args.budget_minutes)


if __name__ == "__main__":
    main()
