"""The tile planner: which LR pixels to encode for which output pixels. Pure; no tensors.

Tiles are cut in LR space. Output pixel ``i`` of an axis of ``n_out`` has its centre at LR position
``p = (i + 0.5) * n_lr / n_out`` (pixel units; see :mod:`clearzoom.coords`) and lands in LR pixel
``floor(p)``. Output pixels are grouped by ``floor(p) // tile_lr``, so each tile decodes from at most
``tile_lr`` LR pixels plus the neighbours the local ensemble (and a bilinear skip) reads: the *core*
``[floor(p_first) - 2, floor(p_last) + 3)``. The encoder then runs on the core widened by the
model's ``halo`` (its receptive radius), clipped to the image: there every code equals the code
the whole image would give, so tiled output equals untiled output.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AxisSpan", "Tile", "TilePlan", "plan_tiles"]

_MARGIN = 2  # LR pixels around the decoded ones: local ensemble/bilinear skip read +-1, +1 spare


@dataclass(frozen=True)
class AxisSpan:
    """One tile along one axis: output pixels, LR codes it reads, LR pixels to encode."""

    out_start: int
    out_count: int
    core_start: int
    core_stop: int
    crop_start: int
    crop_stop: int


@dataclass(frozen=True)
class Tile:
    y: AxisSpan
    x: AxisSpan

    @property
    def out_window(self) -> tuple[int, int, int, int]:
        """``(y0, x0, h, w)`` in the virtual output."""
        return self.y.out_start, self.x.out_start, self.y.out_count, self.x.out_count


@dataclass(frozen=True)
class TilePlan:
    lr_hw: tuple[int, int]
    out_hw: tuple[int, int]
    window: tuple[int, int, int, int]
    tile_lr: int
    halo: int
    tiles: tuple[Tile, ...]

    def describe(self) -> str:
        ys = len({t.y for t in self.tiles})
        return (
            f"{len(self.tiles)} tile(s) ({ys} x {len(self.tiles) // max(ys, 1)}) of <= {self.tile_lr}"
            f" LR px + halo {self.halo}"
        )


def _plan_axis(n_lr: int, n_out: int, start: int, count: int, tile_lr: int, halo: int) -> list[AxisSpan]:
    spans: list[AxisSpan] = []
    lr_pixel = lambda i: ((2 * i + 1) * n_lr) // (2 * n_out)  # noqa: E731  floor(p), exact
    i = start
    stop = start + count
    while i < stop:
        band = lr_pixel(i) // tile_lr
        # last output pixel of this band: the largest j with lr_pixel(j) < (band + 1) * tile_lr
        # first output pixel of the next band: the smallest j with (2j + 1) n_lr >= 2 limit n_out
        limit = (band + 1) * tile_lr
        j_end = min(stop, max(i + 1, -(-(2 * limit * n_out - n_lr) // (2 * n_lr))))
        core_start = max(0, lr_pixel(i) - _MARGIN)
        core_stop = min(n_lr, lr_pixel(j_end - 1) + _MARGIN + 1)
        spans.append(
            AxisSpan(
                i, j_end - i, core_start, core_stop, max(0, core_start - halo), min(n_lr, core_stop + halo)
            )
        )
        i = j_end
    return spans


def plan_tiles(
    lr_hw: tuple[int, int],
    out_hw: tuple[int, int],
    window: tuple[int, int, int, int] | None = None,
    *,
    tile_lr: int,
    halo: int,
) -> TilePlan:
    """Plan the tiles that render ``window`` ``(y0, x0, h, w)`` of a virtual ``out_hw`` output.

    Args:
        lr_hw: input size ``(h, w)``.
        out_hw: virtual output size ``(H, W)``.
        window: output rows/columns to render; the whole output when ``None``.
        tile_lr: at most this many LR pixels decoded per tile and axis (>= 1).
        halo: LR pixels of context the encoder needs on each side (the model's feature radius).
    """
    if tile_lr < 1:
        raise ValueError("tile_lr must be >= 1")
    y0, x0, h, w = window if window is not None else (0, 0, *out_hw)
    ys = _plan_axis(lr_hw[0], out_hw[0], y0, h, tile_lr, halo)
    xs = _plan_axis(lr_hw[1], out_hw[1], x0, w, tile_lr, halo)
    tiles = tuple(Tile(ty, tx) for ty in ys for tx in xs)
    return TilePlan((lr_hw[0], lr_hw[1]), (out_hw[0], out_hw[1]), (y0, x0, h, w), tile_lr, halo, tiles)
