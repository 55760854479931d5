"""How ``clearzoom upscale`` runs: the model it loads once (PyTorch or onnxruntime), and ``--ray``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .common import EXPECTED, fail, say_error

__all__ = ["load_runnable", "run_on_ray"]


def load_runnable(
    *, name: str | None, backend: str, device: str, crisp: float, crisp_model: str | None, threads: int | None
) -> tuple[Any, Any]:
    """``(model, device)`` for the whole batch: a crisp-blended PyTorch model, or the graphs of an
    ONNX export folder (a one-line error if the onnx extra is missing or the options ask for what
    only PyTorch does, naming the options)."""
    from ..inference.api import load_runnable as load

    how: dict[str, Any] = dict(
        backend=backend, device=device, crisp=crisp, crisp_model=crisp_model, threads=threads
    )
    if backend != "onnxruntime":
        return load(name, **how)
    if name is None:
        raise click.UsageError("--backend onnxruntime needs --model EXPORT_DIR (clearzoom export --onnx)")
    if crisp or crisp_model:
        raise click.UsageError("--crisp blends PyTorch weights: not with --backend onnxruntime")
    if device == "cuda":
        raise click.UsageError("--backend onnxruntime runs on the CPU: leave out --device cuda")
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        fail("--backend onnxruntime needs onnxruntime: pip install 'clearzoom[onnx]'", code=2)
    return load(name, **how)


def run_on_ray(
    jobs: list[tuple[Path, Path]],
    model: dict[str, Any],
    options: dict[str, Any],
    workers: int | None,
    threads: int,
    address: str | None,
    quiet: bool,
) -> int:
    """The batch on Ray (:func:`~clearzoom.cluster.run_ray_batch`); the exit status (1 if any
    file failed)."""
    try:
        import ray.data  # noqa: F401
    except ImportError:
        fail("--ray needs Ray Data: pip install 'clearzoom[ray]'", code=2)
    from ..cluster import run_ray_batch

    try:
        load_runnable(threads=1, **model)  # a bad model or option fails here, once, not per worker
        s = run_ray_batch(
            jobs,
            model=model,
            options=options,
            workers=workers,
            threads=threads,
            address=address,
            progress=not quiet,
        )
    except EXPECTED as exc:
        fail(str(exc), code=2)
    for _, error in s.failed:
        say_error(error)
    if not quiet:
        click.echo(
            f"ray: {len(s.written)} written, {len(s.already)} found written, {len(s.failed)} failed "
            f"({s.workers} worker(s), {s.seconds:.1f} s)",
            err=True,
        )
    return 1 if s.failed else 0
