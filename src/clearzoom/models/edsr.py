"""EDSR encoder (Lim et al., 2017) without its upsampler, as used by LIIF.

Parameter names follow the official LIIF/EDSR code (``head.0``, ``body.N.body.{0,2}``, ``body.N``)
so official state dicts load strictly. The official module also owns ``sub_mean``/``add_mean``
buffers that its forward never uses; they are deliberately absent here (the checkpoint converter
drops them).
"""

from __future__ import annotations

import torch
from torch import nn

from .encoder import Encoder
from .registry import register

__all__ = ["EDSR"]


def _conv(cin: int, cout: int, k: int = 3) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, padding=k // 2)


class ResBlock(nn.Module):
    def __init__(self, n_feats: int, res_scale: float = 1.0):
        super().__init__()
        self.body = nn.Sequential(_conv(n_feats, n_feats), nn.ReLU(True), _conv(n_feats, n_feats))
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = self.body(x)
        if self.res_scale != 1:
            res = res * self.res_scale
        return res + x


class EDSR(Encoder):
    """EDSR feature extractor: conv head, residual blocks, conv, global residual.

    Shape: ``(B, n_colors, H, W) -> (B, n_feats, H, W)``.
    """

    def __init__(self, n_resblocks: int = 16, n_feats: int = 64, res_scale: float = 1.0, n_colors: int = 3):
        super().__init__()
        self.out_dim = n_feats
        self.head = nn.Sequential(_conv(n_colors, n_feats))
        body: list[nn.Module] = [ResBlock(n_feats, res_scale) for _ in range(n_resblocks)]
        body.append(_conv(n_feats, n_feats))
        self.body = nn.Sequential(*body)
        #: pixels of input each output feature depends on, on each side (3x3 convs)
        self.receptive_radius = 2 * n_resblocks + 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(x)
        return self.body(x) + x


def _check_no_upsampling(no_upsampling: bool) -> None:
    if not no_upsampling:
        raise ValueError("clearzoom uses EDSR as a LIIF encoder only: set no_upsampling=True")


@register("edsr-baseline")
def make_edsr_baseline(
    n_resblocks: int = 16,
    n_feats: int = 64,
    res_scale: float = 1.0,
    scale: int = 2,
    no_upsampling: bool = True,
    rgb_range: float = 1,
    n_colors: int = 3,
) -> EDSR:
    """EDSR-baseline (16 blocks x 64 channels); ``scale``/``rgb_range`` accepted for spec parity."""
    _check_no_upsampling(no_upsampling)
    return EDSR(n_resblocks, n_feats, res_scale, n_colors)


@register("edsr")
def make_edsr(
    n_resblocks: int = 32,
    n_feats: int = 256,
    res_scale: float = 0.1,
    scale: int = 2,
    no_upsampling: bool = True,
    rgb_range: float = 1,
    n_colors: int = 3,
) -> EDSR:
    """Full EDSR (32 blocks x 256 channels, residual scaling 0.1)."""
    _check_no_upsampling(no_upsampling)
    return EDSR(n_resblocks, n_feats, res_scale, n_colors)
