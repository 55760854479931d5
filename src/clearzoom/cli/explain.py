"""``clearzoom explain`` (a report of one run) and ``clearzoom serve`` (the local web app)."""

from __future__ import annotations

from pathlib import Path

import click

from .common import (
    DEVICE_CHOICES,
    EXPECTED,
    PRECISION_CHOICES,
    fail,
    parse_scale,
    parse_size,
)


@click.command("explain")
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--scale", help="Magnification S, or SX,SY.")
@click.option("--size", help="Exact output WIDTHxHEIGHT.")
@click.option(
    "-o",
    "--output",
    "report_path",
    type=click.Path(path_type=Path),
    help="Write the report: .html (self-contained), .md (PNGs beside it) or .json.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@click.option("--save-output", type=click.Path(path_type=Path), help="Also write the upscaled image here.")
@click.option("--model", "model_name", help="Model name or file (default model if omitted).")
@click.option("--device", default="auto", show_default=True, type=DEVICE_CHOICES)
@click.option("--precision", default="auto", show_default=True, type=PRECISION_CHOICES)
@click.option("--threads", type=click.IntRange(min=1), help="CPU threads.")
@click.option("--tta", is_flag=True, help="Self-ensemble, as in `clearzoom upscale --tta`.")
@click.option("--crisp", type=click.FloatRange(0, 1), default=0.0, help="As in `clearzoom upscale --crisp`.")
@click.option("--crisp-model", help="As in `clearzoom upscale --crisp-model`.")
@click.option("--prompt", help="The request in words, as in `clearzoom upscale --prompt`.")
@click.option("--overwrite", is_flag=True, help="Replace existing report/output files.")
def explain_cmd(
    src,
    scale,
    size,
    report_path,
    as_json,
    save_output,
    model_name,
    device,
    precision,
    threads,
    tta,
    crisp,
    crisp_model,
    prompt,
    overwrite,
) -> None:
    """Explain how SRC is restored: task detected, each stage with shapes and timings, the result
    beside bicubic, and the works it rests on. A .czp file: its layers, their ranking and what
    the decoder did with each."""
    from ..explain import explain, to_json, write_report
    from ..explain.coding import is_czp

    needs_target = not is_czp(src)  # a .czp decodes to its own size unless told otherwise
    if (
        scale is not None
        and size is not None
        or (needs_target and scale is None and size is None and prompt is None)
    ):
        raise click.UsageError("give exactly one of --scale or --size (or a --prompt that names one)")
    if report_path is None and not as_json:
        raise click.UsageError("give -o REPORT (.html, .md, .json) and/or --json")
    if report_path is not None:
        if report_path.suffix.lower() not in (".html", ".htm", ".md", ".json"):
            raise click.UsageError("the report must end in .html, .md or .json")
        if report_path.exists() and not overwrite:
            fail(f"{report_path}: exists (use --overwrite to replace it)")
        pictures = report_path.with_name(f"{report_path.stem}_files")  # a Markdown report's PNGs
        if report_path.suffix.lower() == ".md" and pictures.exists() and not overwrite:
            fail(f"{pictures}: exists (use --overwrite to replace it)")
    from .upscale import TileBar

    try:
        with TileBar(Path(src).name, quiet=as_json and report_path is None) as bar:
            result = explain(
                src,
                scale=parse_scale(scale),
                size=parse_size(size),
                model=model_name,
                device=device,
                precision=precision,
                threads=threads,
                save_output=save_output,
                overwrite=overwrite,
                tta=tta,
                crisp=crisp,
                crisp_model=crisp_model,
                prompt=prompt,
                progress=bar.update,
            )
        if report_path is not None:
            write_report(result, report_path)
    except EXPECTED as exc:
        fail(str(exc))
    if as_json:
        click.echo(to_json(result))
    else:
        click.echo(result.report["task"])
        click.echo(f"wrote {report_path}")


@click.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind (the default serves this machine only).",
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    help="Also answer requests for this Host name (repeatable; a reverse proxy's name; '*' for any). "
    "Loopback names and --host are always allowed.",
)
@click.option("--model", "model_name", help="Model name or file (default model if omitted).")
@click.option("--device", default="auto", show_default=True, type=DEVICE_CHOICES)
@click.option("--precision", default="auto", show_default=True, type=PRECISION_CHOICES)
@click.option("--max-upload-mb", default=32, show_default=True, type=click.IntRange(min=1))
@click.option("--max-megapixels", default=4.0, show_default=True, type=click.FloatRange(min=0.01))
@click.option(
    "--store-mb",
    default=2048,
    show_default=True,
    type=click.IntRange(min=16),
    help="Memory for uploaded images and their latent codes (oldest evicted).",
)
def serve(
    host, port, allow_hosts, model_name, device, precision, max_upload_mb, max_megapixels, store_mb
) -> None:
    """Run the local web app: upload, restore, compare, and deep zoom to x32.

    It serves this machine only by default; docs/reliability.md says what exposing it needs."""
    try:
        from ..web import WebConfig, create_app
        from ..web.guard import LOOPBACK_HOSTS
        from ..web.server import serve_app

        app = create_app(
            WebConfig(
                model=model_name,
                device=device,
                precision=precision,
                max_upload_bytes=max_upload_mb << 20,
                max_pixels=int(max_megapixels * 1e6),
                store_bytes=store_mb << 20,
                allowed_hosts=(*LOOPBACK_HOSTS, host, *allow_hosts),
            )
        )
    except ImportError as exc:
        fail(
            f"{exc}"
            if "extra" in str(exc)
            else f"the web app needs the 'web' extra: pip install 'clearzoom[web]' (missing: {exc.name})"
        )
    except EXPECTED as exc:
        fail(str(exc))
    click.echo(f"clearzoom: http://{host}:{port}/  (API: http://{host}:{port}/openapi.json)")
    serve_app(app, host, port)
