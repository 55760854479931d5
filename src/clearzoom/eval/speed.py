"""The speed and memory benchmark behind ``clearzoom bench speed``.

Each configuration (model, input size, scale, precision, threads) runs in a fresh child process,
so that its peak RSS (``getrusage``) is its own: warm-up render first (excluded), then
``repeats`` timed renders of a centred output window of at most ``window_mp`` megapixels; the
median is reported as ms per output megapixel. The machine (CPU model, cores, torch version and
CPU capability, native bf16 or not) is recorded with the results.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import platform
import resource
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

__all__ = ["SpeedCase", "centred_window", "cpu_name", "machine_info", "run_case"]


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict:
    from ..precision import cpu_has_fast_bf16

    return {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "native_bf16": cpu_has_fast_bf16(),
        "python": platform.python_version(),
    }


@dataclass(frozen=True)
class SpeedCase:
    model: str
    size: int
    scale: float
    precision: str = "auto"
    threads: int = 1
    repeats: int = 3
    window_mp: float = 1.0


def centred_window(out_hw: tuple[int, int], max_px: int) -> tuple[int, int, int, int]:
    h, w = out_hw
    if h * w <= max_px:
        return (0, 0, h, w)
    ww = min(w, max(1, int(math.sqrt(max_px))))
    wh = min(h, max(1, max_px // ww))
    return ((h - wh) // 2, (w - ww) // 2, wh, ww)


def _measure(case: SpeedCase) -> dict:
    from ..checkpoints.loading import load_model
    from ..inference.engine import RenderOptions, render_color
    from ..precision import resolve_precision

    torch.set_num_threads(case.threads)
    model = load_model(case.model)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, case.size, case.size, generator=g)
    out = max(1, int(math.floor(case.size * case.scale + 0.5)))
    window = centred_window((out, out), int(case.window_mp * 1e6))
    opts = RenderOptions(precision=resolve_precision(case.precision, torch.device("cpu")))
    times = []
    for i in range(case.repeats + 1):
        t = time.perf_counter()
        for _ in render_color(model, x, (out, out), window, options=opts):
            pass
        if i:
            times.append(time.perf_counter() - t)
    mp = window[2] * window[3] / 1e6
    return {
        **asdict(case),
        "precision_used": opts.precision,
        "output": f"{out}x{out}",
        "window_mp": round(mp, 3),
        "ms_per_mp": round(1000 * statistics.median(times) / mp, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _child(case: SpeedCase, queue) -> None:  # pragma: no cover - runs in the child
    try:
        queue.put(_measure(case))
    except Exception as exc:  # report, don't hang the parent
        queue.put({"error": f"{type(exc).__name__}: {exc}"})


def run_case(case: SpeedCase) -> dict:
    """Measure one configuration in a fresh process (its own peak RSS)."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(case, queue))
    proc.start()
    result = queue.get()
    proc.join()
    if "error" in result:
        from ..errors import ClearZoomError

        raise ClearZoomError(f"speed case {case}: {result['error']}")
    return result
