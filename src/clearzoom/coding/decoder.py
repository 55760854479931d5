"""Read a ``.czp``: restore and enlarge the base with clearzoom's model, then lay the rest layer and
the regions over it (lowest rank last, so the most important is on top), each faded in over its
feather so no seam shows."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from ..analysis.webp import told_quality
from ..errors import InvalidInputError
from ..inference.api import load_runnable, upscale
from ..inference.target import MAX_OUTPUT_PIXELS
from ..trace import NO_TRACE, Trace
from .container import Container, Layer, parse

__all__ = ["DecodeReport", "decode", "output_size"]

log = logging.getLogger(__name__)

_FORMATS = {"jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF", "png": "PNG"}


@dataclass
class DecodeReport:
    """What :func:`decode` did (``explain`` shows it)."""

    width: int
    height: int
    out_size: tuple[int, int]
    used: list[dict] = field(default_factory=list)  # per layer: kind, label, rank, how, seconds
    dropped: list[tuple[int, str]] = field(default_factory=list)
    declared_layers: int = 0
    seconds: float = 0.0


def output_size(c: Container, scale: float | None, size: tuple[int, int] | None) -> tuple[int, int]:
    """The decoded image's (width, height): the original's, × ``scale``, or ``size``."""
    if scale is not None and size is not None:
        raise InvalidInputError("give a scale or a size, not both")
    if size is not None:
        w, h = size
    elif scale is not None:
        if not 0 < scale <= 64:
            raise InvalidInputError(f"scale must be within (0, 64], got {scale}")
        w, h = round(c.width * scale), round(c.height * scale)
    else:
        w, h = c.width, c.height
    if w < 1 or h < 1 or w * h > MAX_OUTPUT_PIXELS:
        raise InvalidInputError(f"output size {w}x{h} is outside 1..{MAX_OUTPUT_PIXELS} pixels")
    return int(w), int(h)


def _picture(layer: Layer, data: bytes, index: int) -> Image.Image:
    """The layer's coded picture, checked against the size its table entry declares before it is
    decoded (a hostile payload cannot make a larger one)."""
    try:
        im = Image.open(io.BytesIO(data), formats=[_FORMATS[layer.codec]])
        if im.size != layer.size:
            raise InvalidInputError(
                f".czp layer {index} holds a {im.size[0]}x{im.size[1]} picture, "
                f"not the {layer.size[0]}x{layer.size[1]} its entry declares"
            )
        return im.convert("RGB")
    except InvalidInputError:
        raise
    except Exception as e:  # any decoder's error is this layer's damage
        raise InvalidInputError(f".czp layer {index} ({layer.codec}) cannot be decoded: {e}") from None


def _told(layer: Layer) -> int | str:
    """The JPEG quality the restorer is told for a layer's codec and quality."""
    if layer.codec == "jpeg" and layer.quality:
        return layer.quality
    if layer.codec == "webp" and layer.quality:
        return told_quality(layer.quality)
    return "clean"  # avif (no calibration yet: its smoothing is left as it is) and png


def _out_box(box: tuple[int, int, int, int], sx: float, sy: float) -> tuple[int, int, int, int]:
    x0, y0 = round(box[0] * sx), round(box[1] * sy)
    x1, y1 = round((box[0] + box[2]) * sx), round((box[1] + box[3]) * sy)
    return x0, y0, max(1, x1 - x0), max(1, y1 - y0)


def _ramp(n: int, feather: int, fade_start: bool, fade_end: bool) -> np.ndarray:
    """1-D blend weights: 1 inside, rising linearly over ``feather`` pixels at faded ends."""
    w = np.ones(n, np.float32)
    if feather > 0:
        r = (np.arange(feather, dtype=np.float32) + 0.5) / feather
        k = min(feather, n)
        if fade_start:
            w[:k] = np.minimum(w[:k], r[:k])
        if fade_end:
            w[n - k :] = np.minimum(w[n - k :], r[:k][::-1])
    return w


def decode(
    data: bytes | Container,
    *,
    layers: int | None = None,
    scale: float | None = None,
    size: tuple[int, int] | None = None,
    model=None,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    resize_only: bool = False,
    trace: Trace | None = None,
) -> tuple[Image.Image, DecodeReport]:
    """The image of the first ``layers`` intact layers (all if None) of a ``.czp``.

    ``resize_only`` enlarges the layers with Pillow's bicubic instead of the restorer (a fast
    preview; the coding study's measure of what the restorer buys). ``trace`` records each layer
    as a stage, and the restorer's own stages inside them (``clearzoom explain``)."""
    c = parse(data) if isinstance(data, (bytes, bytearray)) else data
    if layers is not None and layers < 1:
        raise InvalidInputError(f"layers must be at least 1 (the base), got {layers}")
    out_w, out_h = output_size(c, scale, size)
    use = list(zip(c.layers, c.payloads, strict=True))[: layers or None]
    report = DecodeReport(
        c.width, c.height, (out_w, out_h), dropped=list(c.dropped), declared_layers=c.declared_layers
    )
    runnable = None if resize_only else load_runnable(model)[0]
    sx, sy = out_w / c.width, out_h / c.height
    start = time.perf_counter()
    canvas: np.ndarray | None = None
    order = [0] + [i for i in range(1, len(use)) if use[i][0].kind == "rest"]
    order += sorted(
        (i for i in range(1, len(use)) if use[i][0].kind == "region"), key=lambda i: -use[i][0].rank
    )
    for done, i in enumerate(order):
        layer, payload = use[i]
        t0 = time.perf_counter()
        with (trace or NO_TRACE).stage(f"layer {i}: {layer.kind} {layer.label}".rstrip()) as st:
            pic = _picture(layer, payload, i)
            st.set_shape((pic.size[1], pic.size[0], 3))
        box = _out_box(layer.box, sx, sy)
        rendered: Image.Image | np.ndarray = pic
        if pic.size == box[2:]:
            how = "pasted as coded"
        elif runnable is None:
            how = f"resized by bicubic to {box[2]}x{box[3]}"
            rendered = pic.resize(box[2:], Image.Resampling.BICUBIC)
        else:
            told = _told(layer)
            how = f"restored by the model to {box[2]}x{box[3]} (told JPEG quality {told})"
            rendered = upscale(
                pic, size=box[2:], model=runnable, input_quality=told, threads=threads, trace=trace
            )
        arr = np.asarray(rendered, dtype=np.float32)
        if canvas is None:
            canvas = arr.copy()
        else:
            _blend(canvas, arr, box, round(layer.feather * min(sx, sy)), (out_w, out_h))
        report.used.append(
            {
                "index": i,
                "kind": layer.kind,
                "label": layer.label,
                "rank": layer.rank,
                "codec": layer.codec,
                "quality": layer.quality,
                "bytes": layer.length,
                "how": how,
                "seconds": round(time.perf_counter() - t0, 3),
            }
        )
        if progress is not None:
            progress(done + 1, len(order))
    assert canvas is not None
    report.seconds = round(time.perf_counter() - start, 3)
    report.used.sort(key=lambda u: u["index"])
    return Image.fromarray(np.clip(canvas + 0.5, 0, 255).astype(np.uint8)), report


def _blend(
    canvas: np.ndarray, arr: np.ndarray, box: tuple[int, int, int, int], feather: int, out_wh: tuple[int, int]
) -> None:
    """Lay ``arr`` over ``canvas`` at ``box``, faded in over ``feather`` pixels on the sides that
    do not touch the image's border."""
    x, y, w, h = box
    wx = _ramp(w, feather, x > 0, x + w < out_wh[0])
    wy = _ramp(h, feather, y > 0, y + h < out_wh[1])
    alpha = (wy[:, None] * wx[None, :])[..., None]
    region = canvas[y : y + h, x : x + w]
    region[...] = alpha * arr + (1 - alpha) * region
