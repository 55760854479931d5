"""The SR benchmark protocol (LIIF's), as functions: make the LR input, render, measure.

* HR cropped to a multiple of the (integer) scale;
* LR = MATLAB-style bicubic ``imresize`` by 1/scale, rounded to 8 bits; optionally JPEG (Pillow,
  4:2:0) or lossy WebP (Pillow's libwebp) at a given quality (:class:`Degradation`);
* the model renders the HR size, rounded to 8 bits; bicubic = MATLAB-style bicubic upsampling of
  the same LR;
* PSNR on the Y difference with shave = scale (benchmark sets), see :mod:`.metrics`; a grey
  source image (Set14 ``bridge``) is measured on its grey values (the output's ITU-R 601 luma
  against the grey HR), as the standard benchmark numbers do -- measuring it through the Y
  conversion instead would shift Set14's mean by about +0.09 dB at x4.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..analysis.webp import told_quality, webp_info
from ..coords import size_hw
from ..data.degrade import jpeg_compress, quantize
from ..data.resize import imresize
from ..imageio import read_pixels, to_uint8
from ..inference.engine import RenderOptions, render_color
from ..models.model import Model
from .metrics import psnr, to_y

__all__ = [
    "Degradation",
    "ImageResult",
    "bicubic_up",
    "evaluate_image",
    "is_gray",
    "load_rgb",
    "luma",
    "make_lr",
    "measured_channel",
    "psnr_div2k",
    "psnr_matlab",
    "psnr_protocol",
    "render_full",
]


def load_rgb(path: str | Path) -> torch.Tensor:
    """An image file as ``(3, H, W)`` float [0, 1] (grey images replicated)."""
    return torch.from_numpy(read_pixels(path)[0]).permute(2, 0, 1).float() / 255


def is_gray(path: str | Path) -> bool:
    """True for a single-channel (grey) image file."""
    with Image.open(path) as im:
        return im.mode in ("L", "LA", "I", "I;16", "1")


def luma(img: torch.Tensor) -> torch.Tensor:
    """ITU-R 601 luma of ``(3, H, W)`` [0, 1], full range (as Pillow's RGB -> L). ``(H, W)``."""
    img = img.double()
    return 0.299 * img[0] + 0.587 * img[1] + 0.114 * img[2]


def measured_channel(img: torch.Tensor, gray: bool) -> torch.Tensor:
    """The channel SSIM and PSNR-B are measured on: Y (rgb2ycbcr) or, for grey sources, luma."""
    return luma(img) if gray else to_y(img)


def psnr_protocol(sr: torch.Tensor, hr: torch.Tensor, scale: int, gray: bool = False) -> float:
    """PSNR by the benchmark rules: Y of the difference, or grey values for grey sources."""
    if gray:
        return psnr(luma(sr)[None], hr[:1].double(), shave=scale, y_channel=False)
    return psnr(sr, hr, shave=scale)


def psnr_matlab(sr: torch.Tensor, hr: torch.Tensor, scale: int, gray: bool = False) -> float:
    """PSNR as the classic MATLAB evaluation scripts compute it (the "standard" bicubic values):
    ``rgb2ycbcr`` on 8-bit images, so Y is *rounded* to 8 bits, then PSNR on Y, shave = scale.
    Grey sources are measured on their 8-bit grey values."""

    def y8(img: torch.Tensor) -> torch.Tensor:
        if gray:
            return (luma(img) * 255).round()
        return (to_y(img) * 255).round()

    return psnr(y8(sr)[None] / 255, y8(hr)[None] / 255, shave=scale, y_channel=False)


def psnr_div2k(sr: torch.Tensor, hr: torch.Tensor, scale: int) -> float:
    """LIIF's DIV2K rule: PSNR on RGB, shave = scale + 6."""
    return psnr(sr, hr, shave=scale + 6, y_channel=False)


@dataclass(frozen=True)
class Degradation:
    """How a benchmark's LR input is compressed: ``clean``, ``jpeg`` or ``webp`` at ``quality``."""

    kind: str = "clean"
    quality: int | None = None

    def apply(self, lr: torch.Tensor) -> tuple[torch.Tensor, int | None]:
        """``(compressed LR, the JPEG quality a JPEG-aware model is told)``. A JPEG's quality is
        what ``clearzoom upscale`` reads from its tables; a WebP's is what it estimates from the
        file's VP8 header (:mod:`clearzoom.analysis.webp`), from the very bytes encoded here."""
        if self.kind == "clean" or self.quality is None:
            return lr, None
        if self.kind == "jpeg":
            return jpeg_compress(lr, self.quality), self.quality
        buf = io.BytesIO()
        Image.fromarray(to_uint8(lr.permute(1, 2, 0))).save(buf, "WEBP", quality=self.quality)
        info = webp_info(buf.getvalue())
        with Image.open(buf) as im:
            out = torch.from_numpy(np.asarray(im.convert("RGB")).copy()).permute(2, 0, 1).float() / 255
        return out, told_quality(info.quality_estimate) if info is not None else None


def make_lr(
    hr: torch.Tensor, scale: int, jpeg_quality: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(hr_cropped, lr)``: HR cropped to a multiple of ``scale``, LR by the protocol."""
    h, w = (hr.shape[1] // scale) * scale, (hr.shape[2] // scale) * scale
    hr = hr[:, :h, :w]
    lr = quantize(imresize(hr.double(), 1 / scale).float())
    if jpeg_quality is not None:
        lr = jpeg_compress(lr, jpeg_quality)
    return hr, lr


def bicubic_up(lr: torch.Tensor, out_hw: tuple[int, int]) -> torch.Tensor:
    """The protocol's bicubic baseline: MATLAB-style bicubic upsampling of ``lr`` to ``out_hw``
    (float, not rounded; :func:`quantize` it as the model's output is)."""
    return imresize(lr.double(), size=out_hw).float()


def render_full(
    model: Model,
    lr: torch.Tensor,
    out_hw: tuple[int, int],
    options: RenderOptions = RenderOptions(),
    *,
    jpeg_quality: int | None = None,
) -> torch.Tensor:
    """The whole ``out_hw`` render of ``lr`` as one ``(3, H, W)`` tensor (not clipped).

    ``jpeg_quality``: the quality ``lr`` was JPEG-compressed at, for JPEG-aware models (the
    benchmark knows it, as ``clearzoom upscale`` reads it from a JPEG file's tables)."""
    out = torch.empty(3, *out_hw)
    for tile, rgb in render_color(model, lr, out_hw, options=options, jpeg_quality=jpeg_quality):
        y0, x0, h, w = tile.out_window
        out[:, y0 : y0 + h, x0 : x0 + w] = rgb
    return out


@dataclass(frozen=True)
class ImageResult:
    psnr_y: float
    bicubic_psnr_y: float
    seconds: float


def evaluate_image(
    model: Model,
    hr: torch.Tensor,
    scale: int,
    *,
    jpeg_quality: int | None = None,
    options: RenderOptions = RenderOptions(),
    gray: bool = False,
) -> ImageResult:
    """PSNR-Y of the model and of bicubic on one HR image, by the protocol."""
    hr, lr = make_lr(hr, scale, jpeg_quality)
    hw = size_hw(hr)
    t = time.perf_counter()
    sr = quantize(render_full(model, lr, hw, options, jpeg_quality=jpeg_quality))
    secs = time.perf_counter() - t
    bic = quantize(bicubic_up(lr, hw))
    return ImageResult(psnr_protocol(sr, hr, scale, gray), psnr_protocol(bic, hr, scale, gray), secs)
