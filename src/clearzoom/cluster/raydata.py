"""``clearzoom upscale --ray``: a batch restored on a Ray cluster with Ray Data.

The input files are read as a dataset (``ray.data.read_binary_files``, so a pyarrow filesystem or
object-store URL works as well as a local path); an actor pool holds one loaded model per worker
(``map_batches`` with a callable class) and sends each file through the same function as the
single-process CLI (:func:`~clearzoom.inference.api.upscale_file`: tiling, exact sizes, metadata,
atomic writes), so the outputs are the same bytes. A bad file becomes a row of the summary, not a
failed job. Ray restarts a killed worker and retries its files; a file whose output appeared
meanwhile counts as done, and a rerun of the command skips every finished file.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import first_line

__all__ = ["RaySummary", "run_ray_batch"]

log = logging.getLogger(__name__)

# one-line per-file errors (the CLI's EXPECTED): anything else is a bug and fails the job
_EXPECTED = (OSError, ValueError)


@dataclass
class RaySummary:
    """What a Ray batch did: files written, found already written, and failed (with the error)."""

    written: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 0


class _Restorer:
    """A Ray Data actor: one loaded model, then ``upscale_file`` for each row (``path``, ``bytes``)."""

    def __init__(self, model: dict[str, Any], options: dict[str, Any], outputs: dict[str, str]):
        from ..inference.api import load_runnable

        how = {k: v for k, v in model.items() if k != "name"}
        self.model, device = load_runnable(model.get("name"), threads=options.get("threads"), **how)
        self.options = {**options, "device": device}
        self.outputs = outputs

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        out: dict[str, list] = {"src": [], "status": [], "error": []}
        for path, data in zip(batch["path"], batch["bytes"]):
            src = _key(path)
            dst = Path(self.outputs[src])
            out["src"].append(src)
            status, error = self._one(src, dst, bytes(data))
            out["status"].append(status)
            out["error"].append(error)
        return out

    def _one(self, src: str, dst: Path, data: bytes) -> tuple[str, str]:
        from ..inference.api import upscale_file

        if dst.exists() and not self.options.get("overwrite"):
            return "already", ""  # written by an earlier try of this file (a killed worker's retry)
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
            upscale_file(src, dst, data=data, model=self.model, **self.options)
        except _EXPECTED as exc:
            msg = first_line(exc).replace("<bytes>", src)  # the reader names bytes <bytes>
            return "failed", msg if src in msg or str(dst) in msg else f"{src}: {msg}"
        return "written", ""


def _key(path: str) -> str:
    """The name a file goes by between the driver and the workers (Ray reports local paths as
    given; object-store URLs are kept as they are)."""
    return path if "://" in path else os.path.abspath(path)


def _init_ray(address: str | None, workers: int, threads: int) -> None:
    import ray

    logging.getLogger("ray.data").setLevel(logging.WARNING)  # its per-run notices, not ours
    if ray.is_initialized():
        return
    env = {"OMP_WAIT_POLICY": "PASSIVE"}  # idle OpenMP threads sleep (docs/results/threads.json)
    kwargs: dict[str, Any] = dict(
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": env},
        logging_level=logging.WARNING,
    )
    if address:
        ray.init(address=address, **kwargs)
    else:  # a local cluster as large as the machine, and at least as the pool asks
        ray.init(num_cpus=max(os.cpu_count() or 1, workers * threads), **kwargs)


def run_ray_batch(
    jobs: list[tuple[Path, Path]],
    *,
    model: dict[str, Any],
    options: dict[str, Any],
    workers: int | None = None,
    threads: int = 1,
    address: str | None = None,
    progress: bool = True,
) -> RaySummary:
    """Restore ``jobs`` (``(input, output)`` pairs) on Ray and return what happened.

    Args:
        model: how each worker loads its model: ``name`` (a name, file or ONNX export folder),
            ``backend`` (``torch``/``onnxruntime``), ``device``, ``crisp``, ``crisp_model``.
        options: :func:`~clearzoom.inference.api.upscale_file`'s keyword arguments (target,
            precision, tile size, metadata, ...), the same for every file; ``threads`` is set here.
        workers: actors in the pool, each with one model (None: as many as the cluster's CPUs
            allow); ``threads``: CPU threads (and Ray CPUs) of each.
        address: a running cluster (``ray start --head`` prints it); a local one when None.
    """
    import ray
    import ray.data
    from tqdm import tqdm

    started = time.perf_counter()
    if not jobs:
        return RaySummary()
    _init_ray(address, workers or 1, threads)
    if workers is None:
        workers = max(1, int(ray.cluster_resources().get("CPU", 1)) // threads)
    summary = RaySummary(workers=workers)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False  # ours counts files; Ray's count blocks and operators
    outputs = {_key(str(s)): str(d.resolve()) for s, d in jobs}
    # reading is I/O: it reserves no CPU (so it never waits behind the workers), and a few
    # readers at a time (with no CPU limit, Ray starts a process per read task: 20 processes
    # for 24 files took 40 s of a 2-core machine before the first image)
    ds = ray.data.read_binary_files(
        list(outputs),
        include_paths=True,
        override_num_blocks=len(outputs),
        num_cpus=0,
        concurrency=max(1, min(4, workers // 4)),
    )
    results = ds.map_batches(
        _Restorer,
        batch_size=1,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=threads,
        fn_constructor_kwargs={
            "model": model,
            "options": {**options, "threads": threads},
            "outputs": outputs,
        },
    )
    bar = tqdm(total=len(jobs), desc=f"images ({workers} Ray worker(s))", unit="img", disable=not progress)
    with bar:
        for row in _rows(results):
            if row["status"] == "failed":
                summary.failed.append((row["src"], row["error"]))
            else:
                (summary.written if row["status"] == "written" else summary.already).append(row["src"])
            bar.update(1)
    summary.seconds = time.perf_counter() - started
    return summary


def _rows(ds: Any) -> Iterator[dict[str, Any]]:
    for row in ds.iter_rows():
        yield {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
