"""The semantic-coding study: bytes against whole-image and region PSNR-Y, and OCR, for ``.czp``
and for JPEG, WebP and AVIF at equal bytes.

    .venv/bin/python -m benchmarks.bench_coding --out docs/results/coding.json \
        --figure docs/images/coding-rd.png

Sets: ``text``, photos with rendered signs (``benchmarks/coding_set.py``, labelled boxes and
strings), and ``set14``, whose important regions are those the bundled detectors pick (readable
text, frontal faces, else the salient box: ``clearzoom encode --dry-run`` shows them).

Per image: JPEG and WebP at qualities ``QUALITIES``, AVIF at ``AVIF_QUALITIES``; ``.czp``
(default options: WebP base, AVIF regions, the bundled detectors) at budgets of 0.6× and 1.0×
each AVIF point's bytes, decoded at the original size by ``clearzoom-jpeg`` and, to see what the
restorer buys, by bicubic. Region PSNR-Y is over the union of the important boxes. The machine
task (``text``): PP-OCR's recogniser reads each labelled box; the character error rate is the
edit distance to the true string over its length (spaces ignored: the recogniser drops them).

BD-rate (Bjøntegaard, VCEG-M33: cubic fits of log-bytes against PSNR, integrated over the PSNR
range both curves cover) is computed per image and averaged; negative means ``.czp`` needs fewer
bytes for the same PSNR.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.coding_set import make
from benchmarks.common import ROOT, save_results

QUALITIES = (10, 20, 35, 50, 65, 80, 90)
AVIF_QUALITIES = (20, 35, 50, 65, 80)
FACTORS = (0.6, 1.0)
CODECS = {"jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF"}


def psnr_y(a: Image.Image, b: Image.Image, mask: np.ndarray | None = None) -> float:
    w = np.array([65.481, 128.553, 24.966]) / 255
    d = (np.asarray(a, np.float64) @ w - np.asarray(b, np.float64) @ w) ** 2
    mse = float(d[mask].mean() if mask is not None else d.mean())
    return 10 * np.log10(255**2 / max(mse, 1e-10))


def cer(got: str, truth: str) -> float:
    a, b = got.replace(" ", ""), truth.replace(" ", "")
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1] / max(len(b), 1)


def bd_rate(r1: list[float], p1: list[float], r2: list[float], p2: list[float]) -> float | None:
    """Bjøntegaard delta rate of curve 2 against curve 1, in percent (None: no PSNR overlap)."""
    lo, hi = max(min(p1), min(p2)), min(max(p1), max(p2))
    if hi - lo < 0.1 or len(p1) < 4 or len(p2) < 4:
        return None
    c1 = np.polyfit(p1, np.log10(r1), 3)
    c2 = np.polyfit(p2, np.log10(r2), 3)
    i1, i2 = np.polyint(c1), np.polyint(c2)
    avg = (np.polyval(i2, hi) - np.polyval(i2, lo) - np.polyval(i1, hi) + np.polyval(i1, lo)) / (hi - lo)
    return float((10**avg - 1) * 100)


def _images(work: Path) -> list[tuple[str, Path, list[dict] | None]]:
    text = [
        ("text", p, json.loads(p.with_suffix(".json").read_text())["regions"]) for p in make(work / "text")
    ]
    set14 = sorted((ROOT.parent / "shared" / "data" / "bench" / "Set14").glob("*.png"))
    if not set14:
        set14 = sorted(Path("/work/shared/data/bench/Set14").glob("*.png"))
    return text + [("set14", p, None) for p in set14]


def measure(kind: str, path: Path, labels: list[dict] | None, model) -> list[dict]:
    """Every method's points on one image."""
    from clearzoom.coding import decode, encode_czp, plan_regions
    from clearzoom.coding.detect import recognise

    image = Image.open(path).convert("RGB")
    plan = plan_regions(image)
    boxes = [tuple(lab["box"]) for lab in labels] if labels else [r.box for r in plan.regions]
    mask = np.zeros(image.size[::-1], bool)
    for x, y, w, h in boxes:
        mask[y : y + h, x : x + w] = True

    def point(method: str, q, data: bytes, out: Image.Image) -> dict:
        row = {"set": kind, "image": path.name, "method": method, "q": q, "bytes": len(data)}
        row |= {"psnr": round(psnr_y(out, image), 3), "region_psnr": round(psnr_y(out, image, mask), 3)}
        if labels:
            row["cer"] = round(
                float(np.mean([cer(recognise(out, tuple(lab["box"])), lab["text"]) for lab in labels])), 4
            )
        return row

    rows = []
    if labels:
        base = np.mean([cer(recognise(image, tuple(lab["box"])), lab["text"]) for lab in labels])
        rows.append({"set": kind, "image": path.name, "method": "original", "cer": round(float(base), 4)})
    avif_bytes = []
    for codec, fmt in CODECS.items():
        for q in AVIF_QUALITIES if codec == "avif" else QUALITIES:
            buf = io.BytesIO()
            image.save(buf, fmt, quality=q, **({"method": 6} if codec == "webp" else {}))
            rows.append(point(codec, q, buf.getvalue(), Image.open(buf).convert("RGB")))
            if codec == "avif":
                avif_bytes.append(len(buf.getvalue()))
    for f in FACTORS:
        for q, b in zip(AVIF_QUALITIES, avif_bytes, strict=True):
            enc = encode_czp(image, plan=plan, budget=int(f * b))
            for method, kw in (("czp", {"model": model}), ("czp-bicubic", {"resize_only": True})):
                out, _ = decode(enc.container, **kw)
                rows.append(point(method, f"{f}xavif{q}", enc.data, out) | {"factor": f})
    return rows


def summarise(rows: list[dict]) -> dict:
    """BD-rates per set (averaged over images), and the OCR comparison at 0.6x AVIF's bytes."""
    out: dict = {}
    for kind in sorted({r["set"] for r in rows}):
        mine = [r for r in rows if r["set"] == kind]
        images = sorted({r["image"] for r in mine})
        entry: dict = {"images": len(images)}
        for metric in ("region_psnr", "psnr"):
            for ref in ("webp", "avif", "jpeg"):
                for ours in ("czp", "czp-bicubic"):
                    vals = []
                    for name in images:
                        a = sorted(
                            (r["bytes"], r[metric]) for r in mine if r["image"] == name and r["method"] == ref
                        )
                        b = sorted(
                            (r["bytes"], r[metric])
                            for r in mine
                            if r["image"] == name and r["method"] == ours
                        )
                        v = bd_rate(
                            [x[0] for x in a], [x[1] for x in a], [x[0] for x in b], [x[1] for x in b]
                        )
                        if v is not None:
                            vals.append(v)
                    entry[f"bd_rate_{metric}_{ours}_vs_{ref}"] = (
                        round(float(np.mean(vals)), 1) if vals else None
                    )
                    entry[f"bd_rate_{metric}_{ours}_vs_{ref}_images"] = len(vals)
        if any("cer" in r for r in mine):
            entry["ocr"] = _ocr_table(mine)
        out[kind] = entry
    return out


def _ocr_table(rows: list[dict]) -> list[dict]:
    table = []
    for q in AVIF_QUALITIES:
        avif = [r for r in rows if r["method"] == "avif" and r["q"] == q]
        czp = [r for r in rows if r["method"] == "czp" and r["q"] == f"0.6xavif{q}"]
        table.append(
            {
                "avif_q": q,
                "avif_bytes": round(float(np.mean([r["bytes"] for r in avif]))),
                "avif_cer": round(float(np.mean([r["cer"] for r in avif])), 4),
                "czp_bytes": round(float(np.mean([r["bytes"] for r in czp]))),
                "czp_cer": round(float(np.mean([r["cer"] for r in czp])), 4),
            }
        )
    original = [r["cer"] for r in rows if r["method"] == "original"]
    return [{"original_cer": round(float(np.mean(original)), 4)}, *table]


def figure(rows: list[dict], path: Path) -> None:
    """Mean kB per image against mean PSNR-Y, whole and region, per set and method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = sorted({r["set"] for r in rows})
    fig, axes = plt.subplots(len(sets), 2, figsize=(11, 4.2 * len(sets)), squeeze=False)
    for i, kind in enumerate(sets):
        mine = [r for r in rows if r["set"] == kind and "bytes" in r]
        for j, metric in enumerate(("psnr", "region_psnr")):
            ax = axes[i][j]
            for method in ("jpeg", "webp", "avif", "czp", "czp-bicubic"):
                pts = [r for r in mine if r["method"] == method]
                qs = sorted(
                    {str(r["q"]) for r in pts}, key=lambda s: [r["bytes"] for r in pts if str(r["q"]) == s][0]
                )
                xs = [np.mean([r["bytes"] for r in pts if str(r["q"]) == q]) / 1000 for q in qs]
                ys = [np.mean([r[metric] for r in pts if str(r["q"]) == q]) for q in qs]
                order = np.argsort(xs)
                ax.plot(
                    np.array(xs)[order],
                    np.array(ys)[order],
                    "o-" if "czp" in method else ".--",
                    label=method,
                    ms=4,
                )
            ax.set_xscale("log")
            ax.set_xlabel("mean kB per image")
            ax.set_ylabel(f"mean {'region ' if j else ''}PSNR-Y (dB)")
            ax.set_title(f"{kind}: {'important regions' if j else 'whole image'}")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": "python -m benchmarks.bench_coding"})
    from clearzoom.atomic import write_atomic

    write_atomic(path, buf.getvalue())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None)
    ap.add_argument("--figure", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=None, help="images per set (a quick look)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    import torch

    from clearzoom.checkpoints import load_model

    logging.getLogger("clearzoom.coding").setLevel(logging.ERROR)
    torch.set_num_threads(args.threads)
    model = load_model("clearzoom-jpeg")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as work:
        images = _images(Path(work))
        per_set: dict[str, int] = {}
        for kind, path, labels in images:
            per_set[kind] = per_set.get(kind, 0) + 1
            if args.limit and per_set[kind] > args.limit:
                continue
            rows += measure(kind, path, labels, model)
            print(f"{kind} {path.name}: done", flush=True)
    summary = summarise(rows)
    print(json.dumps(summary, indent=1))
    if args.figure:
        figure(rows, args.figure)
    save_results(args.out, rows, summary=summary, threads=args.threads)


if __name__ == "__main__":
    main()
