"""PIL images and numpy arrays <-> the float planes the engine renders.

Inside clearzoom an image is *planes*: colour ``(3, h, w)`` float32 in [0, 1] (grey replicated to
three channels) and an optional alpha ``(1, h, w)``. The result comes back in the input's own type:

=================  =====================================  =======================================
input              goes through the model as              comes back as
=================  =====================================  =======================================
PIL ``RGB``        RGB                                    ``RGB``
PIL ``RGBA``       RGB + alpha                            ``RGBA``
PIL ``L`` / ``LA`` grey replicated to RGB (+ alpha)       ``L`` / ``LA`` (ITU-R 601 luma)
PIL ``P``          its RGB or RGBA expansion              ``RGB`` or ``RGBA`` (no palette)
PIL ``CMYK``       converted to RGB by Pillow             ``CMYK`` (converted back by Pillow)
PIL ``I;16``/``I`` 16-bit grey (``I`` clipped to 16 bit)  ``I;16``
PIL ``1``          grey                                   ``L``
numpy uint8/16     (h, w), (h, w, 1|2|3|4)                same dtype and channel count
numpy float        same layouts, values in [0, 1]         float32, same layout (not clipped)
=================  =====================================  =======================================

A PIL image's EXIF orientation is applied (as viewers show it); its ICC profile and dpi are kept
on the result's ``info``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps

from ..errors import InvalidInputError
from ..imageio import ImageMeta, image_dpi, to_uint8

__all__ = ["Planes", "from_planes", "new_buffer", "store", "to_planes"]

_LUMA = (0.299, 0.587, 0.114)  # ITU-R 601, as Pillow's RGB -> L


@dataclass
class Planes:
    """An image as float planes plus what is needed to give it back in its own type.

    ``kind`` is ``"pil"`` or ``"numpy"``; ``mode`` the PIL mode to return; ``layout`` the numpy
    channel count (0 for 2-D); ``meta`` the ICC profile and dpi a PIL input carried.
    """

    color: torch.Tensor
    alpha: torch.Tensor | None
    kind: str
    mode: str = "RGB"
    dtype: Any = np.uint8
    layout: int = 3
    gray: bool = False
    meta: ImageMeta = field(default_factory=ImageMeta)

    @property
    def size_hw(self) -> tuple[int, int]:
        return int(self.color.shape[-2]), int(self.color.shape[-1])

    @property
    def out_channels(self) -> int:
        return (1 if self.gray else 3) + (1 if self.alpha is not None else 0)


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
    meta = ImageMeta(
        icc_profile=im.info.get("icc_profile"), dpi=image_dpi(im, transposed=orientation in (5, 6, 7, 8))
    )
    if orientation != 1:  # show it the way viewers do
        im = ImageOps.exif_transpose(im)
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im.convert("I") if mode != "I" else im, dtype=np.int64)
        p = _numpy_to_planes(np.clip(arr, 0, 65535).astype(np.uint16), kind="pil")
        p.mode, p.meta = "I;16", meta
        return p
    if mode == "CMYK":
        p = _pil_to_planes(im.convert("RGB"))
        p.mode, p.meta = "CMYK", meta
        return p
    im, mode = _plain_mode(im)
    p = _numpy_to_planes(np.asarray(im), kind="pil")
    p.mode, p.meta = mode, meta
    return p


def _plain_mode(im: Image.Image) -> tuple[Image.Image, str]:
    """``im`` in one of L, LA, RGB, RGBA (a palette expands, ``1`` becomes L), and that mode."""
    mode = im.mode
    if mode in ("RGB", "RGBA", "L", "LA"):
        return im, mode
    if mode == "P":
        rgba = "transparency" in im.info or (im.palette is not None and im.palette.mode == "RGBA")
        target = "RGBA" if rgba else "RGB"
    elif mode == "1":
        target = "L"
    else:
        target = "RGBA" if "A" in mode else "RGB"
    try:
        return im.convert(target), target
    except ValueError:
        raise InvalidInputError(f"unsupported image mode {im.mode!r}") from None


def _numpy_to_planes(arr: np.ndarray, kind: str) -> Planes:
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 2, 3, 4)):
        raise InvalidInputError(
            f"expected an array of shape (h, w) or (h, w, 1|2|3|4), got {tuple(arr.shape)}"
        )
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


def store(
    buffer: np.ndarray,
    planes: Planes,
    window: tuple[int, int, int, int],
    color: torch.Tensor,
    alpha: torch.Tensor | None,
) -> None:
    """Write rendered float planes into ``buffer[y0:y0+h, x0:x0+w]`` in the buffer's dtype.

    ``color`` is ``(3, h, w)`` in [0, 1] (not yet clipped); grey outputs take ITU-R 601 luma.
    """
    y0, x0, h, w = window
    luma = _LUMA[0] * color[0] + _LUMA[1] * color[1] + _LUMA[2] * color[2]
    chans = [luma[None]] if planes.gray else [color]
    if alpha is not None:
        chans.append(alpha)
    t = torch.cat(chans).permute(1, 2, 0)
    if buffer.dtype == np.uint8:
        out = to_uint8(t)
    elif buffer.dtype == np.uint16:
        out = (t.clamp(0, 1) * 65535).round().numpy()
    else:
        out = t.numpy()
    buffer[y0 : y0 + h, x0 : x0 + w] = out.astype(buffer.dtype, copy=False)


def from_planes(buffer: np.ndarray, planes: Planes) -> Image.Image | np.ndarray:
    """Give a filled output buffer back in the type and mode of the input."""
    if planes.kind == "numpy":
        return buffer[:, :, 0] if planes.layout == 0 else buffer
    mode = planes.mode
    if mode == "I;16":
        im = Image.fromarray(np.ascontiguousarray(buffer[:, :, 0]))  # uint16 2-D -> I;16
    else:
        pil_mode = "RGB" if mode == "CMYK" else mode
        arr = buffer[:, :, 0] if pil_mode == "L" else buffer
        im = Image.fromarray(np.ascontiguousarray(arr), mode=pil_mode)
        if mode == "CMYK":
            im = im.convert("CMYK")
    if planes.meta.icc_profile:
        im.info["icc_profile"] = planes.meta.icc_profile
    if planes.meta.dpi:
        im.info["dpi"] = planes.meta.dpi
    return im
