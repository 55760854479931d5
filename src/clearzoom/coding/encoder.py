"""Write a ``.czp``: the base layer, then the ranked regions at higher fidelity, then the rest.

Bytes are spent by rank (:func:`encode`):

* with per-layer qualities (``Qualities``), each layer is coded at its quality;
* with a ``budget`` (total bytes of the file), the base gets ``base_share`` of what the header
  leaves (at a smaller scale if its own would fall below quality 20), and the regions share the
  remainder in proportion to ``area × 0.7^(rank−1)``. Each
  layer is coded at the highest quality whose bytes fit its share (a bisection over quality);
  what a layer leaves unspent passes to the next. A region that cannot fit at the lowest quality
  is left out (and said so); a rest layer is added only at a quality you set.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from .._version import __version__
from ..data.resize import imresize
from ..errors import InvalidInputError
from .container import Container, Layer, pack
from .regions import Region

__all__ = ["DEFAULT_QUALITIES", "Encoded", "Qualities", "code_picture", "encode"]

log = logging.getLogger(__name__)

LOWEST, HIGHEST = 5, 95
MIN_BASE_QUALITY = 20
GOOD_REGION_QUALITY = 50  # the regions are given this much before the base takes its share
MIN_REGION_QUALITY = 10  # below this at full size, a region is coded smaller (REGION_FALLBACK_SCALE)
REGION_FALLBACK_SCALE = 0.75
_RANK_DECAY = 0.7
_HEADER_PER_LAYER = 50  # compressed header bytes a layer's entry takes, about (see encode's retries)


@dataclass(frozen=True)
class Qualities:
    """Per-layer codecs and qualities (1..100; None for the rest layer: none is written)."""

    base: int = 40
    region: int = 80
    rest: int | None = None
    base_codec: str = "webp"
    region_codec: str = "auto"  # with a budget: avif or webp, whichever is closer; else avif
    rest_codec: str = "avif"


DEFAULT_QUALITIES = Qualities()


@dataclass
class Encoded:
    """What :func:`encode` made: the file's bytes, its parsed form, and what was left out."""

    data: bytes
    container: Container
    left_out: list[tuple[Region, str]] = field(default_factory=list)


def code_picture(img: Image.Image, codec: str, quality: int | None) -> bytes:
    """``img`` coded by Pillow with one of the container's codecs."""
    buf = io.BytesIO()
    if codec == "jpeg":
        img.save(buf, "JPEG", quality=int(quality or 75), optimize=True)
    elif codec == "webp":
        img.save(buf, "WEBP", quality=int(quality or 75), method=6)
    elif codec == "avif":
        img.save(buf, "AVIF", quality=int(quality or 75), speed=6)
    elif codec == "png":
        img.save(buf, "PNG", optimize=True)
    else:
        raise InvalidInputError(f"unknown codec {codec!r}: choose jpeg, webp, avif or png")
    return buf.getvalue()


def _downscale(img: Image.Image, scale: float) -> Image.Image:
    """MATLAB-style bicubic, as the restorer's training inputs were made."""
    if scale >= 1:
        return img
    t = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255).permute(2, 0, 1)
    small = imresize(t, scale).clamp(0, 1).mul(255).round().byte()
    return Image.fromarray(small.permute(1, 2, 0).numpy())


def _fit(img: Image.Image, codec: str, allowance: int) -> tuple[int, bytes] | None:
    """The highest quality in LOWEST..HIGHEST whose bytes fit ``allowance``, and those bytes."""
    lo, hi, best = LOWEST, HIGHEST, None
    while lo <= hi:
        q = (lo + hi) // 2
        data = code_picture(img, codec, q)
        if len(data) <= allowance:
            best, lo = (q, data), q + 1
        else:
            hi = q - 1
    return best


def _fit_region(
    img: Image.Image, codec: str, allowance: int
) -> tuple[str, int, bytes, tuple[int, int]] | None:
    """The codec, quality, bytes and coded size of a region under ``allowance``.

    ``auto`` tries AVIF and WebP and keeps the one with the smaller squared error: AVIF codes
    texture better, but its container costs about 250 bytes a picture, which small regions at
    small budgets cannot afford. The region is coded at its full size if that reaches quality
    ``MIN_REGION_QUALITY``, else at ``REGION_FALLBACK_SCALE`` of it, which the decoder's restorer
    enlarges (on the study's signs, WebP at 3/4 size and quality 5 still read right after it, in
    2/3 of the bytes of full size)."""
    full = _fit_codecs(img, codec, allowance)
    if full is not None and full[1] >= MIN_REGION_QUALITY:
        return (*full, img.size)
    small = _downscale(img, REGION_FALLBACK_SCALE)
    reduced = _fit_codecs(small, codec, allowance)
    if reduced is not None:
        return (*reduced, small.size)
    return None if full is None else (*full, img.size)


def _fit_codecs(img: Image.Image, codec: str, allowance: int) -> tuple[str, int, bytes] | None:
    best: tuple[float, str, int, bytes] | None = None
    ref = np.asarray(img, np.float64)
    for c in ("avif", "webp") if codec == "auto" else (codec,):
        got = _fit(img, c, allowance)
        if got is None:
            continue
        decoded = np.asarray(Image.open(io.BytesIO(got[1])).convert("RGB"), np.float64)
        err = float(np.mean((decoded - ref) ** 2))
        if best is None or err < best[0]:
            best = (err, c, got[0], got[1])
    return None if best is None else best[1:]


def _min_cost(img: Image.Image, codec: str, quality: int = LOWEST, scale: float = 1.0) -> int:
    """A region's bytes at ``quality`` and ``scale`` (of the cheaper codec, for ``auto``)."""
    pic = _downscale(img, scale)
    return min(
        len(code_picture(pic, c, quality)) for c in (("avif", "webp") if codec == "auto" else (codec,))
    )


def _region_box(r: Region, feather: int, width: int, height: int) -> tuple[tuple[int, int, int, int], int]:
    """The region's box grown by ``feather`` on each side (inside the image), and the feather that
    fits it."""
    x, y, w, h = r.box
    x0, y0 = max(0, x - feather), max(0, y - feather)
    x1, y1 = min(width, x + w + feather), min(height, y + h + feather)
    box = (x0, y0, x1 - x0, y1 - y0)
    return box, min(feather, box[2] // 2, box[3] // 2)


def encode(
    image: Image.Image,
    regions: list[Region],
    *,
    qualities: Qualities = DEFAULT_QUALITIES,
    budget: int | None = None,
    base_scale: float = 0.5,
    base_share: float = 0.3,
    feather: int = 4,
) -> Encoded:
    """Code ``image`` (RGB) with its ranked ``regions`` (:func:`~.regions.rank_regions`)."""
    if not 0.05 <= base_scale <= 1:
        raise InvalidInputError(f"base scale must be within 0.05..1, got {base_scale}")
    if qualities.base_codec == "png":
        raise InvalidInputError("the base layer's codec must be lossy: jpeg, webp or avif")
    image = image.convert("RGB")
    width, height = image.size
    bases = _Bases(image, base_scale)
    crops = []
    for r in regions:
        box, f = _region_box(r, feather, width, height)
        crops.append((r, box, f, image.crop((box[0], box[1], box[0] + box[2], box[1] + box[3]))))
    target = budget
    for attempt in range(8):  # the header's size is known only once packed: shrink and retry if over
        enc = _encode_once(image, bases, crops, qualities, target, base_share)
        if budget is None or len(enc.data) <= budget:
            return enc
        target = (target or 0) - (len(enc.data) - budget) - 8 * (attempt + 1)
        if target < 1:
            break
    raise InvalidInputError(f"cannot fit the image into {budget} bytes (at the lowest quality it takes more)")


def _encode_once(
    image: Image.Image,
    bases: _Bases,
    crops: list,
    qualities: Qualities,
    budget: int | None,
    base_share: float,
) -> Encoded:
    width, height = image.size
    left_out: list[tuple[Region, str]] = []
    if budget is None:
        base_img, base_q = bases.at(0), qualities.base
        base_data = code_picture(base_img, qualities.base_codec, base_q)
        codec = "avif" if qualities.region_codec == "auto" else qualities.region_codec
        coded = [
            (r, box, f, codec, qualities.region, code_picture(c, codec, qualities.region), c.size)
            for r, box, f, c in crops
        ]
        spare = 0
    else:
        base_img, base_q, base_data, coded, spare = _allocate(
            bases, crops, qualities, budget, base_share, left_out
        )
    layers = [Layer("base", qualities.base_codec, base_q, (0, 0, width, height), base_img.size)]
    payloads = [base_data]
    for r, box, f, codec, q, data, size in coded:
        layers.append(
            Layer(
                "region",
                codec,
                q,
                box,
                size,
                0,
                0,
                f,
                r.label,
                r.rank or 0,
                r.source,
                r.score,
            )
        )
        payloads.append(data)
    if qualities.rest is not None:
        rest = code_picture(image, qualities.rest_codec, qualities.rest)
        if budget is None or len(rest) <= spare:
            layers.append(
                Layer("rest", qualities.rest_codec, qualities.rest, (0, 0, width, height), (width, height))
            )
            payloads.append(rest)
        else:
            log.info("the rest layer (%d bytes) does not fit the %d bytes left", len(rest), spare)
    container = Container(width, height, layers, payloads, encoder=f"clearzoom {__version__}")
    return Encoded(pack(container), container, left_out)


class _Bases:
    """The base picture at ``scale``, and at halvings of it down to 1/16 (made when asked)."""

    def __init__(self, image: Image.Image, scale: float):
        self.image, self.scales = image, [scale / 2**k for k in range(5) if scale / 2**k >= 1 / 16]
        self._made: dict[int, Image.Image] = {}

    def at(self, k: int) -> Image.Image:
        if k not in self._made:
            self._made[k] = _downscale(self.image, self.scales[k])
        return self._made[k]


def _allocate(bases: _Bases, crops, qualities: Qualities, budget: int, base_share: float, left_out: list):
    """Each layer's quality and bytes under ``budget`` (the module's docstring); the bytes left.

    Every kept region is first given what it costs at the lowest quality; if the base at its
    smallest scale and those do not fit, the lowest-ranked regions are left out. The base's share
    is at most what the regions leave at quality ``GOOD_REGION_QUALITY`` (never less than its
    smallest picture), and the base is the largest of its scales that fits that share at
    quality ``MIN_BASE_QUALITY`` or more, else the smallest that fits. The regions share the rest
    above their minimums by weight, in rank order, each passing on what it leaves unspent."""

    def room(n: int) -> int:  # the payload bytes left beside a header of n regions
        return budget - 64 - _HEADER_PER_LAYER * (1 + n + (qualities.rest is not None))

    smallest = len(code_picture(bases.at(len(bases.scales) - 1), qualities.base_codec, LOWEST))
    if room(0) < smallest:
        raise InvalidInputError(f"a budget of {budget} bytes is too small for the base layer")
    mins = [_min_cost(c[3], qualities.region_codec, scale=REGION_FALLBACK_SCALE) for c in crops]
    keep = len(crops)
    while keep and smallest + sum(mins[:keep]) > room(keep):
        keep -= 1
        r = crops[keep][0]
        left_out.append((r, f"its lowest quality ({mins[keep]} bytes) does not fit beside the higher ranks"))
        log.info("region %d (%s) left out: the budget is spent on higher ranks", r.rank, r.label)
    crops, mins = crops[:keep], mins[:keep]
    avail = room(keep)
    wants = [_min_cost(c[3], qualities.region_codec, GOOD_REGION_QUALITY) for c in crops]
    share = min(int(avail * base_share) if crops else avail, avail - sum(wants))
    share = max(smallest, min(share, avail - sum(mins)))
    fitted = None
    for k in range(len(bases.scales)):
        base_img = bases.at(k)
        fitted = _fit(base_img, qualities.base_codec, share)
        if fitted is not None and fitted[0] >= MIN_BASE_QUALITY:
            break
    assert fitted is not None  # the smallest scale fits ``share`` at the lowest quality
    base_q, base_data = fitted
    extra = avail - len(base_data) - sum(mins)
    weights = [c[1][2] * c[1][3] * _RANK_DECAY ** ((c[0].rank or 1) - 1) for c in crops]
    coded = []
    for i, (r, box, f, img) in enumerate(crops):
        allowance = mins[i] + int(extra * weights[i] / max(sum(weights[i:]), 1e-9))
        got = _fit_region(img, qualities.region_codec, allowance)
        assert got is not None  # its minimum is in the allowance
        coded.append((r, box, f, *got))
        extra -= len(got[2]) - mins[i]
    left = extra
    if crops and left > 0:  # what the regions left unspent goes back to the base, maybe larger
        for j in range(len(bases.scales)):
            better = _fit(bases.at(j), qualities.base_codec, len(base_data) + left)
            if better is not None and (better[0] >= MIN_BASE_QUALITY or bases.at(j) is base_img):
                if bases.at(j) is not base_img or better[0] > base_q:
                    left -= len(better[1]) - len(base_data)
                    base_img, (base_q, base_data) = bases.at(j), better
                break
    return base_img, base_q, base_data, coded, left
