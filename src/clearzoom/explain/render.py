"""Render an explain report as a self-contained HTML page, or as Markdown with PNGs beside it."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

from PIL import Image

from ..atomic import atomic_path, write_atomic
from .report import ExplainResult

__all__ = ["to_html", "to_json", "to_markdown", "write_report"]


def _run_notes(run: dict) -> str:
    """What a JPEG-aware model was told about its input, and whether the render was a
    self-ensemble ('' when neither)."""
    told, tta = run.get("jpeg_condition"), run.get("self_ensemble")
    return (
        _prompt_note(run.get("prompt"))
        + _coding_note(run.get("coding"))
        + (f"JPEG condition told to the model: {told}. " if told else "")
        + (f"Self-ensemble: {tta}; each stage ran 8 times per tile. " if tta else "")
    )


def _coding_note(c: dict | None) -> str:
    """The layers of a .czp and what the decoder did with each ('' for an image)."""
    if not c:
        return ""
    parts = []
    for x in c["layers"]:
        what = f"{x['kind']}" + (
            f" '{x['label']}' rank {x['rank']} ({x.get('source', '')})" if x["kind"] == "region" else ""
        )
        how = x.get("decoded", "not decoded")
        parts.append(
            f"layer {x['index']}: {what}, {x['codec'].upper()} q{x['quality']} "
            f"{x['size'][0]}×{x['size'][1]}, {x['length']:,} bytes: {how}"
        )
    dropped = "; ".join(f"layer {d['index']} {d['why']}" for d in c["dropped"])
    return (
        f"Semantic coding (.czp v{c['format_version']}, "
        f"{len(c['layers'])} of {c['declared_layers']} layers intact): "
        + "; ".join(parts)
        + (f"; dropped: {dropped}" if dropped else "")
        + f". Regions were ranked by: {'; '.join(c['ranking_rules'])}. Blending: {c['order_of_blending']}. "
    )


def _prompt_note(p: dict | None) -> str:
    """What the prompt was understood to ask ('' without one)."""
    if not p:
        return ""
    tasks = ", ".join(f"{k} {v:g} ({', '.join(p['matched'].get(k, []))})" for k, v in p["tasks"].items())
    geometry = ", ".join(f"{k} {p[k]}" for k in ("scale", "size", "width", "height") if p[k] is not None)
    refused = f"; refused: {', '.join(p['refused'])}" if p["refused"] else ""
    return (
        f'Prompt "{p["text"]}" read as: tasks {tasks or ("auto" if p["auto"] else "none")}{refused}; '
        f"{geometry or 'no size'}. "
    )


def _png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def _fmt_shape(shape) -> str:
    return "×".join(str(v) for v in shape) if shape else "–"


def _fmt_macs(m: int) -> str:
    if not m:
        return "–"
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if m >= div:
            return f"{m / div:.2f} {unit}"
    return str(m)


def _fmt_params(p) -> str:
    return "–" if not p else f"{p:,}"


def _input_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    i = r["input"]
    rows = [
        ("format", i["format"]),
        ("size", f"{i['width']}×{i['height']}"),
        ("mode / bit depth", f"{i['mode']} / {i['bit_depth']}-bit"),
        ("alpha", "yes" if i["has_alpha"] else "no"),
        ("ICC profile", "yes" if i["has_icc"] else "no"),
        ("EXIF orientation", str(i["exif_orientation"] or "–")),
    ]
    j = i["jpeg"]
    if j:
        rows += [
            (
                "JPEG quality (IJG equivalent)",
                f"≈ {j['quality']} (tables: {j['tables_match']}, error {j['table_error']})",
            ),
            ("chroma subsampling", j["subsampling"]),
            ("progressive", "yes" if j["progressive"] else "no"),
        ]
    else:
        rows.append(("JPEG quality", "not a JPEG"))
    rows += [
        ("blockiness (8×8 grid; 1.0 = none)", str(i["blockiness"])),
        ("noise σ (8-bit levels)", str(i["noise"])),
    ]
    return rows


def _stage_rows(r: dict[str, Any]) -> list[list[str]]:
    total = r["stage_seconds"] or 1.0
    return [
        [
            s["name"],
            _fmt_shape(s["shape"]),
            _fmt_params(s["params"]),
            _fmt_macs(s["macs"]),
            str(s["calls"]),
            f"{s['seconds']:.3f}",
            f"{100 * s['seconds'] / total:.1f}%",
            s["detail"],
        ]
        for s in r["stages"]
    ]


STAGE_HEAD = [
    "stage",
    "shape (first call)",
    "parameters",
    "MACs",
    "calls",
    "seconds",
    "share",
    "what it does",
]


def to_json(result: ExplainResult) -> str:
    return json.dumps(result.report, indent=2, ensure_ascii=False)


def to_html(result: ExplainResult) -> str:
    """One self-contained HTML page (images embedded as data URIs, no scripts)."""
    r = result.report
    e = html.escape
    blk = r["result"]["blockiness"]

    def table(head: list[str], rows: list[list[str]]) -> str:
        th = "".join(f"<th>{e(h)}</th>" for h in head)
        body = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>" for row in rows)
        return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"

    figs = "".join(
        f'<figure><img alt="{e(k)}" src="data:image/png;base64,'
        f'{base64.b64encode(_png_bytes(img)).decode()}"><figcaption>{e(k)}</figcaption></figure>'
        for k, img in result.images.items()
    )
    refs = "".join(
        f'<li><a href="{e(ref["url"])}">{e(ref["title"])}</a>: {e(ref["role"])}'
        + (
            f" <em>In clearzoom: {e(ref['used'])}.</em>"
            if ref["used"]
            else " <em>Not yet implemented in clearzoom.</em>"
        )
        + "</li>"
        for ref in r["references"]
    )
    run = r["run"]
    css = (
        "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
        "padding:.25em .5em;text-align:left;font-size:.9em}th{background:#f3f3f3}"
        ".task{font-size:1.3em;background:#eef6ff;padding:.6em;border-radius:4px}"
        "figure{display:inline-block;margin:.5em}figure img{image-rendering:pixelated;"
        "max-width:22em;border:1px solid #aaa}figcaption{text-align:center}"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>clearzoom explain: {e(r["source"])}</title>
<style>{css}</style></head><body>
<h1>How clearzoom restores <code>{e(r["source"])}</code></h1>
<p class="task" id="task">{e(r["task"])}</p>
<h2>1. Input</h2>
{table(["property", "value"], [list(row) for row in _input_rows(r)])}
<h2>2. Workflow: input → model → output</h2>
<p>Model <b>{e(r["model"]["name"])}</b> ({r["model"]["parameters"]:,} parameters):
{e(r["model"]["description"])}.
Output {r["output"]["width"]}×{r["output"]["height"]}. Tiling: {e(str(run.get("tile_plan", "")))};
precision {e(str(run.get("precision")))} on {e(str(run.get("device")))},
{run.get("chunk_queries")} queries per chunk.
{e(_run_notes(run))}Total {r["total_seconds"]:.3f} s, of which the stages below account for
{r["stage_seconds"]:.3f} s.</p>
{table(STAGE_HEAD, _stage_rows(r))}
<h2>3. Result: the most detailed region</h2>
<p>Region of {r["result"]["region"]["size"]}×{r["result"]["region"]["size"]} input pixels at
({r["result"]["region"]["x"]}, {r["result"]["region"]["y"]}), shown at the output's resolution.
Blockiness on the input's 8×8 grid (1.0 = none; enlargements are shrunk back to the input's size
to measure): input {blk["input"]}, bicubic {blk["bicubic"]}, clearzoom {blk["clearzoom"]}.</p>
<div id="view">{figs}</div>
<h2>4. The works this rests on</h2>
<ol id="references">{refs}</ol>
<p><small>clearzoom {e(r["clearzoom_version"])}, {e(r["created"])}.</small></p>
</body></html>
"""


def to_markdown(result: ExplainResult, path: Path) -> str:
    """Markdown for ``path``; its images go to ``<stem>_files/`` beside it (written here)."""
    r = result.report
    files = path.parent / f"{path.stem}_files"
    files.mkdir(parents=True, exist_ok=True)
    links = []
    for k, img in result.images.items():
        name = k.split(" ")[0] + ".png"
        with atomic_path(files / name) as tmp:
            tmp.write_bytes(_png_bytes(img))
        links.append(f"| ![{k}]({files.name}/{name}) ")
    blk = r["result"]["blockiness"]
    run = r["run"]
    lines = [
        f"# How clearzoom restores `{r['source']}`",
        "",
        f"**Task:** {r['task']}",
        "",
        "## 1. Input",
        "",
        "| property | value |",
        "|---|---|",
    ]
    lines += [f"| {a} | {b} |" for a, b in _input_rows(r)]
    lines += [
        "",
        "## 2. Workflow: input → model → output",
        "",
        f"Model **{r['model']['name']}** ({r['model']['parameters']:,} parameters). "
        f"Output {r['output']['width']}×{r['output']['height']}. Tiling: "
        f"{run.get('tile_plan')}; precision {run.get('precision')} on {run.get('device')}. "
        f"{_run_notes(run)}Total {r['total_seconds']:.3f} s; "
        f"the stages account for {r['stage_seconds']:.3f} s.",
        "",
        "| " + " | ".join(STAGE_HEAD) + " |",
        "|" + "---|" * len(STAGE_HEAD),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in _stage_rows(r)]
    lines += [
        "",
        "## 3. Result: the most detailed region",
        "",
        "| " + " | ".join(result.images) + " |",
        "|" + "---|" * len(result.images),
        "".join(links) + "|",
        "",
        f"Blockiness on the input's 8×8 grid (1.0 = none): input {blk['input']}, "
        f"bicubic {blk['bicubic']}, clearzoom {blk['clearzoom']}.",
        "",
        "## 4. The works this rests on",
        "",
    ]
    for n, ref in enumerate(r["references"], 1):
        where = f" *In clearzoom: {ref['used']}.*" if ref["used"] else " *Not yet implemented in clearzoom.*"
        lines.append(f"{n}. [{ref['title']}]({ref['url']}): {ref['role']}{where}")
    lines += ["", f"<small>clearzoom {r['clearzoom_version']}, {r['created']}.</small>", ""]
    return "\n".join(lines)


def write_report(result: ExplainResult, path: str | Path) -> Path:
    """Write the report in the format ``path``'s extension names (.html, .md, .json)."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext in (".html", ".htm"):
        write_atomic(path, to_html(result))
    elif ext == ".md":
        write_atomic(path, to_markdown(result, path))
    elif ext == ".json":
        write_atomic(path, to_json(result) + "\n")
    else:
        raise ValueError(f"{path}: the report must end in .html, .md or .json")
    return path
