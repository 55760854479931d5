"""MATLAB-compatible bicubic ``imresize`` (the way SR benchmarks make their low-resolution images).

MATLAB's ``imresize(img, scale, 'bicubic')``: cubic kernel with a = -0.5; when shrinking, the kernel
is widened by 1/scale (antialiasing); borders are mirrored (symmetric padding); the output size is
``ceil(in * scale)``. PIL's and torch's bicubic differ from it by enough to move PSNR by tenths of a
dB, so training and evaluation both use this one.

The resize is separable and linear, so it is computed as two small matrix products (one weight
matrix per axis, built in float64), which is exact and fast for any scale, integer or not.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

__all__ = ["imresize", "resize_matrix"]


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * (
        (ax > 1) & (ax <= 2)
    )


@lru_cache(maxsize=256)
def resize_matrix(n_in: int, n_out: int, scale: float, antialias: bool = True) -> np.ndarray:
    """The ``(n_out, n_in)`` float64 matrix that MATLAB's bicubic imresize applies along one axis."""
    width = 4.0
    if scale < 1 and antialias:
        kernel = lambda x: scale * _cubic(scale * x)  # noqa: E731
        width = width / scale
    else:
        kernel = _cubic
    out_idx = np.arange(1, n_out + 1, dtype=np.float64)
    u = out_idx / scale + 0.5 * (1 - 1 / scale)  # 1-based input coordinate of each output centre
    left = np.floor(u - width / 2)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]  # 1-based
    weights = kernel(u[:, None] - idx)
    weights /= weights.sum(axis=1, keepdims=True)
    # symmetric ("mirror with edge repeated") padding, as MATLAB: [1..n, n..1] periodically
    mirror = np.concatenate([np.arange(n_in), np.arange(n_in - 1, -1, -1)])
    src = mirror[np.mod(idx.astype(np.int64) - 1, 2 * n_in)]
    mat = np.zeros((n_out, n_in), dtype=np.float64)
    np.add.at(mat, (np.repeat(np.arange(n_out), taps), src.ravel()), weights.ravel())
    return mat


def imresize(
    img: torch.Tensor,
    scale: float | tuple[float, float] | None = None,
    size: tuple[int, int] | None = None,
    *,
    antialias: bool = True,
) -> torch.Tensor:
    """Resize like MATLAB ``imresize(img, scale, 'bicubic')``.

    Args:
        img: float tensor ``(..., H, W)`` (any value range; not clamped or rounded).
        scale: factor, or ``(sy, sx)``; the output size is ``ceil(H * sy), ceil(W * sx)``.
        size: ``(H_out, W_out)``; the per-axis scale is then ``out / in`` (as MATLAB does).

    Shape: ``(..., H, W) -> (..., H_out, W_out)``, same dtype as ``img``.

    Example:
        >>> imresize(torch.rand(3, 96, 96), 0.25).shape
        torch.Size([3, 24, 24])
    """
    h, w = img.shape[-2:]
    if size is None:
        if scale is None:
            raise ValueError("give scale or size")
        sy, sx = (scale, scale) if not isinstance(scale, (tuple, list)) else scale
        # MATLAB: ceil(in * scale); a tiny tolerance keeps 48 * (1/3) * 3 from becoming 49
        size = (math.ceil(h * sy - 1e-9), math.ceil(w * sx - 1e-9))
    else:
        sy, sx = (
            (size[0] / h, size[1] / w)
            if scale is None
            else ((scale, scale) if not isinstance(scale, (tuple, list)) else scale)
        )
    mh = torch.from_numpy(resize_matrix(h, size[0], float(sy), antialias)).to(img.dtype)
    mw = torch.from_numpy(resize_matrix(w, size[1], float(sx), antialias)).to(img.dtype)
    return mh.to(img.device) @ img @ mw.to(img.device).t()
