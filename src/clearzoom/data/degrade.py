"""Degradations that make low-resolution inputs, replayable: sample parameters, then apply them.

Shared by evaluation and training. Each degradation is a frozen record of its parameters; a
:class:`Pipeline` draws them from an explicit ``torch.Generator`` (:meth:`Pipeline.sample`) and
:func:`apply` applies a list of them, so any degraded image can be reproduced from its parameters
(or from the generator's seed)::

    params = pipeline.sample(generator)          # e.g. [Jpeg(quality=31), Noise(sigma=0.01, seed=7)]
    lr = apply(lr_clean, params)                 # (3, h, w) float in [0, 1] -> same

JPEG uses Pillow (libjpeg-turbo) with 4:2:0 chroma subsampling, as cameras and the web do; a
second, non-aligned pass (shifted by a few pixels, so its 8x8 grid does not line up with the
first) models re-shared images. With ``second_order`` a share of the images goes through the chain
Real-ESRGAN uses for real photos (Wang et al., ICCV Workshops 2021): blur, resampling, Gaussian or
Poisson noise (colour or grey), JPEG, and all of it a second time.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..imageio import to_uint8

__all__ = [
    "Blur",
    "DoubleJpeg",
    "Jpeg",
    "Noise",
    "Pipeline",
    "PoissonNoise",
    "Rescale",
    "apply",
    "jpeg_compress",
    "last_jpeg_quality",
    "quantize",
]


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Round to 8-bit levels (as an image file would), staying float in [0, 1]."""
    return (x.clamp(0, 1) * 255).round() / 255


def jpeg_compress(x: torch.Tensor, quality: int, subsampling: str = "4:2:0") -> torch.Tensor:
    """Encode and decode ``(3, h, w)`` float [0, 1] as JPEG at ``quality`` (1..100)."""
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"JPEG quality must be in 1..100, got {quality}")
    arr = to_uint8(x.permute(1, 2, 0))
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=int(quality), subsampling=subsampling)
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        out = np.asarray(im.convert("RGB")).copy()
    return torch.from_numpy(out).permute(2, 0, 1).float() / 255


@dataclass(frozen=True)
class Jpeg:
    quality: int
    subsampling: str = "4:2:0"

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return jpeg_compress(x, self.quality, self.subsampling)


@dataclass(frozen=True)
class DoubleJpeg:
    """Two JPEG passes; the second on the image shifted by (dy, dx) pixels (non-aligned grids)."""

    quality1: int
    quality2: int
    dy: int = 3
    dx: int = 5

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = jpeg_compress(x, self.quality1)
        h, w = x.shape[-2:]
        dy, dx = self.dy % 8, self.dx % 8
        padded = F.pad(x[None], (dx, 0, dy, 0), mode="replicate")[0]
        return jpeg_compress(padded, self.quality2)[:, dy : dy + h, dx : dx + w]


@dataclass(frozen=True)
class Noise:
    """Additive Gaussian noise of standard deviation ``sigma`` (in [0, 1] units), then 8-bit;
    ``gray``: the same noise in every channel (luminance noise)."""

    sigma: float
    seed: int = 0
    gray: bool = False

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed)
        shape = (1, *x.shape[1:]) if self.gray else x.shape
        return quantize(x + self.sigma * torch.randn(shape, generator=g))


@dataclass(frozen=True)
class PoissonNoise:
    """Shot noise: intensities drawn as Poisson counts of 255 photons per unit, the difference to
    the image scaled by ``scale``, then 8-bit; ``gray``: drawn once, on the luma, for all channels."""

    scale: float
    seed: int = 0
    gray: bool = False

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed)
        base = (0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2])[None] if self.gray else x
        counts = torch.poisson(base.clamp(0, 1) * 255, generator=g)
        return quantize(x + self.scale * (counts / 255 - base))


_MODES = ("area", "bilinear", "bicubic")


@dataclass(frozen=True)
class Rescale:
    """Resampled to ``factor`` times its size with one interpolation and back with another: the
    softening (down) or interpolation artifacts (up) of an image resized on its way."""

    factor: float
    there: str = "area"
    back: str = "bicubic"

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        size = (max(1, round(h * self.factor)), max(1, round(w * self.factor)))

        def resample(t: torch.Tensor, hw: tuple[int, int], mode: str) -> torch.Tensor:
            corners = None if mode == "area" else False
            return F.interpolate(t, size=hw, mode=mode, align_corners=corners)

        y = resample(resample(x[None], size, self.there), (h, w), self.back)
        return quantize(y[0])


@dataclass(frozen=True)
class Blur:
    """Isotropic Gaussian blur of standard deviation ``sigma`` pixels (reflect padding)."""

    sigma: float

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.sigma <= 0:
            return x
        r = max(1, math.ceil(3 * self.sigma))
        t = torch.arange(-r, r + 1, dtype=torch.float32)
        k = torch.exp(-0.5 * (t / self.sigma) ** 2)
        k = k / k.sum()
        c = x.shape[0]
        y = F.pad(x[None], (r, r, r, r), mode="reflect")
        y = F.conv2d(y, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
        y = F.conv2d(y, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
        return quantize(y[0])


@dataclass(frozen=True)
class MotionBlur:
    """Linear motion blur: the mean along a ``length``-pixel line at ``angle`` degrees (0: along
    the rows), drawn with sub-pixel weights (bilinear splatting), reflect padding."""

    length: float
    angle: float

    def kernel(self) -> torch.Tensor:
        r = max(1, math.ceil(self.length / 2))
        k = torch.zeros(2 * r + 1, 2 * r + 1)
        a = math.radians(self.angle)
        for t in torch.linspace(-self.length / 2, self.length / 2, max(2, round(4 * self.length))):
            y, x = r - float(t) * math.sin(a), r + float(t) * math.cos(a)
            y0, x0 = math.floor(y), math.floor(x)
            fy, fx = y - y0, x - x0
            for dy, wy in ((0, 1 - fy), (1, fy)):
                for dx, wx in ((0, 1 - fx), (1, fx)):
                    if 0 <= y0 + dy <= 2 * r and 0 <= x0 + dx <= 2 * r:
                        k[y0 + dy, x0 + dx] += wy * wx
        return k / k.sum()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.length <= 1:
            return x
        k = self.kernel()
        r = k.shape[0] // 2
        c = x.shape[0]
        y = F.pad(x[None], (r, r, r, r), mode="reflect")
        return quantize(F.conv2d(y, k.view(1, 1, *k.shape).expand(c, 1, -1, -1), groups=c)[0])


Degradation = Jpeg | DoubleJpeg | Noise | PoissonNoise | Blur | MotionBlur | Rescale


def apply(x: torch.Tensor, params: list[Degradation]) -> torch.Tensor:
    """Apply degradations in order to ``(3, h, w)`` float [0, 1]."""
    for p in params:
        x = p(x)
    return x


def last_jpeg_quality(params: list[Degradation]) -> int | None:
    """The quality of the last JPEG pass in ``params`` (what the file's quantization tables
    would say), or None when there is none."""
    q = None
    for p in params:
        if isinstance(p, Jpeg):
            q = p.quality
        elif isinstance(p, DoubleJpeg):
            q = p.quality2
    return q


def _uniform(g: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * torch.rand((), generator=g).item()


@dataclass(frozen=True)
class Pipeline:
    """A random degradation recipe. Fractions are probabilities per image.

    Order: blur, noise, then JPEG (single or, with ``double_jpeg``, two non-aligned passes).
    ``clean`` is the share of images left clean (after the 8-bit rounding of the LR). Of the
    others, ``second_order`` go through two stages of blur (``blur``), resampling by a factor in
    ``rescale``, noise (``noise``; Poisson for a ``poisson`` share, grey for ``gray_noise``) and
    JPEG, as Real-ESRGAN's degradation model does. With ``second_order`` 0 the draws are those of
    the single-stage recipe, so older configs replay unchanged.
    """

    clean: float = 0.3
    jpeg_quality: tuple[int, int] = (10, 95)
    double_jpeg: float = 0.0
    noise: float = 0.0
    noise_sigma: tuple[float, float] = (0.0, 0.02)
    blur: float = 0.0
    blur_sigma: tuple[float, float] = (0.2, 1.5)
    second_order: float = 0.0
    rescale: tuple[float, float] = (0.5, 1.5)
    poisson: float = 0.0
    poisson_scale: tuple[float, float] = (0.05, 2.0)
    gray_noise: float = 0.0

    def sample(self, g: torch.Generator) -> list[Degradation]:
        """Draw one image's degradation parameters from ``g`` (the only source of randomness)."""
        if torch.rand((), generator=g).item() < self.clean:
            return []
        if self.second_order > 0 and torch.rand((), generator=g).item() < self.second_order:
            return self._stage(g) + self._stage(g)
        out: list[Degradation] = []
        if torch.rand((), generator=g).item() < self.blur:
            out.append(Blur(round(_uniform(g, *self.blur_sigma), 3)))
        if torch.rand((), generator=g).item() < self.noise:
            out.append(
                Noise(
                    round(_uniform(g, *self.noise_sigma), 4),
                    int(torch.randint(0, 2**31 - 1, (), generator=g)),
                )
            )
        lo, hi = self.jpeg_quality
        q = int(torch.randint(lo, hi + 1, (), generator=g))
        if torch.rand((), generator=g).item() < self.double_jpeg:
            q2 = int(torch.randint(lo, hi + 1, (), generator=g))
            dy, dx = (int(v) for v in torch.randint(1, 8, (2,), generator=g))
            out.append(DoubleJpeg(q, q2, dy, dx))
        else:
            out.append(Jpeg(q))
        return out

    def _stage(self, g: torch.Generator) -> list[Degradation]:
        """One stage of the second-order chain: blur, resampling, noise, JPEG."""
        out: list[Degradation] = []
        if torch.rand((), generator=g).item() < self.blur:
            out.append(Blur(round(_uniform(g, *self.blur_sigma), 3)))
        there, back = (_MODES[int(i)] for i in torch.randint(0, 3, (2,), generator=g))
        out.append(Rescale(round(_uniform(g, *self.rescale), 3), there, back))
        if torch.rand((), generator=g).item() < self.noise:
            poisson = torch.rand((), generator=g).item() < self.poisson
            gray = torch.rand((), generator=g).item() < self.gray_noise
            seed = int(torch.randint(0, 2**31 - 1, (), generator=g))
            if poisson:
                out.append(PoissonNoise(round(_uniform(g, *self.poisson_scale), 3), seed, gray))
            else:
                out.append(Noise(round(_uniform(g, *self.noise_sigma), 4), seed, gray))
        lo, hi = self.jpeg_quality
        out.append(Jpeg(int(torch.randint(lo, hi + 1, (), generator=g))))
        return out
