"""``clearzoom bench``: quality on image folders; speed and memory of the engine."""

from __future__ import annotations

from pathlib import Path

import click

from ..atomic import write_atomic
from .common import (
    EXPECTED,
    PRECISION_CHOICES,
    fail,
)


@click.group()
def bench() -> None:
    """Benchmarks: quality on image folders; speed and memory of the engine."""


@bench.command("quality")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="A YAML benchmark definition (data, scales, degrade, methods, out, precision).",
)
@click.option("--data", help="Dataset folder(s), comma-separated (name = folder name).")
@click.option("--scales", default="2,3,4", show_default=True)
@click.option("--degrade", default="clean", show_default=True, help="clean,jpeg:10,jpeg:30,...")
@click.option(
    "--methods",
    default="bicubic",
    show_default=True,
    help="bicubic, lanczos, clearzoom:<model>, or a model file; comma-separated.",
)
@click.option(
    "--out",
    "out_dir",
    default="bench-results",
    show_default=True,
    type=click.Path(path_type=Path, file_okay=False),
)
@click.option(
    "--json", "json_out", type=click.Path(path_type=Path), help="Also write the summary records here."
)
@click.option("--precision", default="fp32", show_default=True, type=PRECISION_CHOICES)
@click.option(
    "--figures/--no-figures",
    default=True,
    show_default=True,
    help="Plots (PNG+SVG, needs matplotlib) and crop sheets in the output folder.",
)
@click.option(
    "--perceptual",
    is_flag=True,
    help="Also NIQE (no reference; lower is more natural), HaarPSI and GMSD: what eyes see.",
)
@click.option("-q", "--quiet", is_flag=True)
def bench_quality(
    config_path, data, scales, degrade, methods, out_dir, json_out, precision, figures, perceptual, quiet
) -> None:
    """PSNR-Y / SSIM / PSNR-B of methods on image folders, by LIIF's benchmark protocol (and with
    --perceptual, NIQE, HaarPSI and GMSD)."""
    import dataclasses
    import json

    from tqdm import tqdm

    from ..eval.bench_config import BenchConfig, config_from_yaml
    from ..eval.runner import (
        markdown_table,
        published_beside,
        run_quality,
        write_figures,
    )

    if (config_path is None) == (data is None):
        raise click.UsageError("give --config FILE or --data DIR[,DIR]")
    try:
        cfg = (
            config_from_yaml(config_path)
            if config_path
            else BenchConfig(
                data=tuple(Path(d) for d in data.split(",")),
                scales=tuple(int(s) for s in scales.split(",")),
                degradations=tuple(degrade.split(",")),
                methods=tuple(methods.split(",")),
                out_dir=out_dir,
                precision=precision,
                perceptual=perceptual,
            )
        )
    except EXPECTED as exc:
        fail(str(exc) if config_path else "scales must be whole numbers, e.g. 2,3,4")
    if perceptual and not cfg.perceptual:  # the flag adds the scores to a config's benchmark
        cfg = dataclasses.replace(cfg, perceptual=True)
    bar = tqdm(unit="img", disable=quiet)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        summary = run_quality(cfg, progress)
        if figures:
            write_figures(cfg, summary)
    except EXPECTED as exc:
        fail(str(exc))
    finally:
        bar.close()
    click.echo(markdown_table(summary))
    click.echo(published_beside(summary))
    if json_out:
        write_atomic(json_out, json.dumps(summary, indent=1) + "\n")


@bench.command("speed")
@click.option(
    "--model",
    "models_",
    default=None,
    help="Model name(s) or file(s), comma-separated.  [default: the default model]",
)
@click.option("--sizes", default="256,1024", show_default=True, help="Input sides in pixels.")
@click.option("--scales", default="2,4", show_default=True)
@click.option("--precisions", default="fp32,auto", show_default=True)
@click.option("--threads", "threads_", default="1,2", show_default=True, help="Thread counts.")
@click.option("--repeats", default=3, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--window-mp",
    default=1.0,
    show_default=True,
    type=float,
    help="Render at most this many output megapixels (a centred window).",
)
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="Write the records here.")
def bench_speed(models_, sizes, scales, precisions, threads_, repeats, window_mp, json_out) -> None:
    """ms per output megapixel and peak RSS, each configuration in a fresh process."""
    import json

    from ..eval.speed import SpeedCase, machine_info, run_case
    from ..models.pretrained import DEFAULT_MODEL

    models_ = models_ or DEFAULT_MODEL
    try:
        cases = [
            SpeedCase(m, int(sz), float(sc), p, int(t), repeats, window_mp)
            for m in models_.split(",")
            for sz in sizes.split(",")
            for sc in scales.split(",")
            for p in precisions.split(",")
            for t in threads_.split(",")
        ]
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
        except EXPECTED as exc:
            fail(str(exc))
        rows.append(r)
        click.echo(
            f"| {r['model']} | {r['size']}x{r['size']} | x{r['scale']:g} | {r['precision_used']} "
            f"| {r['threads']} | {r['ms_per_mp']} | {r['peak_rss_mb']} |"
        )
    if json_out:
        import datetime

        command = (
            f"clearzoom bench speed --model {models_} --sizes {sizes} --scales {scales} "
            f"--precisions {precisions} --threads {threads_} --repeats {repeats} "
            f"--window-mp {window_mp:g} --json {json_out}"
        )
        write_atomic(
            json_out,
            json.dumps(
                {
                    "machine": machine,
                    "date": datetime.date.today().isoformat(),
                    "command": command,
                    "rows": rows,
                },
                indent=1,
            )
            + "\n",
        )
