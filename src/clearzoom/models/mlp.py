"""The LIIF decoder: a plain MLP with ReLU between layers (official key names ``layers.N``)."""

from __future__ import annotations

import torch
from torch import nn

from .registry import register

__all__ = ["MLP"]


@register("mlp")
class MLP(nn.Module):
    """``in_dim -> hidden_list... -> out_dim``. Shape: ``(..., in_dim) -> (..., out_dim)``."""

    def __init__(self, in_dim: int, out_dim: int, hidden_list: list[int]):
        super().__init__()
        layers: list[nn.Module] = []
        last = in_dim
        for hidden in hidden_list:
            layers += [nn.Linear(last, hidden), nn.ReLU()]
            last = hidden
        layers.append(nn.Linear(last, out_dim))
        self.layers = nn.Sequential(*layers)
        self.in_dim, self.out_dim = in_dim, out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)

    @property
    def linears(self) -> list[nn.Linear]:
        """The Linear layers, first to last (the ReLUs between them left out)."""
        return [m for m in self.layers if isinstance(m, nn.Linear)]
