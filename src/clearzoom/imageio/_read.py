"""The one image reader: a path or bytes in; a PIL image or a uint16 array, and its metadata, out."""

from __future__ import annotations

import io
import logging
import os

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .._source import DECODE_ERRORS, ImageSource, source_bytes
from ..analysis.jpeg import jpeg_quality
from ..analysis.webp import webp_info
from ..errors import InvalidInputError, first_line
from ._deep import TIFF_TEXT_TAGS, is_png16_color, read_png16, read_tiff16
from ._meta import ImageMeta

__all__ = ["image_dpi", "read_image", "read_pixels"]

_log = logging.getLogger(__name__)
_TRANSPOSING = (5, 6, 7, 8)  # EXIF orientations that swap width and height


def read_image(
    source: ImageSource,
    *,
    max_pixels: int | None = None,
) -> tuple[Image.Image | np.ndarray, ImageMeta]:
    """Read an image file or the bytes of one, orientation applied; returns (image, metadata).

    The image is a PIL image, or a uint16 ``(h, w, c)`` numpy array for 16-bit colour PNGs and TIFFs
    (Pillow would drop them to 8 bit).

    Args:
        source: a path, or the file's bytes (decoded from memory, no temporary file).
        max_pixels: refuse an image with more pixels than this, from its header, before decoding.

    Raises:
        InvalidInputError: missing, unreadable, truncated, empty, too large or not an image.
    """
    data, name = source_bytes(source)
    try:
        return _decode(data, name, max_pixels)
    except InvalidInputError:
        raise
    except UnidentifiedImageError:
        raise InvalidInputError(f"{name}: not an image file (or a format Pillow cannot read)") from None
    except Image.DecompressionBombError as exc:
        raise InvalidInputError(f"{name}: refused, too many pixels ({exc})") from None
    except DECODE_ERRORS as exc:
        raise InvalidInputError(f"{name}: cannot decode the image ({first_line(exc)})") from None


def _decode(data: bytes, name: str, max_pixels: int | None) -> tuple[Image.Image | np.ndarray, ImageMeta]:
    with Image.open(io.BytesIO(data)) as im:
        if max_pixels is not None and im.width * im.height > max_pixels:
            raise InvalidInputError(
                f"{name}: the image is {im.width}x{im.height} ({im.width * im.height / 1e6:.1f} MP); "
                f"the limit is {max_pixels / 1e6:.1f} MP"
            )
        # read before loading: Pillow applies a TIFF's orientation while loading, drops the tag
        orientation = im.getexif().get(0x0112, 1)
        im.load()
        fmt = im.format
        oriented = ImageOps.exif_transpose(im)
        exif = oriented.getexif() if fmt != "TIFF" else _tiff_text(im)
        exif_bytes = None
        if len(exif):
            exif.pop(0x0112, None)  # orientation has been applied
            exif_bytes = exif.tobytes()
        meta = ImageMeta(
            format=fmt,
            icc_profile=im.info.get("icc_profile"),
            exif=exif_bytes,
            jpeg_quality=jpeg_quality(im),
            dpi=image_dpi(im, transposed=orientation in _TRANSPOSING),
            webp_quality=_webp_quality(data) if fmt == "WEBP" else None,
        )
        if oriented.width == 0 or oriented.height == 0:
            raise InvalidInputError(f"{name}: the image is empty (0 pixels)")
        frames = getattr(im, "n_frames", 1)
        if frames > 1:
            _log.warning("%s: %d frames; only the first is upscaled", name, frames)
        if fmt == "PNG" and is_png16_color(data[:33]):
            return _orient_array(read_png16(io.BytesIO(data)), orientation), meta
        deep = read_tiff16(io.BytesIO(data)) if fmt == "TIFF" else None
        if deep is not None:
            return _orient_array(deep, orientation), meta
        return oriented.copy(), meta


def _webp_quality(data: bytes) -> int | None:
    info = webp_info(data)
    return info.quality_estimate if info is not None else None


def _tiff_text(im: Image.Image) -> Image.Exif:
    """A TIFF's descriptive tags as an EXIF block (a TIFF's metadata are its own tags, not EXIF;
    the structural ones cannot be carried to another file). A description that is tifffile's own
    shape record is left out: it would describe the input, not the output."""
    exif = Image.Exif()
    for key in TIFF_TEXT_TAGS:
        value = getattr(im, "tag_v2", {}).get(key)
        if (
            isinstance(value, str)
            and value.strip("\0")
            and not (key == 270 and value.startswith('{"shape":'))
        ):
            exif[key] = value.strip("\0")
    return exif


def image_dpi(im: Image.Image, *, transposed: bool) -> tuple[float, float] | None:
    """The resolution an image states, ``(x, y)`` dots per inch after orientation, or None."""
    try:
        x, y = (float(v) for v in im.info["dpi"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (x > 0 and y > 0 and np.isfinite(x) and np.isfinite(y)):
        return None
    return (y, x) if transposed else (x, y)


def _orient_array(arr: np.ndarray, o: int) -> np.ndarray:
    """Apply EXIF orientation ``o`` to a numpy array (for pixels Pillow cannot hold)."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: a.transpose(1, 0, 2)[:, ::-1],
        7: lambda a: a.transpose(1, 0, 2)[::-1, ::-1],
        8: lambda a: a.transpose(1, 0, 2)[::-1],
    }
    return np.ascontiguousarray(ops[o](arr)) if o in ops else arr


def read_pixels(path: str | os.PathLike) -> tuple[np.ndarray, str | None]:
    """The stored pixels of an image file as ``(h, w, 3)`` uint8 RGB (grey replicated), and its
    format: no orientation, no 16-bit, no metadata. What training and the benchmark protocol read
    (LIIF's rules use the pixels as stored); everything user-facing uses :func:`read_image`.

    Raises the file's own OSError/ValueError (callers skip or report the file).
    """
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).copy(), im.format
