"""16-bit colour files, which Pillow would drop to 8 bit: PNG through pypng, TIFF through tifffile.

Every function takes or gives a ``(h, w, c)`` uint16 array; sources are a path or a file object.
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any, BinaryIO

import numpy as np
from PIL import Image

__all__ = ["TIFF_TEXT_TAGS", "is_png16_color", "png16_bytes", "read_png16", "read_tiff16", "tiff16_bytes"]

#: the descriptive tags that TIFF and EXIF's IFD0 share: carried from TIFF inputs and into 16-bit
#: TIFF outputs (which tifffile writes)
TIFF_TEXT_TAGS = {
    270: "ImageDescription",
    271: "Make",
    272: "Model",
    305: "Software",
    306: "DateTime",
    315: "Artist",
    33432: "Copyright",
}
_PNG_SIG = b"\x89PNG\r\n\x1a\n"


def is_png16_color(head: bytes) -> bool:
    """Whether a file that starts with ``head`` (33 bytes) is a 16-bit PNG with colour or alpha
    (grey, the one 16-bit mode Pillow keeps, is left to Pillow)."""
    if len(head) < 33 or head[:8] != _PNG_SIG or head[12:16] != b"IHDR":
        return False
    return head[24] == 16 and head[25] in (2, 4, 6)


def read_png16(source: BinaryIO) -> np.ndarray:
    import png  # pypng

    w, h, rows, info = png.Reader(file=source).asDirect()
    return np.vstack([np.asarray(r, dtype=np.uint16) for r in rows]).reshape(h, w, info["planes"])


def read_tiff16(source: BinaryIO) -> np.ndarray | None:
    """The first page of a 16-bit colour or grey+alpha TIFF as stored, ``(h, w, c)`` uint16, or
    None for any other TIFF (Pillow reads those whole). Associated (premultiplied) alpha is
    undone."""
    import tifffile

    with tifffile.TiffFile(source) as tif:
        page = tif.pages[0]
        if (
            page.dtype != np.uint16
            or page.samplesperpixel not in (2, 3, 4)
            or page.photometric not in (tifffile.PHOTOMETRIC.RGB, tifffile.PHOTOMETRIC.MINISBLACK)
            or page.photometric == tifffile.PHOTOMETRIC.RGB
            and page.samplesperpixel < 3
        ):
            return None
        arr, axes, extra = page.asarray(), page.axes, tuple(page.extrasamples or ())
    if axes.startswith("S"):  # planar configuration "separate"
        arr = np.moveaxis(arr, 0, -1)
    arr = np.ascontiguousarray(arr.reshape(arr.shape[-3:]))
    if extra[:1] == (tifffile.EXTRASAMPLE.ASSOCALPHA,):
        a = arr[..., -1:].astype(np.float64)
        color = np.where(a > 0, arr[..., :-1] * 65535.0 / np.maximum(a, 1), 0)
        arr[..., :-1] = np.clip(np.round(color), 0, 65535).astype(np.uint16)
    return arr


def tiff16_bytes(
    arr: np.ndarray, icc: bytes | None, exif: bytes | None, dpi: tuple[float, float] | None = None
) -> bytes:
    """A uint16 ``(h, w, c)`` array as a deflate-compressed 16-bit TIFF."""
    import tifffile

    c = arr.shape[2]
    text: dict[int, str] = {}
    if exif:
        e = Image.Exif()
        e.load(exif)
        text = {k: v.strip("\0") for k, v in e.items() if k in TIFF_TEXT_TAGS and isinstance(v, str)}
    software = text.pop(305, "")
    date = text.pop(306, "")
    kw: dict[str, Any] = {
        "photometric": "rgb" if c >= 3 else "minisblack",
        "compression": "zlib",
        "predictor": True,
        "metadata": None,
        "description": text.pop(270, None),
        "software": software if software.isascii() and software else False,
        "extratags": [(k, "s", 0, v.encode("utf-8"), True) for k, v in text.items()],
    }
    if len(date) == 19 and date[16] == ":":
        kw["datetime"] = date
    if c in (2, 4):
        kw["extrasamples"] = [tifffile.EXTRASAMPLE.UNASSALPHA]
    if icc:
        kw["iccprofile"] = icc
    if dpi:
        kw.update(resolution=tuple(float(v) for v in dpi), resolutionunit="INCH")
    buf = io.BytesIO()
    tifffile.imwrite(buf, arr if c > 1 else arr[:, :, 0], **kw)
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png16_bytes(
    arr: np.ndarray, icc: bytes | None, exif: bytes | None, dpi: tuple[float, float] | None = None
) -> bytes:
    """A uint16 ``(h, w, c)`` array as a 16-bit PNG, with iCCP, eXIf and pHYs chunks as given."""
    import png  # pypng

    h, w, c = arr.shape
    writer = png.Writer(w, h, greyscale=c in (1, 2), alpha=c in (2, 4), bitdepth=16)
    buf = io.BytesIO()
    writer.write(buf, arr.reshape(h, w * c))
    data = buf.getvalue()
    extra = b""
    if icc:
        extra += _chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(icc))
    if exif:
        extra += _chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)
    if dpi:  # pixels per metre, unit 1 (metre)
        extra += _chunk(b"pHYs", struct.pack(">IIB", *(round(v / 0.0254) for v in dpi), 1))
    end_ihdr = 8 + 8 + 13 + 4  # signature, IHDR header, IHDR data, CRC
    return data[:end_ihdr] + extra + data[end_ihdr:]
