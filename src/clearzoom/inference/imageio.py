"""Image types at the boundary: files, PIL images and numpy arrays <-> float planes.

Inside clearzoom an image is *planes*: colour ``(3, h, w)`` float32 in [0, 1] (grey replicated to
three channels) and an optional alpha ``(1, h, w)``. This module is the only place that knows about
modes, bit depths and metadata:

=================  =====================================  =======================================
input              goes through the model as              comes back as
=================  =====================================  =======================================
PIL ``RGB``        RGB                                    ``RGB``
PIL ``RGBA``       RGB + alpha                            ``RGBA``
PIL ``L`` / ``LA`` grey replicated to RGB (+ alpha)       ``L`` / ``LA`` (ITU-R 601 luma)
PIL ``P``          its RGB or RGBA expansion              ``RGB`` or ``RGBA`` (no palette)
PIL ``CMYK``       converted to RGB by Pillow             ``CMYK`` (converted back by Pillow);
                                                          PNG/WebP/BMP files get sRGB (via the
                                                          file's CMYK ICC profile if it has one)
PIL ``I;16``/``I`` 16-bit grey (``I`` clipped to 16 bit)  ``I;16``
PIL ``1``          grey                                   ``L``
numpy uint8/16     (h, w), (h, w, 1|2|3|4)                same dtype and channel count
numpy float        same layouts, values in [0, 1]         float32, same layout (not clipped)
16-bit PNG file    RGB/RGBA/grey/grey+alpha at 16 bit     16-bit PNG (read/written with pypng)
16-bit TIFF file   RGB/RGBA/grey+alpha at 16 bit          16-bit TIFF (read/written with tifffile)
=================  =====================================  =======================================

Files: EXIF orientation is applied on reading (and the tag reset to 1); the ICC profile and the EXIF
block are carried to the output file (a TIFF's descriptive tags count as its EXIF: description,
make, model, software, date, artist, copyright; a 16-bit TIFF output gets those, not an EXIF
sub-IFD). So is the resolution (dpi) where the format stores one (PNG, JPEG, TIFF, BMP), unchanged,
as image editors keep it when they resample. 16-bit results asked for in an 8-bit format (JPEG,
WebP, BMP) are rounded to 8 bit with a warning. An animated file (GIF, WebP, APNG, multi-page
TIFF) gives its first frame, with a warning. Outputs are written atomically (a temporary file in
the same folder, then renamed), so a failed write never leaves a partial file.
"""

from __future__ import annotations

import io
import logging
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ..analysis.jpeg import jpeg_info
from ..atomic import write_atomic
from ..errors import InvalidInputError

__all__ = ["IMAGE_EXTENSIONS", "Planes", "encode_image", "find_images", "from_planes", "read_image",
           "to_planes", "write_image"]

_log = logging.getLogger(__name__)
#: the descriptive tags that TIFF and EXIF's IFD0 share: carried from TIFF inputs and into 16-bit
#: TIFF outputs (which tifffile writes)
_TIFF_TEXT_TAGS = {270: "ImageDescription", 271: "Make", 272: "Model", 305: "Software",
                   306: "DateTime", 315: "Artist", 33432: "Copyright"}
_LUMA = (0.299, 0.587, 0.114)  # ITU-R 601, as Pillow's RGB -> L
_PNG_SIG = b"\x89PNG\r\n\x1a\n"


@dataclass
class Planes:
    """An image as float planes plus what is needed to give it back in its own type.

    ``kind`` is ``"pil"`` or ``"numpy"``; ``mode`` the PIL mode to return; ``layout`` the numpy
    channel count (0 for 2-D).
    """

    color: torch.Tensor
    alpha: torch.Tensor | None
    kind: str
    mode: str = "RGB"
    dtype: Any = np.uint8
    layout: int = 3
    gray: bool = False
    info: dict = field(default_factory=dict)

    @property
    def size_hw(self) -> tuple[int, int]:
        return int(self.color.shape[-2]), int(self.color.shape[-1])

    @property
    def out_channels(self) -> int:
        return (1 if self.gray else 3) + (1 if self.alpha is not None else 0)


# ---------------------------------------------------------------------------------------------
# reading


def _png_header(path: Path) -> tuple[int, int] | None:
    """(bit depth, colour type) of a PNG file, or None if it is not a PNG."""
    with open(path, "rb") as f:
        head = f.read(33)
    if len(head) < 33 or head[:8] != _PNG_SIG or head[12:16] != b"IHDR":
        return None
    return head[24], head[25]


def read_image(path: str | os.PathLike) -> tuple[Image.Image | np.ndarray, dict]:
    """Read an image file, orientation applied; returns (image, metadata).

    The image is a PIL image, or a uint16 ``(h, w, c)`` numpy array for 16-bit colour PNGs and TIFFs
    (Pillow would drop them to 8 bit). Metadata: ``format``, ``icc_profile``, ``exif`` (bytes or None),
    ``jpeg_quality`` (the IJG quality read from a JPEG's quantization tables, None otherwise),
    ``dpi`` (``(x, y)`` of the oriented image, or None).

    Raises:
        InvalidInputError: missing, unreadable, truncated, empty or not an image.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such file")
    try:
        with Image.open(path) as im:
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
            jpeg = jpeg_info(im)
            meta = {"format": fmt, "icc_profile": im.info.get("icc_profile"), "exif": exif_bytes,
                    "jpeg_quality": jpeg.quality if jpeg is not None else None,
                    "dpi": _dpi(im, transposed=orientation in (5, 6, 7, 8))}
            if oriented.width == 0 or oriented.height == 0:
                raise InvalidInputError(f"{path}: the image is empty (0 pixels)")
            frames = getattr(im, "n_frames", 1)
            if frames > 1:
                _log.warning("%s: %d frames; only the first is upscaled", path, frames)
            header = _png_header(path) if fmt == "PNG" else None
            if header is not None and header[0] == 16 and header[1] in (2, 4, 6):
                return _orient_array(_read_png16(path), orientation), meta
            deep = _read_tiff16(path) if fmt == "TIFF" else None
            if deep is not None:
                return _orient_array(deep, orientation), meta
            return oriented.copy(), meta
    except InvalidInputError:
        raise
    except UnidentifiedImageError:
        raise InvalidInputError(f"{path}: not an image file (or a format Pillow cannot read)") from None
    except Image.DecompressionBombError as exc:
        raise InvalidInputError(f"{path}: refused, too many pixels ({exc})") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidInputError(f"{path}: cannot decode the image ({exc})") from None


def _tiff_text(im: Image.Image) -> Image.Exif:
    """A TIFF's descriptive tags as an EXIF block (a TIFF's metadata are its own tags, not EXIF;
    the structural ones cannot be carried to another file). A description that is tifffile's own
    shape record is left out: it would describe the input, not the output."""
    exif = Image.Exif()
    for key in _TIFF_TEXT_TAGS:
        value = getattr(im, "tag_v2", {}).get(key)
        if isinstance(value, str) and value.strip("\0") and not (
                key == 270 and value.startswith('{"shape":')):
            exif[key] = value.strip("\0")
    return exif


def _dpi(im: Image.Image, *, transposed: bool) -> tuple[float, float] | None:
    """The resolution a file states, ``(x, y)`` dots per inch after orientation, or None."""
    try:
        x, y = (float(v) for v in im.info["dpi"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (x > 0 and y > 0 and np.isfinite(x) and np.isfinite(y)):
        return None
    return (y, x) if transposed else (x, y)


def _read_png16(path: Path) -> np.ndarray:
    import png  # pypng

    w, h, rows, info = png.Reader(filename=str(path)).asDirect()
    return np.vstack([np.asarray(r, dtype=np.uint16) for r in rows]).reshape(h, w, info["planes"])


def _read_tiff16(path: Path) -> np.ndarray | None:
    """The first page of a 16-bit colour or grey+alpha TIFF as stored, ``(h, w, c)`` uint16, or
    None for any other TIFF (Pillow reads those whole). Associated (premultiplied) alpha is
    undone."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        if (page.dtype != np.uint16 or page.samplesperpixel not in (2, 3, 4)
                or page.photometric not in (tifffile.PHOTOMETRIC.RGB, tifffile.PHOTOMETRIC.MINISBLACK)
                or page.photometric == tifffile.PHOTOMETRIC.RGB and page.samplesperpixel < 3):
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


def _orient_array(arr: np.ndarray, o: int) -> np.ndarray:
    """Apply EXIF orientation ``o`` to a numpy array (for pixels Pillow cannot hold)."""
    ops = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
           5: lambda a: a.transpose(1, 0, 2), 6: lambda a: a.transpose(1, 0, 2)[:, ::-1],
           7: lambda a: a.transpose(1, 0, 2)[::-1, ::-1], 8: lambda a: a.transpose(1, 0, 2)[::-1]}
    return np.ascontiguousarray(ops[o](arr)) if o in ops else arr


# ---------------------------------------------------------------------------------------------
# image <-> planes


def to_planes(image: Image.Image | np.ndarray) -> Planes:
    """Split a PIL image or numpy array into float colour/alpha planes (see the module table)."""
    if isinstance(image, Image.Image):
        return _pil_to_planes(image)
    if isinstance(image, np.ndarray):
        return _numpy_to_planes(image, kind="numpy")
    raise InvalidInputError(f"expected a PIL image or a numpy array, got {type(image).__name__}")


def _pil_to_planes(im: Image.Image) -> Planes:
    if im.width == 0 or im.height == 0:
        raise InvalidInputError("the image is empty (0 pixels)")
    orientation = im.getexif().get(0x0112, 1)
    info = {"icc_profile": im.info.get("icc_profile"),
            "dpi": _dpi(im, transposed=orientation in (5, 6, 7, 8))}
    if orientation != 1:  # show it the way viewers do
        im = ImageOps.exif_transpose(im)
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im.convert("I") if mode != "I" else im, dtype=np.int64)
        arr = np.clip(arr, 0, 65535).astype(np.uint16)
        p = _numpy_to_planes(arr, kind="pil")
        p.mode, p.info = "I;16", info
        return p
    if mode == "P":
        has_alpha = "transparency" in im.info or im.palette.mode == "RGBA"
        im, mode = im.convert("RGBA" if has_alpha else "RGB"), ("RGBA" if has_alpha else "RGB")
    elif mode == "CMYK":
        p = _pil_to_planes(im.convert("RGB"))
        p.mode, p.info = "CMYK", info
        return p
    elif mode == "1":
        im, mode = im.convert("L"), "L"
    elif mode not in ("RGB", "RGBA", "L", "LA"):
        try:
            im, mode = im.convert("RGBA" if "A" in mode else "RGB"), ("RGBA" if "A" in mode else "RGB")
        except ValueError:
            raise InvalidInputError(f"unsupported image mode {im.mode!r}") from None
    p = _numpy_to_planes(np.asarray(im), kind="pil")
    p.mode, p.info = mode, info
    return p


def _numpy_to_planes(arr: np.ndarray, kind: str) -> Planes:
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 2, 3, 4)):
        raise InvalidInputError(
            f"expected an array of shape (h, w) or (h, w, 1|2|3|4), got {tuple(arr.shape)}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InvalidInputError("the image is empty (0 pixels)")
    if arr.dtype == np.uint8:
        scale = 255.0
    elif arr.dtype == np.uint16:
        scale = 65535.0
    elif arr.dtype in (np.float32, np.float64, np.float16):
        scale = 1.0
    else:
        raise InvalidInputError(f"unsupported array dtype {arr.dtype} (use uint8, uint16 or float)")
    layout = 0 if arr.ndim == 2 else arr.shape[2]
    a3 = arr[:, :, None] if arr.ndim == 2 else arr
    t = torch.from_numpy(np.ascontiguousarray(a3).astype(np.float32)).permute(2, 0, 1) / scale
    if not torch.isfinite(t).all():
        raise InvalidInputError("the array holds NaN or infinite values")
    c = t.shape[0]
    gray = c in (1, 2)
    color = t[:1].expand(3, -1, -1).contiguous() if gray else t[:3].contiguous()
    alpha = t[c - 1 : c].contiguous() if c in (2, 4) else None
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[c]
    dtype = np.float32 if scale == 1.0 else arr.dtype
    return Planes(color, alpha, kind, mode, dtype, layout, gray)


def new_buffer(planes: Planes, size_hw: tuple[int, int]) -> np.ndarray:
    """An empty ``(H, W, C)`` output array of the planes' dtype and channel count."""
    return np.empty((*size_hw, planes.out_channels), dtype=planes.dtype)


def store(buffer: np.ndarray, planes: Planes, window: tuple[int, int, int, int],
          color: torch.Tensor, alpha: torch.Tensor | None) -> None:
    """Write rendered float planes into ``buffer[y0:y0+h, x0:x0+w]`` in the buffer's dtype.

    ``color`` is ``(3, h, w)`` in [0, 1] (not yet clipped); grey outputs take ITU-R 601 luma.
    """
    y0, x0, h, w = window
    chans = [sum(k * color[i] for i, k in enumerate(_LUMA))[None]] if planes.gray else [color]
    if alpha is not None:
        chans.append(alpha)
    t = torch.cat(chans).permute(1, 2, 0)
    if buffer.dtype == np.uint8:
        t = (t.clamp(0, 1) * 255).round()
    elif buffer.dtype == np.uint16:
        t = (t.clamp(0, 1) * 65535).round()
    buffer[y0 : y0 + h, x0 : x0 + w] = t.numpy().astype(buffer.dtype, copy=False)


def from_planes(buffer: np.ndarray, planes: Planes) -> Image.Image | np.ndarray:
    """Give a filled output buffer back in the type and mode of the input."""
    if planes.kind == "numpy":
        return buffer[:, :, 0] if planes.layout == 0 else buffer
    mode = planes.mode
    if mode == "I;16":
        im = Image.fromarray(np.ascontiguousarray(buffer[:, :, 0]))  # uint16 2-D -> I;16
    else:
        base = "CMYK" if mode == "CMYK" else mode
        pil_mode = {"CMYK": "RGB"}.get(base, base)
        arr = buffer[:, :, 0] if pil_mode == "L" else buffer
        im = Image.fromarray(np.ascontiguousarray(arr), mode=pil_mode)
        if base == "CMYK":
            im = im.convert("CMYK")
    for key in ("icc_profile", "dpi"):
        if planes.info.get(key):
            im.info[key] = planes.info[key]
    return im


# ---------------------------------------------------------------------------------------------
# writing

_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".tif": "TIFF",
            ".tiff": "TIFF", ".bmp": "BMP"}
#: the image file extensions clearzoom reads and writes (lower case, with the dot)
IMAGE_EXTENSIONS = frozenset(_FORMATS)


def find_images(folder: str | os.PathLike) -> list[Path]:
    """The image files (by :data:`IMAGE_EXTENSIONS`, any case) under ``folder``, recursively,
    sorted; hidden files and folders (names starting with ".") are left out."""
    root = Path(folder)
    return sorted(p for p in root.rglob("*")
                  if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def output_format(path: str | os.PathLike) -> str:
    """Pillow format name for an output path, from its extension."""
    ext = Path(path).suffix.lower()
    if ext not in _FORMATS:
        raise InvalidInputError(
            f"{path}: unknown output extension {ext!r} (use {', '.join(sorted(_FORMATS))})")
    return _FORMATS[ext]


def write_image(image: Image.Image | np.ndarray, path: str | os.PathLike, *,
                icc_profile: bytes | None = None, exif: bytes | None = None,
                jpeg_quality: int = 95, overwrite: bool = False,
                dpi: tuple[float, float] | None = None) -> Path:
    """Write ``image`` to ``path`` atomically, keeping ICC/EXIF/dpi where the format allows.

    A numpy uint16 ``(h, w, c)`` array is written as a 16-bit PNG or TIFF (other formats: rounded to
    8 bit, with a warning).
    """
    path = Path(path)
    fmt = output_format(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: exists (pass overwrite=True / --overwrite to replace it)")
    try:
        data = encode_image(image, fmt, icc_profile=icc_profile, exif=exif,
                            jpeg_quality=jpeg_quality, dpi=dpi)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{path}: {exc}") from None
    write_atomic(path, data)
    return path


def encode_image(image: Image.Image | np.ndarray, fmt: str, *, icc_profile: bytes | None = None,
                 exif: bytes | None = None, jpeg_quality: int = 95,
                 dpi: tuple[float, float] | None = None) -> bytes:
    """The bytes of ``image`` in Pillow format ``fmt`` (PNG, JPEG, WEBP, TIFF, BMP), ICC/EXIF/dpi
    kept where the format allows. A uint16 ``(h, w, c)`` array becomes a 16-bit PNG or TIFF."""
    if isinstance(image, np.ndarray):
        if fmt == "PNG":
            return _png16_bytes(image, icc_profile, exif, dpi)
        if fmt == "TIFF":
            return _tiff16_bytes(image, icc_profile, exif, dpi)
        _log.warning("%s holds 8 bits per channel: the 16-bit result is rounded to 8 bit", fmt)
        image = _to_8bit(image)
    return _pil_bytes(image, fmt, icc_profile, exif, jpeg_quality, dpi)


def _to_8bit(arr: np.ndarray) -> Image.Image:
    """A uint16 ``(h, w, c)`` array as an 8-bit PIL image (L, LA, RGB or RGBA)."""
    a8 = np.round(arr.astype(np.float64) / 257).astype(np.uint8)
    c = a8.shape[2]
    return Image.fromarray(a8[:, :, 0] if c == 1 else a8, mode={1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[c])


def _pil_bytes(im: Image.Image, fmt: str, icc: bytes | None, exif: bytes | None,
               quality: int, dpi: tuple[float, float] | None = None) -> bytes:
    if im.mode == "I;16" and fmt not in ("PNG", "TIFF"):
        _log.warning("%s holds 8 bits per channel: the 16-bit result is rounded to 8 bit", fmt)
        im = _to_8bit(np.asarray(im, dtype=np.uint16)[:, :, None])
    if fmt in ("JPEG", "BMP") and im.mode in ("RGBA", "LA", "P"):
        raise InvalidInputError(f"{fmt} cannot store transparency: write PNG, WebP or TIFF")
    kw: dict[str, Any] = {}
    icc = icc or im.info.get("icc_profile")
    dpi = dpi or im.info.get("dpi")
    if im.mode == "CMYK" and fmt not in ("JPEG", "TIFF"):
        im, icc = _cmyk_to_srgb(im, icc)
    if icc and fmt in ("PNG", "JPEG", "WEBP", "TIFF"):
        kw["icc_profile"] = icc
    if exif and fmt in ("PNG", "JPEG", "WEBP", "TIFF"):
        kw["exif"] = exif
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
                return ImageCms.profileToProfile(im, src, srgb, outputMode="RGB"), None
        except (ImageCms.PyCMSError, OSError, ValueError) as exc:
            _log.warning("the CMYK ICC profile could not be applied (%s); converting plainly", exc)
    return im.convert("RGB"), None


def _tiff16_bytes(arr: np.ndarray, icc: bytes | None, exif: bytes | None,
                  dpi: tuple[float, float] | None = None) -> bytes:
    """A uint16 ``(h, w, c)`` array as a deflate-compressed 16-bit TIFF."""
    import tifffile

    c = arr.shape[2]
    text: dict[int, str] = {}
    if exif:
        e = Image.Exif()
        e.load(exif)
        text = {k: v.strip("\0") for k, v in e.items() if k in _TIFF_TEXT_TAGS and isinstance(v, str)}
    software = text.pop(305, "")
    date = text.pop(306, "")
    kw: dict[str, Any] = {
        "photometric": "rgb" if c >= 3 else "minisblack", "compression": "zlib", "predictor": True,
        "metadata": None, "description": text.pop(270, None),
        "software": software if software.isascii() and software else False,
        "extratags": [(k, "s", 0, v.encode("utf-8"), True) for k, v in text.items()]}
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


def _png16_bytes(arr: np.ndarray, icc: bytes | None, exif: bytes | None,
                 dpi: tuple[float, float] | None = None) -> bytes:
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
