"""A loaded, ready-to-run model: the network plus everything needed to use it correctly."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .configs import Normalization
from .liif import LIIF

__all__ = ["Model"]


@dataclass(frozen=True)
class Model:
    """A network with its spec, normalisation and provenance. Immutable; safe to share.

    Attributes:
        name: registered name (``clearzoom-small``) or the file it came from.
        spec: the LIIF-style spec ``{"name", "args"}`` that rebuilds ``net``.
        net: the module, in eval mode.
        normalization: the pixel mapping the weights were trained with.
        description: one line for ``clearzoom models``.
        provenance: where the weights came from (training recipe, source file, ...).
    """

    name: str
    spec: dict[str, Any]
    net: LIIF
    normalization: Normalization
    description: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def feature_radius(self) -> int:
        """LR pixels on each side that one projected code depends on (the tiles' halo)."""
        return self.net.feature_radius

    @property
    def condition(self) -> str | None:
        """``"jpeg"`` for a JPEG-aware model (told the input's JPEG strength), else None."""
        return self.net.condition

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.net.parameters())
