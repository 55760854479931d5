"""What is worth compressing: regions from the user, a grounding file or the bundled detectors,
and the rules that rank them.

**Grounding file** (``--grounding file.json``), what an external multimodal model or a person
would write (schema version 1)::

    {"regions": [
       {"label": "face", "box": [x, y, w, h]},                   # pixels of the image
       {"label": "text", "polygon": [[x, y], [x, y], ...]},       # or a polygon: its bounding box
       {"label": "logo", "box": [...], "rank": 1, "score": 0.9}   # rank (1 = first) and score optional
    ]}

A top-level list of such objects is also accepted.

**Ranking rules**, in order (:func:`rank_regions`; ``encode --dry-run`` prints them):

1. an explicit rank (a grounding file's ``rank``) first, smallest first;
2. the prompt's order of labels ("the faces, then the text"): named labels before unnamed ones;
3. label priority: text, face, person, then any other label, then saliency;
4. larger and more central first: area fraction × (1 − distance of the centre from the image's
   centre, over the half-diagonal).
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError

__all__ = [
    "LABEL_PRIORITY",
    "RULES",
    "Region",
    "load_grounding",
    "parse_roi",
    "prompt_labels",
    "rank_regions",
]

LABEL_PRIORITY = {"text": 0, "face": 1, "person": 2}
_OTHER, _SALIENCY = 3, 9
MAX_REGIONS = 64
RULES = [
    "explicit rank first (a grounding file's rank)",
    "then the prompt's order of labels",
    "then label priority: text, face, person, other labels, saliency",
    "then area x centrality, largest first",
]
# words of a prompt that name a label
_SYNONYMS = {
    "text": ("text", "texts", "word", "words", "writing", "letters", "sign", "signs", "caption", "captions"),
    "face": ("face", "faces", "head", "heads"),
    "person": ("person", "persons", "people", "man", "men", "woman", "women", "body", "bodies"),
}


@dataclass(frozen=True)
class Region:
    """A box of the image (``x, y, w, h`` in pixels) with its label and where it came from."""

    box: tuple[int, int, int, int]
    label: str
    source: str = "user"
    score: float | None = None
    rank: int | None = None  # an explicit rank (1 = first) or None

    def clip(self, width: int, height: int) -> Region | None:
        """This region inside a ``width``×``height`` image, or None if nothing is left."""
        x, y, w, h = self.box
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(width, x + w), min(height, y + h)
        if x1 - x0 < 1 or y1 - y0 < 1:
            return None
        return replace(self, box=(x0, y0, x1 - x0, y1 - y0))


def parse_roi(text: str) -> Region:
    """``x,y,w,h[:label]`` (the CLI's ``--roi``)."""
    spec, _, label = text.partition(":")
    try:
        x, y, w, h = (int(v) for v in spec.split(","))
    except ValueError:
        raise InvalidInputError(f"--roi must be x,y,w,h[:label], got {text!r}") from None
    if w < 1 or h < 1:
        raise InvalidInputError(f"--roi {text!r}: width and height must be positive")
    return Region((x, y, w, h), _label(label or "roi"), "user")


def _label(text: str) -> str:
    label = re.sub(r"\s+", " ", str(text)).strip().lower()[:60]
    return label or "region"


def load_grounding(path: str | os.PathLike) -> list[Region]:
    """The regions of a grounding file (module docstring); a bad file is one clear error."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise InvalidInputError(f"cannot read grounding file {path}: {e.strerror}") from None
    except (UnicodeDecodeError, ValueError):
        raise InvalidInputError(f"grounding file {path} is not JSON") from None
    items = raw.get("regions") if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise InvalidInputError(f"grounding file {path}: expected a list of regions")
    if len(items) > MAX_REGIONS:
        raise InvalidInputError(f"grounding file {path}: more than {MAX_REGIONS} regions")
    return [_grounded(d, f"grounding file {path}, region {i}") for i, d in enumerate(items)]


def _grounded(d: Any, where: str) -> Region:
    if not isinstance(d, dict) or not isinstance(d.get("label", ""), str):
        raise InvalidInputError(f"{where}: expected an object with a label")
    box = d.get("box")
    if box is None and d.get("polygon") is not None:
        box = _polygon_box(d["polygon"], where)
    if not (isinstance(box, list) and len(box) == 4 and all(isinstance(v, (int, float)) for v in box)):
        raise InvalidInputError(f"{where}: needs a box [x, y, w, h] or a polygon")
    x, y, w, h = (int(round(v)) for v in box)
    if w < 1 or h < 1:
        raise InvalidInputError(f"{where}: empty box {box}")
    rank, score = d.get("rank"), d.get("score")
    if rank is not None and not (isinstance(rank, int) and rank >= 1):
        raise InvalidInputError(f"{where}: rank must be an integer >= 1")
    if score is not None and not isinstance(score, (int, float)):
        raise InvalidInputError(f"{where}: score must be a number")
    return Region((x, y, w, h), _label(d.get("label", "")), "grounding", score, rank)


def _polygon_box(poly: Any, where: str) -> list[float]:
    ok = isinstance(poly, list) and len(poly) >= 3
    ok = ok and all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(v, (int, float)) for v in p) for p in poly
    )
    if not ok:
        raise InvalidInputError(f"{where}: a polygon is a list of at least 3 [x, y] points")
    xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]


def prompt_labels(prompt: str, labels: list[str] | None = None) -> list[str]:
    """The labels a prompt names, in its order ("the faces, then the text" -> face, text).

    Synonyms of the bundled labels are known (faces, people, words, signs...); any other label in
    ``labels`` is matched by its own word (singular or plural)."""
    known = {w: label for label, words in _SYNONYMS.items() for w in words}
    for label in labels or []:
        for word in (label, label + "s", label + "es"):
            known.setdefault(word, label)
    order: list[str] = []
    for word in re.findall(r"[a-z]+(?: [a-z]+)?", prompt.lower()):
        for w in (word, *word.split()):
            named = known.get(w)
            if named is not None and named not in order:
                order.append(named)
    return order


def rank_regions(
    regions: list[Region], width: int, height: int, prompt_order: list[str] | None = None
) -> list[Region]:
    """The regions clipped to the image, sorted by the rules (:data:`RULES`), ranks 1.. set."""
    order = prompt_order or []
    half_diag = math.hypot(width, height) / 2

    def key(r: Region) -> tuple:
        x, y, w, h = r.box
        explicit = r.rank if r.rank is not None else 1 << 30
        named = order.index(r.label) if r.label in order else len(order)
        prio = _SALIENCY if r.label == "salient" else LABEL_PRIORITY.get(r.label, _OTHER)
        dist = math.hypot(x + w / 2 - width / 2, y + h / 2 - height / 2) / max(half_diag, 1e-9)
        weight = (w * h) / (width * height) * (1 - dist)
        return (explicit, named, prio, -weight, r.box)

    clipped = [c for r in regions if (c := r.clip(width, height)) is not None]
    return [replace(r, rank=i + 1) for i, r in enumerate(sorted(clipped, key=key))]
