"""Training data: image folders, LIIF's patch sampling and the JPEG-aware degradations.

One training example (LIIF's ``sr-implicit-downsampled``, with degradations):

1. a scale ``r ~ U(data.scale)``; an HR crop of side ``round(patch * r)`` from a random image;
2. random horizontal/vertical flips and transpose;
3. LR = MATLAB-style bicubic resize of the crop to ``patch x patch``, rounded to 8 bits, then the
   degradation pipeline (clean share, JPEG 4:2:0, double JPEG, noise, blur) of
   :mod:`clearzoom.data.degrade`;
4. ``queries`` random HR pixels as targets: their coordinates, the HR cell and their colours.

Batches are a pure function of ``(seed, step, rank)``: every random draw of step ``s`` comes from a
generator seeded with those three numbers. A resumed run therefore sees exactly the batches the
uninterrupted run would have seen, with no sampler state to save, and a DataLoader may build
batches in any worker, in any order.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from PIL import Image

from ..coords import centers_of, make_coord
from ..data.degrade import Pipeline, apply, last_jpeg_quality, quantize
from ..data.resize import imresize
from ..errors import ConfigError, first_line
from ..imageio import IMAGE_EXTENSIONS, find_images, read_pixels
from ..models.liif import jpeg_strength
from .config import DataConfig, DegradeConfig

__all__ = [
    "bicubic_lr",
    "draw_scale",
    "Batch",
    "ImageStore",
    "PatchSampler",
    "StepBatches",
    "list_images",
    "split_files",
    "step_generator",
]

log = logging.getLogger(__name__)


def list_images(root: str | os.PathLike) -> list[Path]:
    """Image files under ``root`` (recursive), sorted; error if the folder is missing or empty."""
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"data.train: {root} is not a folder")
    files = find_images(root)
    if not files:
        raise ConfigError(f"data.train: no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) under {root}")
    return files


def split_files(files: list[Path], val_every: int) -> tuple[list[Path], list[Path]]:
    """``(train, val)``: every ``val_every``-th file (from the first) is held out, by file."""
    return (
        [f for i, f in enumerate(files) if i % val_every],
        [f for i, f in enumerate(files) if i % val_every == 0],
    )


def _decode(path: Path, predownscale: float, formats: tuple[str, ...] = ("JPEG",)) -> np.ndarray:
    arr, fmt = read_pixels(path)
    if predownscale > 1 and fmt in formats:
        im = Image.fromarray(arr)
        w, h = im.size
        im = im.resize(
            (max(1, round(w / predownscale)), max(1, round(h / predownscale))),
            Image.Resampling.BICUBIC,
            reducing_gap=None,
        )
        arr = np.asarray(im).copy()
    return arr


class ImageStore:
    """Training images as ``(H, W, 3)`` uint8 arrays, decoded once (``cache``) or on demand.

    Every file is opened once up front: unreadable files, and images smaller than ``min_side``
    after ``predownscale``, are logged and skipped. ``predownscale`` > 1 shrinks each source whose
    format is in ``predownscale_formats`` (bicubic, antialiased) before cropping, which removes
    most of the compression artifacts of JPEG sources so that the model does not learn to
    reproduce them (lossy WebP sources: add "WEBP").
    """

    def __init__(
        self,
        files: list[Path],
        *,
        cache: bool = True,
        predownscale: float = 1.0,
        predownscale_formats: tuple[str, ...] = ("JPEG",),
        min_side: int = 0,
    ):
        self.predownscale = predownscale
        self.predownscale_formats = tuple(f.upper() for f in predownscale_formats)
        self.cache = cache
        self.files: list[Path] = []
        self.sizes: list[tuple[int, int]] = []
        self._arrays: list[np.ndarray] = []
        self.skipped: list[tuple[Path, str]] = []
        for path in files:
            try:
                if cache:
                    arr = _decode(path, predownscale, self.predownscale_formats)
                    h, w = arr.shape[:2]
                else:
                    with Image.open(path) as im:
                        im.verify()
                    with Image.open(path) as im:
                        w, h = im.size
                        if im.format in self.predownscale_formats and predownscale > 1:
                            h, w = round(h / predownscale), round(w / predownscale)
            except (OSError, ValueError, Image.DecompressionBombError) as exc:
                reason = f"unreadable ({first_line(exc)})"
                self._skip(path, reason)
                continue
            if min(h, w) < min_side:
                self._skip(path, f"{w}x{h} is smaller than {min_side} px")
                continue
            self.files.append(path)
            self.sizes.append((h, w))
            if cache:
                self._arrays.append(arr)

    def _skip(self, path: Path, reason: str) -> None:
        log.warning("skipping training image %s: %s", path, reason)
        self.skipped.append((path, reason))

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> np.ndarray:
        if self.cache:
            return self._arrays[i]
        return _decode(self.files[i], self.predownscale, self.predownscale_formats)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self._arrays)


@dataclass
class Batch:
    """One training batch. Pixel values in [0, 1] (the loop applies the model's normalisation).

    Shapes: ``inp (B, 3, patch, patch)``, ``coord``/``cell (B, Q, 2)``, ``gt (B, Q, 3)``,
    ``strength (B,)``: each input's JPEG strength (:func:`~clearzoom.models.liif.jpeg_strength`,
    0 when clean), which a JPEG-aware model is given; ``teacher`` (batches of a teacher pack,
    :mod:`clearzoom.train.teacher`) like ``gt``.
    """

    inp: torch.Tensor
    coord: torch.Tensor
    cell: torch.Tensor
    gt: torch.Tensor
    strength: torch.Tensor
    teacher: torch.Tensor | None = None  # ``(B, Q, 3)``: a teacher's render (distillation only)

    @property
    def size(self) -> int:
        return self.inp.shape[0]

    def as_images(self, values: torch.Tensor) -> torch.Tensor:
        """Whole-patch batches (``data.whole_patches``): ``(B, Q, 3)`` values (the targets or a
        model's predictions) as ``(B, 3, side, side)`` images, Q = side² in row-major order."""
        b, q, c = values.shape
        side = int(round(q**0.5))
        if side * side != q:
            raise ValueError(f"{q} queries per example are not a whole square patch")
        return values.transpose(1, 2).reshape(b, c, side, side)


def step_generator(seed: int, step: int, rank: int, stream: int = 0) -> torch.Generator:
    """The generator every random draw of ``step`` on ``rank`` comes from (the batch's draws are
    ``stream`` 0; other streams are independent of them, for draws the step itself makes)."""
    entropy = [seed, step, rank] + ([stream] if stream else [])
    state = np.random.SeedSequence(entropy).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def draw_scale(g: torch.Generator, scale: tuple[float, float]) -> float:
    """LIIF's magnification of an example or batch: ``r ~ U(scale)``."""
    lo, hi = scale
    return lo + (hi - lo) * torch.rand((), generator=g).item()


def bicubic_lr(hr: torch.Tensor, side: int) -> torch.Tensor:
    """The ``side x side`` LR of an HR crop: MATLAB-style bicubic, rounded to 8-bit levels."""
    return quantize(imresize(hr.double(), size=(side, side)).float())


class PatchSampler:
    """Makes the training batch of any step: ``sampler.batch(step)`` (deterministic).

    With ``world_size`` processes, each rank draws ``batch // world_size`` examples from its own
    shard of the images (``store`` indices ``rank::world_size``).
    """

    def __init__(
        self,
        store: ImageStore,
        data: DataConfig,
        degrade: DegradeConfig,
        *,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
    ):
        if data.batch % world_size:
            raise ConfigError(f"data.batch: {data.batch} does not split over {world_size} processes")
        self.data = data
        self.pipeline = Pipeline(**dataclasses.asdict(degrade))  # the same fields, by design
        self.store = store
        self.seed, self.rank = seed, rank
        self.per_rank = data.batch // world_size
        max_crop = round(data.patch * data.scale[1])
        shard = range(rank, len(store), world_size)
        self.indices = [i for i in shard if min(store.sizes[i]) >= max_crop]
        if not self.indices:
            raise ConfigError(
                f"data: no training image (of {len(store)}) is at least {max_crop} px on its short "
                f"side (data.patch x data.scale max) for process {rank} of {world_size}"
            )
        if len(self.indices) < len(shard):
            log.info(
                "%d images are smaller than the largest crop (%d px) and are not sampled",
                len(shard) - len(self.indices),
                max_crop,
            )

    def batch(self, step: int) -> Batch:
        g = step_generator(self.seed, step, self.rank)
        r = (
            draw_scale(g, self.data.scale) if self.data.whole_patches else None
        )  # one scale for the whole batch
        items = [self._example(g, r) for _ in range(self.per_rank)]
        return Batch(*(torch.stack(t) for t in zip(*items)))

    def _example(self, g: torch.Generator, r: float | None):
        d = self.data
        img = self.store[self.indices[int(torch.randint(len(self.indices), (), generator=g))]]
        if r is None:
            r = draw_scale(g, self.data.scale)
        side = round(d.patch * r)
        y = int(torch.randint(img.shape[0] - side + 1, (), generator=g))
        x = int(torch.randint(img.shape[1] - side + 1, (), generator=g))
        hr = torch.from_numpy(np.ascontiguousarray(img[y : y + side, x : x + side])).permute(2, 0, 1)
        hr = hr.float().div_(255)
        if d.augment:
            flips = torch.rand(3, generator=g) < 0.5
            if flips[0]:
                hr = hr.flip(-1)
            if flips[1]:
                hr = hr.flip(-2)
            if flips[2]:
                hr = hr.transpose(-1, -2)
        lr = bicubic_lr(hr, d.patch)
        params = self.pipeline.sample(g)
        lr = apply(lr, params)
        strength = torch.tensor(jpeg_strength(last_jpeg_quality(params)))
        n = side * side
        if d.whole_patches:  # every HR pixel, row-major: the batch reshapes into images
            coord = make_coord((side, side))
            cell = torch.full((n, 2), 2 / side)
            return lr.contiguous(), coord, cell, hr.reshape(3, -1).t().contiguous(), strength
        if d.queries <= n:
            idx = torch.randperm(n, generator=g)[: d.queries]
        else:
            idx = torch.randint(n, (d.queries,), generator=g)
        iy, ix = idx // side, idx % side
        coord = torch.stack([centers_of(iy, side), centers_of(ix, side)], -1)
        cell = torch.full((d.queries, 2), 2 / side)
        gt = hr.reshape(3, -1)[:, idx].t().contiguous()
        return lr.contiguous(), coord, cell, gt, strength


class BatchSource(Protocol):
    """What makes the batch of any step (:class:`PatchSampler`, or a teacher pack's sampler)."""

    def batch(self, step: int) -> Batch: ...


class StepBatches(torch.utils.data.Dataset):
    """The batches of steps ``start .. stop-1`` as a map-style dataset (for a DataLoader)."""

    def __init__(self, sampler: BatchSource, start: int, stop: int):
        self.sampler, self.start, self.stop = sampler, start, stop

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __getitem__(self, i: int) -> Batch:
        return self.sampler.batch(self.start + i)
