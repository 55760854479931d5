"""``clearzoom explain FILE.czp``: the layers of a semantic-coded file, how its regions were
ranked, and what the decoder did with each, in the same report as an image's (SDComp marked used).
"""

from __future__ import annotations

import dataclasses
import io
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from .. import imageio
from ..analysis import analyze_image
from ..coding import RULES, decode, parse
from ..errors import InvalidInputError
from ..inference.api import load_runnable
from ..models.model import Model
from ..precision import resolve_device
from ..trace import Trace
from .report import ExplainResult, _report, _result_view, _rgb8, explain_image

__all__ = ["explain", "explain_czp", "is_czp"]


def is_czp(src: str | os.PathLike) -> bool:
    """Whether ``src`` starts with the ``.czp`` magic bytes."""
    from ..coding.container import MAGIC

    try:
        with open(src, "rb") as f:
            return f.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def explain(src: str | os.PathLike, **kwargs) -> ExplainResult:
    """The report of an image (:func:`~.report.explain_image`, whose arguments it takes) or of a
    ``.czp`` file, decoded (:func:`explain_czp`: ``scale``, ``size``, ``model``, ``threads``,
    ``save_output``, ``overwrite``, ``progress``)."""
    if not is_czp(src):
        return explain_image(src, **kwargs)
    odd = [k for k in ("tta", "crisp", "crisp_model", "prompt") if kwargs.get(k)]
    if odd or isinstance(kwargs.get("scale"), tuple):
        raise InvalidInputError("a .czp is explained as decoded: no --tta, --crisp, --prompt or SX,SY scale")
    keep = ("scale", "size", "model", "threads", "save_output", "overwrite", "progress")
    return explain_czp(src, **{k: v for k, v in kwargs.items() if k in keep})


def explain_czp(
    src: str | os.PathLike,
    *,
    scale: float | None = None,
    size: tuple[int, int] | None = None,
    model=None,
    threads: int | None = None,
    save_output: str | os.PathLike | None = None,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
):
    """Decode ``src`` with a trace and build the report (:func:`~.report.explain_image`'s format)."""
    src = Path(src)
    if save_output is not None and Path(save_output).exists() and not overwrite:
        raise FileExistsError(f"{save_output}: exists (use --overwrite to replace it)")
    try:
        data = src.read_bytes()
    except OSError as e:
        raise InvalidInputError(f"cannot read {src}: {e.strerror}") from None
    c = parse(data)
    analysis = dataclasses.replace(analyze_image(c.payloads[0]), file_bytes=len(data))
    trace = Trace(device=resolve_device("cpu"))
    t_start = time.perf_counter()
    with trace.stage("load model") as st:
        loaded, _ = load_runnable(model)
        if not isinstance(loaded, Model):  # load_runnable gives ONNX graphs only when asked
            raise InvalidInputError("explain decodes a .czp with a PyTorch model")
        st.params = loaded.num_parameters
        st.detail = f"{loaded.name}: {loaded.description}"
    out, dec = decode(
        c, scale=scale, size=size, model=loaded, threads=threads, progress=progress, trace=trace
    )
    if save_output is not None:
        imageio.write_image(out, save_output, overwrite=overwrite)
    total = time.perf_counter() - t_start
    trace.facts["output_hw"] = (out.size[1], out.size[0])
    trace.facts["coding"] = _coding_facts(c, dec)
    base = Image.open(io.BytesIO(c.payloads[0])).convert("RGB")
    view, result = _result_view(analysis, base, _rgb8(out), trace.facts["output_hw"])
    report = _report(
        src, analysis, trace, loaded, total, result, None if save_output is None else Path(save_output).name
    )
    layers = trace.facts["coding"]["layers"]
    regions = [f"{x['label']} (rank {x['rank']})" for x in layers if x["kind"] == "region"]
    report["task"] = (
        f"Semantic-coded .czp of {c.width}×{c.height} in {len(data):,} bytes: a {base.width}×{base.height} "
        f"base, {len(regions)} region layer(s){': ' + ', '.join(regions) if regions else ''}"
        f"{', a rest layer' if any(x['kind'] == 'rest' for x in layers) else ''}; decoded to "
        f"{out.size[0]}×{out.size[1]}"
    )
    for ref in report["references"]:
        if ref["title"].endswith("(SDComp)"):
            ref["used"] = (
                "this file: regions ranked by importance, coded as layers and decoded "
                "progressively by clearzoom.coding"
            )
    return ExplainResult(report, view, out)


def _coding_facts(c, dec) -> dict[str, Any]:
    """The layer table, the ranking rules and the decoder's work, for the report's ``run``."""
    used = {u["index"]: u for u in dec.used}
    layers = []
    for i, layer in enumerate(c.layers):
        entry = {k: v for k, v in layer.to_json().items() if k != "crc32"}
        entry["index"] = i
        entry.setdefault("label", "")
        entry.setdefault("rank", 0)
        if i in used:
            entry["decoded"] = used[i]["how"]
            entry["seconds"] = used[i]["seconds"]
        layers.append(entry)
    return {
        "format_version": 1,
        "encoder": c.encoder,
        "declared_layers": c.declared_layers,
        "layers": layers,
        "dropped": [{"index": i, "why": why} for i, why in dec.dropped],
        "ranking_rules": list(RULES),
        "order_of_blending": "base, then rest, then regions from the last rank to the first (rank 1 on top)",
    }
