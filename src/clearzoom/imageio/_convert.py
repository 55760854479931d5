"""The one conversion to 8 bit: float in [0, 1], or 16-bit integers, to uint8."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["to_uint8"]


def to_uint8(x: Any) -> np.ndarray:
    """``x`` as a uint8 array of the same shape.

    Floats (numpy or a torch tensor, on any device) are clipped to [0, 1], scaled by 255 and
    rounded half to even; uint16 values are divided by 257 (65535 -> 255) and rounded; uint8
    passes through.
    """
    if hasattr(x, "detach"):  # a torch tensor: round in torch, where it already is
        return x.detach().float().clamp(0, 1).mul(255).round().to("cpu").numpy().astype(np.uint8)
    arr = np.asarray(x)
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.uint16:
        return np.round(arr.astype(np.float64) / 257).astype(np.uint8)
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"to_uint8 takes floats, uint8 or uint16, got {arr.dtype}")
    return np.round(np.clip(arr, 0, 1) * 255).astype(np.uint8)
