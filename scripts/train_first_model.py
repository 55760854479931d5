"""Train clearzoom's first default model: a small LIIF on ../shared/data/train (simple loop).

This is the deliberately simple loop of the core issue (the full training pipeline replaces it).
It is resumable: run the same command again and it continues from ``--out/ckpt.pt``.

    python scripts/train_first_model.py --minutes 45 --threads 1 --out runs/first-model

Recipe: EDSR 32 ch x 8 blocks encoder, MLP 128 x 4, bilinear global skip; 48x48 LR patches,
scale r ~ U(1, 4), HR crop round(48 r), LR made by MATLAB-style bicubic imresize and quantised to
8 bits; half of the LR patches JPEG-compressed (quality ~ U(15, 95), 4:2:0); flips/transpose;
1024 query pixels per patch; batch 16; L1; Adam 5e-4 with cosine decay over the planned steps.
Validation: every 20th training file is held out; PSNR (RGB, shave 4) at x4 from clean LR on
192x192 centre crops, against MATLAB-bicubic upsampling of the same LR.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from clearzoom.coords import make_coord  # noqa: E402
from clearzoom.data.degrade import jpeg_compress, quantize  # noqa: E402
from clearzoom.data.resize import imresize  # noqa: E402
from clearzoom.eval.metrics import psnr  # noqa: E402
from clearzoom.models import registry  # noqa: E402

SPEC = {
    "name": "liif",
    "args": {
        "encoder_spec": {"name": "edsr-baseline",
                         "args": {"n_resblocks": 8, "n_feats": 32, "no_upsampling": True}},
        "imnet_spec": {"name": "mlp", "args": {"out_dim": 3, "hidden_list": [128, 128, 128, 128]}},
        "skip": "bilinear",
    },
}
PATCH, BATCH, QUERIES = 48, 16, 1024
EXTS = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}


def list_images(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in EXTS)


def load(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def sample(images: list[np.ndarray], rng: random.Random):
    inps, coords, cells, gts = [], [], [], []
    for _ in range(BATCH):
        r = rng.uniform(1, 4)
        hr_size = round(PATCH * r)
        while True:
            img = images[rng.randrange(len(images))]
            if min(img.shape[:2]) >= hr_size:
                break
        y = rng.randrange(img.shape[0] - hr_size + 1)
        x = rng.randrange(img.shape[1] - hr_size + 1)
        hr = torch.from_numpy(img[y:y + hr_size, x:x + hr_size].copy()).permute(2, 0, 1).float() / 255
        if rng.random() < 0.5:
            hr = hr.flip(-1)
        if rng.random() < 0.5:
            hr = hr.flip(-2)
        if rng.random() < 0.5:
            hr = hr.transpose(-1, -2)
        lr = quantize(imresize(hr.double(), size=(PATCH, PATCH)).float())
        if rng.random() < 0.5:
            lr = jpeg_compress(lr, rng.randint(15, 95))
        coord = make_coord((hr_size, hr_size))
        idx = torch.tensor(rng.sample(range(hr_size * hr_size), QUERIES))
        rgb = hr.reshape(3, -1).t()[idx]
        inps.append(lr)
        coords.append(coord[idx])
        cells.append(torch.tensor([2 / hr_size, 2 / hr_size]).expand(QUERIES, 2))
        gts.append(rgb)
    stack = torch.stack
    return (stack(inps) - 0.5) / 0.5, stack(coords), stack(cells), (stack(gts) - 0.5) / 0.5


def validate(model, val: list[np.ndarray], scale: int = 4, crop: int = 192) -> dict:
    psnr_m, psnr_b = [], []
    model.eval()
    with torch.no_grad():
        for img in val:
            h, w = img.shape[:2]
            y, x = (h - crop) // 2, (w - crop) // 2
            hr = torch.from_numpy(img[y:y + crop, x:x + crop].copy()).permute(2, 0, 1).float() / 255
            lr = quantize(imresize(hr.double(), 1 / scale).float())
            coord = make_coord((crop, crop))[None]
            cell = torch.full_like(coord, 2 / crop)
            inp = ((lr - 0.5) / 0.5)[None]
            pred = model(inp, coord, cell)[0] * 0.5 + 0.5
            sr = quantize(pred.t().reshape(3, crop, crop))
            bic = quantize(imresize(lr.double(), scale).float())
            for out, acc in ((sr, psnr_m), (bic, psnr_b)):
                acc.append(psnr(out, hr, shave=scale, y_channel=False))
    model.train()
    return {"val_psnr_x4": float(np.mean(psnr_m)), "bicubic_psnr_x4": float(np.mean(psnr_b))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/train"))
    ap.add_argument("--out", default="runs/first-model")
    ap.add_argument("--minutes", type=float, default=45)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--total-steps", type=int, default=6000, help="length of the cosine schedule")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    files = list_images(Path(args.data))
    val_files, train_files = files[::20], [f for i, f in enumerate(files) if i % 20]
    images = [load(p) for p in train_files]
    val = [load(p) for p in val_files[:12]]
    print(f"{len(images)} training images, {len(val)} validation images", flush=True)

    torch.manual_seed(args.seed)
    model = registry.make(SPEC)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    step, used_seconds = 0, 0.0
    rng = random.Random(args.seed)
    ckpt_path = out / "ckpt.pt"
    if ckpt_path.exists():
        ck = torch.load(ckpt_path, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        step, used_seconds = ck["step"], ck["seconds"]
        rng.setstate(ck["py_rng"])
        torch.set_rng_state(ck["torch_rng"])
        print(f"resumed at step {step} ({used_seconds / 60:.1f} min)", flush=True)

    def save() -> None:
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
                    "seconds": used_seconds, "py_rng": rng.getstate(),
                    "torch_rng": torch.get_rng_state(), "spec": SPEC}, tmp)
        os.replace(tmp, ckpt_path)

    log = open(out / "log.jsonl", "a")
    budget = args.minutes * 60
    last_save = last_val = time.time()
    t0, steps0 = time.time(), step
    losses = []
    while used_seconds < budget:
        ts = time.time()
        lr_now = args.lr * 0.5 * (1 + math.cos(math.pi * min(step / args.total_steps, 1.0)))
        for g in opt.param_groups:
            g["lr"] = lr_now
        inp, coord, cell, gt = sample(images, rng)
        pred = model(inp, coord, cell)
        loss = F.l1_loss(pred, gt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        used_seconds += time.time() - ts
        losses.append(loss.item())
        now = time.time()
        if now - last_val > 300 or used_seconds >= budget:
            rec = {"step": step, "minutes": used_seconds / 60, "loss": float(np.mean(losses)),
                   "lr": lr_now, "steps_per_s": (step - steps0) / (now - t0), **validate(model, val)}
            losses = []
            print(json.dumps(rec), flush=True)
            log.write(json.dumps(rec) + "\n")
            log.flush()
            last_val = now
        if now - last_save > 180 or used_seconds >= budget:
            save()
            last_save = now
    save()


if __name__ == "__main__":
    main()
