"""Image quality metrics, following LIIF's evaluation code (``utils.py calc_psnr``).

Benchmark sets (Set5, Set14, ...): PSNR on the Y channel of the *difference*, with the ITU-R 601
coefficients 65.738, 129.057, 25.064 over 256 (no offset: it cancels in a difference), shaving
``ceil(scale)`` pixels from each border. DIV2K-style: RGB, shaving ``scale + 6``.
"""

from __future__ import annotations

import math

import torch

__all__ = ["psnr"]

_Y = (65.738 / 256, 129.057 / 256, 25.064 / 256)


def psnr(sr: torch.Tensor, hr: torch.Tensor, *, shave: int = 0, y_channel: bool = True) -> float:
    """PSNR in dB of two ``(3, H, W)`` images in [0, 1], LIIF's rules.

    Args:
        shave: pixels removed from each border before measuring.
        y_channel: measure the luma (Y) difference (benchmark sets) instead of RGB.
    """
    diff = sr.double() - hr.double()
    if y_channel:
        diff = sum(c * diff[i] for i, c in enumerate(_Y))[None]
    if shave:
        diff = diff[..., shave:-shave, shave:-shave]
    mse = diff.pow(2).mean().item()
    return float("inf") if mse == 0 else -10 * math.log10(mse)
