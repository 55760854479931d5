"""The Python API: ``upscale`` an image (PIL or numpy, returned in kind) or a file."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .. import imageio
from ..analysis.jpeg import jpeg_quality
from ..checkpoints.blend import crisp_model as crisp_blend
from ..errors import InvalidInputError
from ..models.model import Model
from ..precision import resolve_device, resolve_precision
from ..trace import NO_TRACE, Trace
from .engine import (
    DEFAULT_CHUNK_QUERIES,
    DEFAULT_TILE_LR,
    RenderOptions,
    Runnable,
    render_alpha,
    render_color,
)
from .onnxrt import OnnxGraphs
from .planes import from_planes, new_buffer, store, to_planes
from .target import MAX_OUTPUT_PIXELS, resolve_target

__all__ = ["load_runnable", "upscale", "upscale_file"]

log = logging.getLogger(__name__)

ImageLike = Image.Image | np.ndarray


@contextlib.contextmanager
def _threads(n: int | None):
    if n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def bleed_transparent(color: torch.Tensor, alpha: torch.Tensor, iterations: int = 16) -> torch.Tensor:
    """Replace the (invisible, often black) colour of fully transparent pixels by that of their
    visible neighbours, so it does not bleed into the upscaled edges. Visible pixels are unchanged.
    """
    visible = (alpha > 0).float()
    if visible.all() or not visible.any():
        return color
    col, wt = color * visible, visible
    for _ in range(iterations):
        col = F.avg_pool2d(col[None], 3, 1, 1, count_include_pad=False)[0]
        wt = F.avg_pool2d(wt[None], 3, 1, 1, count_include_pad=False)[0]
    mean = (color * visible).sum((1, 2), keepdim=True) / visible.sum()
    filled = torch.where(wt > 0, col / wt.clamp_min(1e-12), mean)
    return torch.where(visible.bool(), color, filled)


def upscale(
    image: ImageLike,
    *,
    scale: float | tuple[float, float] | None = None,
    size: tuple[int, int] | None = None,
    width: int | None = None,
    height: int | None = None,
    region: tuple[int, int, int, int] | None = None,
    fit: tuple[int, int] | None = None,
    model: str | os.PathLike | Model | OnnxGraphs | None = None,
    backend: str = "torch",
    device: str = "auto",
    precision: str = "auto",
    tile_lr: int = DEFAULT_TILE_LR,
    chunk_queries: int = DEFAULT_CHUNK_QUERIES,
    threads: int | None = None,
    max_output_pixels: int = MAX_OUTPUT_PIXELS,
    progress: Callable[[int, int], None] | None = None,
    trace: Trace | None = None,
    input_quality: int | str | None = "auto",
    tta: bool = False,
    crisp: float = 0.0,
    crisp_model: str | os.PathLike | Model | None = None,
) -> ImageLike:
    """Restore and magnify ``image`` to any scale or exact size; returns the input's type.

    Args:
        image: a PIL image (modes L, LA, RGB, RGBA, P, CMYK, I;16, I, 1) or a numpy array
            ``(h, w)``/``(h, w, 1|2|3|4)`` of uint8, uint16 or float in [0, 1].
        scale: factor, or ``(sx, sy)``; output side = ``floor(n * s + 0.5)``.
        size: exact output ``(width, height)``.
        width, height: one (aspect kept) or both.
        fit: ``(width, height)`` of a box: the largest output of the input's aspect ratio in it.
        region: ``(x0, y0, w, h)``: render only this window of the virtual output.
        model: name (``clearzoom models``), path, or a loaded :class:`Model`; default model if None.
            With ``backend="onnxruntime"``: an export folder (``clearzoom export --onnx``) or its
            loaded :class:`~clearzoom.inference.onnxrt.OnnxGraphs`.
        backend: ``torch`` or ``onnxruntime`` (CPU; ``precision`` int8 picks the int8 decoder).
        device: ``auto`` (CUDA if present), ``cpu`` or ``cuda``.
        precision: ``auto``, ``fp32`` (exact), ``bf16`` or ``fp16``.
        tile_lr: tile size in input pixels (memory bound; the output does not depend on it).
        chunk_queries: output pixels decoded per batch.
        threads: CPU threads to use (torch's default when None).
        max_output_pixels: refuse renders larger than this.
        progress: called as ``progress(tiles_done, tiles_total)``.
        trace: a :class:`~clearzoom.trace.Trace` that records every stage run (shapes,
            MACs, seconds) for ``clearzoom explain``.
        input_quality: the JPEG quality the input was compressed at, told to JPEG-aware models:
            ``"auto"`` reads it from a PIL JPEG's quantization tables (clean for anything else),
            an int 1..100 sets it, ``None`` or ``"clean"`` says the input is not compressed.
        tta: test-time self-ensemble: the mean of the renders of the 8 flips and transposes of
            the input, mapped back (8x the time; memory stays that of one tile).
        crisp: 0 (faithful, the default) to 1 (the perceptual partner model): the weights of the
            two interpolated (:func:`~clearzoom.checkpoints.blend.blend_models`).
        crisp_model: the partner (name, path or Model); the one shipped for ``model`` if None.

    Returns:
        The magnified image: PIL in -> PIL out (same mode, except P -> RGB/RGBA and 1 -> L),
        numpy in -> numpy out (same dtype and layout). 16-bit colour PIL input cannot exist, but a
        16-bit colour PNG or TIFF *file* (see :func:`upscale_file`) comes back as a uint16 array.

    Example:
        >>> out = upscale(Image.new("RGB", (32, 24)), scale=2.5)  # doctest: +SKIP
        >>> out.size
        (80, 60)
    """
    tr = trace if trace is not None else NO_TRACE
    planes = to_planes(image)
    target = resolve_target(
        planes.size_hw,
        scale=scale,
        size=size,
        width=width,
        height=height,
        region=region,
        fit=fit,
        max_output_pixels=max_output_pixels,
    )
    loaded, dev = load_runnable(
        model, backend=backend, device=device, crisp=crisp, crisp_model=crisp_model, threads=threads
    )
    opts = RenderOptions(
        device=dev,
        precision=_precision_for(loaded, precision, dev),
        tile_lr=int(tile_lr),
        chunk_queries=int(chunk_queries),
        tta=bool(tta),
    )
    quality = resolve_input_quality(input_quality, image)
    tr.facts.update({"model": loaded.name, "output_window": target.window, "output_hw": target.out_hw})
    color = planes.color
    alpha_detail = "alpha interpolated bilinearly (not by the model)"
    if planes.alpha is not None:
        with tr.stage("alpha and metadata", detail=alpha_detail):
            color = bleed_transparent(color, planes.alpha)
    wy0, wx0, wh, ww = target.window
    buffer = new_buffer(planes, (wh, ww))
    with _threads(threads):
        for tile, rgb in render_color(
            loaded,
            color,
            target.out_hw,
            target.window,
            options=opts,
            on_tile=progress,
            trace=trace,
            jpeg_quality=quality,
        ):
            y0, x0, th, tw = tile.out_window
            alpha = None
            if planes.alpha is not None:
                with tr.stage("alpha and metadata", detail=alpha_detail) as st:
                    alpha = render_alpha(planes.alpha, target.out_hw, tile.out_window)
                    st.set_shape(alpha)
            with tr.stage("de-normalise"):
                store(buffer, planes, (y0 - wy0, x0 - wx0, th, tw), rgb, alpha)
    with tr.stage("de-normalise"):
        return from_planes(buffer, planes)


BACKENDS = ("torch", "onnxruntime")


def load_runnable(
    model,
    *,
    backend: str = "torch",
    device: str = "auto",
    crisp: float = 0.0,
    crisp_model=None,
    threads: int | None = None,
) -> tuple[Runnable, torch.device]:
    """The model to render with, on its device: a PyTorch :class:`Model` (crisp-blended, moved),
    or ONNX graphs (an :class:`OnnxGraphs`, or loaded from an export folder). Load it once and
    pass it as ``model`` to render many images (the CLI's batches, each Ray worker)."""
    if backend not in BACKENDS:
        raise InvalidInputError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "onnxruntime" or isinstance(model, OnnxGraphs):
        if float(crisp) or crisp_model is not None:
            raise InvalidInputError("crisp blends PyTorch weights: not with the onnxruntime backend")
        if str(device) not in ("auto", "cpu"):
            raise InvalidInputError(f"the onnxruntime backend runs on the CPU, not {device!r}")
        if isinstance(model, OnnxGraphs):
            return model, torch.device("cpu")
        if model is None or isinstance(model, Model):
            raise InvalidInputError(
                "the onnxruntime backend needs an export folder (clearzoom export --onnx)"
            )
        return OnnxGraphs.load(model, threads=threads), torch.device("cpu")
    dev = resolve_device(device)
    loaded = crisp_blend(model, float(crisp), crisp_model, device=dev)
    if next(loaded.net.parameters()).device != dev:  # a copy: the caller's model is not moved
        loaded = dataclasses.replace(loaded, net=copy.deepcopy(loaded.net).to(dev))
    return loaded, dev


def _precision_for(model: Runnable, precision: str, dev: torch.device) -> str:
    """The resolved precision; onnxruntime has fp32 graphs and an int8 decoder only."""
    resolved = resolve_precision(precision, dev)
    if isinstance(model, OnnxGraphs):
        return "int8" if resolved == "int8" and model.decoder_int8 is not None else "fp32"
    return resolved


def resolve_input_quality(value: int | str | None, image: object = None) -> int | None:
    """The JPEG quality to tell a JPEG-aware model: ``"auto"`` reads ``image``'s tables (a PIL
    JPEG; None for anything else), ``"clean"``/None mean None, an int (or its text) is checked."""
    if value is None or value == "clean":
        return None
    if value == "auto":
        return jpeg_quality(image) if isinstance(image, Image.Image) else None
    try:
        q = int(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"input quality must be auto, clean or 1..100, got {value!r}") from None
    if not 1 <= q <= 100:
        raise InvalidInputError(f"input quality must be auto, clean or 1..100, got {value!r}")
    return q


def upscale_file(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    overwrite: bool = False,
    jpeg_quality: int = 95,
    strip_metadata: bool = False,
    data: bytes | None = None,
    **kwargs,
) -> Path:
    """Read ``src``, :func:`upscale` it (``kwargs``), write ``dst`` atomically with ICC and EXIF.

    ``data``: ``src``'s bytes, already read (e.g. by a Ray Data reader); ``src`` then only names it.

    The output format follows ``dst``'s extension (png, jpg/jpeg, webp, tif/tiff, bmp).
    ``src`` is never overwritten unless ``overwrite=True``. ``strip_metadata`` keeps only the
    colour profile (no EXIF: no GPS position, camera, dates; no dpi).
    """
    src, dst = Path(src), Path(dst)
    imageio.output_format(dst)  # fail on a bad extension before any work
    if dst.exists() and not overwrite:
        raise FileExistsError(f"{dst}: exists (use --overwrite to replace it)")
    if not dst.parent.is_dir():
        raise FileNotFoundError(f"{dst.parent}: output folder does not exist")
    if not os.access(dst.parent, os.W_OK):
        raise PermissionError(f"{dst.parent}: output folder is not writable")
    tr = kwargs.get("trace") or NO_TRACE
    with tr.stage(
        "decode", detail=f"read {src.suffix.lstrip('.').upper() or 'image'}, EXIF orientation applied"
    ) as st:
        # 16-bit colour PNGs and TIFFs come as uint16 arrays
        image, meta = imageio.read_image(src if data is None else data)
        st.set_shape(np.asarray(image).shape)
    if kwargs.get("input_quality", "auto") == "auto":  # the decoded image no longer has the tables
        kwargs["input_quality"] = meta.restoration_quality  # a JPEG's own, or a WebP's equivalent
    out = upscale(image, **kwargs)
    if strip_metadata:
        meta = meta.colour_only()
    kept = "ICC kept, EXIF stripped" if strip_metadata else "ICC and EXIF kept"
    with tr.stage("encode", detail=f"write {dst.suffix.lstrip('.').upper()} atomically, {kept}") as st:
        st.set_shape(np.asarray(out).shape)
        return imageio.write_image(out, dst, meta=meta, jpeg_quality=jpeg_quality, overwrite=overwrite)
