"""What output to make: scale, exact size, width or height, and an optional region. Pure.

Rounding rule (documented in the README): for a scale ``s`` the output side is
``round_half_up(n * s) = floor(n * s + 0.5)``, at least 1 -- e.g. 500 px at ``--scale 3.7`` gives
1850 px and 333 px at ``--scale 1.5`` gives 500 px (499.5 rounds up). With ``width`` alone the
height keeps the aspect ratio by the same rule (``height = floor(h * width / w + 0.5)``), and
vice versa. An exact ``size`` is used as given; the effective scale per axis is then ``out / in``.
``fit`` ``(W, H)`` is the largest output of the input's aspect ratio inside the box: the scale
``s = min(W / w, H / h)`` and the rule above, which never exceeds the box (the limiting side is
exactly ``W`` or ``H``).

Limits: each axis may be magnified at most :data:`MAX_SCALE` times, and the pixels rendered in one
call (the region, or the whole output) may not exceed :data:`MAX_OUTPUT_PIXELS` unless the caller
raises the limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InvalidTargetError

__all__ = ["MAX_OUTPUT_PIXELS", "MAX_SCALE", "Target", "resolve_target"]

MAX_SCALE = 64.0
MAX_OUTPUT_PIXELS = 400_000_000  # 400 MP: e.g. 20000 x 20000; 1.2 GB as 8-bit RGB


@dataclass(frozen=True)
class Target:
    out_hw: tuple[int, int]  # the (virtual) output size
    window: tuple[int, int, int, int]  # (y0, x0, h, w) of it to render


def _round(x: float) -> int:
    return max(1, int(math.floor(x + 0.5)))


def _positive(name: str, v: float) -> float:
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise InvalidTargetError(f"{name} must be a number, got {v!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise InvalidTargetError(f"{name} must be a positive finite number, got {v}")
    return v


def _pixels(name: str, wh) -> tuple[int, int]:
    """A ``(width, height)`` of whole positive pixels, checked."""
    if len(wh) != 2:
        raise InvalidTargetError(f"{name} must be (width, height), got {wh!r}")
    w, h = (int(_positive(name, s)) for s in wh)
    if (w, h) != tuple(wh):
        raise InvalidTargetError(f"{name} must be whole pixels, got {wh!r}")
    return w, h


def resolve_target(
    in_hw: tuple[int, int],
    *,
    scale: float | tuple[float, float] | None = None,
    size: tuple[int, int] | None = None,
    width: int | None = None,
    height: int | None = None,
    region: tuple[int, int, int, int] | None = None,
    fit: tuple[int, int] | None = None,
    max_output_pixels: int = MAX_OUTPUT_PIXELS,
) -> Target:
    """Turn the user's request into an output size and a window. Exactly one of ``scale``,
    ``size`` (``(W, H)``), ``width``/``height`` (one or both) or ``fit`` (``(W, H)``: the largest
    output of the input's aspect ratio inside that box) must be given.

    ``region`` is ``(x0, y0, w, h)`` in output pixels: only that window of the virtual output is
    rendered (and counted against ``max_output_pixels``).

    Raises:
        InvalidTargetError: none or several targets, non-positive or absurd values (> MAX_SCALE per
            axis), a region outside the output, or too many output pixels.
    """
    h, w = in_hw
    given = [n for n, v in (("scale", scale), ("size", size), ("fit", fit)) if v is not None]
    if width is not None or height is not None:
        given.append("width/height")
    if len(given) != 1:
        raise InvalidTargetError(
            "give exactly one of scale, size, width/height, fit"
            + (f" (got {', '.join(given)})" if given else "")
        )
    if scale is not None:
        sy, sx = (scale, scale) if not isinstance(scale, (tuple, list)) else (scale[1], scale[0])
        sy, sx = _positive("scale", sy), _positive("scale", sx)
        out_h, out_w = _round(h * sy), _round(w * sx)
    elif fit is not None:
        box_w, box_h = _pixels("fit", fit)
        if box_w * h <= box_h * w:  # the width limits: exact, the height follows the aspect
            out_w, out_h = box_w, min(box_h, _round(h * box_w / w))
        else:
            out_h, out_w = box_h, min(box_w, _round(w * box_h / h))
    elif size is not None:
        out_w, out_h = _pixels("size", size)
    else:
        if width is not None and height is not None:
            out_w, out_h = int(_positive("width", width)), int(_positive("height", height))
        elif width is not None:
            out_w = int(_positive("width", width))
            out_h = _round(h * out_w / w)
        else:
            assert height is not None  # one of width and height is given
            out_h = int(_positive("height", height))
            out_w = _round(w * out_h / h)
    if out_h > h * MAX_SCALE or out_w > w * MAX_SCALE:
        raise InvalidTargetError(
            f"output {out_w}x{out_h} is more than {MAX_SCALE:g}x the input {w}x{h} on an axis"
        )

    if region is None:
        window = (0, 0, out_h, out_w)
    else:
        if len(region) != 4:
            raise InvalidTargetError(f"region must be (x0, y0, w, h), got {region!r}")
        x0, y0, rw, rh = (int(v) for v in region)
        if rw < 1 or rh < 1 or x0 < 0 or y0 < 0 or x0 + rw > out_w or y0 + rh > out_h:
            raise InvalidTargetError(f"region {tuple(region)} is not inside the {out_w}x{out_h} output")
        window = (y0, x0, rh, rw)
    pixels = window[2] * window[3]
    if pixels > max_output_pixels:
        raise InvalidTargetError(
            f"{window[3]}x{window[2]} = {pixels / 1e6:.0f} MP is over the limit of"
            f" {max_output_pixels / 1e6:.0f} MP output pixels (render a region, or raise the limit)"
        )
    return Target((out_h, out_w), window)
