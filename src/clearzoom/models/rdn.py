"""RDN encoder (Zhang et al., 2018) without its upsampler, as in the official RDN-LIIF.

Parameter names follow the official code (``SFENet1``, ``SFENet2``, ``RDBs.i.convs.j.conv.0``,
``RDBs.i.LFF``, ``GFF.{0,1}``) so the official RDN-LIIF checkpoint loads strictly.
"""

from __future__ import annotations

import torch
from torch import nn

from .encoder import Encoder
from .registry import register

__all__ = ["RDN"]

_CONFIGS = {"A": (20, 6, 32), "B": (16, 8, 64)}  # (blocks D, conv layers C, growth G)


class _RDBConv(nn.Module):
    def __init__(self, cin: int, growth: int, k: int = 3):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(cin, growth, k, padding=(k - 1) // 2), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((x, self.conv(x)), 1)


class _RDB(nn.Module):
    def __init__(self, g0: int, growth: int, n_layers: int, k: int = 3):
        super().__init__()
        self.convs = nn.Sequential(*[_RDBConv(g0 + c * growth, growth, k) for c in range(n_layers)])
        self.LFF = nn.Conv2d(g0 + n_layers * growth, g0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.LFF(self.convs(x)) + x


class RDN(Encoder):
    """Residual dense network feature extractor. Shape: ``(B, 3, H, W) -> (B, G0, H, W)``."""

    def __init__(self, G0: int = 64, RDNkSize: int = 3, RDNconfig: str = "B", n_colors: int = 3):
        super().__init__()
        if RDNconfig not in _CONFIGS:
            raise ValueError(f"RDNconfig must be one of {sorted(_CONFIGS)}, got {RDNconfig!r}")
        d, c, g = _CONFIGS[RDNconfig]
        pad = (RDNkSize - 1) // 2
        self.out_dim = G0
        self.SFENet1 = nn.Conv2d(n_colors, G0, RDNkSize, padding=pad)
        self.SFENet2 = nn.Conv2d(G0, G0, RDNkSize, padding=pad)
        self.RDBs = nn.ModuleList(_RDB(G0, g, c, RDNkSize) for _ in range(d))
        self.GFF = nn.Sequential(nn.Conv2d(d * G0, G0, 1), nn.Conv2d(G0, G0, RDNkSize, padding=pad))
        self.receptive_radius = pad * (2 + d * c + 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f1 = self.SFENet1(x)
        x = self.SFENet2(f1)
        outs = []
        for block in self.RDBs:
            x = block(x)
            outs.append(x)
        return self.GFF(torch.cat(outs, 1)) + f1


@register("rdn")
def make_rdn(
    G0: int = 64,
    RDNkSize: int = 3,
    RDNconfig: str = "B",
    scale: int = 2,
    no_upsampling: bool = True,
    n_colors: int = 3,
) -> RDN:
    if not no_upsampling:
        raise ValueError("clearzoom uses RDN as a LIIF encoder only: set no_upsampling=True")
    return RDN(G0, RDNkSize, RDNconfig, n_colors)
