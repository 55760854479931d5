"""The ``clearzoom`` command: a thin layer over the Python API."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from ..atomic import write_atomic
from ..errors import ClearZoomError

log = logging.getLogger("clearzoom")

_EXPECTED = (ClearZoomError, OSError, ValueError)  # one-line errors; anything else is a bug


def _fail(msg: str) -> None:
    click.echo(f"error: {msg}", err=True)


def _parse_scale(value: str | None):
    if value is None:
        return None
    parts = value.lower().replace("x", ",").split(",")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a number or SX,SY pair") from None
    if len(nums) == 1:
        return nums[0]
    if len(nums) == 2:
        return (nums[0], nums[1])
    raise click.BadParameter(f"{value!r}: give S or SX,SY")


def _parse_size(value: str | None):
    if value is None:
        return None
    try:
        w, h = value.lower().split("x")
        return int(w), int(h)
    except ValueError:
        raise click.BadParameter(f"{value!r}: give WIDTHxHEIGHT, e.g. 1920x1080") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="clearzoom")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def main(verbose: int) -> None:
    """Restore and magnify compressed images at any scale (LIIF)."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def _batch(inputs: tuple[Path, ...], output: Path | None, out_dir: Path | None,
           fmt: str, suffix: str = "") -> list[tuple[Path, Path]]:
    """``(input, output)`` pairs: ``-o`` for one file; else each file as
    ``out_dir/<stem><suffix>.<fmt>`` and each folder's images (recursively, but not those in
    ``out_dir`` should it lie inside the folder) at their relative path under ``out_dir``.
    ``fmt`` ``"same"`` keeps each input's extension where clearzoom writes it (else png)."""
    from ..inference.imageio import IMAGE_EXTENSIONS, find_images

    def name(f: Path) -> str:
        ext = f".{fmt}" if fmt != "same" else (
            f.suffix.lower() if f.suffix.lower() in IMAGE_EXTENSIONS else ".png")
        return f"{f.stem}{suffix}{ext}"

    if output is not None:
        if len(inputs) != 1:
            raise click.UsageError("-o/--output takes one input; use --out-dir for several")
        if inputs[0].is_dir():
            raise click.UsageError(f"{inputs[0]} is a folder: use --out-dir")
        return [(inputs[0], output)]
    jobs: list[tuple[Path, Path]] = []
    for src in inputs:
        if src.is_dir():
            out = out_dir.resolve()
            found = [f for f in find_images(src) if out not in f.resolve().parents]
            if not found:
                raise click.UsageError(f"{src}: no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) "
                                       "in this folder")
            jobs += [(f, out_dir / f.relative_to(src).parent / name(f)) for f in found]
        else:
            jobs.append((src, out_dir / name(src)))
    seen: dict[Path, Path] = {}
    for src, dst in jobs:
        if dst in seen:
            raise click.UsageError(f"{seen[dst]} and {src} would both be written to {dst}")
        seen[dst] = src
    return jobs


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Output file (one input).")
@click.option("--out-dir", type=click.Path(path_type=Path, file_okay=False),
              help="Output folder (any number of inputs); names keep the input's stem, and a "
                   "folder's images (searched recursively) keep their path under it.")
@click.option("--format", "fmt", default="png", show_default=True,
              type=click.Choice(["png", "jpg", "webp", "tif", "same"]),
              help="Format with --out-dir; same: each input's own (png for formats not written).")
@click.option("--suffix", default="", metavar="TEXT",
              help="Appended to each name with --out-dir, e.g. _x4: photo.jpg -> photo_x4.png.")
@click.option("--scale", help="Magnification S, or SX,SY per axis (e.g. 3.7 or 4,3).")
@click.option("--size", help="Exact output WIDTHxHEIGHT.")
@click.option("--width", type=int, help="Output width (height keeps the aspect ratio).")
@click.option("--height", type=int, help="Output height (width keeps the aspect ratio).")
@click.option("--fit", help="The largest output inside WIDTHxHEIGHT, aspect ratio kept.")
@click.option("--model", "model_name", help="Model name (see `clearzoom models`) or file.")
@click.option("--device", default="auto", show_default=True, type=click.Choice(["auto", "cpu", "cuda"]))
@click.option("--precision", default="auto", show_default=True,
              type=click.Choice(["auto", "fp32", "int8", "bf16", "fp16"]),
              help="auto: fp16 on CUDA, bf16 on CPUs with native bf16, else int8 MLP; fp32 is exact.")
@click.option("--tile", "tile_lr", type=click.IntRange(min=8), default=None,
              help="Tile size in input pixels (bounds memory; the result does not change).")
@click.option("--threads", type=click.IntRange(min=1), help="CPU threads.")
@click.option("--jpeg-quality", type=click.IntRange(1, 100), default=95, show_default=True,
              help="Quality of JPEG outputs.")
@click.option("--input-quality", default="auto", show_default=True,
              help="How the input was JPEG-compressed, for JPEG-aware models: auto (read from a "
                   "JPEG's tables; other formats are clean), clean, or a quality 1-100.")
@click.option("--tta", is_flag=True,
              help="Self-ensemble: average 8 flipped/transposed renders (8x the time, a little "
                   "sharper and cleaner; docs/self-ensemble.md).")
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@click.option("--skip-existing", is_flag=True,
              help="Leave inputs whose output exists alone (to resume a batch).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def upscale(inputs, output, out_dir, fmt, suffix, scale, size, width, height, fit, model_name,
            device, precision, tile_lr, threads, jpeg_quality, input_quality, tta, overwrite,
            skip_existing, quiet) -> None:
    """Magnify INPUT image(s) or the images in INPUT folder(s) by a scale or to an exact size,
    removing compression artifacts."""
    from tqdm import tqdm

    from ..checkpoints.loading import load_model
    from ..inference.api import resolve_input_quality, upscale_file
    from ..inference.engine import DEFAULT_TILE_LR
    from ..precision import resolve_device

    if (output is None) == (out_dir is None):
        raise click.UsageError("give exactly one of -o/--output or --out-dir")
    if suffix and out_dir is None:
        raise click.UsageError("--suffix names the files of --out-dir; with -o, name the file")
    if any(c in suffix for c in "/\\\0"):
        raise click.UsageError(f"--suffix {suffix!r}: no path separators")
    if overwrite and skip_existing:
        raise click.UsageError("give at most one of --overwrite and --skip-existing")
    if sum(v is not None for v in (scale, size, fit)) + (width is not None or height is not None) != 1:
        raise click.UsageError("give exactly one of --scale, --size, --fit, or --width/--height")
    target = {"scale": _parse_scale(scale), "size": _parse_size(size), "width": width,
              "height": height, "fit": _parse_size(fit)}
    jobs = _batch(inputs, output, out_dir, fmt, suffix)
    if skip_existing:
        todo = [(s, d) for s, d in jobs if not d.exists()]
        if len(todo) < len(jobs) and not quiet:
            click.echo(f"skipping {len(jobs) - len(todo)} image(s) whose output exists", err=True)
        jobs = todo
    try:
        if input_quality != "auto":
            input_quality = resolve_input_quality(input_quality)
        dev = resolve_device(device)
        model = load_model(model_name, device=dev)
    except _EXPECTED as exc:
        _fail(str(exc))
        sys.exit(2)

    failed = 0
    for src, dst in tqdm(jobs, desc="images", unit="img", disable=quiet or len(jobs) < 2):
        try:
            if out_dir is not None:
                dst.parent.mkdir(parents=True, exist_ok=True)
            if dst.resolve() == src.resolve() and not overwrite:
                raise FileExistsError(f"{dst}: is the input itself (use --overwrite to replace it)")
            bars: list = []

            def progress(done: int, total: int) -> None:
                if quiet or total < 2:
                    return
                if not bars:
                    bars.append(tqdm(total=total, desc=src.name, unit="tile", leave=False))
                bars[0].update(done - bars[0].n)

            try:
                upscale_file(src, dst, overwrite=overwrite, jpeg_quality=jpeg_quality,
                             model=model, device=dev, precision=precision,
                             tile_lr=tile_lr or DEFAULT_TILE_LR, threads=threads,
                             progress=progress, input_quality=input_quality, tta=tta, **target)
            finally:
                for b in bars:
                    b.close()
            log.info("wrote %s", dst)
        except _EXPECTED as exc:
            failed += 1
            _fail(str(exc) if str(src) in str(exc) or str(dst) in str(exc) else f"{src}: {exc}")
    if failed:
        if len(jobs) > 1:
            _fail(f"{failed} of {len(jobs)} image(s) failed")
        sys.exit(1)


def _check_model_dst(dst: Path, overwrite: bool) -> None:
    """A model file destination: .safetensors, and not replaced unless asked."""
    if dst.suffix != ".safetensors":
        raise click.UsageError("the output must end in .safetensors")
    if dst.exists() and not overwrite:
        _fail(f"{dst}: exists (use --overwrite to replace it)")
        sys.exit(1)


@main.command()
def models() -> None:
    """List the bundled models (the default first)."""
    from ..models.pretrained import DEFAULT_MODEL, list_models

    for p in list_models():
        mark = " (default)" if p.name == DEFAULT_MODEL else ""
        click.echo(f"{p.name}{mark}: {p.description}")


@main.command()
@click.argument("src", type=click.Path(path_type=Path))
@click.argument("dst", type=click.Path(path_type=Path))
@click.option("--overwrite", is_flag=True)
def convert(src: Path, dst: Path, overwrite: bool) -> None:
    """Convert an official LIIF .pth checkpoint into a clearzoom .safetensors model."""
    from ..checkpoints.loading import convert_checkpoint

    _check_model_dst(dst, overwrite)
    try:
        convert_checkpoint(src, dst)
    except _EXPECTED as exc:
        _fail(str(exc))
        sys.exit(1)
    click.echo(f"wrote {dst}")


@main.command("explain")
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--scale", help="Magnification S, or SX,SY.")
@click.option("--size", help="Exact output WIDTHxHEIGHT.")
@click.option("-o", "--output", "report_path", type=click.Path(path_type=Path),
              help="Write the report: .html (self-contained), .md (PNGs beside it) or .json.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@click.option("--save-output", type=click.Path(path_type=Path),
              help="Also write the upscaled image here.")
@click.option("--model", "model_name", help="Model name or file (default model if omitted).")
@click.option("--device", default="auto", show_default=True, type=click.Choice(["auto", "cpu", "cuda"]))
@click.option("--precision", default="auto", show_default=True,
              type=click.Choice(["auto", "fp32", "int8", "bf16", "fp16"]))
@click.option("--threads", type=click.IntRange(min=1), help="CPU threads.")
@click.option("--tta", is_flag=True, help="Self-ensemble, as in `clearzoom upscale --tta`.")
@click.option("--overwrite", is_flag=True, help="Replace existing report/output files.")
def explain_cmd(src, scale, size, report_path, as_json, save_output, model_name, device, precision,
                threads, tta, overwrite) -> None:
    """Explain how SRC is restored: task detected, each stage with shapes and timings, the result
    beside bicubic, and the works it rests on."""
    from ..explain import explain, to_json, write_report

    if (scale is None) == (size is None):
        raise click.UsageError("give exactly one of --scale or --size")
    if report_path is None and not as_json:
        raise click.UsageError("give -o REPORT (.html, .md, .json) and/or --json")
    if report_path is not None:
        if report_path.suffix.lower() not in (".html", ".htm", ".md", ".json"):
            raise click.UsageError("the report must end in .html, .md or .json")
        if report_path.exists() and not overwrite:
            _fail(f"{report_path}: exists (use --overwrite to replace it)")
            sys.exit(1)
    try:
        result = explain(src, scale=_parse_scale(scale), size=_parse_size(size), model=model_name,
                         device=device, precision=precision, threads=threads,
                         save_output=save_output, overwrite=overwrite, tta=tta)
        if report_path is not None:
            write_report(result, report_path)
    except _EXPECTED as exc:
        _fail(str(exc))
        sys.exit(1)
    if as_json:
        click.echo(to_json(result))
    else:
        click.echo(result.report["task"])
        click.echo(f"wrote {report_path}")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind (the default serves this machine only).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--model", "model_name", help="Model name or file (default model if omitted).")
@click.option("--device", default="auto", show_default=True, type=click.Choice(["auto", "cpu", "cuda"]))
@click.option("--precision", default="auto", show_default=True,
              type=click.Choice(["auto", "fp32", "int8", "bf16", "fp16"]))
@click.option("--max-upload-mb", default=32, show_default=True, type=click.IntRange(min=1))
@click.option("--max-megapixels", default=4.0, show_default=True, type=click.FloatRange(min=0.01))
@click.option("--store-mb", default=2048, show_default=True, type=click.IntRange(min=16),
              help="Memory for uploaded images and their latent codes (oldest evicted).")
def serve(host, port, model_name, device, precision, max_upload_mb, max_megapixels, store_mb) -> None:
    """Run the local web app: upload, restore, compare, and deep zoom to x32."""
    try:
        import uvicorn

        from ..web import WebConfig, create_app

        app = create_app(WebConfig(model=model_name, device=device, precision=precision,
                                   max_upload_bytes=max_upload_mb << 20,
                                   max_pixels=int(max_megapixels * 1e6),
                                   store_bytes=store_mb << 20))
    except ImportError as exc:
        _fail(f"{exc}" if "extra" in str(exc) else
              f"the web app needs the 'web' extra: pip install 'clearzoom[web]' (missing: {exc.name})")
        sys.exit(1)
    except _EXPECTED as exc:
        _fail(str(exc))
        sys.exit(1)
    click.echo(f"clearzoom: http://{host}:{port}/  (API: http://{host}:{port}/openapi.json)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


@main.command("train")
@click.option("--config", "config_path", required=True, type=click.Path(path_type=Path),
              help="Training config (YAML), e.g. configs/cpu-small.yaml.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Run folder (default: runs/<config name>).")
@click.option("--resume", type=click.Path(path_type=Path),
              help="Continue from this training checkpoint (same trajectory as an unbroken run).")
@click.option("--data", help="Override data.train (the training image folder).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override any config key (dotted, YAML value), e.g. --set optim.lr=1e-3.")
@click.option("--steps", type=click.IntRange(min=1), help="Override train.steps (planned length).")
@click.option("--stop-at-step", type=click.IntRange(min=1),
              help="Stop and checkpoint after this step (the schedule still plans train.steps).")
@click.option("--minutes", type=click.FloatRange(min=0, min_open=True),
              help="Stop and checkpoint after this much wall time (resume later).")
@click.option("--budget-minutes", type=click.FloatRange(min=0, min_open=True),
              help="Stop once the run's training time (all resumed parts) reaches this.")
@click.option("--threads", type=click.IntRange(min=1), help="Override train.threads.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def train_cmd(config_path, out_dir, resume, data, sets, steps, stop_at_step, minutes,
              budget_minutes, threads, quiet) -> None:
    """Train a LIIF model from a config; resumable, also under torchrun (several processes)."""
    import yaml

    from ..train import load_config, train

    overrides = {}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r}: give KEY=VALUE", param_hint="--set")
        overrides[key.strip()] = yaml.safe_load(value)
    overrides.update({k: v for k, v in (("data.train", data), ("train.steps", steps),
                                        ("train.threads", threads)) if v is not None})
    try:
        cfg = load_config(config_path, overrides)
        out = out_dir or Path("runs") / cfg.name
        result = train(cfg, out, resume=resume, stop_at_step=stop_at_step, minutes=minutes,
                       budget_minutes=budget_minutes, progress=not quiet)
    except _EXPECTED as exc:
        _fail(str(exc))
        sys.exit(1)
    if int(os.environ.get("RANK", "0")) == 0:
        click.echo(f"step {result.step}: checkpoint {result.checkpoint}")


@main.command("export")
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.argument("dst", type=click.Path(path_type=Path))
@click.option("--raw", is_flag=True, help="Export the raw weights instead of their EMA.")
@click.option("--description", help="One line shown by `clearzoom models`.")
@click.option("--overwrite", is_flag=True)
def export_cmd(checkpoint, dst, raw, description, overwrite) -> None:
    """Turn a training CHECKPOINT into a shippable model file DST (.safetensors)."""
    from ..train import export_model

    _check_model_dst(dst, overwrite)
    try:
        export_model(checkpoint, dst, use_ema=not raw, description=description)
    except _EXPECTED as exc:
        _fail(str(exc))
        sys.exit(1)
    click.echo(f"wrote {dst}")


@main.group()
def bench() -> None:
    """Benchmarks: quality on image folders; speed and memory of the engine."""


@bench.command("quality")
@click.option("--config", "config_path", type=click.Path(path_type=Path),
              help="A YAML benchmark definition (data, scales, degrade, methods, out, precision).")
@click.option("--data", help="Dataset folder(s), comma-separated (name = folder name).")
@click.option("--scales", default="2,3,4", show_default=True)
@click.option("--degrade", default="clean", show_default=True, help="clean,jpeg:10,jpeg:30,...")
@click.option("--methods", default="bicubic", show_default=True,
              help="bicubic, lanczos, clearzoom:<model>, or a model file; comma-separated.")
@click.option("--out", "out_dir", default="bench-results", show_default=True,
              type=click.Path(path_type=Path, file_okay=False))
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="Also write the summary records here.")
@click.option("--precision", default="fp32", show_default=True,
              type=click.Choice(["auto", "fp32", "int8", "bf16", "fp16"]))
@click.option("--figures/--no-figures", default=True, show_default=True,
              help="Plots (PNG+SVG, needs matplotlib) and crop sheets in the output folder.")
@click.option("-q", "--quiet", is_flag=True)
def bench_quality(config_path, data, scales, degrade, methods, out_dir, json_out, precision,
                  figures, quiet) -> None:
    """PSNR-Y / SSIM / PSNR-B of methods on image folders, by LIIF's benchmark protocol."""
    import json

    from tqdm import tqdm

    from ..eval.runner import (BenchConfig, config_from_yaml, markdown_table, published_beside,
                               run_quality, write_figures)

    if (config_path is None) == (data is None):
        raise click.UsageError("give --config FILE or --data DIR[,DIR]")
    try:
        cfg = config_from_yaml(config_path) if config_path else BenchConfig(
            data=tuple(Path(d) for d in data.split(",")),
            scales=tuple(int(s) for s in scales.split(",")),
            degradations=tuple(degrade.split(",")), methods=tuple(methods.split(",")),
            out_dir=out_dir, precision=precision)
    except _EXPECTED as exc:
        _fail(str(exc) if config_path else "scales must be whole numbers, e.g. 2,3,4")
        sys.exit(1)
    bar = tqdm(unit="img", disable=quiet)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        summary = run_quality(cfg, progress)
        if figures:
            write_figures(cfg, summary)
    except _EXPECTED as exc:
        _fail(str(exc))
        sys.exit(1)
    finally:
        bar.close()
    click.echo(markdown_table(summary))
    click.echo(published_beside(summary))
    if json_out:
        write_atomic(json_out, json.dumps(summary, indent=1) + "\n")


@bench.command("speed")
@click.option("--model", "models_", default=None,
              help="Model name(s) or file(s), comma-separated.  [default: the default model]")
@click.option("--sizes", default="256,1024", show_default=True, help="Input sides in pixels.")
@click.option("--scales", default="2,4", show_default=True)
@click.option("--precisions", default="fp32,auto", show_default=True)
@click.option("--threads", "threads_", default="1,2", show_default=True, help="Thread counts.")
@click.option("--repeats", default=3, show_default=True, type=click.IntRange(min=1))
@click.option("--window-mp", default=1.0, show_default=True, type=float,
              help="Render at most this many output megapixels (a centred window).")
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="Write the records here.")
def bench_speed(models_, sizes, scales, precisions, threads_, repeats, window_mp, json_out) -> None:
    """ms per output megapixel and peak RSS, each configuration in a fresh process."""
    import json

    from ..eval.speed import SpeedCase, machine_info, run_case
    from ..models.pretrained import DEFAULT_MODEL

    models_ = models_ or DEFAULT_MODEL
    try:
        cases = [SpeedCase(m, int(sz), float(sc), p, int(t), repeats, window_mp)
                 for m in models_.split(",") for sz in sizes.split(",") for sc in scales.split(",")
                 for p in precisions.split(",") for t in threads_.split(",")]
    except ValueError:
        raise click.BadParameter("sizes, scales and threads must be numbers") from None
    machine = machine_info()
    click.echo("machine: " + ", ".join(f"{k} {v}" for k, v in machine.items()))
    click.echo("| model | input | scale | precision | threads | ms per output MP | peak RSS (MB) |")
    click.echo("|---|---|---|---|---|---|---|")
    rows = []
    for case in cases:
        try:
            r = run_case(case)
        except _EXPECTED as exc:
            _fail(str(exc))
            sys.exit(1)
        rows.append(r)
        click.echo(f"| {r['model']} | {r['size']}x{r['size']} | x{r['scale']:g} | {r['precision_used']} "
                   f"| {r['threads']} | {r['ms_per_mp']} | {r['peak_rss_mb']} |")
    if json_out:
        import datetime

        command = (f"clearzoom bench speed --model {models_} --sizes {sizes} --scales {scales} "
                   f"--precisions {precisions} --threads {threads_} --repeats {repeats} "
                   f"--window-mp {window_mp:g} --json {json_out}")
        write_atomic(json_out, json.dumps({"machine": machine, "date": datetime.date.today().isoformat(),
                                           "command": command, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":  # pragma: no cover
    main()
