"""THE coordinate convention of clearzoom, written once.

Every image of H rows and W columns covers the square [-1, 1] x [-1, 1], whatever its size.
Coordinates are ordered **(y, x)** (row first, as tensors are indexed), and a coordinate names the
**centre** of a pixel:

    y_i = -1 + (2 i + 1) / H        for row i in 0 .. H-1
    x_j = -1 + (2 j + 1) / W        for column j in 0 .. W-1

The **cell** of a query is the size of one output pixel in that space: ``cell = (2 / H, 2 / W)``.
LIIF (Chen et al., CVPR 2021) uses exactly this convention (its ``make_coord``); so do the official
checkpoints, and so the low-resolution feature grid and any high-resolution output line up by their
outer edges, not by their first pixel centres (the same as ``align_corners=False``).

A region of a virtual output of size (H, W) -- rows ``y0 .. y0+h-1``, columns ``x0 .. x0+w-1`` --
therefore has the same coordinates as those pixels of the full output, so a tiled or windowed render
equals the corresponding crop of a full render.
"""

from __future__ import annotations

import torch

__all__ = ["centers_of", "make_cell", "make_coord", "nearest_index", "pixel_centers", "size_hw"]


def pixel_centers(n: int, start: int = 0, count: int | None = None, *, device=None) -> torch.Tensor:
    """Centres of pixels ``start .. start+count-1`` of an axis of ``n`` pixels, in [-1, 1].

    Shape: ``(count,)`` float32.
    """
    count = n - start if count is None else count
    return centers_of(torch.arange(start, start + count, device=device), n)


def centers_of(idx: torch.Tensor, n: int) -> torch.Tensor:
    """Centres of the pixels with (integer) indices ``idx`` on an axis of ``n`` pixels. float32."""
    r = 1.0 / n
    return -1.0 + r + (2.0 * r) * idx.to(torch.float32)


def make_coord(
    shape: tuple[int, int],
    *,
    window: tuple[int, int, int, int] | None = None,
    flatten: bool = True,
    device=None,
) -> torch.Tensor:
    """Pixel-centre coordinates of an (H, W) image, or of a window of it.

    Args:
        shape: ``(H, W)`` of the (possibly virtual) image.
        window: ``(y0, x0, h, w)`` rows/columns to return; the whole image when ``None``.
        flatten: return ``(h*w, 2)`` instead of ``(h, w, 2)``.

    Shape: ``(h*w, 2)`` or ``(h, w, 2)``, float32, last dim ordered (y, x).

    Example:
        >>> make_coord((2, 2)).tolist()
        [[-0.5, -0.5], [-0.5, 0.5], [0.5, -0.5], [0.5, 0.5]]
    """
    h_full, w_full = shape
    y0, x0, h, w = window if window is not None else (0, 0, h_full, w_full)
    ys = pixel_centers(h_full, y0, h, device=device)
    xs = pixel_centers(w_full, x0, w, device=device)
    grid = torch.stack(torch.meshgrid(ys, xs, indexing="ij"), dim=-1)
    return grid.reshape(-1, 2) if flatten else grid


def make_cell(shape: tuple[int, int], n: int, *, device=None) -> torch.Tensor:
    """The cell ``(2/H, 2/W)`` of an (H, W) output, repeated for ``n`` queries. Shape ``(n, 2)``."""
    h, w = shape
    cell = torch.tensor([2.0 / h, 2.0 / w], dtype=torch.float32, device=device)
    return cell.expand(n, 2)


def nearest_index(coord: torch.Tensor, n: int) -> torch.Tensor:
    """Index of the pixel (of an axis of ``n``) whose cell contains ``coord``.

    Bit-for-bit the rule of ``F.grid_sample(mode='nearest', align_corners=False)``: unnormalise to
    ``((c + 1) * n - 1) / 2`` and round half to even, then clamp into the axis.
    """
    pos = ((coord + 1) * n - 1) / 2
    return torch.round(pos).long().clamp_(0, n - 1)


def size_hw(t: torch.Tensor) -> tuple[int, int]:
    """``(H, W)``: the sizes of a tensor's last two dimensions (an image's rows and columns)."""
    return int(t.shape[-2]), int(t.shape[-1])
