"""Input analysis: what kind of image this is and what restoring it involves.

    >>> a = analyze_image("photo.jpg")
    >>> a.jpeg.quality, a.jpeg.subsampling, a.blockiness
    (35, '4:2:0', 1.42)
    >>> describe_task(a, (2048, 1536))
    'JPEG-compressed photo (quality ≈ 35, 4:2:0) — enlarge ×4 to 2048×1536 and remove compression artifacts'

Measured on the stored pixels (before EXIF rotation), so that the 8x8 JPEG grid lines up.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

from .._source import DECODE_ERRORS, ImageSource, source_bytes
from ..errors import InvalidInputError, first_line
from .jpeg import JpegInfo, jpeg_info
from .signals import blockiness, noise_sigma
from .webp import WebpInfo, webp_info

__all__ = ["ImageAnalysis", "analyze_image", "describe_task"]

BLOCKY = 1.25  # blockiness above this: visible 8x8 blocking
NOISY = 4.0  # noise sigma (8-bit levels) above this: visibly noisy


@dataclass(frozen=True)
class ImageAnalysis:
    """Facts about one input image. ``width``/``height`` are as displayed (after EXIF rotation)."""

    format: str
    width: int
    height: int
    mode: str
    bit_depth: int
    has_alpha: bool
    has_icc: bool
    exif_orientation: int | None
    jpeg: JpegInfo | None
    blockiness: float | None  # 1.0 = none; see signals.blockiness
    noise: float  # estimated noise sigma in 8-bit levels
    file_bytes: int | None = None
    webp: WebpInfo | None = None  # a lossy WebP's quantizer and estimated quality

    def to_dict(self) -> dict:
        d = asdict(self)
        d["jpeg"] = self.jpeg.to_dict() if self.jpeg else None
        d["webp"] = self.webp.to_dict() if self.webp else None
        return d


def _png_bit_depth(data: bytes) -> int | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return data[24]
    return None


def _bit_depth(im: Image.Image, head: bytes) -> int:
    png = _png_bit_depth(head)
    if png is not None:
        return png
    bits = getattr(im, "tag_v2", {}).get(258) if im.format == "TIFF" else None  # BitsPerSample
    if bits:
        return int(max(bits) if isinstance(bits, tuple) else bits)
    return {"1": 1, "I;16": 16, "I;16B": 16, "I;16L": 16, "I": 32, "F": 32}.get(im.mode, 8)


def analyze_image(source: ImageSource) -> ImageAnalysis:
    """Analyse an image file (path or bytes). Raises InvalidInputError if it is not an image."""
    data, name = source_bytes(source)
    try:
        im = Image.open(io.BytesIO(data))
        # before loading: Pillow applies a TIFF's orientation (its size already says so) while
        # loading, and drops the tag
        orientation = im.getexif().get(0x0112)
        tags = getattr(im, "tag_v2", {})
        stored = (tags[256], tags[257]) if im.format == "TIFF" and 256 in tags else im.size
        im.load()
    except DECODE_ERRORS + (Image.DecompressionBombError,) as exc:
        raise InvalidInputError(f"{name}: not a readable image ({first_line(exc)})") from None
    w, h = stored
    if orientation in (5, 6, 7, 8):
        w, h = h, w
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        im.mode == "P" and "transparency" in im.info
    )
    gray = _gray_8bit(im)
    return ImageAnalysis(
        format=im.format or "unknown",
        width=w,
        height=h,
        mode=im.mode,
        bit_depth=_bit_depth(im, data[:32]),
        has_alpha=has_alpha,
        has_icc=bool(im.info.get("icc_profile")),
        exif_orientation=orientation,
        jpeg=jpeg_info(im),
        blockiness=_round(blockiness(gray)),
        noise=round(noise_sigma(gray), 3),
        file_bytes=len(data),
        webp=webp_info(data) if im.format == "WEBP" else None,
    )


def _gray_8bit(im: Image.Image) -> np.ndarray:
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im, dtype=np.float64)
        return arr / (65535.0 if arr.max() > 255 else 1.0) * (255.0 if arr.max() > 255 else 1.0)
    return np.asarray(im.convert("L"), dtype=np.float64)


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def describe_task(a: ImageAnalysis, out_size: tuple[int, int]) -> str:
    """The task in plain words, e.g. 'JPEG-compressed photo (quality ≈ 35, 4:2:0) — enlarge ×4 to
    2048×1536 and remove compression artifacts'."""
    ow, oh = out_size
    sx, sy = ow / a.width, oh / a.height
    scale = f"×{_num(sx)}" if abs(sx - sy) < 0.01 else f"×{_num(sx)}/×{_num(sy)}"
    verb = "enlarge" if max(sx, sy) > 1 else "resize"
    blocky = a.blockiness is not None and a.blockiness > BLOCKY
    if a.jpeg is not None:
        tables = "" if a.jpeg.tables_match != "custom" else ", camera/app tables"
        what = f"JPEG-compressed photo (quality ≈ {a.jpeg.quality}, {a.jpeg.subsampling}{tables})"
        if a.jpeg.quality >= 90 and not blocky:
            job = "and keep its fine detail (light compression)"
        else:
            job = "and remove compression artifacts"
    elif a.webp is not None:
        what = f"lossy WebP photo (quality ≈ {a.webp.quality_estimate})"
        job = (
            "and remove compression artifacts" if a.webp.quality_estimate < 90 else "and keep its fine detail"
        )
    else:
        what = f"{a.format} image" + (" with visible 8×8 blocking (likely a re-saved JPEG)" if blocky else "")
        job = "and remove block artifacts" if blocky else "with sharp edges"
    if a.noise > NOISY:
        what += f", noisy (σ ≈ {a.noise:.0f} levels)"
    if a.has_alpha:
        what += ", with transparency"
    return f"{what} — {verb} {scale} to {ow}×{oh} {job}"


def _num(x: float) -> str:
    return f"{x:.0f}" if abs(x - round(x)) < 0.01 else f"{x:.2f}"
