"""The model card (docs/models.md) and the README's models table, from the benchmarks' outputs.

    python -m scripts.regen --only card,readme

For each shipped model in ``CARDS``: its facts (from the model file: spec, parameters, provenance),
its quality tables from ``clearzoom bench quality`` runs (``results.json`` of each folder in
``bench``: PSNR-Y by LIIF's rules, SSIM on Y, beside bicubic, Lanczos, any other model measured in
the same run, and the published LIIF numbers with their protocol), its targets (where the models
issue sets them, checked against the measurements), its training curves and a crop sheet.
Nothing here measures anything: rerun the bench commands named in the card to refresh it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from clearzoom.checkpoints import load_model
from clearzoom.eval.published import PUBLISHED
from clearzoom.eval.runner import psnr_cell
from clearzoom.models.pretrained import DEFAULT_MODEL, PRETRAINED

from .readme_blocks import GENERATED, with_block

ROOT = Path(__file__).resolve().parents[1]
HISTORY = "1b415da"  # the last commit holding the finished runs' folders and campaign scripts


def jpeg_targets(
    rows: list[dict], model: str = "clearzoom:clearzoom-jpeg", twin: str = "clearzoom:clearzoom-clean"
) -> list[tuple[str, str, bool]]:
    """The models issue's targets for ``clearzoom-jpeg``: (what, measured, met) per target.

    ``rows``: ``results.json`` records of ``clearzoom bench quality`` (Set5/Set14, MATLAB-bicubic
    LR) holding ``model``, its clean-trained ``twin`` and bicubic. A missing cell is not met.
    """
    out = []

    def gain(
        label: str, ds: str, deg: str, scale: int, ref: str, need: float, floor: float | None = None
    ) -> None:
        a, b = psnr_cell(rows, model, ds, deg, scale), psnr_cell(rows, ref, ds, deg, scale)
        if a is None or b is None:
            out.append((label, "not measured", False))
            return
        ok = a - b >= need and (floor is None or a >= floor)
        out.append((label, f"{a:.2f} dB, {a - b:+.2f} dB", ok))

    gain(
        "Set5 x4, clean LR: >= +2.7 dB over bicubic and >= 31.12 dB",
        "Set5",
        "clean",
        4,
        "bicubic",
        2.7,
        31.12,
    )
    gain("Set14 x4, clean LR: >= +1.9 dB over bicubic", "Set14", "clean", 4, "bicubic", 1.9)
    gain("Set5 x4, JPEG q30 LR: >= +1.2 dB over bicubic", "Set5", "jpeg:30", 4, "bicubic", 1.2)
    gain("Set5 x4, JPEG q30 LR: >= +0.8 dB over the clean twin", "Set5", "jpeg:30", 4, twin, 0.8)
    for ds in ("Set5", "Set14"):
        gain(f"{ds} x2, clean LR: no more than 0.3 dB below the clean twin", ds, "clean", 2, twin, -0.3)
    return out


_TRAIN_DATA = (
    "`../shared/data/train` (BSD200, Wikipedia, Debian and wallpaper photos; 466 "
    "training images), every 20th file held out for validation"
)

# name -> what the card needs besides the model file itself
CARDS: dict[str, dict] = {
    "clearzoom-jpeg": {
        "bench": ["docs/results/bench-models-scales", "docs/results/bench-models-jpeg"],
        "bench_command": "clearzoom bench quality --config benchmarks/quality-models-scales.yaml; "
        "clearzoom bench quality --config benchmarks/quality-models-jpeg.yaml",
        "run": "docs/results/training/clearzoom-jpeg",
        "config": "configs/clearzoom-jpeg.yaml",
        "train_command": "clearzoom train --config configs/clearzoom-jpeg.yaml, resumed across "
        f"sessions by scripts/train_long.sh (in the history at {HISTORY})",
        "data": _TRAIN_DATA,
        "targets": jpeg_targets,
        "targets_note": "What was tried against a target that is not met, and what it would take: "
        "[docs/training.md](training.md#the-jpeg-q30-target).",
        "limits": [
            "Trained at scales x1 to x4; larger scales work (LIIF extrapolates) but gain less.",
        ],
    },
    "clearzoom-clean": {
        "bench": ["docs/results/bench-models-scales", "docs/results/bench-models-jpeg"],
        "bench_command": "clearzoom bench quality --config benchmarks/quality-models-scales.yaml; "
        "clearzoom bench quality --config benchmarks/quality-models-jpeg.yaml",
        "run": "docs/results/training/clearzoom-clean",
        "config": "configs/clearzoom-clean.yaml",
        "train_command": "clearzoom train --config configs/clearzoom-clean.yaml, resumed across "
        f"sessions by scripts/train_long.sh (in the history at {HISTORY})",
        "data": _TRAIN_DATA,
        "limits": [
            "The clean-trained twin of `clearzoom-jpeg` (same architecture, recipe and budget, "
            "clean LR only): it measures what JPEG-aware training buys, and it enlarges "
            "JPEG blocks instead of removing them.",
        ],
    },
    "clearzoom-small": {
        "bench": ["docs/results/bench-clearzoom-small"],
        "bench_command": "clearzoom bench quality --config benchmarks/quality-default.yaml",
        "run": "docs/results/training/clearzoom-small",
        "train_command": "python scripts/train_first_model.py --minutes 60 --threads 1 "
        f"(in the history at {HISTORY})",
        "data": _TRAIN_DATA,
        "limits": [
            "Trained for about an hour on one CPU core: it beats bicubic clearly on clean inputs, "
            "much less on heavy JPEG. The first default (until `clearzoom-jpeg` shipped), kept "
            "for comparison.",
            "Trained at scales up to x4; larger scales work (LIIF extrapolates) but gain less.",
        ],
    },
}


def _architecture(spec: dict) -> str:
    a = spec["args"]
    enc = a["encoder_spec"]
    ea = enc.get("args", {})
    enc_txt = enc["name"]
    if enc["name"].startswith("edsr"):
        enc_txt += f" {ea.get('n_feats', 64)} ch x {ea.get('n_resblocks', 16)} blocks"
    hidden = a.get("imnet_spec", {}).get("args", {}).get("hidden_list", [])
    sw = [n for n in ("feat_unfold", "local_ensemble", "cell_decode") if a.get(n, True)]
    skip = a.get("skip")
    told = (
        "; JPEG-aware (the encoder is told the input's JPEG quality, read from the file)"
        if a.get("condition") == "jpeg"
        else ""
    )
    return (
        f"LIIF: encoder {enc_txt}; MLP {'-'.join(map(str, hidden))}; "
        f"{', '.join(sw) or 'no switches'}" + (f"; global {skip} skip" if skip else "") + told
    )


SPEED = "docs/results/speed-models.json"
SPEED_COMMAND = (  # what wrote SPEED before the records named their command
    "clearzoom bench speed --model clearzoom-small --sizes 1024 --scales 4 "
    f"--precisions fp32,auto --threads 1,2 --json {SPEED}"
)


def _speed(name: str) -> str | None:
    """The model's render speed from ``SPEED_COMMAND``'s records, as a card cell."""
    path = ROOT / SPEED
    if not path.exists():
        return None
    doc = json.loads(path.read_text())
    rows = [r for r in doc["rows"] if r["model"] == name]
    if not rows:
        return None
    cells = [
        f"{r['ms_per_mp'] / 1000:.1f} s ({r['precision_used']}, {r['threads']} "
        f"thread{'s' if r['threads'] > 1 else ''})"
        for r in rows
    ]
    r0, m = rows[0], doc.get("machine", {})
    where = (
        f"{m.get('cpu', 'CPU')} {m.get('cpu_capability', '')}"
        f"{', native bf16' if m.get('native_bf16') else ', no native bf16'}"
    )
    return (
        f"per output megapixel at x{r0['scale']:g} from a {r0['size']}² input: "
        + ", ".join(cells)
        + f"; {where}, {doc.get('date', 'undated')} "
        f"(`{doc.get('command', SPEED_COMMAND)}`)"
    )


def _load_bench(folders: list[str]) -> list[dict]:
    rows = []
    for f in folders:
        path = ROOT / f / "results.json"
        if path.exists():
            rows += [{**r, "_bench": f} for r in json.loads(path.read_text())]
    return rows


def _label(method: str) -> str:
    return (
        method.split(":", 1)[1]
        if method.startswith("clearzoom:")
        else Path(method).stem
        if method.endswith((".safetensors", ".pth"))
        else method
    )


def _tables(rows: list[dict]) -> list[str]:
    out = []
    by = defaultdict(dict)  # (dataset, degradation) -> {(method, scale): row}
    for r in rows:
        by[(r["dataset"], r["degradation"])][(r["method"], r["scale"])] = r
    order = list(dict.fromkeys(r["dataset"] for r in rows))
    for ds, deg in sorted(
        by, key=lambda k: (order.index(k[0]), k[1] != "clean", int(k[1].split(":")[1]) if ":" in k[1] else 0)
    ):
        cells = by[(ds, deg)]
        scales = sorted({s for _, s in cells})
        methods = list(dict.fromkeys(m for m, _ in cells))
        out += [
            f"**{ds}, {'clean LR' if deg == 'clean' else deg.replace('jpeg:', 'JPEG q') + ' LR'}**"
            " — PSNR-Y (dB) / SSIM",
            "",
            "| method | " + " | ".join(f"x{s}" for s in scales) + " |",
            "|---|" + "---|" * len(scales),
        ]
        base = {s: cells.get(("bicubic", s)) for s in scales}
        for m in methods:
            vals = []
            for s in scales:
                r = cells.get((m, s))
                if r is None:
                    vals.append("")
                    continue
                gain = (
                    "" if m == "bicubic" or base[s] is None else f" ({r['psnr_y'] - base[s]['psnr_y']:+.2f})"
                )
                vals.append(f"{r['psnr_y']:.2f}{gain} / {r['ssim']:.4f}")
            out.append(f"| {_label(m)} | " + " | ".join(vals) + " |")
        pub = [
            (k[3], s, PUBLISHED[k])
            for s in scales
            for k in PUBLISHED
            if k[0] == ds and k[1] == deg and k[2] == s
        ]
        for name in dict.fromkeys(p[0] for p in pub):
            vals = [next((f"{v[0]:.2f}" for n, s2, v in pub if n == name and s2 == s), "") for s in scales]
            proto = next(v for n, _, v in pub if n == name)
            out.append(f"| {name} [{proto[1]}; {proto[2]}] | " + " | ".join(vals) + " |")
        out.append("")
    return out


def _crop_sheet(folders: list[str]) -> Path | None:
    """The crop sheet the card shows: Set5 from JPEG q30 at x4 (the headline case) if measured."""
    for pattern in ("crops_Set5_jpeg30_x4.png", "crops_*jpeg*_x4.png", "crops_*_x4.png"):
        found = sorted(p for f in folders for p in (ROOT / f).glob(pattern))
        if found:
            return found[0]
    return None


def _target_table(checked: list[tuple[str, str, bool]], info: dict) -> list[str]:
    """The (target, measured, met) rows as a table, then the card's note if any is not met."""
    lines = ["| target | measured | met |", "|---|---|---|"]
    lines += [f"| {label} | {value} | {'yes' if ok else '**no**'} |" for label, value, ok in checked]
    lines.append("")
    if not all(ok for _, _, ok in checked) and info.get("targets_note"):
        lines += [info["targets_note"], ""]
    return lines


def card(name: str, info: dict) -> list[str]:
    model = load_model(name)
    prov = model.provenance
    weights = PRETRAINED[name].path
    default = " (the default model)" if name == DEFAULT_MODEL else ""
    lines = [
        f"## {name}{default}",
        "",
        f"*{model.description}*",
        "",
        "| | |",
        "|---|---|",
        f"| architecture | {_architecture(model.spec)} |",
        f"| parameters | {model.num_parameters:,} |",
        f"| file | `src/clearzoom/weights/{weights.name}` ({weights.stat().st_size / 1e6:.2f} MB) |",
        f"| data | {info['data']} |",
    ]
    recipe = prov.get("recipe")
    if recipe:
        d, g, o = recipe.get("data", {}), recipe.get("degrade", {}), recipe.get("optim", {})
        lines.append(
            f"| recipe | {d.get('patch')}² LR patches, scale U{tuple(d.get('scale', ()))}, "
            f"{d.get('queries')} queries, batch {d.get('batch')}; clean share {g.get('clean')}, "
            f"JPEG q{tuple(g.get('jpeg_quality', ()))} 4:2:0, double JPEG {g.get('double_jpeg')}; "
            f"{o.get('name')} lr {o.get('lr')} ({o.get('schedule')}), EMA {o.get('ema')} |"
        )
    speed = _speed(name)
    if speed:
        lines.append(f"| inference speed | {speed} |")
    steps = prov.get("steps")
    cpu = prov.get("train_cpu_seconds") or (prov.get("cpu_minutes", 0) * 60)
    planned = _planned_steps(info)
    of = f" of {planned}" if planned and steps and steps < planned else ""
    lines.append(
        f"| compute | {steps}{of} steps, {cpu / 3600:.2f} CPU-hours "
        f"(`{info.get('train_command', 'clearzoom train')}`) |"
    )
    if of:
        lines += [
            "",
            f"**Interim weights**: these are the EMA weights at step {steps} of the "
            f"{planned}-step schedule. Training continues in the background "
            f"(`{info['train_command']}`); the weights, this card and the README's "
            "numbers are replaced when it ends.",
        ]
    rows = _load_bench(info["bench"])
    lines += [
        "",
        "### Quality",
        "",
        f"From `{info['bench_command']}` (outputs in "
        + ", ".join(f"`{b}`" for b in info["bench"])
        + "). LR by MATLAB-style bicubic "
        "(8-bit; JPEG 4:2:0 where named); PSNR-Y by LIIF's rules (shave = scale), SSIM on Y; "
        "in brackets: the gain over bicubic of the same LR."
        + (
            " JPEG-aware models are told the quality of the JPEG LR, as `clearzoom upscale` "
            "reads it from a file's tables."
            if model.spec["args"].get("condition")
            else ""
        ),
        "",
    ]
    lines += _tables(rows) if rows else ["(no benchmark results found)", ""]
    targets = info.get("targets")
    if targets:
        lines += ["### Targets (the models issue)", ""] + _target_table(targets(rows), info)
    run = ROOT / info["run"]
    lines += ["### Training", ""]
    lines += _progress(name, info)
    if (run / "curves.png").exists():
        lines += [f"![training curves]({_from_docs(run / 'curves.png')})", ""]
    elif (run / "log.jsonl").exists():
        log = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines() if x.strip()]
        lines += [
            "Validation: 12 held-out photos, 192² centre crops, x4 from clean LR, RGB PSNR.",
            "",
            "| step | CPU-minutes | train L1 | val PSNR x4 | bicubic |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['step']} | {r['minutes']:.1f} | {r['loss']:.4f} | {r['val_psnr_x4']:.2f} | "
            f"{r['bicubic_psnr_x4']:.2f} |"
            for r in log
            if "val_psnr_x4" in r
        ]
        lines.append("")
    sheet = _crop_sheet(info["bench"])
    if sheet:
        rel = sheet.relative_to(ROOT / "docs")
        lines += ["### Crop sheet", "", f"![crops]({rel.as_posix()})", ""]
    lines += ["### Limits", ""] + [f"- {x}" for x in info.get("limits", [])] + [""]
    return lines


def _planned_steps(info: dict) -> int | None:
    """The step count of the run's schedule (``train.steps`` of its config), if it has one."""
    import yaml

    cfg = ROOT / info.get("config", "-")
    return yaml.safe_load(cfg.read_text()).get("train", {}).get("steps") if cfg.is_file() else None


def _progress(name: str, info: dict, *, targets: bool = False) -> list[str]:
    """The long run's measurements along the way (``runs/progress.jsonl``), if it has any."""
    log = ROOT / "docs/results/training/progress.jsonl"
    key = "jpeg" if name == "clearzoom-jpeg" else "clean"
    recs = [json.loads(x) for x in log.read_text().splitlines() if x.strip()] if log.exists() else []
    recs = [r for r in recs if key in r and any(c.startswith(name + " ") for c in r["gains"])]
    if not recs:
        return []
    lines = [
        f"Recipe `{info['config']}`, trained in the background across sessions by "
        f"`{info['train_command']}`; measured along the way by `python "
        f"scripts/track_long_runs.py` (in the history at {HISTORY}), which appended to "
        "`docs/results/training/progress.jsonl` (Set5/Set14, "
        "MATLAB-bicubic LR, PSNR-Y gain over bicubic of the same LR, EMA weights, fp32).",
        "",
    ]
    cols = [c for c in recs[-1]["gains"] if c.startswith(name + " ")]
    lines += [
        "| date | steps | CPU-hours | " + " | ".join(c[len(name) + 1 :] for c in cols) + " |",
        "|---|---|---|" + "---|" * len(cols),
    ]
    for r in recs:
        lines.append(
            f"| {r['date']} | {r[key]['steps']} | {r[key]['cpu_hours']:.2f} | "
            + " | ".join(f"{r['gains'].get(c, float('nan')):+.2f}" for c in cols)
            + " |"
        )
    lines.append("")
    if targets and info.get("targets"):
        lines += ["Targets at the latest measurement:", ""] + _target_table(
            [(t["target"], t["measured"], t["met"]) for t in recs[-1]["targets"]], info
        )
    return lines


def in_training(name: str, info: dict) -> list[str]:
    """The section of a model that is not shipped yet: its run's progress on Set5/Set14."""
    lines = [f"## {name} (in training, not shipped yet)", ""] + _progress(name, info, targets=True)
    if (ROOT / info["run"] / "curves.png").exists():
        lines += [f"![training curves]({_from_docs(ROOT / info['run'] / 'curves.png')})", ""]
    return lines


README_MODELS = ("clearzoom-jpeg", "clearzoom-clean", "clearzoom-small")
README_ROWS = (
    ("Set5", "clean", (2, 4, 8), ""),
    ("Set14", "clean", (2, 4, 8), ""),
    ("Set5", "jpeg:30", (2, 4), " from JPEG q30 LR"),
    ("Set14", "jpeg:30", (2, 4), " from JPEG q30 LR"),
)
_README_BEGIN = "<!-- models-table: generated by python -m scripts.regen --only readme -->"
_README_END = "<!-- /models-table -->"


def readme_table(rows: list[dict], models: tuple[str, ...] = README_MODELS) -> list[str]:
    """The README's summary table: PSNR-Y, gain over bicubic in brackets, from the card's benches.

    A row whose cells were not all measured is left out rather than shown with gaps.
    """

    def fmt(vals: list[float]) -> str:
        return " / ".join(f"{v:.2f}" for v in vals)

    def signed(v: float) -> str:
        return f"{v:+.2f}".replace("-", "−")

    out = ["| | bicubic | " + " | ".join(models) + " |", "|---|" + "---|" * (len(models) + 1)]
    for ds, deg, scales, what in README_ROWS:
        base = [psnr_cell(rows, "bicubic", ds, deg, s) for s in scales]
        cells = [[psnr_cell(rows, f"clearzoom:{m}", ds, deg, s) for s in scales] for m in models]
        if any(v is None for v in base) or any(v is None for c in cells for v in c):
            continue
        label = f"{ds} " + " / ".join(f"×{s}" for s in scales) + what
        out.append(
            f"| {label} | {fmt(base)} | "
            + " | ".join(f"{fmt(c)} ({' / '.join(signed(v - b) for v, b in zip(c, base))})" for c in cells)
            + " |"
        )
    return out


def _from_docs(path: Path) -> str:
    """A link to ``path`` from a page in docs/."""
    return path.relative_to(ROOT / "docs").as_posix()


def render_card() -> str:
    """The text of docs/models.md."""
    lines = [
        GENERATED.format(target="card"),
        "",
        "# Model cards",
        "",
        "Generated by `python -m scripts.regen --only card` from the benchmark outputs and "
        "training logs named in each section; every number comes from a command given there.",
        "Machine: the project's 2-core AMD EPYC. Its CPU features differ between sessions (AVX2 "
        "only, or AVX-512 with native bf16): each speed cell names them. The quality tables are "
        "fp32 and do not depend on them.",
        "",
    ]
    for name, info in sorted(CARDS.items(), key=lambda kv: kv[0] != DEFAULT_MODEL):
        lines += card(name, info) if name in PRETRAINED else in_training(name, info)
    return "\n".join(lines)


def readme_models_table(readme: str) -> str:
    """``readme`` with its models table (between the models-table markers) regenerated."""
    table = readme_table(_load_bench(CARDS[DEFAULT_MODEL]["bench"]))
    return with_block(readme, _README_BEGIN, _README_END, table)
