"""Image quality metrics, following LIIF's evaluation code (``utils.py calc_psnr``).

Benchmark sets (Set5, Set14, ...): PSNR on the Y channel of the *difference*, with the ITU-R 601
coefficients 65.738, 129.057, 25.064 over 256 (no offset: it cancels in a difference), shaving
``ceil(scale)`` pixels from each border. DIV2K-style: RGB, shaving ``scale + 6``.
"""

from __future__ import annotations

import math

import torch

__all__ = ["psnr", "psnr_b", "ssim", "to_y"]

_Y = (65.738 / 256, 129.057 / 256, 25.064 / 256)


def psnr(sr: torch.Tensor, hr: torch.Tensor, *, shave: int = 0, y_channel: bool = True) -> float:
    """PSNR in dB of two ``(3, H, W)`` images in [0, 1], LIIF's rules.

    Args:
        shave: pixels removed from each border before measuring.
        y_channel: measure the luma (Y) difference (benchmark sets) instead of RGB.
    """
    diff = sr.double() - hr.double()
    if y_channel:
        diff = (_Y[0] * diff[0] + _Y[1] * diff[1] + _Y[2] * diff[2])[None]
    if shave:
        diff = diff[..., shave:-shave, shave:-shave]
    mse = diff.pow(2).mean().item()
    return float("inf") if mse == 0 else -10 * math.log10(mse)


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    t = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-0.5 * (t / sigma) ** 2)
    g = g / g.sum()
    return g[:, None] * g[None, :]


def to_y(img: torch.Tensor) -> torch.Tensor:
    """Luma of a ``(3, H, W)`` [0, 1] image as MATLAB's ``rgb2ycbcr`` (16..235 range, /255)."""
    img = img.double()
    return (16 + 65.481 * img[0] + 128.553 * img[1] + 24.966 * img[2]) / 255


def ssim(a: torch.Tensor, b: torch.Tensor, *, shave: int = 0, data_range: float = 1.0) -> float:
    """Mean SSIM (Wang et al. 2004): Gaussian window 11, sigma 1.5, K1 0.01, K2 0.03.

    ``a``, ``b``: ``(H, W)`` or ``(C, H, W)`` (channels averaged); only windows fully inside the
    image count (``valid`` filtering, as the original MATLAB ``ssim_index``).
    """
    a, b = a.double(), b.double()
    if a.dim() == 2:
        a, b = a[None], b[None]
    if shave:
        a, b = a[:, shave:-shave, shave:-shave], b[:, shave:-shave, shave:-shave]
    w = _gaussian_window()[None, None]
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    x, y = a[:, None], b[:, None]
    conv = lambda t: torch.nn.functional.conv2d(t, w)  # noqa: E731
    mx, my = conv(x), conv(y)
    sxx = conv(x * x) - mx * mx
    syy = conv(y * y) - my * my
    sxy = conv(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(s.mean())


def psnr_b(restored: torch.Tensor, reference: torch.Tensor, *, block: int = 8) -> float:
    """PSNR-B (Yim & Bovik, 2011): PSNR with a blocking-effect factor, on one channel in [0, 1].

    ``PSNR-B = 10 log10(1 / (MSE + BEF))``, ``BEF = eta * (D_B - D_Bc)`` where ``D_B``/``D_Bc``
    are the mean squared differences of horizontally and vertically adjacent pixels of the
    *restored* image across / not across ``block``-pixel boundaries, and
    ``eta = log2(block) / log2(min(H, W))`` when ``D_B > D_Bc`` (else the factor is 0).
    """
    x, ref = restored.double(), reference.double()
    if x.dim() == 3:
        raise ValueError("psnr_b works on one channel (use to_y)")
    h, w = x.shape
    dh = (x[:, :-1] - x[:, 1:]) ** 2  # pairs (j, j+1)
    dv = (x[:-1, :] - x[1:, :]) ** 2
    bh = torch.zeros(w - 1, dtype=torch.bool)
    bh[block - 1 :: block] = True  # boundary between column j and j+1 when (j+1) % block == 0
    bv = torch.zeros(h - 1, dtype=torch.bool)
    bv[block - 1 :: block] = True
    n_b = bh.sum() * h + bv.sum() * w
    n_bc = (~bh).sum() * h + (~bv).sum() * w
    d_b = (dh[:, bh].sum() + dv[bv, :].sum()) / n_b
    d_bc = (dh[:, ~bh].sum() + dv[~bv, :].sum()) / n_bc
    eta = math.log2(block) / math.log2(min(h, w)) if d_b > d_bc else 0.0
    bef = eta * float(d_b - d_bc)
    mse = float(((x - ref) ** 2).mean())
    total = mse + bef
    return float("inf") if total == 0 else -10 * math.log10(total)
