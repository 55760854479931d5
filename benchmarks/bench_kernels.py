"""Micro-benchmarks behind the engine's choices on this CPU (precision, memory format, chunk size).

    .venv/bin/python -m benchmarks.bench_kernels --out benchmarks/results/kernels.json

* an MLP hidden layer (8192 x 256 @ 256 x 256) in fp32, bf16 autocast and dynamic int8: GFLOPS;
* the EDSR-baseline encoder on a 266² crop with NCHW vs channels-last input: seconds;
* the default model's decode at x4 for several ``chunk_queries``: seconds per output MP.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from clearzoom.checkpoints import load_model
from clearzoom.inference.engine import RenderOptions, render_color
from clearzoom.precision import cpu_has_fast_bf16

ROOT = Path(__file__).resolve().parents[1]

OFFICIAL = ROOT.parent / "shared" / "fixtures" / "liif-official" / "edsr-baseline-liif-random-seed0.pth"


def timeit(fn, repeats=5):
    fn()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    res = {}
    x = torch.randn(8192, 256).relu()
    lin = torch.nn.Linear(256, 256)
    flop = 2 * 8192 * 256 * 256
    with torch.inference_mode():
        res["linear_fp32_gflops"] = round(flop / timeit(lambda: F.linear(x, lin.weight, lin.bias)) / 1e9, 1)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            res["linear_bf16_autocast_gflops"] = round(
                flop / timeit(lambda: F.linear(x, lin.weight, lin.bias), 2) / 1e9, 1
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            q = torch.ao.quantization.quantize_dynamic(
                torch.nn.Sequential(lin), {torch.nn.Linear}, dtype=torch.qint8
            )
        res["linear_int8_dynamic_gflops"] = round(flop / timeit(lambda: q(x)) / 1e9, 1)

        net = load_model(OFFICIAL).net
        crop = torch.rand(1, 3, 266, 266)
        res["encoder_nchw_s"] = round(timeit(lambda: net.project(net.gen_feat(crop)), 3), 3)
        cl = crop.contiguous(memory_format=torch.channels_last)
        res["encoder_channels_last_s"] = round(timeit(lambda: net.project(net.gen_feat(cl)), 3), 3)

        small = load_model()
        img = torch.rand(3, 128, 128)
        for chunk in (512, 1024, 2048, 4096, 16384):
            opts = RenderOptions(precision="fp32", chunk_queries=chunk)
            s = timeit(lambda o=opts: list(render_color(small, img, (512, 512), options=o)), 3)
            res[f"decode_x4_chunk{chunk}_s_per_mp"] = round(s / (512 * 512 / 1e6), 2)
    meta = {
        "date": datetime.date.today().isoformat(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "onednn_native_bf16": cpu_has_fast_bf16(),
        "command": "python " + " ".join(sys.argv),
    }
    print(json.dumps({"meta": meta, "results": res}, indent=1))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"meta": meta, "results": res}, indent=1) + "\n")


if __name__ == "__main__":
    main()
