"""``clearzoom upscale``: one image or a batch, by a scale or to an exact size."""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click

from ..errors import InvalidInputError
from .common import DEVICE_CHOICES, EXPECTED, PRECISION_CHOICES, fail, parse_scale, parse_size, say_error

log = logging.getLogger("clearzoom")


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Output file (one input).")
@click.option(
    "--out-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Output folder (any number of inputs); names keep the input's stem, and a "
    "folder's images (searched recursively) keep their path under it.",
)
@click.option(
    "--format",
    "fmt",
    default="png",
    show_default=True,
    type=click.Choice(["png", "jpg", "webp", "tif", "same"]),
    help="Format with --out-dir; same: each input's own (png for formats not written).",
)
@click.option(
    "--suffix",
    default="",
    metavar="TEXT",
    help="Appended to each name with --out-dir, e.g. _x4: photo.jpg -> photo_x4.png.",
)
@click.option("--scale", help="Magnification S, or SX,SY per axis (e.g. 3.7 or 4,3).")
@click.option(
    "--prompt",
    help='The request in words, e.g. "make it 3x bigger and remove the blocks": its size stands '
    "for --scale/--size/--width/--height (see clearzoom.parse_prompt).",
)
@click.option("--size", help="Exact output WIDTHxHEIGHT.")
@click.option("--width", type=int, help="Output width (height keeps the aspect ratio).")
@click.option("--height", type=int, help="Output height (width keeps the aspect ratio).")
@click.option("--fit", help="The largest output inside WIDTHxHEIGHT, aspect ratio kept.")
@click.option(
    "--model",
    "model_name",
    help="Model name (see `clearzoom models`) or file; with --backend onnxruntime, an export folder.",
)
@click.option(
    "--backend",
    default="torch",
    show_default=True,
    type=click.Choice(["torch", "onnxruntime"]),
    help="onnxruntime: run the graphs of `clearzoom export --onnx` (CPU; the onnx extra).",
)
@click.option("--device", default="auto", show_default=True, type=DEVICE_CHOICES)
@click.option(
    "--precision",
    default="auto",
    show_default=True,
    type=PRECISION_CHOICES,
    help="auto: fp16 on CUDA, bf16 on CPUs with native bf16, else int8 MLP; fp32 is exact.",
)
@click.option(
    "--tile",
    "tile_lr",
    type=click.IntRange(min=8),
    default=None,
    help="Tile size in input pixels (bounds memory; the result does not change).",
)
@click.option("--threads", type=click.IntRange(min=1), help="CPU threads.")
@click.option(
    "--jpeg-quality",
    type=click.IntRange(1, 100),
    default=95,
    show_default=True,
    help="Quality of JPEG outputs.",
)
@click.option(
    "--input-quality",
    default="auto",
    show_default=True,
    help="How the input was JPEG-compressed, for JPEG-aware models: auto (read from a "
    "JPEG's tables; other formats are clean), clean, or a quality 1-100.",
)
@click.option(
    "--tta",
    is_flag=True,
    help="Self-ensemble: average 8 flipped/transposed renders (8x the time, a little "
    "sharper and cleaner; docs/self-ensemble.md).",
)
@click.option(
    "--crisp",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="0 faithful (highest PSNR) .. 1 the perceptual partner model (sharper texture); values "
    "between blend the two networks' weights.",
)
@click.option(
    "--crisp-model",
    help="The perceptual partner to blend with (default: the one shipped for --model).",
)
@click.option(
    "--strip-metadata",
    is_flag=True,
    help="Keep only the colour profile: no EXIF (GPS position, camera, dates) in the outputs. "
    "By default EXIF, ICC and dpi are carried over.",
)
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@click.option(
    "--skip-existing", is_flag=True, help="Leave inputs whose output exists alone (to resume a batch)."
)
@click.option(
    "--ray",
    "use_ray",
    is_flag=True,
    help="Run the batch on Ray (the ray extra): a local cluster, or --ray-address. Finished "
    "outputs are skipped, so a rerun resumes.",
)
@click.option("--ray-address", metavar="ADDRESS", help="A running Ray cluster (e.g. 10.0.0.1:6379 or auto).")
@click.option(
    "--ray-workers",
    type=click.IntRange(min=1),
    help="Ray workers, one model each (default: the cluster's CPUs / --threads).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def upscale(
    inputs,
    output,
    out_dir,
    fmt,
    suffix,
    scale,
    prompt,
    size,
    width,
    height,
    fit,
    model_name,
    backend,
    device,
    precision,
    tile_lr,
    threads,
    jpeg_quality,
    input_quality,
    tta,
    crisp,
    crisp_model,
    strip_metadata,
    overwrite,
    skip_existing,
    use_ray,
    ray_address,
    ray_workers,
    quiet,
) -> None:
    """Magnify INPUT image(s) or the images in INPUT folder(s) by a scale or to an exact size,
    removing compression artifacts."""
    from ..inference.api import resolve_input_quality
    from ..inference.engine import DEFAULT_TILE_LR
    from .backends import load_runnable, run_on_ray

    if prompt is not None:
        scale, size, width, height, input_quality = _from_prompt(
            prompt, (scale, size, width, height, fit), input_quality, quiet
        )
    targets = sum(v is not None for v in (scale, size, fit)) + (width is not None or height is not None)
    _check_options(output, out_dir, suffix, overwrite, skip_existing, targets)
    if (ray_address or ray_workers) and not use_ray:
        raise click.UsageError("--ray-address and --ray-workers go with --ray")
    if use_ray and out_dir is None:
        raise click.UsageError("--ray writes a batch: give --out-dir")
    jobs = _plan(inputs, output, out_dir, fmt, suffix)
    if skip_existing or (use_ray and not overwrite):  # a Ray batch always resumes
        todo = [(s, d) for s, d in jobs if not d.exists()]
        if len(todo) < len(jobs) and not quiet:
            click.echo(f"skipping {len(jobs) - len(todo)} image(s) whose output exists", err=True)
        jobs = todo
    try:
        render = dict(
            overwrite=overwrite,
            jpeg_quality=jpeg_quality,
            precision=precision,
            tile_lr=tile_lr or DEFAULT_TILE_LR,
            input_quality=input_quality if input_quality == "auto" else resolve_input_quality(input_quality),
            tta=tta,
            strip_metadata=strip_metadata,
            scale=parse_scale(scale),
            size=parse_size(size),
            width=width,
            height=height,
            fit=parse_size(fit),
        )
        how = dict(name=model_name, backend=backend, device=device, crisp=crisp, crisp_model=crisp_model)
        if use_ray:
            sys.exit(run_on_ray(jobs, how, render, ray_workers, threads or 1, ray_address, quiet))
        model, dev = load_runnable(threads=threads, **how)
    except EXPECTED as exc:
        fail(str(exc), code=2)
    options = {**render, "model": model, "device": dev, "threads": threads}
    failed = _run_batch(jobs, options, make_dirs=out_dir is not None, quiet=quiet)
    if failed:
        if len(jobs) > 1:
            say_error(f"{failed} of {len(jobs)} image(s) failed")
        sys.exit(1)


def _from_prompt(text: str, given: tuple, input_quality: str, quiet: bool) -> tuple:
    """``(scale, size, width, height, input_quality)`` as the prompt asks: its geometry (when no
    option gives one), and a clean reading for a JPEG-aware model when it refuses deblocking."""
    from ..instruct import parse_prompt

    p = parse_prompt(text)
    scale, size, width, height, fit = given
    asked = p.scale is not None or p.size or p.width or p.height
    if asked and any(v is not None for v in given):
        raise click.UsageError("--prompt names a size: leave out --scale/--size/--width/--height/--fit")
    if asked:
        scale = None if p.scale is None else f"{p.scale:g}"
        size = f"{p.size[0]}x{p.size[1]}" if p.size else None
        width, height = p.width, p.height
    elif all(v is None for v in given):
        raise click.UsageError(
            "--prompt names no size (e.g. '2x', '1920x1080', '3000 px wide'): say one, or give --scale"
        )
    notes = [f"prompt: tasks {', '.join(f'{k} {v:g}' for k, v in p.tasks.items()) or 'none'}"]
    if "jpeg" in p.refused and input_quality == "auto":
        input_quality = "clean"
        notes.append("no deblocking asked: the model is told the input is clean")
    if set(p.tasks) - {"jpeg"}:
        notes.append("the bundled models are not task-steered: they restore JPEG artifacts only")
    if not quiet:
        click.echo("; ".join(notes), err=True)
    return scale, size, width, height, input_quality


def _check_options(
    output: Path | None, out_dir: Path | None, suffix: str, overwrite: bool, skip_existing: bool, targets: int
) -> None:
    """Refuse contradictory options before any work (exit 2, like click's own usage errors)."""
    if (output is None) == (out_dir is None):
        raise click.UsageError("give exactly one of -o/--output or --out-dir")
    if suffix and out_dir is None:
        raise click.UsageError("--suffix names the files of --out-dir; with -o, name the file")
    if any(c in suffix for c in "/\\\0"):
        raise click.UsageError(f"--suffix {suffix!r}: no path separators")
    if overwrite and skip_existing:
        raise click.UsageError("give at most one of --overwrite and --skip-existing")
    if targets != 1:
        raise click.UsageError("give exactly one of --scale, --size, --fit, or --width/--height")


def _plan(
    inputs: tuple[Path, ...], output: Path | None, out_dir: Path | None, fmt: str, suffix: str
) -> list[tuple[Path, Path]]:
    """``(input, output)`` pairs: ``-o`` for one file, else :func:`~clearzoom.imageio.plan_outputs`."""
    from ..imageio import plan_outputs

    if output is not None:
        if len(inputs) != 1:
            raise click.UsageError("-o/--output takes one input; use --out-dir for several")
        if inputs[0].is_dir():
            raise click.UsageError(f"{inputs[0]} is a folder: use --out-dir")
        return [(inputs[0], output)]
    assert out_dir is not None
    try:
        return plan_outputs(inputs, out_dir, fmt, suffix)
    except InvalidInputError as exc:
        raise click.UsageError(str(exc)) from None


def _run_batch(
    jobs: list[tuple[Path, Path]], options: dict[str, Any], *, make_dirs: bool, quiet: bool
) -> int:
    """Upscale each pair, reporting a failure and going on; returns how many failed."""
    from tqdm import tqdm

    from ..inference.api import upscale_file

    failed = 0
    for src, dst in tqdm(jobs, desc="images", unit="img", disable=quiet or len(jobs) < 2):
        try:
            if make_dirs:
                dst.parent.mkdir(parents=True, exist_ok=True)
            if dst.resolve() == src.resolve() and not options["overwrite"]:
                raise FileExistsError(f"{dst}: is the input itself (use --overwrite to replace it)")
            started = time.perf_counter()
            with TileBar(src.name, quiet) as bar:
                upscale_file(src, dst, progress=bar.update, **options)
            log.info("wrote %s", dst)
            if not quiet:
                _say_written(dst, time.perf_counter() - started)
        except EXPECTED as exc:
            failed += 1
            say_error(str(exc) if str(src) in str(exc) or str(dst) in str(exc) else f"{src}: {exc}")
    return failed


def _say_written(dst: Path, seconds: float) -> None:
    """The one-line summary of a finished image: where, how large, how long."""
    try:
        from PIL import Image

        with Image.open(dst) as im:
            size = f"{im.width}x{im.height}, "
    except (OSError, ValueError):
        size = ""
    click.echo(f"wrote {dst} ({size}{seconds:.1f} s)", err=True)


class TileBar:
    """A per-image progress bar over tiles: from the first tile of a multi-tile image, and after
    ``delay_s`` for any image (a quick one-tile image stays silent). Its clock keeps running while
    a tile renders, so even a one-tile image that takes minutes shows it is alive."""

    def __init__(self, name: str, quiet: bool, delay_s: float = 2.0):
        self.name, self.quiet, self.delay_s = name, quiet, delay_s
        self.bar: Any = None  # a tqdm bar, made by the first of the ticker and update()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, daemon=True)

    def _tick(self) -> None:
        if self._stop.wait(self.delay_s):
            return
        self._make_bar(None)
        while not self._stop.wait(0.5):
            with self._lock:
                self.bar.refresh()  # redraws the elapsed time

    def _make_bar(self, total: int | None) -> None:
        from tqdm import tqdm

        with self._lock:
            if self.bar is None:
                self.bar = tqdm(total=total, desc=self.name, unit="tile", leave=False)

    def update(self, done: int, total: int) -> None:
        if self.quiet or (self.bar is None and total < 2):  # one tile: the ticker shows it, if slow
            return
        self._make_bar(total)
        with self._lock:
            self.bar.total = total
            self.bar.update(done - self.bar.n)

    def __enter__(self) -> TileBar:
        if not self.quiet:
            self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._ticker.is_alive():
            self._ticker.join()
        if self.bar is not None:
            self.bar.close()
