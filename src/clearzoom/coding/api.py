"""Semantic coding's API: plan which regions matter, then ``encode_czp``/``decode_czp`` an image or
a file (SDComp, arXiv 2408.08575; what differs from the paper is in docs/coding.md)."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from .. import imageio
from ..atomic import write_atomic
from ..errors import InvalidInputError
from .decoder import DecodeReport, decode
from .encoder import DEFAULT_QUALITIES, Encoded, Qualities, encode
from .regions import Region, load_grounding, parse_roi, prompt_labels, rank_regions

__all__ = ["Plan", "decode_czp", "encode_czp", "parse_bytes", "plan_regions"]

log = logging.getLogger(__name__)

_UNITS = {"": 1, "b": 1, "kb": 1000, "k": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2}


def parse_bytes(text: str | int) -> int:
    """``20kB`` -> 20000, ``1.5MB``, ``64KiB``, or a plain number of bytes."""
    if isinstance(text, int):
        value = text
    else:
        m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", str(text))
        if m is None or m.group(2).lower() not in _UNITS:
            raise InvalidInputError(f"budget must be bytes like 20kB, 1.5MB or 40000, got {text!r}")
        value = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if value < 1:
        raise InvalidInputError(f"budget must be positive, got {text!r}")
    return value


@dataclass
class Plan:
    """The ranked regions of an image, where they came from, and the prompt's label order."""

    regions: list[Region]
    prompt_order: list[str]
    detectors_run: tuple[str, ...]

    def to_dict(self) -> dict:
        return {
            "prompt_order": self.prompt_order,
            "detectors_run": list(self.detectors_run),
            "regions": [
                {"rank": r.rank, "label": r.label, "box": list(r.box), "source": r.source, "score": r.score}
                for r in self.regions
            ],
        }


def plan_regions(
    image: Image.Image,
    *,
    rois: Sequence[str | Region] = (),
    grounding: str | os.PathLike | None = None,
    prompt: str | None = None,
    detectors: Sequence[str] | None = None,
) -> Plan:
    """The regions worth bytes, ranked (:data:`~.regions.RULES`).

    ``detectors`` None runs the bundled ones (text, face) only when no ROI or grounding is given;
    an empty sequence runs none. The salient box stands in when nothing is found."""
    from .detect import DETECTORS, detect

    regions = [r if isinstance(r, Region) else parse_roi(r) for r in rois]
    if grounding is not None:
        regions += load_grounding(grounding)
    which = tuple(detectors) if detectors is not None else (() if regions else DETECTORS)
    if which or not regions:
        regions += detect(image, which)
    order = prompt_labels(prompt, sorted({r.label for r in regions})) if prompt else []
    ranked = rank_regions(regions, image.size[0], image.size[1], order)
    return Plan(ranked, order, which)


def encode_czp(
    image: Image.Image | str | os.PathLike,
    dst: str | os.PathLike | None = None,
    *,
    plan: Plan | None = None,
    overwrite: bool = False,
    qualities: Qualities = DEFAULT_QUALITIES,
    budget: int | str | None = None,
    base_scale: float = 0.5,
    feather: int = 4,
    **plan_args,
) -> Encoded:
    """Code an image (or an image file) as ``.czp``; written atomically to ``dst`` if given."""
    if not isinstance(image, Image.Image):
        pixels, _ = imageio.read_image(image)
        image = pixels if isinstance(pixels, Image.Image) else Image.fromarray(imageio.to_uint8(pixels))
    image = image.convert("RGB")
    if dst is not None and Path(dst).exists() and not overwrite:
        raise InvalidInputError(f"{dst}: exists (use overwrite to replace it)")
    plan = plan or plan_regions(image, **plan_args)
    enc = encode(
        image,
        plan.regions,
        qualities=qualities,
        budget=None if budget is None else parse_bytes(budget),
        base_scale=base_scale,
        feather=feather,
    )
    if dst is not None:
        write_atomic(dst, enc.data)
    return enc


def decode_czp(
    src: bytes | str | os.PathLike,
    dst: str | os.PathLike | None = None,
    *,
    overwrite: bool = False,
    **decode_args,
) -> tuple[Image.Image, DecodeReport]:
    """Decode a ``.czp`` (bytes or a file); the image is written atomically to ``dst`` if given."""
    if dst is not None and Path(dst).exists() and not overwrite:
        raise InvalidInputError(f"{dst}: exists (use overwrite to replace it)")
    if isinstance(src, (bytes, bytearray)):
        data = bytes(src)
    else:
        try:
            data = Path(src).read_bytes()
        except OSError as e:
            raise InvalidInputError(f"cannot read {src}: {e.strerror}") from None
    image, report = decode(data, **decode_args)
    if dst is not None:
        imageio.write_image(image, dst, overwrite=overwrite)
    return image, report
