"""``clearzoom models``, ``convert``, ``train`` and ``export``: the models and how they are made."""

from __future__ import annotations

import os
from pathlib import Path

import click

from .common import (
    EXPECTED,
    check_model_dst,
    fail,
)


@click.command()
def models() -> None:
    """List the bundled models (the default first)."""
    from ..models.pretrained import DEFAULT_MODEL, list_models

    for p in list_models():
        mark = " (default)" if p.name == DEFAULT_MODEL else ""
        click.echo(f"{p.name}{mark}: {p.description}")


@click.command()
@click.argument("src", type=click.Path(path_type=Path))
@click.argument("dst", type=click.Path(path_type=Path))
@click.option("--overwrite", is_flag=True)
def convert(src: Path, dst: Path, overwrite: bool) -> None:
    """Convert an official LIIF .pth checkpoint into a clearzoom .safetensors model."""
    from ..checkpoints.loading import convert_checkpoint

    check_model_dst(dst, overwrite)
    try:
        convert_checkpoint(src, dst)
    except EXPECTED as exc:
        fail(str(exc))
    click.echo(f"wrote {dst}")


@click.command("train")
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Training config (YAML), e.g. configs/cpu-small.yaml.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Run folder (default: runs/<config name>).",
)
@click.option(
    "--resume",
    type=click.Path(path_type=Path),
    help="Continue from this training checkpoint (same trajectory as an unbroken run).",
)
@click.option("--data", help="Override data.train (the training image folder).")
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override any config key (dotted, YAML value), e.g. --set optim.lr=1e-3.",
)
@click.option("--steps", type=click.IntRange(min=1), help="Override train.steps (planned length).")
@click.option(
    "--stop-at-step",
    type=click.IntRange(min=1),
    help="Stop and checkpoint after this step (the schedule still plans train.steps).",
)
@click.option(
    "--minutes",
    type=click.FloatRange(min=0, min_open=True),
    help="Stop and checkpoint after this much wall time (resume later).",
)
@click.option(
    "--budget-minutes",
    type=click.FloatRange(min=0, min_open=True),
    help="Stop once the run's training time (all resumed parts) reaches this.",
)
@click.option("--threads", type=click.IntRange(min=1), help="Override train.threads.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def train_cmd(
    config_path, out_dir, resume, data, sets, steps, stop_at_step, minutes, budget_minutes, threads, quiet
) -> None:
    """Train a LIIF model from a config; resumable, also under torchrun (several processes)."""
    import yaml

    from ..train import load_config, train

    overrides = {}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r}: give KEY=VALUE", param_hint="--set")
        overrides[key.strip()] = yaml.safe_load(value)
    overrides.update(
        {
            k: v
            for k, v in (("data.train", data), ("train.steps", steps), ("train.threads", threads))
            if v is not None
        }
    )
    try:
        cfg = load_config(config_path, overrides)
        out = out_dir or Path("runs") / cfg.name
        result = train(
            cfg,
            out,
            resume=resume,
            stop_at_step=stop_at_step,
            minutes=minutes,
            budget_minutes=budget_minutes,
            progress=not quiet,
        )
    except EXPECTED as exc:
        fail(str(exc))
    if int(os.environ.get("RANK", "0")) == 0:
        click.echo(f"step {result.step}: checkpoint {result.checkpoint}")


@click.command("export")
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.argument("dst", type=click.Path(path_type=Path))
@click.option("--raw", is_flag=True, help="Export the raw weights instead of their EMA.")
@click.option("--description", help="One line shown by `clearzoom models`.")
@click.option(
    "--onnx",
    is_flag=True,
    help="CHECKPOINT is a model (name or file): write it as ONNX graphs into the folder DST "
    "(encoder, decoder, int8 decoder, manifest, standalone driver).",
)
@click.option("--no-int8", is_flag=True, help="With --onnx: no int8 decoder.")
@click.option("--overwrite", is_flag=True)
def export_cmd(checkpoint, dst, raw, description, onnx, no_int8, overwrite) -> None:
    """Turn a training CHECKPOINT into a shippable model file DST (.safetensors), or (--onnx) a
    model into ONNX graphs for onnxruntime."""
    if onnx:
        if raw or description:
            raise click.UsageError("--raw and --description are for training checkpoints, not --onnx")
        _export_onnx(str(checkpoint), dst, not no_int8, overwrite)
        return
    from ..train import export_model

    check_model_dst(dst, overwrite)
    try:
        export_model(checkpoint, dst, use_ema=not raw, description=description)
    except EXPECTED as exc:
        fail(str(exc))
    click.echo(f"wrote {dst}")


def _export_onnx(model_name: str, dst: Path, int8: bool, overwrite: bool) -> None:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        fail("export --onnx needs onnx, onnxscript and onnxruntime: pip install 'clearzoom[onnx]'", code=2)
    from ..checkpoints import load_model
    from ..inference.onnx_export import export_onnx

    try:
        export_onnx(load_model(model_name), dst, overwrite=overwrite, int8=int8)
    except EXPECTED as exc:
        fail(str(exc))
    click.echo(f"wrote {dst}/ (encoder.onnx, decoder.onnx{', decoder.int8.onnx' if int8 else ''})")


@click.command("teacher-pack")
@click.option("--config", "config_path", required=True, type=click.Path(path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="The pack (.npz).")
@click.option("--count", type=click.IntRange(min=1), default=480, show_default=True, help="Crops.")
@click.option("--lr-side", type=click.IntRange(min=8), default=64, show_default=True)
@click.option("--data", help="Override data.train (the training image folder).")
@click.option("--overwrite", is_flag=True)
def teacher_pack_cmd(config_path, out, count, lr_side, data, overwrite) -> None:
    """Render training crops with Real-ESRGAN x4plus once, for distillation (data.teacher_pack)."""
    from tqdm import tqdm

    from ..train import load_config
    from ..train.teacher import build_pack

    if out.exists() and not overwrite:
        fail(f"{out}: exists (use --overwrite to replace it)")
    try:
        cfg = load_config(config_path, {"data.train": data} if data else None)
        with tqdm(total=count, desc="teacher", unit="crop") as bar:

            def progress(done: int, total: int) -> None:
                bar.update(done - bar.n)

            build_pack(cfg, out, count, lr_side=lr_side, progress=progress)
    except EXPECTED as exc:
        fail(str(exc))
    click.echo(f"wrote {out}")
