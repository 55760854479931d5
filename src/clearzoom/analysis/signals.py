"""Measures of what a picture's pixels show, for any format: 8x8 blockiness and noise level."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["blockiness", "noise_sigma"]


def blockiness(gray: np.ndarray, block: int = 8) -> float | None:
    """How much stronger the steps across the ``block`` grid are than the steps inside blocks.

    The mean absolute difference between horizontally (and vertically) neighbouring pixels that
    straddle a block boundary (columns 7|8, 15|16, ...), divided by the mean over neighbours inside
    blocks. About 1.0 for natural images; JPEG blocking raises it (1.3 and more is visible).
    To compare an enlargement with its source, shrink it back to the source's size first (the
    grid is the source's). ``gray``: ``(H, W)`` in any range. None under two blocks on a side.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> blocks = np.kron(rng.random((8, 8)), np.ones((8, 8))) + 0.01 * rng.random((64, 64))
        >>> blockiness(blocks) > 10
        True
    """
    g = np.asarray(gray, dtype=np.float64)
    h, w = g.shape
    if h < 2 * block or w < 2 * block:
        return None
    across, inside = [], []
    for d in (np.abs(np.diff(g, axis=1)), np.abs(np.diff(g, axis=0)).T):
        boundary = (np.arange(d.shape[1]) + 1) % block == 0
        across.append(d[:, boundary].mean())
        inside.append(d[:, ~boundary].mean())
    num, den = float(np.mean(across)), float(np.mean(inside))
    if den < 1e-9:
        return 1.0 if num < 1e-9 else float("inf")
    return num / den


def noise_sigma(gray: np.ndarray) -> float:
    """Standard deviation of white noise in ``gray`` ``(H, W)``, in its own units (Immerkaer 1996).

    The image is filtered with the difference of two Laplacians, which cancels smooth structure;
    the mean absolute response estimates the noise. Textured images read a little high.
    """
    g = np.asarray(gray, dtype=np.float64)
    h, w = g.shape
    if h < 3 or w < 3:
        return 0.0
    r = (
        g[:-2, :-2]
        - 2 * g[:-2, 1:-1]
        + g[:-2, 2:]
        - 2 * g[1:-1, :-2]
        + 4 * g[1:-1, 1:-1]
        - 2 * g[1:-1, 2:]
        + g[2:, :-2]
        - 2 * g[2:, 1:-1]
        + g[2:, 2:]
    )
    return float(math.sqrt(math.pi / 2) * np.abs(r).sum() / (6 * (w - 2) * (h - 2)))
