"""The models that ship inside the package (explicit list; weights in ``clearzoom/weights``)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = ["DEFAULT_MODEL", "PRETRAINED", "Pretrained", "list_models"]


@dataclass(frozen=True)
class Pretrained:
    name: str
    filename: str
    description: str
    crisp: str | None = None  # the shipped perceptual partner that --crisp blends with

    @property
    def path(self) -> Path:
        return Path(str(resources.files("clearzoom") / "weights" / self.filename))


PRETRAINED: dict[str, Pretrained] = {
    p.name: p
    for p in [
        Pretrained(
            "clearzoom-jpeg",
            "clearzoom-jpeg.safetensors",
            "JPEG-aware LIIF (EDSR 32x8 + MLP 128x4, bilinear skip, 0.25 M params, told the input's "
            "JPEG quality), trained for 16 CPU-hours on clean and JPEG inputs; removes compression "
            "artifacts while it enlarges",
        ),
        Pretrained(
            "clearzoom-clean",
            "clearzoom-clean.safetensors",
            "the clean-trained twin of clearzoom-jpeg (same architecture, recipe and budget, clean "
            "inputs only): for clean sources, and to measure what JPEG-aware training buys",
        ),
        Pretrained(
            "clearzoom-small",
            "clearzoom-small.safetensors",
            "small LIIF (EDSR 32x8 + MLP 128x4, bilinear skip, 0.25 M params), trained ~1 CPU-hour "
            "on clean and JPEG inputs: the first default, kept for comparison",
        ),
    ]
}

DEFAULT_MODEL = "clearzoom-jpeg"


def list_models() -> list[Pretrained]:
    """The models shipped with clearzoom, default first."""
    return sorted(PRETRAINED.values(), key=lambda p: (p.name != DEFAULT_MODEL, p.name))
