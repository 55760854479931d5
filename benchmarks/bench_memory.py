"""Peak memory (RSS) of a whole `clearzoom upscale` run on large images.

    .venv/bin/python -m benchmarks.bench_memory --out benchmarks/results/memory.json

Each case makes a real-photo input of the given size (a Set14 image resized with Lanczos, saved as
PNG), runs the CLI in a fresh process (decode, model, tiled render, PNG encode) and reads the
child's peak resident set size from getrusage. Default model and precision unless given.
"""

from __future__ import annotations

import argparse
import datetime
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT.parent / "shared" / "data" / "bench" / "Set14" / "baboon.png"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default="1024:2048,2048:8192", help="input:output side pairs")
    ap.add_argument("--model", default=None)
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases.split(","):
            n_in, n_out = (int(v) for v in case.split(":"))
            src, dst = Path(tmp) / f"in{n_in}.png", Path(tmp) / f"out{n_in}.png"
            Image.open(PHOTO).convert("RGB").resize((n_in, n_in), Image.LANCZOS).save(src)
            cmd = [
                sys.executable,
                "-m",
                "clearzoom.cli.main",
                "upscale",
                str(src),
                "--size",
                f"{n_out}x{n_out}",
                "-o",
                str(dst),
                "-q",
                "--overwrite",
                "--precision",
                args.precision,
            ]
            if args.model:
                cmd += ["--model", args.model]
            if args.threads:
                cmd += ["--threads", str(args.threads)]
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            t = time.perf_counter()
            subprocess.run(cmd, check=True)
            secs = time.perf_counter() - t
            peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            if peak_kb <= before:  # an earlier, larger child holds the maximum
                peak_kb = float("nan")
            with Image.open(dst) as im:
                assert im.size == (n_out, n_out)
            row = {
                "input": f"{n_in}x{n_in}",
                "output": f"{n_out}x{n_out}",
                "peak_rss_mb": round(peak_kb / 1024, 1),
                "seconds": round(secs, 1),
                "model": args.model or "default",
                "precision": args.precision,
            }
            print(json.dumps(row), flush=True)
            rows.append(row)
    if args.out:
        meta = {"date": datetime.date.today().isoformat(), "command": "python " + " ".join(sys.argv)}
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
