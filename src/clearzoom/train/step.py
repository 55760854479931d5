"""One optimisation step: L1 loss on LIIF's normalised colours, backward, clip, update, EMA."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..precision import autocast
from .schedule import ema_update, lr_at
from .setup import Run

__all__ = ["train_step"]


def train_step(run: Run, batch) -> tuple[float, float]:
    """Train on ``batch`` at ``run.step`` (the counter is not advanced); returns (loss, lr)."""
    cfg, device, norm = run.cfg, run.device, run.norm
    inp = (batch.inp.to(device, non_blocking=True) - norm.inp_sub) / norm.inp_div
    if cfg.train.channels_last:
        inp = inp.contiguous(memory_format=torch.channels_last)
    coord = batch.coord.to(device, non_blocking=True)
    cell = batch.cell.to(device, non_blocking=True)
    gt = (batch.gt.to(device, non_blocking=True) - norm.gt_sub) / norm.gt_div
    lr_now = lr_at(run.step, cfg)
    for g in run.opt.param_groups:
        g["lr"] = lr_now
    strength = batch.strength.to(device, non_blocking=True)
    with autocast(run.precision, device):
        pred = run.model(inp, coord, cell, strength)
    loss = F.l1_loss(pred.float(), gt)
    run.opt.zero_grad(set_to_none=True)
    scaler = run.scaler
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.unscale_(run.opt)
    else:
        loss.backward()
    if cfg.optim.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(run.net.parameters(), cfg.optim.grad_clip)
    if scaler is not None:
        scaler.step(run.opt)
        scaler.update()
    else:
        run.opt.step()
    if run.ema is not None:
        ema_update(run.ema, run.net, cfg.optim.ema, run.step)
    return loss.item(), lr_now
