"""The learning-rate schedule, the EMA of the weights, and the training precision."""

from __future__ import annotations

import math

import torch

from ..errors import ConfigError
from ..precision import cpu_has_fast_bf16
from .config import TrainConfig

__all__ = ["ema_update", "lr_at", "resolve_train_precision"]


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate for ``step`` (0-based): linear warm-up, then the schedule over ``train.steps``."""
    o = cfg.optim
    if o.warmup_steps and step < o.warmup_steps:
        return o.lr * (step + 1) / o.warmup_steps
    if o.schedule == "step":
        return o.lr * o.gamma ** sum(step >= m for m in o.milestones)
    if o.schedule == "cosine":
        span = max(1, cfg.train.steps - o.warmup_steps)
        t = min(1.0, (step - o.warmup_steps) / span)
        lo = o.lr * o.min_lr_ratio
        return lo + (o.lr - lo) * 0.5 * (1 + math.cos(math.pi * t))
    return o.lr


def ema_update(ema: dict[str, torch.Tensor], net: torch.nn.Module, decay: float, step: int) -> None:
    """Move the EMA weights towards ``net``'s (integer buffers are copied)."""
    d = min(decay, (1 + step) / (10 + step))  # short warm-up: early EMA follows the weights
    with torch.no_grad():
        for k, v in net.state_dict().items():
            if v.dtype.is_floating_point:
                ema[k].mul_(d).add_(v.detach(), alpha=1 - d)
            else:
                ema[k].copy_(v)


def resolve_train_precision(precision: str, device: torch.device) -> str:
    """``auto`` -> bf16 on GPUs that have it (else fp16), bf16 on CPUs with native bf16, else fp32."""
    if precision != "auto":
        if precision == "fp16" and device.type != "cuda":
            raise ConfigError("train.precision: fp16 training needs a CUDA device (use fp32 or bf16)")
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "bf16" if cpu_has_fast_bf16() else "fp32"
