"""Export the first default model from its training checkpoint into the package.

    python scripts/export_first_model.py runs/first-model/ckpt.pt src/clearzoom/weights/clearzoom-small.safetensors
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from clearzoom.checkpoints.native import save_native  # noqa: E402
from clearzoom.models.configs import LIIF_NORMALIZATION  # noqa: E402
from clearzoom.models.pretrained import PRETRAINED  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("ckpt")
    ap.add_argument("out")
    ap.add_argument("--log", default=None, help="training log (JSONL) to summarise in provenance")
    args = ap.parse_args()
    ck = torch.load(args.ckpt, map_location="cpu", weights_only=False)
    provenance = {
        "trained_by": "scripts/train_first_model.py",
        "data": "../shared/data/train (every 20th file held out)",
        "steps": ck["step"],
        "cpu_minutes": round(ck["seconds"] / 60, 1),
        "exported": datetime.date.today().isoformat(),
    }
    if args.log:
        lines = [json.loads(x) for x in Path(args.log).read_text().splitlines() if x.strip()]
        if lines:
            provenance["final_validation"] = {k: lines[-1][k] for k in ("val_psnr_x4", "bicubic_psnr_x4")}
    save_native(args.out, spec=ck["spec"], state_dict=ck["model"], normalization=LIIF_NORMALIZATION,
                description=PRETRAINED["clearzoom-small"].description, provenance=provenance)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
