"""Degradations by task, for task-steered training and evaluation (the Instruct-IPT issue).

A task mix (a subset of ``jpeg``, ``noise``, ``blur``) decides which degradations an image gets,
always in the order a camera and a web page apply them: blur (optics, focus, shake), then noise
(the sensor), then JPEG (the file). Parameters are drawn from an explicit generator and returned,
so every draw replays (as :class:`~clearzoom.data.degrade.Pipeline`'s do).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch

from .degrade import Blur, Degradation, Jpeg, MotionBlur, Noise, PoissonNoise, _uniform

__all__ = ["TASK_NAMES", "TaskMix"]

TASK_NAMES = ("jpeg", "noise", "blur")


@dataclass(frozen=True)
class TaskMix:
    """How each task degrades an image.

    ``noise``: Gaussian of σ in ``noise_sigma`` (0–1 units: 25/255 at most), or for a ``poisson``
    share shot noise scaled by ``poisson_scale``. ``blur``: Gaussian of σ in ``blur_sigma`` pixels,
    or for a ``motion`` share a straight motion blur of ``motion_length`` pixels at any angle.
    ``jpeg``: one pass at a quality in ``jpeg_quality``. ``task_rate``: the chance of each task in
    :meth:`draw_tasks` (so a share of images is clean and a share carries several tasks).
    """

    noise_sigma: tuple[float, float] = (2 / 255, 25 / 255)
    poisson: float = 0.3
    poisson_scale: tuple[float, float] = (0.5, 2.0)
    blur_sigma: tuple[float, float] = (0.5, 2.0)
    motion: float = 0.3
    motion_length: tuple[float, float] = (3.0, 9.0)
    jpeg_quality: tuple[int, int] = (10, 95)
    task_rate: float = 0.5

    def draw_tasks(self, g: torch.Generator) -> tuple[str, ...]:
        """A random task mix: each task with probability ``task_rate``."""
        return tuple(t for t in TASK_NAMES if torch.rand((), generator=g).item() < self.task_rate)

    def sample(self, g: torch.Generator, tasks: Iterable[str]) -> list[Degradation]:
        """The degradations of one image with these tasks, drawn from ``g``."""
        tasks = set(tasks)
        unknown = tasks - set(TASK_NAMES)
        if unknown:
            raise ValueError(f"unknown task(s) {sorted(unknown)}: the tasks are {', '.join(TASK_NAMES)}")
        out: list[Degradation] = []
        if "blur" in tasks:
            if torch.rand((), generator=g).item() < self.motion:
                angle = round(_uniform(g, 0.0, 180.0), 1)
                out.append(MotionBlur(round(_uniform(g, *self.motion_length), 2), angle))
            else:
                out.append(Blur(round(_uniform(g, *self.blur_sigma), 3)))
        if "noise" in tasks:
            poisson = torch.rand((), generator=g).item() < self.poisson
            seed = int(torch.randint(0, 2**31 - 1, (), generator=g))
            if poisson:
                out.append(PoissonNoise(round(_uniform(g, *self.poisson_scale), 3), seed))
            else:
                out.append(Noise(round(_uniform(g, *self.noise_sigma), 4), seed))
        if "jpeg" in tasks:
            lo, hi = self.jpeg_quality
            out.append(Jpeg(int(torch.randint(lo, hi + 1, (), generator=g))))
        return out
