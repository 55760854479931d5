"""Threads under contention: the README's main command with 1 and with 2 threads, on an idle
machine and beside one competing busy process, under OpenMP's active and passive wait policies.

    .venv/bin/python -m benchmarks.bench_threads --out docs/results/threads.json

Each case runs ``clearzoom upscale`` as a fresh process (what a user runs: import, model load,
render, write), ``--repeats`` times, and keeps the median wall time. The competitor is a pure
Python busy loop (one core), started before and stopped after each timed run. ``OMP_WAIT_POLICY``
is set in the child's environment: ``ACTIVE`` (threads spin while they wait for work, OpenMP's
usual default), ``PASSIVE`` (they sleep), or unset (what clearzoom chooses itself).
A tool that users run beside a browser must not be slower with its default threads than with one.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT.parent / "shared" / "data" / "bench" / "Set14" / "monarch.png"


def _busy() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def run_case(threads: int | None, policy: str | None, busy: bool, repeats: int, photo: Path) -> float:
    """Median wall seconds of the upscale command in this case."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            cmd = [sys.executable, "-m", "clearzoom", "upscale", str(photo), "--scale", "2", "-q"]
            cmd += ["-o", str(Path(tmp) / f"out{i}.png")]
            if threads:
                cmd += ["--threads", str(threads)]
            rival = _busy() if busy else None
            try:
                time.sleep(0.3 if busy else 0)
                t = time.perf_counter()
                subprocess.run(cmd, env=env, check=True, capture_output=True)
                times.append(time.perf_counter() - t)
            finally:
                if rival is not None:
                    rival.kill()
                    rival.wait()
    return round(statistics.median(times), 2)


def main() -> None:
    from clearzoom.eval.speed import cpu_name

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--photo", type=Path, default=PHOTO)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    rows = []
    for busy in (False, True):
        for policy in ("ACTIVE", "PASSIVE", None):
            for threads in (1, None):
                secs = run_case(threads, policy, busy, args.repeats, args.photo)
                row = {
                    "competing_process": busy,
                    "omp_wait_policy": policy or "(clearzoom's choice)",
                    "threads": threads or f"default ({os.cpu_count()})",
                    "seconds": secs,
                }
                rows.append(row)
                sys.stdout.write(json.dumps(row) + "\n")
                sys.stdout.flush()
    result = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{cpu_name()}, {os.cpu_count()} CPUs",
        "command": f"clearzoom upscale {args.photo.name} --scale 2",
        "rows": rows,
    }
    if args.out:
        from clearzoom.atomic import write_atomic

        write_atomic(args.out, json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
