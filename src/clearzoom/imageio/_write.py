"""The one image writer: a PIL image or a uint16 array to bytes or, atomically, to a file."""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..atomic import write_atomic
from ..errors import InvalidInputError
from ._convert import to_uint8
from ._deep import png16_bytes, tiff16_bytes
from ._files import output_format
from ._meta import ImageMeta

__all__ = ["encode_image", "write_image"]

_log = logging.getLogger(__name__)
_NO_META = ImageMeta()


def write_image(
    image: Image.Image | np.ndarray,
    path: str | os.PathLike,
    *,
    meta: ImageMeta | None = None,
    jpeg_quality: int = 95,
    overwrite: bool = False,
) -> Path:
    """Write ``image`` to ``path`` atomically, the format from its extension, keeping ``meta``'s
    ICC profile, EXIF and dpi where the format allows.

    A numpy uint16 ``(h, w, c)`` array is written as a 16-bit PNG or TIFF (other formats: rounded to
    8 bit, with a warning).

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is false.
        InvalidInputError: an unknown extension, or an image the format cannot hold.
    """
    path = Path(path)
    fmt = output_format(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: exists (pass overwrite=True / --overwrite to replace it)")
    try:
        data = encode_image(image, fmt, meta=meta, jpeg_quality=jpeg_quality)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{path}: {exc}") from None
    write_atomic(path, data)
    return path


def encode_image(
    image: Image.Image | np.ndarray, fmt: str, *, meta: ImageMeta | None = None, jpeg_quality: int = 95
) -> bytes:
    """The bytes of ``image`` in Pillow format ``fmt`` (PNG, JPEG, WEBP, TIFF, BMP), ``meta``'s
    ICC profile, EXIF and dpi kept where the format allows. A uint16 ``(h, w, c)`` array becomes
    a 16-bit PNG or TIFF."""
    meta = meta or _NO_META
    if isinstance(image, np.ndarray):
        if fmt == "PNG":
            return png16_bytes(image, meta.icc_profile, meta.exif, meta.dpi)
        if fmt == "TIFF":
            return tiff16_bytes(image, meta.icc_profile, meta.exif, meta.dpi)
        _log.warning("%s holds 8 bits per channel: the 16-bit result is rounded to 8 bit", fmt)
        image = _pil_8bit(image)
    return _pil_bytes(image, fmt, meta, jpeg_quality)


def _pil_8bit(arr: np.ndarray) -> Image.Image:
    """A uint16 ``(h, w, c)`` array as an 8-bit PIL image (L, LA, RGB or RGBA)."""
    a8 = to_uint8(arr)
    c = a8.shape[2]
    return Image.fromarray(a8[:, :, 0] if c == 1 else a8, mode={1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[c])


def _pil_bytes(im: Image.Image, fmt: str, meta: ImageMeta, quality: int) -> bytes:
    if im.mode == "I;16" and fmt not in ("PNG", "TIFF"):
        _log.warning("%s holds 8 bits per channel: the 16-bit result is rounded to 8 bit", fmt)
        im = _pil_8bit(np.asarray(im, dtype=np.uint16)[:, :, None])
    if fmt in ("JPEG", "BMP") and im.mode in ("RGBA", "LA", "P"):
        raise InvalidInputError(f"{fmt} cannot store transparency: write PNG, WebP or TIFF")
    kw: dict[str, Any] = {}
    icc = meta.icc_profile or im.info.get("icc_profile")
    dpi = meta.dpi or im.info.get("dpi")
    if im.mode == "CMYK" and fmt not in ("JPEG", "TIFF"):
        im, icc = _cmyk_to_srgb(im, icc)
    if icc and fmt in ("PNG", "JPEG", "WEBP", "TIFF"):
        kw["icc_profile"] = icc
    if meta.exif and fmt in ("PNG", "JPEG", "WEBP", "TIFF"):
        kw["exif"] = meta.exif
    if dpi and fmt in ("PNG", "JPEG", "TIFF", "BMP"):
        kw["dpi"] = tuple(float(v) for v in dpi) if fmt == "TIFF" else tuple(round(v) for v in dpi)
    if fmt == "JPEG":
        kw.update(quality=int(quality), subsampling="4:2:0" if quality < 90 else "4:4:4")
    elif fmt == "WEBP":
        kw.update(quality=int(quality))
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _cmyk_to_srgb(im: Image.Image, icc: bytes | None) -> tuple[Image.Image, bytes | None]:
    """A CMYK image for a format without CMYK: sRGB through its ICC profile when it has a CMYK one
    (the profile then no longer applies and is dropped), else Pillow's plain conversion."""
    if icc:
        from PIL import ImageCms

        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            if src.profile.xcolor_space.strip() == "CMYK":
                srgb = ImageCms.createProfile("sRGB")
                converted = ImageCms.profileToProfile(im, src, srgb, outputMode="RGB")
                if converted is not None:  # None only when converting in place
                    return converted, None
        except (ImageCms.PyCMSError, OSError, ValueError) as exc:
            _log.warning("the CMYK ICC profile could not be applied (%s); converting plainly", exc)
    return im.convert("RGB"), None
