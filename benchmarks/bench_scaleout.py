"""Scale-out (issue 25): onnxruntime beside PyTorch, and a Ray batch with 1 and 2 workers.

    .venv/bin/python -m benchmarks.bench_scaleout --out docs/results/scale-out.json

Backends: the bundled ``clearzoom-jpeg`` exported with ``clearzoom export --onnx``, then one
photo (Set14 ``monarch``, 512x768) magnified x2 and x4 in this process, with each backend and
precision, at ``--threads`` threads; the median of ``--repeats`` renders after one warm-up, in
seconds per output megapixel, and the largest difference from PyTorch fp32 (colours in [0, 1]).

Ray: ``--images`` crops of the Set14 photos (128x128, saved as JPEG q40) magnified x4 to PNG by
``clearzoom upscale --ray --ray-workers N --threads 1`` as a fresh process on a local cluster
(what a user runs: Ray start, one model load per worker, the batch, the summary), beside the
single-process CLI on the same files. Images per minute counts the whole command; the pace after
the first output (from the files' times) leaves the start-up out.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, save_results

SET14 = ROOT.parent / "shared" / "data" / "bench" / "Set14"


def _backend_rows(threads: int, repeats: int, tmp: Path) -> list[dict]:
    import numpy as np
    from PIL import Image

    import clearzoom
    from clearzoom.inference.onnx_export import export_onnx
    from clearzoom.inference.onnxrt import OnnxGraphs

    model = clearzoom.load_model("clearzoom-jpeg")
    export_onnx(model, tmp / "onnx")
    graphs = OnnxGraphs.load(tmp / "onnx", threads=threads)
    rgb = np.asarray(Image.open(SET14 / "monarch.png").convert("RGB"), dtype=np.float32) / 255
    rows = []
    for scale in (2, 4):
        ref = None
        for backend, m, precision in (
            ("torch", model, "fp32"),
            ("torch", model, "int8"),
            ("onnxruntime", graphs, "fp32"),
            ("onnxruntime", graphs, "int8"),
        ):

            def run(m=m, precision=precision, scale=scale):
                return clearzoom.upscale(
                    rgb, scale=scale, model=m, precision=precision, threads=threads, input_quality=40
                )

            out = run()  # warm-up (and the colours compared)
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                run()
                times.append(time.perf_counter() - t)
            ref = out if ref is None else ref
            mp = out.shape[0] * out.shape[1] / 1e6
            rows.append(
                {
                    "part": "backend",
                    "scale": scale,
                    "backend": backend,
                    "precision": precision,
                    "threads": threads,
                    "seconds_per_mp": round(statistics.median(times) / mp, 3),
                    "max_abs_diff_vs_torch_fp32": float(np.abs(out - ref).max()),
                }
            )
            sys.stdout.write(f"{rows[-1]}\n")
    return rows


def _ray_rows(images: int, workers_list: list[int], tmp: Path) -> list[dict]:
    from PIL import Image

    src = tmp / "ray-in"
    src.mkdir()
    photos = sorted(SET14.glob("*.png"))
    for i in range(images):
        img = Image.open(photos[i % len(photos)]).convert("RGB")
        x, y = (i * 37) % max(1, img.width - 128), (i * 23) % max(1, img.height - 128)
        img.crop((x, y, x + 128, y + 128)).save(src / f"c{i:03d}.jpg", quality=40)
    base = [sys.executable, "-m", "clearzoom", "upscale", str(src), "--scale", "4", "-q", "--threads", "1"]
    cases = [("single process (CLI)", None)] + [(f"ray, {n} worker(s)", n) for n in workers_list]
    rows = []
    for label, n in cases:
        out = tmp / f"out-{n}"
        cmd = [*base, "--out-dir", str(out)] + ([] if n is None else ["--ray", "--ray-workers", str(n)])
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        secs = time.perf_counter() - t
        done = sorted(f.stat().st_mtime for f in out.rglob("*.png"))
        rows.append(
            {
                "part": "ray",
                "case": label,
                "images": images,
                "seconds": round(secs, 1),
                "images_per_minute": round(images * 60 / secs, 1),
                # start-up apart: the pace between the first and the last output
                "seconds_to_first_output": round(done[0] - (time.time() - secs), 1),
                "images_per_minute_after_first": round((len(done) - 1) * 60 / (done[-1] - done[0]), 1),
            }
        )
        sys.stdout.write(f"{rows[-1]}\n")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--images", type=int, default=24)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--skip", choices=["backend", "ray"], help="Leave one part out.")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.skip != "backend":
            rows += _backend_rows(args.threads, args.repeats, Path(tmp))
        if args.skip != "ray":
            rows += _ray_rows(args.images, args.workers, Path(tmp))
    save_results(args.out, rows, photo="Set14/monarch.png", ray_images="Set14 crops 128x128, JPEG q40, x4")


if __name__ == "__main__":
    main()
