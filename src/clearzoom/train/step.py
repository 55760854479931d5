"""One optimisation step: L1 loss on LIIF's normalised colours, backward, clip, update, EMA; in a
perceptual run also the adversarial, feature-matching and spectrum terms, then a discriminator step."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..precision import autocast
from .adversarial import (
    cell_phase_loss,
    discriminator_loss,
    feature_matching_loss,
    frequency_loss,
    generator_adversarial_loss,
)
from .data import step_generator
from .schedule import ema_update, lr_at
from .setup import Run

__all__ = ["train_step"]


def train_step(run: Run, batch) -> tuple[float, float, dict[str, float]]:
    """Train on ``batch`` at ``run.step`` (the counter is not advanced); returns (the generator's
    loss, the learning rate, the loss terms of a perceptual run)."""
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
    terms: dict[str, float] = {}
    if run.disc is not None:
        fake, real = _disc_view(run, batch.as_images(pred.float()), batch.as_images(gt))
        loss, terms = _generator_loss(run, loss, fake, real)
        if batch.teacher is not None and cfg.perceptual.distill > 0:
            target = (batch.teacher.to(device, non_blocking=True) - norm.gt_sub) / norm.gt_div
            distill = F.l1_loss(pred.float(), target)
            loss = loss + cfg.perceptual.distill * distill
            terms["distill"] = distill.item()
        if cfg.perceptual.periodicity > 0:
            phase = cell_phase_loss(
                batch.as_images(pred.float()), batch.as_images(gt), coord, tuple(batch.inp.shape[-2:])
            )
            loss = loss + cfg.perceptual.periodicity * phase
            terms["periodicity"] = phase.item()
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
    if run.disc is not None:
        terms["d_loss"] = _discriminator_step(run, fake.detach(), real)
    return loss.item(), lr_now, terms


def _disc_view(run: Run, fake: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """What the discriminator judges: both images cropped by the same random offset below
    ``perceptual.shift`` pixels (drawn from the step's own stream, so resumption stays exact),
    then padded to multiples of 8."""
    shift = run.cfg.perceptual.shift
    if shift > 1:
        g = step_generator(run.cfg.seed, run.step, run.d.rank, stream=1)
        dy, dx = (int(v) for v in torch.randint(0, shift, (2,), generator=g))
        fake, real = fake[..., dy:, dx:], real[..., dy:, dx:]
    return _pad8(fake), _pad8(real)


def _pad8(img: torch.Tensor) -> torch.Tensor:
    """Reflect-pad the right and bottom to multiples of 8 (what the discriminator needs)."""
    h, w = img.shape[-2:]
    return F.pad(img, (0, -w % 8, 0, -h % 8), mode="reflect") if h % 8 or w % 8 else img


def _generator_loss(
    run: Run, l1: torch.Tensor, fake: torch.Tensor, real: torch.Tensor
) -> tuple[torch.Tensor, dict[str, float]]:
    """The weighted sum of the pixel L1 and the perceptual terms (the discriminator is frozen for
    it: gradients reach the generator through it, not its weights)."""
    pc, disc = run.cfg.perceptual, run.disc
    assert disc is not None
    disc.requires_grad_(False)
    try:
        fake_logits, fake_feats = disc(fake, features=True)
        adv = generator_adversarial_loss(fake_logits)
        total = pc.l1 * l1 + pc.adversarial * adv
        terms = {"l1": l1.item(), "g_adv": adv.item()}
        if pc.feature_matching > 0:
            with torch.no_grad():
                _, real_feats = disc(real, features=True)
            fm = feature_matching_loss(fake_feats, real_feats)
            total = total + pc.feature_matching * fm
            terms["feature_matching"] = fm.item()
        if pc.frequency > 0:
            freq = frequency_loss(fake, real)
            total = total + pc.frequency * freq
            terms["frequency"] = freq.item()
    finally:
        disc.requires_grad_(True)
    return total, terms


def _discriminator_step(run: Run, fake: torch.Tensor, real: torch.Tensor) -> float:
    assert run.disc is not None and run.opt_d is not None
    loss = discriminator_loss(run.disc(real), run.disc(fake))
    run.opt_d.zero_grad(set_to_none=True)
    loss.backward()
    run.opt_d.step()
    return loss.item()
