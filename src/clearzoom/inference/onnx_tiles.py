"""The engine's tiles rendered by onnxruntime (``--backend onnxruntime``), from the graphs of
``clearzoom export --onnx`` (:mod:`.onnxrt`)."""

from __future__ import annotations

import numpy as np
import torch

from ..trace import Tracer
from .onnxrt import OnnxGraphs, query_coords
from .tiling import Tile

__all__ = ["render_tile_onnx"]


def render_tile_onnx(
    model: OnnxGraphs,
    crop: torch.Tensor,
    tile: Tile,
    lr_hw: tuple[int, int],
    out_hw: tuple[int, int],
    chunk_queries: int,
    int8: bool,
    strength: float,
    tr: Tracer,
) -> torch.Tensor:
    """Colours ``(3, th, tw)`` of one tile of the engine's plan (:func:`~.engine.render_color`), by
    onnxruntime: the crop's codes, cut to the tile's core (exact there: the crop reaches
    ``feature_radius`` beyond it), then the decoder graph ``chunk_queries`` pixels at a time."""
    ty, tx = tile.y, tile.x
    rgb = crop.numpy()[None]
    with tr.stage("encoder", detail="onnxruntime: encoder graph (codes x the MLP's first layer)") as st:
        proj = model.encode(rgb, strength)
        st.set_shape(tuple(proj.shape))
    cy, cx = ty.core_start - ty.crop_start, tx.core_start - tx.crop_start
    ch, cw = ty.core_stop - ty.core_start, tx.core_stop - tx.core_start
    # contiguous once per tile: a strided window would be copied again for every chunk's run
    proj = np.ascontiguousarray(proj[:, cy : cy + ch, cx : cx + cw])
    rgb = np.ascontiguousarray(rgb[:, :, cy : cy + ch, cx : cx + cw])
    _, _, th, tw = tile.out_window
    out = np.empty((th * tw, 3), dtype=np.float32)
    cell = np.array([2.0 / out_hw[0], 2.0 / out_hw[1]], dtype=np.float32)
    offset = (ty.core_start, tx.core_start)
    with tr.stage("MLP decoder", detail="onnxruntime: decoder graph, per output pixel") as st:
        for s in range(0, th * tw, chunk_queries):
            stop = min(s + chunk_queries, th * tw)
            coord = query_coords(out_hw, tile.out_window, s, stop)
            out[s:stop] = model.decode(proj, rgb, coord, cell, lr_hw, offset, int8=int8)[0]
        st.set_shape(tuple(out.shape))
    return torch.from_numpy(out).t().reshape(3, th, tw)
