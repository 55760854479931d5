"""The quality benchmark runner behind ``clearzoom bench quality``.

A benchmark is datasets x degradations x scales x methods. For each *cell* every image is
evaluated by the protocol (:mod:`.protocol`) and its PSNR-Y, SSIM (Y), PSNR-B (Y) and seconds are
recorded. Results go to ``OUT/per_image.csv`` (rewritten atomically after each cell, so an
interrupted run resumes where it stopped: finished cells are not recomputed), ``OUT/summary.md``
and ``OUT/results.json`` (means per cell of the config: ``dataset, degradation, scale, method,
psnr_y, ssim, psnr_b, seconds``). ``OUT/methods.json`` records what each model method's results
depend on (a hash of its weights file, and the precision): a method whose weights or precision
changed since its cells were measured is measured again, so a rerun after new weights are
exported never reports the old ones.

Methods: ``bicubic`` (MATLAB-style), ``lanczos`` (Pillow, on the 8-bit LR), ``clearzoom:<name or
path>`` or a bare path to a model file (clearzoom ``.safetensors`` or official LIIF ``.pth``).
Degradations: ``clean`` or ``jpeg:<quality>`` (4:2:0), applied to the LR image.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..atomic import write_atomic
from ..coords import size_hw
from ..data.degrade import quantize
from ..errors import ClearZoomError
from ..imageio import find_images, to_uint8
from ..inference.engine import RenderOptions
from ..precision import resolve_precision
from .bench_config import BenchConfig, BenchError, parse_degradation
from .metrics import psnr_b, ssim
from .peers import PEERS, peer_fingerprint, peer_method
from .perceptual import gmsd, haarpsi, niqe
from .protocol import (
    Degradation,
    bicubic_up,
    is_gray,
    load_rgb,
    make_lr,
    measured_channel,
    psnr_div2k,
    psnr_matlab,
    psnr_protocol,
    render_full,
)

__all__ = [
    "markdown_table",
    "psnr_cell",
    "published_beside",
    "run_quality",
    "write_figures",
]

log = logging.getLogger(__name__)

CSV_FIELDS = [
    "dataset",
    "image",
    "degradation",
    "scale",
    "method",
    "psnr_y",
    "ssim",
    "psnr_b",
    "seconds",
    "psnr_y_matlab",
    "psnr_rgb_div2k",
    "niqe",
    "haarpsi",
    "gmsd",
]
PERCEPTUAL = ("niqe", "haarpsi", "gmsd")  # measured with ``perceptual`` (eval/perceptual.py)


def published_beside(summary: list[dict]) -> str:
    """Markdown: our rows next to the published numbers for the same dataset/degradation/scale."""
    from .published import PUBLISHED

    lines = [
        "| dataset | degradation | scale | method | PSNR-Y | protocol | source |",
        "|---|---|---|---|---|---|---|",
    ]
    keys = {(r["dataset"], r["degradation"], r["scale"]) for r in summary}
    for ds, deg, scale in sorted(keys):
        for r in summary:
            if (r["dataset"], r["degradation"], r["scale"]) == (ds, deg, scale):
                lines.append(
                    f"| {ds} | {deg} | x{scale} | {r['method']} | {r['psnr_y']:.2f} | "
                    "PSNR-Y, LIIF rules (this run) | clearzoom bench |"
                )
        for (pds, pdeg, pscale, method), (v, protocol, source) in PUBLISHED.items():
            if (pds, pdeg, pscale) == (ds, deg, scale):
                lines.append(f"| {ds} | {deg} | x{scale} | {method} | {v:.2f} | {protocol} | {source} |")
    return "\n".join(lines) + "\n"


def _parse_method(name: str, base: Path = Path(".")) -> tuple[str, bool]:
    """``(what renders, with self-ensemble)`` for a method name: ``bicubic``, ``lanczos``, or the
    model name or file that ``load_model`` takes (a bare path is relative to ``base``)."""
    tta = name.endswith("+tta")
    if tta:
        name = name[: -len("+tta")]
        if name in ("bicubic", "lanczos", *PEERS):
            raise BenchError(f"{name}+tta: self-ensemble is for models, not {name}")
    if name in ("bicubic", "lanczos", *PEERS):
        return name, False
    if name.startswith("clearzoom:"):
        return name.split(":", 1)[1], tta
    source = name if Path(name).is_absolute() else str(base / name)
    if not Path(source).is_file():
        raise BenchError(
            f"unknown method {name!r} (use bicubic, lanczos, realesrgan, clearzoom:<model> or a model file)"
        )
    return source, tta


def _method(
    name: str, precision: str, base: Path = Path(".")
) -> Callable[[torch.Tensor, tuple[int, int], int | None], torch.Tensor]:
    """``fn(lr, hw, jpeg_quality)``: the method's ``hw`` output from ``lr``; ``jpeg_quality`` (or
    None when clean) is what a JPEG-aware model would read from the file. A model's name may end
    in ``+tta`` (self-ensemble: the mean of 8 flipped/transposed renders)."""
    source, tta = _parse_method(name, base)
    if source == "bicubic":
        return lambda lr, hw, q: bicubic_up(lr, hw)
    if source == "lanczos":

        def lanczos(lr: torch.Tensor, hw: tuple[int, int], q: int | None) -> torch.Tensor:
            arr = to_uint8(lr.permute(1, 2, 0))
            out = Image.fromarray(arr).resize((hw[1], hw[0]), Image.Resampling.LANCZOS)
            return torch.from_numpy(np.asarray(out).copy()).permute(2, 0, 1).float() / 255

        return lanczos
    if source in PEERS:
        return peer_method(source)
    from ..checkpoints.loading import load_model

    model = load_model(source)
    opts = RenderOptions(precision=resolve_precision(precision, torch.device("cpu")), tta=tta)
    return lambda lr, hw, q: render_full(model, lr, hw, opts, jpeg_quality=q)


def method_fingerprint(name: str, precision: str, base: Path = Path(".")) -> str:
    """What a method's results depend on besides the data and protocol: for a model, a hash of its
    weights file and the precision; ``""`` for bicubic and Lanczos."""
    source, _ = _parse_method(name, base)
    if source in ("bicubic", "lanczos"):
        return ""
    if source in PEERS:
        return peer_fingerprint(source)
    from ..models.pretrained import PRETRAINED

    path = PRETRAINED[source].path if source in PRETRAINED else Path(source)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()[:16]} {precision}"


def _cell(row: dict) -> tuple[str, str, str, str]:
    """The cell a CSV row belongs to: (dataset, degradation, scale as text, method)."""
    return row["dataset"], row["degradation"], str(row["scale"]), row["method"]


def _images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise BenchError(f"{folder}: dataset folder does not exist")
    files = find_images(folder)
    if not files:
        raise BenchError(f"{folder}: no images found")
    return files


def _csv_text(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def summarise(rows: list[dict]) -> list[dict]:
    """Means per (dataset, degradation, scale, method), in first-seen order."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["dataset"], r["degradation"], int(r["scale"]), r["method"]), []).append(r)
    out = []
    for (ds, deg, scale, method), rs in groups.items():
        rec = {"dataset": ds, "degradation": deg, "scale": scale, "method": method}
        for k in ("psnr_y", "ssim", "psnr_b", "seconds", "psnr_y_matlab", "psnr_rgb_div2k", *PERCEPTUAL):
            if all(r.get(k) not in (None, "") for r in rs):  # older CSVs lack the later ones
                vals = [float(r[k]) for r in rs if r[k] != "n/a"]  # NIQE needs 96x96 pixels
                if vals:
                    rec[k] = round(float(np.mean(vals)), 4 if k != "haarpsi" else 5)
        rec["images"] = len(rs)
        out.append(rec)
    return out


def psnr_cell(
    rows: list[dict], method: str, dataset: str, degradation: str, scale: int, key: str = "psnr_y"
) -> float | None:
    """One number of a bench's summary rows (``results.json``), or None if it was not measured.

    ``method`` is matched exactly (``"bicubic"``, ``"clearzoom:clearzoom-jpeg"``, a model path).
    """
    return next(
        (
            r[key]
            for r in rows
            if (r["method"], r["dataset"], r["degradation"], int(r["scale"]))
            == (method, dataset, degradation, scale)
            and key in r
        ),
        None,
    )


def markdown_table(summary: list[dict]) -> str:
    lines = [
        "| dataset | degradation | scale | method | PSNR-Y | SSIM | PSNR-B | PSNR-Y (MATLAB) "
        "| PSNR-RGB (DIV2K rule) | s/image |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    fmt = lambda r, k, d=2: f"{r[k]:.{d}f}" if k in r else "-"  # noqa: E731
    perceptual = any("haarpsi" in r for r in summary)
    if perceptual:
        lines[0] += " NIQE (lower: more natural) | HaarPSI | GMSD |"
        lines[1] += "---|---|---|"
    for r in summary:
        lines.append(
            f"| {r['dataset']} | {r['degradation']} | x{r['scale']} | {r['method']} | "
            f"{r['psnr_y']:.2f} | {r['ssim']:.4f} | {r['psnr_b']:.2f} | "
            f"{fmt(r, 'psnr_y_matlab')} | {fmt(r, 'psnr_rgb_div2k')} | {r['seconds']:.2f} |"
            + (f" {fmt(r, 'niqe')} | {fmt(r, 'haarpsi', 4)} | {fmt(r, 'gmsd', 4)} |" if perceptual else "")
        )
    return "\n".join(lines) + "\n"


def _resume(cfg: BenchConfig, csv_path: Path) -> list[dict]:
    """The rows already measured in ``csv_path``, less those of methods whose weights or precision
    changed since (``methods.json`` records what each method's rows came from)."""
    prints = {m: method_fingerprint(m, cfg.precision, cfg.base) for m in cfg.methods}
    prints_path = cfg.out_dir / "methods.json"
    rows: list[dict] = []
    if csv_path.exists():
        with open(csv_path, newline="") as f:
            rows = list(csv.DictReader(f))
    # a folder from before methods.json: the config's methods are trusted as they are; others are
    # recorded as unknown, so they are measured again if a config names them later
    measured = (
        json.loads(prints_path.read_text())
        if prints_path.exists()
        else {r["method"]: prints.get(r["method"], "unknown") for r in rows}
    )
    stale = {m for m in cfg.methods if m in measured and measured[m] != prints[m]}
    if stale:
        log.info("measuring again (weights or precision changed): %s", ", ".join(sorted(stale)))
        rows = [r for r in rows if r["method"] not in stale]
        # written before methods.json, so an interrupted run never pairs old rows with new weights
        write_atomic(csv_path, _csv_text(rows))
    measured.update(prints)
    write_atomic(prints_path, json.dumps(measured, indent=1, sort_keys=True) + "\n")
    return rows


def _measure(
    path: Path,
    cell: tuple[str, str, int, str],
    method: Callable[[torch.Tensor, tuple[int, int], int | None], torch.Tensor],
    degradation: Degradation,
    perceptual: bool,
) -> dict | None:
    """One image of a cell: its LR made by the protocol, the method's output, the scores; None
    (with a warning) for a file that cannot be read."""
    ds, deg, scale, m = cell
    try:
        hr, gray = load_rgb(path), is_gray(path)
    except (OSError, ValueError, SyntaxError) as exc:
        log.warning("skipping %s: %s", path, exc)
        return None
    hr, lr = make_lr(hr, scale)
    lr, quality = degradation.apply(lr)
    t = time.perf_counter()
    sr = quantize(method(lr, size_hw(hr), quality))
    secs = time.perf_counter() - t
    y_sr, y_hr = measured_channel(sr, gray), measured_channel(hr, gray)
    row = {
        "dataset": ds,
        "image": path.name,
        "degradation": deg,
        "scale": scale,
        "method": m,
        "psnr_y": round(psnr_protocol(sr, hr, scale, gray), 4),
        "ssim": round(ssim(y_sr, y_hr, shave=scale), 5),
        "psnr_b": round(psnr_b(y_sr, y_hr), 4),
        "seconds": round(secs, 4),
        "psnr_y_matlab": round(psnr_matlab(sr, hr, scale, gray), 4),
        "psnr_rgb_div2k": round(psnr_div2k(sr, hr, scale), 4),
    }
    if perceptual:
        row.update(
            niqe=round(niqe(sr), 4) if min(size_hw(sr)) >= 96 else "n/a",
            haarpsi=round(haarpsi(sr, hr), 5),
            gmsd=round(gmsd(sr, hr), 5),
        )
    return row


def run_quality(cfg: BenchConfig, progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Run (or resume) a quality benchmark; returns the summary records."""
    for d in cfg.degradations:
        parse_degradation(d)
    datasets = {Path(d).name: _images(Path(d)) for d in cfg.data}
    for s in cfg.scales:
        if int(s) != s or s < 1:
            raise BenchError(f"benchmark scales must be whole numbers >= 1, got {s}")
    methods = {m: _method(m, cfg.precision, cfg.base) for m in cfg.methods}
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = cfg.out_dir / "per_image.csv"
    rows = _resume(cfg, csv_path)
    if cfg.perceptual:  # cells measured without the perceptual scores are measured again
        redo = {_cell(r) for r in rows if r.get("niqe") in (None, "")}
        rows = [r for r in rows if _cell(r) not in redo]
    done = {_cell(r) for r in rows}
    cells = [
        (ds, deg, s, m)
        for ds in datasets
        for deg in cfg.degradations
        for s in cfg.scales
        for m in cfg.methods
    ]
    total = sum(len(datasets[c[0]]) for c in cells)
    finished = sum(len(datasets[c[0]]) for c in cells if (c[0], c[1], str(c[2]), c[3]) in done)
    for ds, deg, scale, m in cells:
        if (ds, deg, str(scale), m) in done:
            continue
        degradation = parse_degradation(deg)
        cell_rows = []
        for path in datasets[ds]:
            row = _measure(path, (ds, deg, scale, m), methods[m], degradation, cfg.perceptual)
            if row is not None:
                cell_rows.append(row)
            finished += 1
            if progress:
                progress(finished, total)
        rows.extend(cell_rows)
        write_atomic(csv_path, _csv_text(rows))
    # rows of cells the config no longer names stay in the CSV, out of the summary
    wanted = {(ds, deg, str(s), m) for ds, deg, s, m in cells}
    summary = summarise([r for r in rows if _cell(r) in wanted])
    if not summary:
        raise BenchError("no image could be read: nothing was measured")
    write_atomic(cfg.out_dir / "results.json", json.dumps(summary, indent=1) + "\n")
    write_atomic(
        cfg.out_dir / "summary.md",
        markdown_table(summary) + "\n## Beside the published numbers\n\n" + published_beside(summary),
    )
    return summary


def write_figures(cfg: BenchConfig, summary: list[dict]) -> list[Path]:
    """Plots of the summary and, per dataset/degradation/scale, a crop sheet of its first image:
    LR (nearest) | each method | ground truth, on the most detailed region."""
    from .figures import crop_sheet, plot_results

    try:
        written = plot_results(summary, cfg.out_dir)
    except ClearZoomError as exc:  # no matplotlib: the numbers and crop sheets still count
        log.warning("plots skipped: %s", exc)
        written = []
    methods = {m: _method(m, cfg.precision, cfg.base) for m in cfg.methods}
    for d in cfg.data:
        first = _images(Path(d))[0]
        for deg in cfg.degradations:
            for scale in cfg.scales:
                hr, lr = make_lr(load_rgb(first), scale)
                lr, quality = parse_degradation(deg).apply(lr)
                hw = size_hw(hr)
                near = torch.nn.functional.interpolate(lr[None], size=hw, mode="nearest")[0]
                panels = [("LR input", near)]
                panels += [(m, quantize(fn(lr, hw, quality))) for m, fn in methods.items()]
                panels.append(("ground truth", hr))
                name = f"crops_{Path(d).name}_{deg.replace(':', '')}_x{scale}.png"
                written.append(crop_sheet(panels, cfg.out_dir / name))
    return written
