"""The ``clearzoom`` command: a thin layer over the Python API, one module per group of commands."""

from __future__ import annotations

import logging
import os
import signal
import threading

# OpenMP threads that wait for work sleep instead of spinning. With another busy process on the
# machine, spinning made the default 2 threads 1.6x slower than sleeping, and slower than 1 thread;
# on an idle machine the two policies are within noise (benchmarks/bench_threads.py,
# docs/results/threads.json). Set before torch loads (the commands import it lazily); an explicit
# OMP_WAIT_POLICY in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import click  # noqa: E402

from .bench import bench
from .coding import decode_cmd, encode_cmd
from .explain import explain_cmd, serve
from .models import convert, export_cmd, models, teacher_pack_cmd, train_cmd
from .upscale import upscale


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="clearzoom")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def main(verbose: int) -> None:
    """Restore and magnify compressed images at any scale (LIIF)."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    exit_on_sigterm()


def exit_on_sigterm() -> None:
    """Make SIGTERM (``kill``, a scheduler, a closing session) unwind like Ctrl-C, with exit status
    143: temporary ``.part`` files are removed and nothing half-written is left. ``train`` and
    ``serve`` install their own handlers over this one (a checkpoint; uvicorn's shutdown)."""
    if threading.current_thread() is threading.main_thread():  # signals reach the main thread only
        signal.signal(signal.SIGTERM, _terminate)


def _terminate(signum, frame) -> None:
    raise SystemExit(128 + signal.SIGTERM)


for _command in (
    upscale,
    models,
    convert,
    explain_cmd,
    serve,
    train_cmd,
    export_cmd,
    teacher_pack_cmd,
    bench,
    encode_cmd,
    decode_cmd,
):
    main.add_command(_command)

if __name__ == "__main__":  # pragma: no cover
    main()
