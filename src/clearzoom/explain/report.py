"""``clearzoom explain``: analyse an image, run the workflow with a trace, and build the report.

The report is one JSON-able dict (its schema: ``report.schema.json`` beside this file) plus the
images of the result view. :mod:`.render` turns it into HTML or Markdown.

    result = explain("photo.jpg", scale=4)
    result.report["task"]            # 'JPEG-compressed photo (quality ≈ 35, 4:2:0) — enlarge ×4 ...'
    result.report["stages"][2]       # {'name': 'encoder', 'shape': [1, 64, 90, 160], ...}
"""

from __future__ import annotations

import datetime
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from .. import imageio
from .._version import __version__
from ..analysis import ImageAnalysis, analyze_image, blockiness, describe_task
from ..checkpoints.blend import crisp_model as crisp_blend
from ..errors import InvalidInputError
from ..eval.figures import detailed_region
from ..inference.api import upscale
from ..models.model import Model
from ..precision import resolve_device
from ..trace import Trace

__all__ = ["ExplainResult", "REPORT_FORMAT", "explain_image", "load_references"]

REPORT_FORMAT = "clearzoom-explain/1"
REGION_LR = 48  # side of the result view's region, in input pixels


@dataclass
class ExplainResult:
    report: dict[str, Any]
    images: dict[str, Image.Image] = field(default_factory=dict)  # result-view panels
    output: Image.Image | np.ndarray | None = None  # the full upscaled image


def load_references() -> list[dict[str, Any]]:
    """The works clearzoom rests on (the only ones a report cites), from ``references.json``."""
    text = resources.files(__package__).joinpath("references.json").read_text(encoding="utf-8")
    return json.loads(text)["references"]


def _rgb8(img: Image.Image | np.ndarray) -> Image.Image:
    """Any image the engine returns, as 8-bit RGB for display (alpha dropped, 16-bit scaled)."""
    if isinstance(img, np.ndarray):
        a = imageio.to_uint8(img)
        if a.ndim == 3 and a.shape[2] in (2, 4):
            a = a[..., :-1]
        if a.ndim == 3 and a.shape[2] == 1:
            a = a[..., 0]
        img = Image.fromarray(a)
    return img.convert("RGB")


def _block_at_input_scale(img: Image.Image, in_size: tuple[int, int]) -> float | None:
    """Blockiness of an enlargement on its source's 8x8 grid: shrink it back (area average)."""
    small = img.convert("L").resize(in_size, Image.Resampling.BOX)
    return _r(blockiness(np.asarray(small, dtype=np.float64)))


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(float(x), nd)


def explain_image(
    src: str | os.PathLike,
    *,
    scale: float | tuple[float, float] | None = None,
    size: tuple[int, int] | None = None,
    model=None,
    device: str = "auto",
    precision: str = "auto",
    threads: int | None = None,
    save_output: str | os.PathLike | None = None,
    overwrite: bool = False,
    jpeg_quality: int = 95,
    tta: bool = False,
    crisp: float = 0.0,
    crisp_model=None,
    prompt: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ExplainResult:
    """Analyse ``src``, upscale it with a stage trace, and build the workflow report.

    Args:
        src: the input image file.
        scale, size: the target, as for :func:`clearzoom.upscale` (``size`` is ``(W, H)``).
        model, device, precision, threads: as for :func:`clearzoom.upscale`.
        save_output: also write the upscaled image here (atomically; its format by extension).
        overwrite: replace ``save_output`` if it exists.
        tta: render with self-ensemble, as :func:`clearzoom.upscale` does.
        crisp, crisp_model: the crisp strength and partner, as for :func:`clearzoom.upscale`
            (the report's load stage says which blend was used).
        prompt: the request in words (:func:`clearzoom.parse_prompt`): its size stands for
            ``scale``/``size``, and the report shows what it understood.

    :func:`clearzoom.explain.explain` also takes a ``.czp`` file (:mod:`.coding`).
        progress: called as ``progress(tiles_done, tiles_total)`` while the image renders.

    Returns:
        :class:`ExplainResult` with the JSON-able report, the result-view images and the output.
    """
    src = Path(src)
    if save_output is not None:
        save_output = Path(save_output)
        imageio.output_format(save_output)
        if save_output.exists() and not overwrite:
            raise FileExistsError(f"{save_output}: exists (use --overwrite to replace it)")
    analysis = analyze_image(src)
    trace = Trace(device=resolve_device(device))
    told_clean = False
    if prompt is not None:
        scale, size, told_clean = _apply_prompt(prompt, scale, size, analysis, trace)
    t_start = time.perf_counter()
    with trace.stage("decode", detail=f"read {analysis.format}, EXIF orientation applied") as st:
        image, meta = imageio.read_image(src)
        st.set_shape(np.asarray(image).shape)
    with trace.stage("load model") as st:
        loaded = crisp_blend(model, crisp, crisp_model, device=resolve_device(device))
        st.params = loaded.num_parameters
        st.detail = f"{loaded.name}: {loaded.description}"
        if crisp:
            st.detail += f" (weights blended with the perceptual partner at crisp {crisp:g})"
    out = upscale(
        image,
        scale=scale,
        size=size,
        model=loaded,
        device=device,
        precision=precision,
        threads=threads,
        trace=trace,
        tta=tta,
        input_quality=None if told_clean else meta.restoration_quality,
        progress=progress,
    )
    if save_output is not None:
        with trace.stage(
            "encode", detail=f"write {save_output.suffix.lstrip('.').upper()} atomically, ICC and EXIF kept"
        ) as st:
            st.set_shape(np.asarray(out).shape)
            imageio.write_image(out, save_output, meta=meta, jpeg_quality=jpeg_quality, overwrite=overwrite)
    total = time.perf_counter() - t_start
    view, result = _result_view(analysis, _rgb8(image), _rgb8(out), trace.facts["output_hw"])
    report = _report(
        src, analysis, trace, loaded, total, result, save_output.name if save_output is not None else None
    )
    return ExplainResult(report, view, out)


def _apply_prompt(text: str, scale, size, analysis: ImageAnalysis, trace: Trace) -> tuple[Any, Any, bool]:
    """``(scale, size, told_clean)`` from the prompt, which the trace records for the report."""
    from ..instruct import parse_prompt

    p = parse_prompt(text)
    p_size: tuple[int, int] | None = p.size
    if p_size is None and (p.width or p.height):  # explain takes a scale or a size: keep the aspect
        w, h = analysis.width, analysis.height
        k = p.width / w if p.width else (p.height or h) / h
        p_size = (p.width or round(w * k), p.height or round(h * k))
    if scale is None and size is None:
        scale, size = p.scale, p_size
    if scale is None and size is None:
        raise InvalidInputError("the prompt names no size (e.g. '2x', '1920x1080'): say one, or give --scale")
    trace.facts["prompt"] = {**p.to_dict(), "text": text, "refused": list(p.refused), "matched": p.matched}
    return scale, size, "jpeg" in p.refused


def _result_view(
    analysis: ImageAnalysis, in_rgb: Image.Image, out_rgb: Image.Image, out_hw: tuple[int, int]
) -> tuple[dict[str, Image.Image], dict[str, Any]]:
    """The result view (the most detailed region of the input, at the output's resolution: the
    input, bicubic, clearzoom) and the report's ``result`` section (the region, blockiness)."""
    out_h, out_w = out_hw
    bicubic = in_rgb.resize((out_w, out_h), Image.Resampling.BICUBIC)
    color = torch.from_numpy(np.asarray(in_rgb, dtype=np.float32) / 255).permute(2, 0, 1)
    side = min(REGION_LR, in_rgb.width, in_rgb.height)
    ry, rx = detailed_region(color, side)
    sx, sy = out_w / in_rgb.width, out_h / in_rgb.height
    box = (round(rx * sx), round(ry * sy), round((rx + side) * sx), round((ry + side) * sy))
    view = {
        "input (nearest)": in_rgb.crop((rx, ry, rx + side, ry + side)).resize(
            (box[2] - box[0], box[3] - box[1]), Image.Resampling.NEAREST
        ),
        "bicubic": bicubic.crop(box),
        "clearzoom": out_rgb.crop(box),
    }
    result = {
        "region": {"x": rx, "y": ry, "size": side},
        "blockiness": {
            "input": analysis.blockiness,
            "bicubic": _block_at_input_scale(bicubic, in_rgb.size),
            "clearzoom": _block_at_input_scale(out_rgb, in_rgb.size),
        },
    }
    return view, result


def _references(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The works cited, each saying where clearzoom uses it; Instruct-IPT's parser when this run
    read a prompt."""
    refs = [{k: r[k] for k in ("title", "url", "role", "used")} for r in load_references()]
    if "prompt" in run:
        for r in refs:
            if r["title"].startswith("Instruct-IPT") and not r["used"]:
                r["used"] = "this run's request was read from words by clearzoom.instruct.prompt"
    return refs


def _report(
    src: Path,
    analysis: ImageAnalysis,
    trace: Trace,
    loaded: Model,
    total: float,
    result: dict[str, Any],
    output_file: str | None,
) -> dict[str, Any]:
    """The JSON-able report (its schema: ``report.schema.json``)."""
    out_h, out_w = trace.facts["output_hw"]
    sx, sy = out_w / analysis.width, out_h / analysis.height
    stages = []
    for s in trace.stages.values():
        d = s.to_dict()
        d["seconds"] = round(d["seconds"], 4)
        stages.append(d)
    run = {k: v for k, v in trace.facts.items() if k not in ("output_hw", "output_window")}
    run["device"] = str(trace.device)
    return {
        "format": REPORT_FORMAT,
        "clearzoom_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "source": src.name,
        "input": analysis.to_dict(),
        "task": describe_task(analysis, (out_w, out_h)),
        "output": {
            "width": out_w,
            "height": out_h,
            "scale": [round(sx, 4), round(sy, 4)],
            "file": output_file,
        },
        "model": {
            "name": loaded.name,
            "description": loaded.description,
            "parameters": loaded.num_parameters,
            "spec": loaded.spec,
        },
        "run": run,
        "stages": stages,
        "total_seconds": round(total, 4),
        "stage_seconds": round(trace.total_seconds, 4),
        "result": result,
        "references": _references(run),
    }
