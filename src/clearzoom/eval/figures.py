"""Figures for benchmark results: PSNR against scale, PSNR against JPEG quality, and a crop sheet.

Plots need matplotlib (``pip install 'clearzoom[eval]'``); the crop sheet needs only Pillow.
"""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image, ImageDraw

from ..errors import ClearZoomError
from ..imageio import to_uint8

__all__ = ["crop_sheet", "detailed_region", "plot_results"]


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ClearZoomError("plots need matplotlib: pip install 'clearzoom[eval]'") from None
    return plt


def plot_results(summary: list[dict], out_dir: Path) -> list[Path]:
    """``psnr_vs_scale`` (clean inputs) and ``psnr_vs_jpeg`` (per scale), as PNG and SVG."""
    plt = _pyplot()
    written: list[Path] = []
    datasets = sorted({r["dataset"] for r in summary})
    methods = list(dict.fromkeys(r["method"] for r in summary))

    def save(fig, name: str) -> None:
        for ext in ("png", "svg"):
            p = out_dir / f"{name}.{ext}"
            fig.savefig(p, dpi=120, bbox_inches="tight")
            written.append(p)
        plt.close(fig)

    def panel(ax, rows: list[dict], x_of, title: str, xlabel: str) -> None:
        for m in methods:
            pts = sorted((x_of(r), r["psnr_y"]) for r in rows if r["method"] == m)
            if pts:
                ax.plot(*zip(*pts), marker="o", label=m)
        ax.set(title=title, xlabel=xlabel, ylabel="PSNR-Y (dB)")
        ax.grid(alpha=0.3)

    clean = [r for r in summary if r["degradation"] == "clean"]
    if len({r["scale"] for r in clean}) > 1:
        fig, axes = plt.subplots(
            1, len(datasets), figsize=(5 * len(datasets), 3.6), squeeze=False, layout="constrained"
        )
        for ax, ds in zip(axes[0], datasets):
            panel(
                ax, [r for r in clean if r["dataset"] == ds], lambda r: r["scale"], f"{ds}: clean LR", "scale"
            )
        axes[0][0].legend(fontsize=8)
        save(fig, "psnr_vs_scale")
    jpeg = [r for r in summary if r["degradation"].startswith("jpeg:")]
    if jpeg:
        scales = sorted({r["scale"] for r in jpeg})
        fig, axes = plt.subplots(
            len(scales),
            len(datasets),
            figsize=(5 * len(datasets), 3.4 * len(scales)),
            squeeze=False,
            layout="constrained",
        )
        for i, s in enumerate(scales):
            for ax, ds in zip(axes[i], datasets):
                panel(
                    ax,
                    [r for r in jpeg if r["dataset"] == ds and r["scale"] == s],
                    lambda r: int(r["degradation"].split(":")[1]),
                    f"{ds}: x{s} from JPEG LR",
                    "JPEG quality",
                )
        axes[0][0].legend(fontsize=8)
        save(fig, "psnr_vs_jpeg")
    return written


def detailed_region(img: torch.Tensor, size: int) -> tuple[int, int]:
    """Top-left ``(y, x)`` of the ``size`` x ``size`` window with the most gradient energy."""
    g = img.mean(0)
    energy = torch.zeros_like(g)
    energy[:, 1:] += (g[:, 1:] - g[:, :-1]).abs()
    energy[1:, :] += (g[1:, :] - g[:-1, :]).abs()
    size = min(size, g.shape[0], g.shape[1])
    box = torch.nn.functional.avg_pool2d(energy[None, None], size, stride=max(1, size // 4))[0, 0]
    iy, ix = divmod(int(box.argmax()), box.shape[1])
    stride = max(1, size // 4)
    return iy * stride, ix * stride


def crop_sheet(panels: list[tuple[str, torch.Tensor]], path: Path, *, crop: int = 128, zoom: int = 2) -> Path:
    """Side-by-side crops (same window of each ``(3, H, W)`` panel, the last panel's -- the ground
    truth's -- most detailed region), enlarged ``zoom`` x with nearest neighbour so pixels stay
    visible."""
    ref = panels[-1][1]
    y, x = detailed_region(ref, crop)
    tiles = []
    for label, img in panels:
        arr = to_uint8(img[:, y : y + crop, x : x + crop].permute(1, 2, 0))
        tiles.append(
            (
                label,
                Image.fromarray(arr).resize(
                    (arr.shape[1] * zoom, arr.shape[0] * zoom), Image.Resampling.NEAREST
                ),
            )
        )
    w, h = tiles[0][1].size
    sheet = Image.new("RGB", (len(tiles) * (w + 6), h + 18), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (label, im) in enumerate(tiles):
        sheet.paste(im, (i * (w + 6), 18))
        draw.text((i * (w + 6) + 2, 3), label, fill="black")
    sheet.save(path)
    return path
