"""A straightforward re-implementation of the paper's inference, kept as the speed reference.

This is the official LIIF ``query_rgb`` (github.com/yinboc/liif, models/liif.py) and ``demo.py``'s
``batched_predict`` written out plainly on clearzoom's modules and weights: every call unfolds the
whole feature map 3x3 (576 channels for EDSR-baseline), samples it with ``grid_sample`` for each of
the 4 local-ensemble shifts, concatenates coordinates and cell, and runs the full MLP 4 times, in
fp32. clearzoom's engine must give the same numbers (tests) and be faster (benchmarks).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from clearzoom.coords import make_coord


def reference_query_rgb(
    net, feat: torch.Tensor, coord: torch.Tensor, cell: torch.Tensor, inp: torch.Tensor | None = None
) -> torch.Tensor:
    """The official ``LIIF.query_rgb``, unchanged in substance. ``(B, Q, 2) -> (B, Q, 3)``."""
    if net.feat_unfold:
        feat = F.unfold(feat, 3, padding=1).view(
            feat.shape[0], feat.shape[1] * 9, feat.shape[2], feat.shape[3]
        )
    if net.local_ensemble:
        vx_lst, vy_lst, eps_shift = [-1, 1], [-1, 1], 1e-6
    else:
        vx_lst, vy_lst, eps_shift = [0], [0], 0
    rx = 2 / feat.shape[-2] / 2
    ry = 2 / feat.shape[-1] / 2
    feat_coord = (
        make_coord(feat.shape[-2:], flatten=False)
        .permute(2, 0, 1)
        .unsqueeze(0)
        .expand(feat.shape[0], 2, *feat.shape[-2:])
    )
    preds, areas = [], []
    for vx in vx_lst:
        for vy in vy_lst:
            coord_ = coord.clone()
            coord_[:, :, 0] += vx * rx + eps_shift
            coord_[:, :, 1] += vy * ry + eps_shift
            coord_.clamp_(-1 + 1e-6, 1 - 1e-6)
            q_feat = F.grid_sample(feat, coord_.flip(-1).unsqueeze(1), mode="nearest", align_corners=False)[
                :, :, 0, :
            ].permute(0, 2, 1)
            q_coord = F.grid_sample(
                feat_coord, coord_.flip(-1).unsqueeze(1), mode="nearest", align_corners=False
            )[:, :, 0, :].permute(0, 2, 1)
            rel_coord = coord - q_coord
            rel_coord[:, :, 0] *= feat.shape[-2]
            rel_coord[:, :, 1] *= feat.shape[-1]
            x = torch.cat([q_feat, rel_coord], dim=-1)
            if net.cell_decode:
                rel_cell = cell.clone()
                rel_cell[:, :, 0] *= feat.shape[-2]
                rel_cell[:, :, 1] *= feat.shape[-1]
                x = torch.cat([x, rel_cell], dim=-1)
            bs, q = coord.shape[:2]
            pred = net.imnet(x.view(bs * q, -1)).view(bs, q, -1)
            preds.append(pred)
            areas.append(torch.abs(rel_coord[:, :, 0] * rel_coord[:, :, 1]) + 1e-9)
    tot_area = torch.stack(areas).sum(dim=0)
    if net.local_ensemble:
        areas[0], areas[3] = areas[3], areas[0]
        areas[1], areas[2] = areas[2], areas[1]
    ret = 0
    for pred, area in zip(preds, areas):
        ret = ret + pred * (area / tot_area).unsqueeze(-1)
    if net.skip == "bilinear":
        ret = ret + F.grid_sample(
            inp, coord.flip(-1).unsqueeze(1), mode="bilinear", padding_mode="border", align_corners=False
        )[:, :, 0, :].permute(0, 2, 1)
    return ret


def reference_upscale(
    model, color: torch.Tensor, out_hw: tuple[int, int], bsize: int = 30000
) -> torch.Tensor:
    """demo.py: encode the whole image, decode all output pixels ``bsize`` at a time (fp32).

    ``color (3, h, w)`` in [0, 1] -> ``(3, H, W)`` in [0, 1] (not clipped).
    """
    net, norm = model.net, model.normalization
    h, w = out_hw
    with torch.no_grad():
        inp = ((color - norm.inp_sub) / norm.inp_div).unsqueeze(0)
        feat = net.gen_feat(inp)
        coord = make_coord((h, w)).unsqueeze(0)
        cell = torch.ones_like(coord)
        cell[:, :, 0] *= 2 / h
        cell[:, :, 1] *= 2 / w
        preds = []
        for ql in range(0, coord.shape[1], bsize):
            preds.append(
                reference_query_rgb(net, feat, coord[:, ql : ql + bsize], cell[:, ql : ql + bsize], inp)
            )
        pred = torch.cat(preds, dim=1)[0]
    return (pred * norm.gt_div + norm.gt_sub).t().reshape(3, h, w)
