"""``clearzoom encode`` and ``clearzoom decode``: semantic coding to and from ``.czp`` files."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .common import EXPECTED, fail, parse_size

_CODECS = ("jpeg", "webp", "avif", "png")


def _pairs(text: str | None, option: str) -> dict[str, str]:
    """``base=40,region=80`` -> {"base": "40", "region": "80"} (keys base, region, rest)."""
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or key.strip() not in ("base", "region", "rest"):
            raise click.BadParameter(f"{part!r}: give base=..., region=... or rest=...", param_hint=option)
        out[key.strip()] = value.strip()
    return out


def _qualities(quality: str | None, codec: str | None):
    from ..coding import Qualities

    q, c = _pairs(quality, "--quality"), _pairs(codec, "--codec")
    kw: dict = {}
    for key, value in q.items():
        if key == "rest" and value == "none":
            kw["rest"] = None
            continue
        if not value.isdigit() or not 1 <= int(value) <= 100:
            raise click.BadParameter(f"{key}={value}: a quality is 1..100", param_hint="--quality")
        kw[key] = int(value)
    for key, value in c.items():
        if value not in _CODECS + (("auto",) if key == "region" else ()):
            raise click.BadParameter(f"{key}={value}: choose {', '.join(_CODECS)}", param_hint="--codec")
        kw[f"{key}_codec"] = value
    return Qualities(**kw)


@click.command("encode")
@click.argument("src", type=click.Path(path_type=Path))
@click.option(
    "-o", "--output", "dst", type=click.Path(path_type=Path), help="The .czp (default: SRC with .czp)."
)
@click.option("--roi", "rois", multiple=True, help="A region x,y,w,h[:label] (repeatable).")
@click.option(
    "--grounding", type=click.Path(path_type=Path), help="Regions from a JSON file (docs/coding.md)."
)
@click.option("--prompt", help='What matters, in order: "the faces, then the text".')
@click.option(
    "--detect",
    default="auto",
    show_default=True,
    help="Bundled detectors: auto (text,face when no --roi/--grounding), none, or a list: text,face.",
)
@click.option("--budget", help="Total bytes of the file: 20kB, 1.5MB, 40000 (spent by rank).")
@click.option("--quality", help="Per-layer qualities: base=40,region=80,rest=60 (rest: none by default).")
@click.option(
    "--codec", help="Per-layer codecs: base=webp|jpeg|avif, region=auto|avif|webp|jpeg|png, rest=..."
)
@click.option(
    "--base-scale", default=0.5, show_default=True, type=click.FloatRange(0.05, 1), help="The base's size."
)
@click.option(
    "--feather", default=4, show_default=True, type=click.IntRange(0, 64), help="Region blend rim, pixels."
)
@click.option("--dry-run", is_flag=True, help="Print the ranked regions and the rules; write nothing.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output.")
def encode_cmd(
    src, dst, rois, grounding, prompt, detect, budget, quality, codec, base_scale, feather, dry_run, overwrite
):
    """Code SRC as a .czp: a small base layer, then its important regions in rank order."""
    from ..coding import RULES, encode_czp, plan_regions
    from ..imageio import read_image

    dst = dst or Path(src).with_suffix(".czp")
    if dst.suffix.lower() != ".czp":
        raise click.UsageError("the output must end in .czp")
    if dst.exists() and not overwrite and not dry_run:
        fail(f"{dst}: exists (use --overwrite to replace it)")
    detectors = (
        None if detect == "auto" else () if detect == "none" else tuple(d.strip() for d in detect.split(","))
    )
    try:
        qualities = _qualities(quality, codec)
        from PIL import Image

        pixels, _ = read_image(src)
        image = pixels if isinstance(pixels, Image.Image) else Image.fromarray((pixels >> 8).astype("uint8"))
        plan = plan_regions(
            image.convert("RGB"), rois=rois, grounding=grounding, prompt=prompt, detectors=detectors
        )
        if dry_run:
            click.echo(json.dumps({"rules": RULES, **plan.to_dict()}, indent=2))
            return
        enc = encode_czp(
            image,
            dst,
            plan=plan,
            overwrite=overwrite,
            qualities=qualities,
            budget=budget,
            base_scale=base_scale,
            feather=feather,
        )
    except EXPECTED as exc:
        fail(str(exc))
    for region, why in enc.left_out:
        click.echo(f"note: region {region.rank} ({region.label}) left out: {why}", err=True)
    kinds = [f"{layer.kind}{':' + layer.label if layer.label else ''}" for layer in enc.container.layers]
    click.echo(f"wrote {dst}: {len(enc.data)} bytes, {len(kinds)} layers ({', '.join(kinds)})")


@click.command("decode")
@click.argument("src", type=click.Path(path_type=Path))
@click.option(
    "-o", "--output", "dst", required=True, type=click.Path(path_type=Path), help="The image (.png, .jpg...)."
)
@click.option("--scale", type=click.FloatRange(0, 64, min_open=True), help="Magnify the image by S.")
@click.option("--size", help="Exact output WIDTHxHEIGHT.")
@click.option("--layers", type=click.IntRange(min=1), help="Decode only the first K layers (1 = the base).")
@click.option("--model", "model_name", help="The restorer (default model if omitted).")
@click.option("--threads", type=click.IntRange(min=1), help="CPU threads.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output.")
def decode_cmd(src, dst, scale, size, layers, model_name, threads, overwrite):
    """Decode a .czp to an image: the base restored by clearzoom, the regions blended in. A truncated
    file decodes the layers that are whole (with a warning)."""
    from ..coding import decode_czp

    if dst.exists() and not overwrite:
        fail(f"{dst}: exists (use --overwrite to replace it)")
    try:
        image, report = decode_czp(
            src,
            dst,
            overwrite=overwrite,
            scale=scale,
            size=parse_size(size),
            layers=layers,
            model=model_name,
            threads=threads,
        )
    except EXPECTED as exc:
        fail(str(exc))
    for index, why in report.dropped:
        click.echo(f"warning: layer {index} {why}: not decoded", err=True)
    size_text = f"{image.size[0]}x{image.size[1]}"
    click.echo(f"wrote {dst}: {size_text} from {len(report.used)} of {report.declared_layers} layers")
