"""Validation during training, by the evaluation protocol (:mod:`clearzoom.eval.protocol`).

Held-out training files, centre-cropped to ``crop x crop`` HR pixels; for each scale and input
quality: LR by MATLAB-style bicubic (8-bit, optionally JPEG 4:2:0), the model renders the HR size,
PSNR-Y with shave = scale. Bicubic upsampling of the same LR is measured once, beside it.
Keys look like ``x4`` (clean LR) and ``x4_q30`` (JPEG q30 LR).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..coords import size_hw
from ..data.degrade import quantize
from ..eval.protocol import bicubic_up, load_rgb, make_lr, psnr_protocol, render_full
from ..inference.engine import RenderOptions
from ..models.model import Model
from .config import ValidateConfig

__all__ = ["ValidationSet", "case_key"]

log = logging.getLogger(__name__)


def case_key(scale: int, quality: int | None) -> str:
    return f"x{scale}" if quality is None else f"x{scale}_q{quality}"


@dataclass
class _Case:
    key: str
    scale: int
    quality: int | None
    lrs: list[torch.Tensor]
    hrs: list[torch.Tensor]
    bicubic_psnr: float


class ValidationSet:
    """Validation crops with their LR inputs and bicubic baselines, prepared once."""

    def __init__(self, files: list[Path], cfg: ValidateConfig, max_images: int):
        crops: list[torch.Tensor] = []
        for path in files:
            if len(crops) >= max_images:
                break
            try:
                img = load_rgb(path)
            except OSError as exc:
                log.warning("skipping validation image %s: %s", path, exc)
                continue
            h, w = img.shape[-2:]
            if min(h, w) < cfg.crop:
                continue
            y, x = (h - cfg.crop) // 2, (w - cfg.crop) // 2
            crops.append(img[:, y : y + cfg.crop, x : x + cfg.crop].contiguous())
        self.num_images = len(crops)
        self.cases: list[_Case] = []
        for scale in cfg.scales:
            for q in cfg.jpeg_quality:
                pairs = [make_lr(hr, scale, q) for hr in crops]
                hrs = [p[0] for p in pairs]
                lrs = [p[1] for p in pairs]
                bic = [
                    psnr_protocol(quantize(bicubic_up(lr, size_hw(hr))), hr, scale)
                    for lr, hr in zip(lrs, hrs)
                ]
                self.cases.append(
                    _Case(
                        case_key(scale, q), scale, q, lrs, hrs, float(np.mean(bic)) if bic else float("nan")
                    )
                )

    def bicubic(self) -> dict[str, float]:
        return {c.key: c.bicubic_psnr for c in self.cases}

    def evaluate(self, model: Model, device: torch.device) -> dict[str, float]:
        """``{key: PSNR-Y}`` for every case, plus ``l1`` (mean absolute error in [0, 1], all cases)."""
        options = RenderOptions(device=device, precision="fp32")
        out: dict[str, float] = {}
        l1s = []
        for case in self.cases:
            ps = []
            for lr, hr in zip(case.lrs, case.hrs):
                sr = quantize(render_full(model, lr, size_hw(hr), options, jpeg_quality=case.quality))
                ps.append(psnr_protocol(sr, hr, case.scale))
                l1s.append(float((sr - hr).abs().mean()))
            out[case.key] = float(np.mean(ps)) if ps else float("nan")
        out["l1"] = float(np.mean(l1s)) if l1s else float("nan")
        return out
