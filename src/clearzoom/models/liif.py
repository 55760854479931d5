"""LIIF: Local Implicit Image Function (Chen, Liu, Wang, CVPR 2021, arXiv 2012.09161).

An encoder turns the (normalised) low-resolution image into a grid of latent codes; an MLP decodes
any continuous coordinate (see :mod:`clearzoom.coords`) into a colour from the nearest latent code(s).

The three switches of the paper are kept: ``feat_unfold`` (each code is the 3x3 neighbourhood of
codes, 9x the channels), ``local_ensemble`` (blend the predictions of the 4 nearest codes, each
weighted by the area of the rectangle opposite to it), ``cell_decode`` (the MLP also sees the size of
the output pixel).

A JPEG-aware LIIF (``condition="jpeg"``, clearzoom's addition) is also told how strongly its
input was JPEG-compressed: a constant extra input plane of :func:`jpeg_strength` (0 for a clean
input, ``1 - q/100`` for JPEG quality ``q``), which the encoder sees beside the colour. Training
knows the quality it applied; at inference it is read from the file's quantization tables.

Decoding here is mathematically the official ``query_rgb`` but organised for speed and memory:
the MLP's first layer is ``W1 @ [unfolded code, rel_coord, rel_cell] + b1``; the unfolded-code part
depends only on the LR pixel, so it is computed once per LR pixel as a 3x3 convolution of the
feature map (:meth:`LIIF.project`), and each query only gathers 4 rows of it and adds the small
coordinate/cell part. The 3x3-unfolded feature map (576 channels for EDSR-baseline) is never built.

Stateless: features are passed explicitly, nothing is kept on the module between calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..coords import nearest_index
from ..trace import NO_TRACE
from . import registry
from .encoder import Encoder
from .mlp import MLP
from .registry import register

__all__ = ["CONDITIONS", "LIIF", "jpeg_strength"]

CONDITIONS = (None, "jpeg")


def jpeg_strength(quality: int | None) -> float:
    """The conditioning value of a JPEG-aware LIIF: 0 for a clean input (``None``), else
    ``1 - quality / 100`` for JPEG ``quality`` in 1..100 (q95 -> 0.05, q30 -> 0.7)."""
    if quality is None:
        return 0.0
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"JPEG quality must be in 1..100, got {quality}")
    return 1.0 - int(quality) / 100.0


_EPS_SHIFT = 1e-6


def _pair(a: Any, b: Any, like: torch.Tensor) -> torch.Tensor:
    """``(a, b)`` as a tensor of ``like``'s dtype and device; ``a``/``b`` are numbers, or 0-d
    tensors when the grid size and offset are graph inputs (the ONNX decoder of
    :mod:`~clearzoom.inference.onnx_export`)."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return torch.stack([torch.as_tensor(a), torch.as_tensor(b)]).to(like)
    return like.new_tensor([a, b])


def _gather(grid: torch.Tensor, iy: torch.Tensor, ix: torch.Tensor) -> torch.Tensor:
    """Rows of ``grid`` (B, C, h, w) at integer positions ``iy, ix`` (B, Q) -> (B, Q, C)."""
    b, c, h, w = grid.shape
    flat = (iy * w + ix).unsqueeze(1).expand(b, c, iy.shape[1])
    return torch.gather(grid.reshape(b, c, h * w), 2, flat).transpose(1, 2)


@register("liif")
class LIIF(nn.Module):
    """LIIF over any registered encoder.

    Args:
        encoder_spec: spec of the encoder (``edsr-baseline``, ``edsr``, ``rdn``).
        imnet_spec: spec of the decoder (``mlp``); its ``in_dim`` is derived.
        local_ensemble, feat_unfold, cell_decode: the paper's switches (all on by default).
        skip: ``None`` (the paper) or ``"bilinear"``: the MLP predicts a residual over a bilinear
            upsampling of the input (as LTE does), which trains faster on small budgets.
        condition: ``None`` (the paper) or ``"jpeg"``: the encoder also sees the input's JPEG
            strength as a fourth input plane (see :func:`jpeg_strength`).
    """

    def __init__(
        self,
        encoder_spec: dict[str, Any],
        imnet_spec: dict[str, Any] | None = None,
        local_ensemble: bool = True,
        feat_unfold: bool = True,
        cell_decode: bool = True,
        skip: str | None = None,
        condition: str | None = None,
    ):
        super().__init__()
        if imnet_spec is None:
            raise ValueError("LIIF needs an imnet_spec (the decoder MLP)")
        if skip not in (None, "bilinear"):
            raise ValueError(f"skip must be None or 'bilinear', got {skip!r}")
        if condition not in CONDITIONS:
            raise ValueError(f"condition must be None or 'jpeg', got {condition!r}")
        if condition is not None:  # the condition plane is one more input channel
            args = encoder_spec.get("args", {})
            encoder_spec = {**encoder_spec, "args": {**args, "n_colors": args.get("n_colors", 3) + 1}}
        self.local_ensemble = local_ensemble
        self.feat_unfold = feat_unfold
        self.cell_decode = cell_decode
        self.skip = skip
        self.condition = condition
        encoder = registry.make(encoder_spec)
        if not isinstance(encoder, Encoder):
            raise ValueError(f"LIIF's encoder must be edsr-baseline, edsr or rdn, got {encoder_spec}")
        self.encoder: Encoder = encoder
        self.feat_dim = encoder.out_dim * (9 if feat_unfold else 1)
        imnet = registry.make(imnet_spec, {"in_dim": self.feat_dim + 2 + (2 if cell_decode else 0)})
        if not isinstance(imnet, MLP):
            raise ValueError(f"LIIF's decoder must be an mlp, got {imnet_spec}")
        self.imnet: MLP = imnet

    @property
    def first_layer(self) -> nn.Linear:
        """The MLP's first layer, whose latent-code part :meth:`project` applies per LR pixel."""
        return self.imnet.linears[0]

    # ------------------------------------------------------------------ geometry
    @property
    def feature_radius(self) -> int:
        """LR pixels on each side that one projected code depends on (encoder + 3x3 unfold).

        Projected codes computed on a crop of the input are exactly those of the whole image
        wherever the crop extends this far (or to the image border, where both see zero padding).
        """
        return self.encoder.receptive_radius + (1 if self.feat_unfold else 0)

    # ------------------------------------------------------------------ encode
    def gen_feat(self, inp: torch.Tensor, strength: torch.Tensor | float | None = None) -> torch.Tensor:
        """Latent grid of a normalised input. Shape ``(B, 3, h, w) -> (B, C, h, w)``.

        ``strength``: for a JPEG-aware model, the input's :func:`jpeg_strength`, one value or one
        per batch item ``(B,)``; ``None`` means clean. Ignored by models without a condition.
        """
        if self.condition is None:
            return self.encoder(inp)
        b, _, h, w = inp.shape
        s = torch.as_tensor(0.0 if strength is None else strength, dtype=inp.dtype, device=inp.device)
        x = torch.cat([inp, s.reshape(-1, 1, 1, 1).expand(b, 1, h, w)], 1)
        if inp.is_contiguous(memory_format=torch.channels_last) and not inp.is_contiguous():
            x = x.contiguous(memory_format=torch.channels_last)
        return self.encoder(x)

    def project(self, feat: torch.Tensor) -> torch.Tensor:
        """Apply the latent-code part of the MLP's first layer once per LR pixel.

        Equals ``W1[:, :feat_dim] @ unfold(feat)`` at every LR pixel (bias, coordinate and cell
        parts are added per query in :meth:`decode`). The result is channels-last, so that a
        query gathers one contiguous row.

        Shape: ``(B, C, h, w) -> (B, h, w, hidden)``, contiguous.
        """
        first = self.first_layer
        w = first.weight[:, : self.feat_dim]
        c = feat.shape[1]
        if self.feat_unfold:
            # F.unfold orders channels as c * 9 + (ky * 3 + kx): a 3x3 convolution, padding 1.
            out = F.conv2d(feat, w.reshape(w.shape[0], c, 3, 3), padding=1)
        else:
            out = F.conv2d(feat, w.reshape(w.shape[0], c, 1, 1))
        return out.permute(0, 2, 3, 1).contiguous()

    # ------------------------------------------------------------------ decode
    def query_rgb(
        self,
        feat: torch.Tensor,
        coord: torch.Tensor,
        cell: torch.Tensor | None = None,
        *,
        inp: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Decode colours at ``coord`` from a whole latent grid (the official ``query_rgb``).

        Args:
            feat: latent grid ``(B, C, h, w)`` from :meth:`gen_feat`.
            coord: ``(B, Q, 2)`` query coordinates, (y, x) in [-1, 1].
            cell: ``(B, Q, 2)`` output pixel size (2/H, 2/W); required when ``cell_decode``.
            inp: the normalised input (needed when ``skip='bilinear'``).

        Shape: returns ``(B, Q, 3)``, in the model's normalised output space.
        """
        return self.decode(self.project(feat), coord, cell, inp=inp)

    def decode(
        self,
        proj: torch.Tensor,
        coord: torch.Tensor,
        cell: torch.Tensor | None = None,
        *,
        inp: torch.Tensor | None = None,
        grid_hw: tuple[int, int] | None = None,
        offset: tuple[int, int] = (0, 0),
        hidden_layers: list[nn.Module] | None = None,
        trace=None,
    ) -> torch.Tensor:
        """Decode colours at ``coord`` from projected codes (:meth:`project`), possibly a window.

        Args:
            proj: ``self.project(feat)``, ``(B, h, w, hidden)``; may be a window of the whole grid.
            coord, cell: as in :meth:`query_rgb`; coordinates of the *whole* image.
            inp: the normalised input aligned with ``proj`` (same window), for ``skip='bilinear'``.
            grid_hw: ``(H, W)`` of the whole latent grid; ``proj``'s own size when ``None``.
            offset: ``(y, x)`` of ``proj[..., 0, 0]`` inside the whole grid.
            hidden_layers: replacements for the MLP's hidden Linear layers (all but the first and
                the last), e.g. int8-quantised copies; the module's own when ``None``.
            trace: a :class:`~clearzoom.trace.Trace` recording the local-ensemble and
                MLP stages, or None.

        Shape: returns ``(B, Q, 3)``.
        """
        tr = trace if trace is not None else NO_TRACE
        bsz, h, w, n_hidden = proj.shape
        hf, wf = grid_hw if grid_hw is not None else (h, w)
        layers = self.imnet.linears
        n_ens = 4 if self.local_ensemble else 1
        with tr.stage(
            "local ensemble",
            detail=f"{n_ens} nearest latent code(s) per query, weighted by the opposite rectangle's area",
        ) as st:
            base: torch.Tensor = layers[0].bias
            if self.cell_decode:
                if cell is None:
                    raise ValueError("this LIIF decodes cells: pass `cell`")
                rel_cell = cell * _pair(hf, wf, cell)
                base = base + rel_cell @ layers[0].weight[:, self.feat_dim + 2 :].t()  # (B, Q|1, hidden)
            x, rel = self._gather(proj, coord, (hf, wf), offset)
            st.set_shape(x.view(n_ens, bsz, coord.shape[1], n_hidden))
        hidden = hidden_layers if hidden_layers is not None else layers[1:-1]
        macs = x.shape[0] * (2 * n_hidden + sum(m.in_features * m.out_features for m in layers[1:]))
        with tr.stage(
            "MLP decoder",
            macs=macs,
            params=sum(p.numel() for p in self.imnet.parameters()),
            detail=" -> ".join(str(m.out_features) for m in layers) + ", ReLU",
        ) as st:
            preds = self._mlp(x, rel, base, layers, hidden)
            st.set_shape(preds)
        with tr.stage("local ensemble", count=False):  # its second half: the same call
            if self.local_ensemble:
                areas = (rel[..., 0] * rel[..., 1]).abs() + 1e-9  # (E, B, Q)
                # each prediction is weighted by the area of the rectangle opposite to it
                areas = areas.flip(0)
                ret = (preds * (areas / areas.sum(0)).unsqueeze(-1)).sum(0)
            else:
                ret = preds[0]
        if self.skip == "bilinear":
            if inp is None:
                raise ValueError("this LIIF predicts a residual over the input: pass `inp`")
            with tr.stage("global skip", detail="+ bilinear upsampling of the input") as st:
                ret = ret + bilinear_sample(inp, coord, grid_hw=(hf, wf), offset=offset)
                st.set_shape(ret)
        return ret

    def _gather(
        self, proj: torch.Tensor, coord: torch.Tensor, grid_hw: tuple[int, int], offset: tuple[int, int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The projected code of each query's nearest latent cell(s), and the query's offset from
        each cell centre in cell units.

        Shape: returns ``(E * B * Q, hidden)`` and ``(E, B, Q, 2)``, E = 4 with local ensemble, else 1.
        """
        bsz, h, w, n_hidden = proj.shape
        hf, wf = grid_hw
        oy, ox = offset
        shifts = [-1, 1] if self.local_ensemble else [0]
        eps = _EPS_SHIFT if self.local_ensemble else 0.0
        ry, rx = 1.0 / hf, 1.0 / wf
        size = _pair(hf, wf, coord)
        batch_base = (torch.arange(bsz, device=coord.device) * (h * w)).view(bsz, 1)
        rows, rels = [], []
        for vy in shifts:
            for vx in shifts:
                c_ = coord + _pair(vy * ry + eps, vx * rx + eps, coord)
                c_ = c_.clamp(-1 + 1e-6, 1 - 1e-6)
                iy = nearest_index(c_[..., 0], hf)
                ix = nearest_index(c_[..., 1], wf)
                q_coord = torch.stack([-1 + (2 * iy + 1) / hf, -1 + (2 * ix + 1) / wf], dim=-1).to(
                    coord.dtype
                )
                rels.append((coord - q_coord) * size)
                rows.append((iy - oy) * w + (ix - ox) + batch_base)
        # gathered projected codes: the first layer's latent part, one row per query and code
        x = proj.reshape(bsz * h * w, n_hidden).index_select(0, torch.cat(rows, 0).reshape(-1))
        return x, torch.stack(rels)

    def _mlp(
        self,
        x: torch.Tensor,
        rel: torch.Tensor,
        base: torch.Tensor,
        layers: list[nn.Linear],
        hidden: Sequence[nn.Module],
    ) -> torch.Tensor:
        """The MLP on gathered codes: the first layer completed in place (coordinate part, then
        bias + cell part), the hidden layers, the last layer. Shape: ``(E, B, Q, 3)``."""
        n_ens, bsz, q = rel.shape[:3]
        n_hidden = x.shape[-1]
        w_coord = layers[0].weight[:, self.feat_dim : self.feat_dim + 2]
        # under autocast the gathered codes are bf16/fp16 while coordinates stay fp32
        x.addmm_(rel.reshape(-1, 2).to(x.dtype), w_coord.t().to(x.dtype))
        x = x.view(n_ens, bsz, -1, n_hidden)
        x += base
        x = x.view(-1, n_hidden).relu_()
        for layer in hidden:
            x = layer(x).relu_()
        return F.linear(x, layers[-1].weight, layers[-1].bias).view(n_ens, bsz, q, -1)

    def forward(
        self,
        inp: torch.Tensor,
        coord: torch.Tensor,
        cell: torch.Tensor | None = None,
        strength: torch.Tensor | float | None = None,
    ) -> torch.Tensor:
        """Encode ``inp`` (B, 3, h, w) and decode ``coord`` (B, Q, 2) -> (B, Q, 3).

        ``strength``: see :meth:`gen_feat` (JPEG-aware models only)."""
        feat = self.gen_feat(inp, strength)
        return self.query_rgb(feat, coord, cell, inp=inp)


def bilinear_sample(
    img: torch.Tensor, coord: torch.Tensor, *, grid_hw: tuple[int, int], offset: tuple[int, int] = (0, 0)
) -> torch.Tensor:
    """Bilinear interpolation of ``img`` at ``coord``, border-replicated.

    Same values as ``F.grid_sample(img, coord.flip(-1), mode='bilinear', padding_mode='border',
    align_corners=False)``, but ``img`` may be a window (``offset``) of a ``grid_hw`` image.
    Shape: ``img (B, C, h, w)``, ``coord (B, Q, 2)`` -> ``(B, Q, C)``.
    """
    hf, wf = grid_hw
    py = (((coord[..., 0] + 1) * hf - 1) / 2).clamp(0, hf - 1)
    px = (((coord[..., 1] + 1) * wf - 1) / 2).clamp(0, wf - 1)
    y0, x0 = py.floor(), px.floor()
    ty, tx = (py - y0).unsqueeze(-1), (px - x0).unsqueeze(-1)
    y0l, x0l = y0.long(), x0.long()
    y1l, x1l = (y0l + 1).clamp(max=hf - 1), (x0l + 1).clamp(max=wf - 1)
    oy, ox = offset
    g = lambda yy, xx: _gather(img, yy - oy, xx - ox)  # noqa: E731
    top = g(y0l, x0l) * (1 - tx) + g(y0l, x1l) * tx
    bottom = g(y1l, x0l) * (1 - tx) + g(y1l, x1l) * tx
    return top * (1 - ty) + bottom * ty
