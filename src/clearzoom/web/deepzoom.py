"""Deep Zoom (DZI) geometry of a virtual magnified image: levels, tiles and windows. Pure.

Level ``L`` of a DZI pyramid of a ``W x H`` image has size ``ceil(W / 2**(N - L)) x
ceil(H / 2**(N - L))`` with ``N = ceil(log2(max(W, H)))`` (level ``N`` is full size, level 0 is
1x1), cut into ``tile`` x ``tile`` tiles without overlap -- the rule OpenSeadragon follows. Here
``W x H`` is the input magnified ``zoom`` times, so the top levels exist only virtually: the
engine renders their tiles on demand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Pyramid"]


@dataclass(frozen=True)
class Pyramid:
    width: int  # input size
    height: int
    zoom: int = 32  # the virtual image is the input magnified this much per side
    tile: int = 256

    @property
    def full_size(self) -> tuple[int, int]:
        return self.width * self.zoom, self.height * self.zoom

    @property
    def max_level(self) -> int:
        return max(0, math.ceil(math.log2(max(self.full_size))))

    def level_size(self, level: int) -> tuple[int, int]:
        """``(width, height)`` of ``level``."""
        if not 0 <= level <= self.max_level:
            raise ValueError(f"level {level} is outside 0..{self.max_level}")
        d = 2 ** (self.max_level - level)
        fw, fh = self.full_size
        return math.ceil(fw / d), math.ceil(fh / d)

    def grid(self, level: int) -> tuple[int, int]:
        """``(columns, rows)`` of tiles at ``level``."""
        w, h = self.level_size(level)
        return math.ceil(w / self.tile), math.ceil(h / self.tile)

    def window(self, level: int, col: int, row: int) -> tuple[int, int, int, int]:
        """``(y0, x0, h, w)`` of tile ``(col, row)`` in the ``level`` image."""
        cols, rows = self.grid(level)
        if not (0 <= col < cols and 0 <= row < rows):
            raise ValueError(f"tile {col}_{row} is outside level {level}'s {cols}x{rows} tiles")
        w, h = self.level_size(level)
        x0, y0 = col * self.tile, row * self.tile
        return y0, x0, min(self.tile, h - y0), min(self.tile, w - x0)

    def rendered_by_model(self, level: int) -> bool:
        """True when ``level`` is larger than the input (its tiles need the model)."""
        w, h = self.level_size(level)
        return w > self.width or h > self.height

    def dzi(self, fmt: str = "png") -> str:
        fw, fh = self.full_size
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<Image xmlns="http://schemas.microsoft.com/deepzoom/2008" TileSize="{self.tile}" '
            f'Overlap="0" Format="{fmt}"><Size Width="{fw}" Height="{fh}"/></Image>\n'
        )
