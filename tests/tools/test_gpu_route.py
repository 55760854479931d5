"""The GPU route of the models issue (scripts.pack_gpu_data, scripts/gpu_train_large.sh), run on
the CPU with a tiny model: the one device call must work the first time it is lent."""

import os
import re
import subprocess
import sys

import pytest
import torch
from conftest import ROOT, SHARED

from clearzoom.checkpoints import load_model
from clearzoom.eval.protocol import render_full

TINY = [
    "--set",
    "model.spec.args.encoder_spec.args.n_feats=8",
    "--set",
    "model.spec.args.encoder_spec.args.n_resblocks=1",
    "--set",
    "model.spec.args.imnet_spec.args.hidden_list=[16,16]",
    "--set",
    "data.batch=2",
    "--set",
    "data.queries=64",
    "--set",
    "data.workers=0",
    "--set",
    "data.val_every=5",
    "--set",
    "train.log_every=5",
    "--threads",
    "1",
]


@pytest.mark.slow
def test_pack_and_one_device_call_on_cpu(tmp_path):
    kit = tmp_path / "kit"
    packed = subprocess.run(
        [
            sys.executable,
            "-m",
            "scripts.pack_gpu_data",
            "--data",
            str(SHARED / "data" / "train"),
            "--out",
            str(kit / "train"),
            "--side",
            "200",
            "--budget-mb",
            "0.4",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    n = int(packed.split()[0])
    crops = sorted((kit / "train").iterdir())
    assert len(crops) == n >= 10 and sum(f.stat().st_size for f in crops) <= 0.4e6
    assert n < len(list((SHARED / "data/train").rglob("*.webp")))  # the budget stopped it

    env = {
        **os.environ,
        "OUT": str(tmp_path / "out"),
        "RUN_DIR": str(tmp_path / "run"),
        "GPUKIT": str(kit),
        "PYTHON": sys.executable,
        "PROBE_STEPS": "20",
    }
    res = subprocess.run(
        ["bash", "scripts/gpu_train_large.sh", "75", *TINY], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr[-2000:]
    planned = int(re.search(r"planning (\d+) steps", res.stdout).group(1))
    last = (tmp_path / "out/log.csv").read_text().splitlines()[-1]
    assert planned > 20 and int(last.split(",")[0]) >= planned - 5  # the cosine ran to its end
    parts = sorted((tmp_path / "out").glob("checkpoint.pt.part-*"))
    assert b"".join(p.read_bytes() for p in parts) == (tmp_path / "run/checkpoint.pt").read_bytes()
    model = load_model(tmp_path / "out/clearzoom-jpeg-large.safetensors")
    assert model.net.condition == "jpeg"
    assert "EDSR-baseline 64x16" in model.description  # the export names the paper-size model
    out = render_full(model, torch.rand(3, 12, 12), (48, 48), jpeg_quality=30)
    assert out.shape == (3, 48, 48) and torch.isfinite(out).all()
