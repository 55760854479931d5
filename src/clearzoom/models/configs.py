"""Frozen configuration records shared by models, checkpoints and the engine."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Normalization"]


@dataclass(frozen=True)
class Normalization:
    """How pixel values in [0, 1] map to the model's space and back.

    The model sees ``(x - inp_sub) / inp_div`` and predicts ``y`` with colour ``y * gt_div + gt_sub``.
    LIIF trains with 0.5 / 0.5 for both (the official checkpoints do not store it).
    """

    inp_sub: float = 0.5
    inp_div: float = 0.5
    gt_sub: float = 0.5
    gt_div: float = 0.5

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Normalization:
        return cls(**{k: float(d[k]) for k in ("inp_sub", "inp_div", "gt_sub", "gt_div")})


LIIF_NORMALIZATION = Normalization()
