"""Feature-map upsamplers with one interface: ``upsample(features, image, size, method=...)``.

A vision encoder's features are coarse (one vector per 4–32 input pixels). To use them at the
image's resolution they must be upsampled; the image itself says where the edges are:

- ``bilinear``: the features interpolated, blind to the image (the baseline);
- ``jbu``: joint bilateral upsampling (Kopf et al., SIGGRAPH 2007; the core of FeatUp's JBU and of
  FeatSharp, arXiv 2502.16025): each output pixel is the mean of the low-resolution features
  around it, weighted by a spatial Gaussian (distance on the low-resolution grid) times a range
  Gaussian (colour difference between the output pixel and each feature's pixel in the guidance
  image), so features do not bleed across the image's edges. Fixed σ here; FeatUp learns them.

Memory stays bounded: the output is computed ``rows_per_tile`` rows at a time, and each tile only
gathers the feature rows it needs; tiles equal the untiled result exactly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["METHODS", "joint_bilateral", "upsample"]

METHODS = ("bilinear", "jbu")


def upsample(
    features: torch.Tensor,
    image: torch.Tensor,
    size: tuple[int, int],
    *,
    method: str = "jbu",
    sigma_spatial: float = 1.0,
    sigma_range: float = 0.1,
    radius: int = 2,
    rows_per_tile: int = 256,
) -> torch.Tensor:
    """Upsample ``features (C, h, w)`` to ``size (H, W)``, guided by ``image (3, Hi, Wi)`` in [0, 1].

    Args:
        method: ``bilinear`` or ``jbu`` (see the module).
        sigma_spatial: the spatial Gaussian's σ in low-resolution pixels (``jbu``).
        sigma_range: the range Gaussian's σ on colour differences in [0, 1] (``jbu``).
        radius: the window: ``2 * radius`` low-resolution pixels per side around each output pixel.
        rows_per_tile: output rows computed at once (memory; the result does not depend on it).

    Shape: ``(C, h, w)`` -> ``(C, H, W)`` float32.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if features.dim() != 3 or image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(f"features (C, h, w) and image (3, H, W) expected, got {tuple(features.shape)}")
    features = features.float()
    if method == "bilinear":
        return F.interpolate(features[None], size=size, mode="bilinear", align_corners=False)[0]
    return joint_bilateral(features, image, size, sigma_spatial, sigma_range, radius, rows_per_tile)


def _resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    mode = "area" if size[0] <= image.shape[-2] and size[1] <= image.shape[-1] else "bilinear"
    corners = None if mode == "area" else False
    return F.interpolate(image[None].float(), size=size, mode=mode, align_corners=corners)[0]


def joint_bilateral(
    features: torch.Tensor,
    image: torch.Tensor,
    size: tuple[int, int],
    sigma_spatial: float = 1.0,
    sigma_range: float = 0.1,
    radius: int = 2,
    rows_per_tile: int = 256,
) -> torch.Tensor:
    """Joint bilateral upsampling of ``features (C, h, w)`` to ``size``, guided by ``image``."""
    c, h, w = features.shape
    big_h, big_w = size
    guide_hr = _resize(image, size)  # the colour of each output pixel
    guide_lr = _resize(image, (h, w))  # the colour of each feature's pixel
    # each output pixel's position on the low-resolution grid (pixel centres, as F.interpolate)
    cy = (torch.arange(big_h, dtype=torch.float32) + 0.5) * h / big_h - 0.5
    cx = (torch.arange(big_w, dtype=torch.float32) + 0.5) * w / big_w - 0.5
    out = torch.empty(c, big_h, big_w)
    offsets = range(-radius + 1, radius + 1)
    for y0 in range(0, big_h, rows_per_tile):
        y1 = min(y0 + rows_per_tile, big_h)
        ty, tx = cy[y0:y1, None], cx[None, :]  # (th, 1), (1, W)
        by, bx = ty.floor().long(), tx.floor().long()
        acc = torch.zeros(c, y1 - y0, big_w)
        norm = torch.zeros(1, y1 - y0, big_w)
        g = guide_hr[:, y0:y1]
        for dy in offsets:
            iy = (by + dy).clamp(0, h - 1)  # (th, 1)
            wy = torch.exp(-0.5 * ((ty - (by + dy)) / sigma_spatial) ** 2)
            for dx in offsets:
                ix = (bx + dx).clamp(0, w - 1)  # (1, W)
                ws = wy * torch.exp(-0.5 * ((tx - (bx + dx)) / sigma_spatial) ** 2)
                gq = guide_lr[:, iy, ix]  # (3, th, W): the guidance at each neighbour
                wr = torch.exp(-0.5 * ((g - gq) ** 2).sum(0, keepdim=True) / sigma_range**2)
                wt = ws * wr
                acc += wt * features[:, iy, ix]
                norm += wt
        out[:, y0:y1] = acc / norm.clamp_min(1e-12)
    return out
