"""The 8 flips and transposes of an image (the dihedral group of the square), as pure geometry.

Test-time self-ensemble (``tta``; EDSR's "+" models, Real-ESRGAN's ``-x``) renders an input under
each transform and averages the results mapped back. Under :mod:`clearzoom.coords` every transform
maps pixel centres to pixel centres (a flip sends a centre ``c`` to ``-c``, a transpose swaps the
axes), so an output pixel of the transformed render is exactly an output pixel of the plain one.

A transform acts on the last two dimensions: first the flips, then the transpose. Windows are
``(y0, x0, h, w)`` rectangles.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["DIHEDRAL", "Dihedral"]


@dataclass(frozen=True)
class Dihedral:
    flip_y: bool = False
    flip_x: bool = False
    transpose: bool = False

    def size(self, hw: tuple[int, int]) -> tuple[int, int]:
        """The ``(h, w)`` of an ``hw`` image after the transform."""
        return (hw[1], hw[0]) if self.transpose else (hw[0], hw[1])

    def _flip(self, x: torch.Tensor) -> torch.Tensor:
        dims = [d for d, f in ((-2, self.flip_y), (-1, self.flip_x)) if f]
        return x.flip(dims) if dims else x

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., h, w)`` -> the transformed ``(..., h', w')`` (a copy when anything flips)."""
        x = self._flip(x)
        return x.transpose(-2, -1) if self.transpose else x

    def undo(self, x: torch.Tensor) -> torch.Tensor:
        """The inverse of :meth:`apply`."""
        return self._flip(x.transpose(-2, -1) if self.transpose else x)

    def window(self, window: tuple[int, int, int, int], hw: tuple[int, int]) -> tuple[int, int, int, int]:
        """Where ``window`` of an ``hw`` image lies after the transform."""
        y0, x0, h, w = window
        if self.flip_y:
            y0 = hw[0] - y0 - h
        if self.flip_x:
            x0 = hw[1] - x0 - w
        return (x0, y0, w, h) if self.transpose else (y0, x0, h, w)

    def source_window(
        self, window: tuple[int, int, int, int], hw: tuple[int, int]
    ) -> tuple[int, int, int, int]:
        """The window of the ``hw`` image that lands on ``window`` of the transformed one."""
        y0, x0, h, w = window
        if self.transpose:
            y0, x0, h, w = x0, y0, w, h
        if self.flip_y:
            y0 = hw[0] - y0 - h
        if self.flip_x:
            x0 = hw[1] - x0 - w
        return y0, x0, h, w


#: all 8, the identity first
DIHEDRAL: tuple[Dihedral, ...] = tuple(
    Dihedral(fy, fx, t) for t in (False, True) for fy in (False, True) for fx in (False, True)
)
