"""The inference engine: render any window of any-size output of a LIIF model, tile by tile.

Stateless: every function takes the model and the input and returns results; nothing is cached
between calls. Runs under ``torch.inference_mode()``.

Memory is bounded by the tile and chunk sizes, not by the image: the input is encoded tile by tile
(crops of at most ``tile_lr`` LR pixels per side plus the model's receptive-field halo, see
:mod:`.tiling`) and each tile's output pixels are decoded ``chunk_queries`` at a time from the
projected codes (:meth:`LIIF.project`), never from a 3x3-unfolded feature map.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from ..coords import centers_of, make_cell, make_coord, size_hw
from ..models.liif import LIIF, bilinear_sample, jpeg_strength
from ..models.model import Model
from ..precision import autocast
from ..trace import NO_TRACE, Trace, Tracer, conv_macs
from .dihedral import DIHEDRAL
from .onnx_tiles import render_tile_onnx
from .onnxrt import OnnxGraphs
from .tiling import Tile, TilePlan, plan_tiles

__all__ = [
    "DEFAULT_CHUNK_QUERIES",
    "DEFAULT_TILE_LR",
    "RenderOptions",
    "encode_features",
    "render_alpha",
    "render_color",
    "render_from_features",
]

log = logging.getLogger(__name__)

DEFAULT_TILE_LR = 384  # LR pixels per tile side: larger tiles waste less encoder work on halos
MAX_TILE_OUT_SIDE = 2048  # output pixels per tile side, at most (memory of one tile's result)
DEFAULT_CHUNK_QUERIES = 2048  # measured: small chunks stay in cache (benchmarks/)


_QUANTIZE_LOCK = threading.Lock()


def int8_hidden_layers(net: LIIF) -> list[torch.nn.Module]:
    """Dynamic-int8 copies of the MLP's hidden Linear layers (the module itself is not changed)."""
    import warnings

    linears = net.imnet.linears[1:-1]
    # catch_warnings swaps the process-wide filters: two threads inside it at once (the web app
    # renders tiles in parallel) can restore each other's and let the notice through
    with _QUANTIZE_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao's deprecation notice about torchao
        q = torch.ao.quantization.quantize_dynamic(
            torch.nn.Sequential(*linears), {torch.nn.Linear}, dtype=torch.qint8
        )
    return list(q)


@dataclass(frozen=True)
class RenderOptions:
    """How to render: device, precision, tile and chunk sizes, self-ensemble (all have sensible
    defaults)."""

    device: torch.device = torch.device("cpu")
    precision: str = "fp32"  # resolved (not "auto")
    tile_lr: int = DEFAULT_TILE_LR
    chunk_queries: int = DEFAULT_CHUNK_QUERIES
    tta: bool = False  # test-time self-ensemble: the mean of 8 flipped/transposed renders (8x time)


Runnable = Model | OnnxGraphs  # a PyTorch model, or its ONNX export (``--backend onnxruntime``)


def plan_for(
    model: Runnable,
    lr_hw: tuple[int, int],
    out_hw: tuple[int, int],
    window: tuple[int, int, int, int],
    tile_lr: int,
) -> TilePlan:
    """The tile plan the engine uses for this model and request."""
    return plan_tiles(lr_hw, out_hw, window, tile_lr=tile_lr, halo=model.feature_radius)


def render_color(
    model: Runnable,
    color: torch.Tensor,
    out_hw: tuple[int, int],
    window: tuple[int, int, int, int] | None = None,
    *,
    options: RenderOptions = RenderOptions(),
    on_tile: Callable[[int, int], None] | None = None,
    trace: Trace | None = None,
    jpeg_quality: int | None = None,
) -> Iterator[tuple[Tile, torch.Tensor]]:
    """Render the colour of ``window`` of an ``out_hw`` output, one tile at a time.

    Args:
        model: a loaded LIIF model, or the ONNX graphs of one (run by onnxruntime).
        color: input ``(3, h, w)`` float32 in [0, 1] on the CPU.
        out_hw: the (virtual) output size ``(H, W)``.
        window: ``(y0, x0, h, w)`` of the output to render; the whole output when ``None``.
        options: device, precision, tile and chunk sizes, self-ensemble.
        on_tile: called as ``on_tile(done, total)`` after each tile (progress).
        trace: a :class:`~clearzoom.trace.Trace` to record the stages run (shapes,
            MACs, seconds), or None.
        jpeg_quality: the JPEG quality the input was compressed at (None: clean), which a
            JPEG-aware model (``condition="jpeg"``) is told; other models ignore it.

    Yields:
        ``(tile, rgb)``: the tile (``tile.out_window`` says where it goes) and its colours
        ``(3, th, tw)`` float32 in [0, 1]-ish (not clipped), on the CPU.
    """
    dev = options.device
    h, w = color.shape[-2:]
    window = window if window is not None else (0, 0, *out_hw)
    # bound each tile's output too (at x64 a 256-pixel tile would be 268 MP): <= ~4 MP per tile
    scale = max(out_hw[0] / h, out_hw[1] / w)
    tile_lr = max(8, min(options.tile_lr, int(MAX_TILE_OUT_SIDE / scale)))
    plan = plan_for(model, (h, w), out_hw, window, tile_lr)
    log.debug("render %sx%s -> %sx%s window %s: %s", w, h, out_hw[1], out_hw[0], window, plan.describe())
    hidden = (
        int8_hidden_layers(model.net) if options.precision == "int8" and isinstance(model, Model) else None
    )
    strength = jpeg_strength(jpeg_quality)
    tr = trace if trace is not None else NO_TRACE
    if isinstance(model, OnnxGraphs):
        tr.facts["backend"] = "onnxruntime" + (" (int8 decoder)" if options.precision == "int8" else "")
    if model.condition == "jpeg":
        tr.facts["jpeg_condition"] = "clean" if jpeg_quality is None else f"JPEG quality {jpeg_quality}"
    tr.facts.update(
        {
            "tiles": len(plan.tiles),
            "tile_plan": plan.describe(),
            "precision": options.precision,
            "device": str(dev),
            "chunk_queries": options.chunk_queries,
        }
    )
    if options.tta:
        tr.facts["self_ensemble"] = f"mean of {len(DIHEDRAL)} renders (flips and transposes)"
    with torch.inference_mode(), autocast(options.precision, dev):
        for n, tile in enumerate(plan.tiles):
            if options.tta:
                rgb = _render_tile_tta(model, color, tile, out_hw, options, hidden, strength, tr)
            else:
                ty, tx = tile.y, tile.x
                crop = color[:, ty.crop_start : ty.crop_stop, tx.crop_start : tx.crop_stop]
                rgb = _render_tile(model, crop, tile, (h, w), out_hw, options, hidden, strength, tr)
            if on_tile is not None:
                on_tile(n + 1, len(plan.tiles))
            yield tile, rgb


def _render_tile(
    model: Runnable,
    crop: torch.Tensor,
    tile: Tile,
    lr_hw: tuple[int, int],
    out_hw: tuple[int, int],
    options: RenderOptions,
    hidden,
    strength: float,
    tr: Tracer,
) -> torch.Tensor:
    """Colours ``(3, th, tw)`` of one tile of a plan for ``lr_hw -> out_hw``, from ``crop``: the
    input's rows/columns ``tile.y/x.crop_start .. crop_stop``."""
    if isinstance(model, OnnxGraphs):
        return render_tile_onnx(
            model, crop, tile, lr_hw, out_hw, options.chunk_queries, options.precision == "int8", strength, tr
        )
    net, norm = model.net, model.normalization
    with tr.stage("normalise", detail="(x - inp_sub) / inp_div") as st:
        inp = ((crop.to(options.device) - norm.inp_sub) / norm.inp_div).unsqueeze(0)
        st.set_shape(inp)
    eh, ew = inp.shape[-2:]
    with tr.stage(
        "encoder",
        macs=conv_macs(net.encoder, eh, ew),
        params=_params(net.encoder),
        detail=f"{model.spec['args']['encoder_spec']['name']}: one latent code per input pixel",
    ) as st:
        # channels-last convolutions: 1.3-1.5x faster encoder on CPU (benchmarks/RESULTS.md)
        feat = net.gen_feat(inp.contiguous(memory_format=torch.channels_last), strength)
        st.set_shape(feat)
    return _decode_tile(
        model, feat, inp, (tile.y.crop_start, tile.x.crop_start), tile, lr_hw, out_hw, options, hidden, tr
    )


def _render_tile_tta(
    model: Runnable,
    color: torch.Tensor,
    tile: Tile,
    out_hw: tuple[int, int],
    options: RenderOptions,
    hidden,
    strength: float,
    tr: Tracer,
) -> torch.Tensor:
    """The mean of the tile rendered under each of the 8 :data:`~.dihedral.DIHEDRAL` transforms.

    Each transform renders the transformed window of the transformed input as one tile (no wider
    than ``tile``), from the transformed crop of ``color`` only: memory stays that of one tile."""
    lr_hw = size_hw(color)
    acc = torch.zeros(3, tile.y.out_count, tile.x.out_count)
    for t in DIHEDRAL:
        t_lr, t_out = t.size(lr_hw), t.size(out_hw)
        sub = plan_for(model, t_lr, t_out, t.window(tile.out_window, out_hw), max(t_lr)).tiles[0]
        sy, sx, sh, sw = t.source_window(
            (
                sub.y.crop_start,
                sub.x.crop_start,
                sub.y.crop_stop - sub.y.crop_start,
                sub.x.crop_stop - sub.x.crop_start,
            ),
            lr_hw,
        )
        crop = t.apply(color[:, sy : sy + sh, sx : sx + sw])
        acc += t.undo(_render_tile(model, crop, sub, t_lr, t_out, options, hidden, strength, tr))
    return acc / len(DIHEDRAL)


def _decode_tile(
    model: Model,
    feat: torch.Tensor,
    inp: torch.Tensor,
    origin: tuple[int, int],
    tile: Tile,
    lr_hw: tuple[int, int],
    out_hw: tuple[int, int],
    options: RenderOptions,
    hidden,
    tr,
) -> torch.Tensor:
    """Colours ``(3, th, tw)`` of one tile, from latent codes ``feat`` (and the normalised input
    ``inp``) that cover LR rows/cols from ``origin`` on, including the tile's core and, where the
    image has it, a 1-pixel ring around it."""
    net, norm, dev = model.net, model.normalization, options.device
    first = net.first_layer
    ty, tx = tile.y, tile.x
    oy, ox = origin
    fh, fw = feat.shape[-2:]
    # project only the core plus the 1-pixel ring its 3x3 unfold reads (or the image edge)
    fy0, fy1 = max(ty.core_start - 1, oy), min(ty.core_stop + 1, oy + fh)
    fx0, fx1 = max(tx.core_start - 1, ox), min(tx.core_stop + 1, ox + fw)
    with tr.stage(
        "feature unfolding",
        macs=(fy1 - fy0) * (fx1 - fx0) * net.feat_dim * first.out_features,
        params=net.feat_dim * first.out_features,
        detail=("3x3 neighbourhood of codes" if net.feat_unfold else "off")
        + ", fused with the MLP's first layer (one 3x3 conv per input pixel)",
    ) as st:
        proj = net.project(feat[:, :, fy0 - oy : fy1 - oy, fx0 - ox : fx1 - ox])
        cy, cx = ty.core_start - fy0, tx.core_start - fx0
        ch, cw = ty.core_stop - ty.core_start, tx.core_stop - tx.core_start
        proj = proj[:, cy : cy + ch, cx : cx + cw].float().contiguous()
        st.set_shape(proj)
    iy, ix = ty.core_start - oy, tx.core_start - ox
    inp = inp[:, :, iy : iy + ch, ix : ix + cw].contiguous()
    y0, x0, th, tw = tile.out_window
    out = torch.empty(th * tw, 3, dtype=torch.float32, device=dev)
    for s in range(0, th * tw, options.chunk_queries):
        with tr.stage(
            "query grid", detail=f"output pixel centres, cell = (2/{out_hw[0]}, 2/{out_hw[1]})"
        ) as st:
            cell = make_cell(out_hw, 1, device=dev).view(1, 1, 2)  # the same for every query
            idx = torch.arange(s, min(s + options.chunk_queries, th * tw), device=dev)
            c = torch.stack(
                [centers_of(y0 + idx // tw, out_hw[0]), centers_of(x0 + idx % tw, out_hw[1])], dim=-1
            ).unsqueeze(0)
            st.set_shape(c)
        pred = net.decode(
            proj,
            c,
            cell,
            inp=inp,
            grid_hw=lr_hw,
            offset=(ty.core_start, tx.core_start),
            hidden_layers=hidden,
            trace=tr,
        )
        out[s : s + c.shape[1]] = pred[0].float()
    with tr.stage("de-normalise", detail="y * gt_div + gt_sub") as st:
        rgb = (out * norm.gt_div + norm.gt_sub).t().reshape(3, th, tw).cpu()
        st.set_shape(rgb)
    return rgb


def encode_features(
    model: Model,
    color: torch.Tensor,
    *,
    options: RenderOptions = RenderOptions(),
    jpeg_quality: int | None = None,
) -> torch.Tensor:
    """The latent grid of the whole input, computed tile by tile (bounded memory), once.

    Equals ``model.net.gen_feat`` of the whole normalised image (within float rounding), so that
    :func:`render_from_features` can render any window of any output size from it without running
    the encoder again (the web viewer's deep-zoom tiles).

    ``jpeg_quality``: as in :func:`render_color`.

    Shape: ``color (3, h, w)`` float [0, 1] -> ``(1, C, h, w)`` float32 on ``options.device``.
    """
    net, norm, dev = model.net, model.normalization, options.device
    h, w = color.shape[-2:]
    plan = plan_tiles(
        (h, w), (h, w), (0, 0, h, w), tile_lr=options.tile_lr, halo=net.encoder.receptive_radius
    )
    out = None
    with torch.inference_mode(), autocast(options.precision if options.precision != "int8" else "fp32", dev):
        for tile in plan.tiles:
            ty, tx = tile.y, tile.x
            crop = color[:, ty.crop_start : ty.crop_stop, tx.crop_start : tx.crop_stop].to(dev)
            inp = ((crop - norm.inp_sub) / norm.inp_div).unsqueeze(0)
            feat = net.gen_feat(
                inp.contiguous(memory_format=torch.channels_last), jpeg_strength(jpeg_quality)
            ).float()
            if out is None:
                out = torch.empty(1, feat.shape[1], h, w, device=dev)
            out[:, :, ty.core_start : ty.core_stop, tx.core_start : tx.core_stop] = feat[
                :,
                :,
                ty.core_start - ty.crop_start : ty.core_stop - ty.crop_start,
                tx.core_start - tx.crop_start : tx.core_stop - tx.crop_start,
            ]
    assert out is not None  # a plan has at least one tile
    return out.contiguous()


def render_from_features(
    model: Model,
    feat: torch.Tensor,
    color: torch.Tensor,
    out_hw: tuple[int, int],
    window: tuple[int, int, int, int] | None = None,
    *,
    options: RenderOptions = RenderOptions(),
) -> torch.Tensor:
    """Render ``window`` of an ``out_hw`` output from precomputed latent codes.

    Args:
        feat: :func:`encode_features` of ``color``, ``(1, C, h, w)``.
        color: the input ``(3, h, w)`` float [0, 1] (for models with a global skip).
        out_hw, window: as in :func:`render_color`.

    Returns ``(3, wh, ww)`` float32 on the CPU; the same values as :func:`render_color`.
    """
    net, norm, dev = model.net, model.normalization, options.device
    h, w = color.shape[-2:]
    window = window if window is not None else (0, 0, *out_hw)
    plan = plan_tiles((h, w), out_hw, window, tile_lr=max(h, w), halo=0)
    hidden = int8_hidden_layers(net) if options.precision == "int8" else None
    wy0, wx0, wh, ww = window
    result = torch.empty(3, wh, ww)
    with torch.inference_mode(), autocast(options.precision, dev):
        inp = ((color.to(dev) - norm.inp_sub) / norm.inp_div).unsqueeze(0)
        for tile in plan.tiles:
            rgb = _decode_tile(model, feat, inp, (0, 0), tile, (h, w), out_hw, options, hidden, NO_TRACE)
            y0, x0, th, tw = tile.out_window
            result[:, y0 - wy0 : y0 - wy0 + th, x0 - wx0 : x0 - wx0 + tw] = rgb
    return result


def _params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def render_alpha(
    alpha: torch.Tensor, out_hw: tuple[int, int], window: tuple[int, int, int, int]
) -> torch.Tensor:
    """Alpha of ``window`` of the output: bilinear interpolation at the output pixel centres.

    Alpha does not go through the model: bilinear interpolation cannot overshoot, so edges stay
    clean (no halos or ringing) and fully opaque/transparent areas stay exactly 1/0.
    Shape: ``alpha (1, h, w)`` -> ``(1, wh, ww)``.
    """
    y0, x0, th, tw = window
    coord = make_coord(out_hw, window=window).unsqueeze(0)
    a = bilinear_sample(alpha.unsqueeze(0), coord, grid_hw=size_hw(alpha))
    return a[0].t().reshape(1, th, tw)
