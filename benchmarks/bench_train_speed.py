"""Training throughput on this CPU: clearzoom's training step vs the paper's, same model and recipe.

    .venv/bin/python -m benchmarks.bench_train_speed --out benchmarks/results/train_speed.json

The paper's model (EDSR-baseline 64x16 + MLP 256x4, unfold, local ensemble, cell decoding) and
recipe (batch 16, 48x48 LR patches, 2304 queries per patch, L1, Adam), timed per optimiser step
(forward, backward, Adam) on real batches from clearzoom's sampler:

* ``paper``: a straightforward implementation of the paper's step: the official ``query_rgb``
  (``benchmarks/reference_liif.py``: full 3x3 unfold of the feature map, ``grid_sample`` gathers,
  4 full MLP passes), fp32, NCHW;
* ``clearzoom``: the step ``clearzoom train`` runs (first MLP layer projected once per LR pixel,
  4-row gathers), in the precision ``train.precision: auto`` picks here, NCHW and channels-last,
  and with ``train.compile`` (``torch.compile``; compilation is in the excluded warm-up step);
* ``encoder only``: forward + backward + Adam of the encoder alone on the same batch: a floor for
  any implementation of this model that computes the same arithmetic;
* the same for the default CPU recipe (configs/cpu-jpeg.yaml) for scale.

Each case runs in a fresh process; one warm-up step, then the median of ``--repeats`` steps.
Also reported: the multiply-accumulates (MACs) of each step's forward pass.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _spec(nf: int, nb: int, hidden: int, skip=None) -> dict:
    return {
        "name": "liif",
        "args": {
            "encoder_spec": {
                "name": "edsr-baseline",
                "args": {"n_feats": nf, "n_resblocks": nb, "no_upsampling": True},
            },
            "imnet_spec": {"name": "mlp", "args": {"out_dim": 3, "hidden_list": [hidden] * 4}},
            "skip": skip,
        },
    }


RECIPES = {
    "paper (EDSR-baseline 64x16 + MLP 256x4, 2304 q)": (_spec(64, 16, 256), 2304),
    "cpu-jpeg (EDSR 32x8 + MLP 128x4, 1024 q)": (_spec(32, 8, 128, "bilinear"), 1024),
}


def encoder_macs(net, patch: int) -> int:
    """MACs of the encoder's convolutions on one ``patch x patch`` input (all at full resolution)."""
    return sum(
        m.in_channels * m.out_channels * m.kernel_size[0] * m.kernel_size[1] * patch * patch
        for m in net.encoder.modules()
        if m.__class__.__name__ == "Conv2d"
    )


KINDS = ["paper", "clearzoom", "clearzoom channels-last", "clearzoom compiled", "encoder only"]


def forward_macs(net, patch: int, batch: int, queries: int, straightforward: bool) -> float:
    """MACs of one forward pass: encoder + first layer (projected or per query) + rest of the MLP."""
    layers = [m for m in net.imnet.layers if m.__class__.__name__ == "Linear"]
    rows = queries * (4 if net.local_ensemble else 1)
    first = layers[0]
    if straightforward:
        first_macs = rows * first.in_features * first.out_features
    else:  # projection once per LR pixel + the 4 coordinate/cell columns per row
        first_macs = (
            patch * patch * net.feat_dim * first.out_features
            + rows * (first.in_features - net.feat_dim) * first.out_features
        )
    rest = rows * sum(m.in_features * m.out_features for m in layers[1:])
    return float(batch * (encoder_macs(net, patch) + first_macs + rest))


def _case(kind: str, recipe: str, threads: int, repeats: int, q: mp.Queue) -> None:
    import torch
    import torch.nn.functional as F

    from benchmarks.reference_liif import reference_query_rgb
    from clearzoom.models import registry
    from clearzoom.train.config import config_from_dict
    from clearzoom.train.data import ImageStore, PatchSampler, list_images
    from clearzoom.train.schedule import resolve_train_precision

    torch.set_num_threads(threads)
    spec, queries = RECIPES[recipe]
    cfg = config_from_dict(
        {
            "data": {
                "train": str(ROOT.parent / "shared/data/train"),
                "patch": 48,
                "queries": queries,
                "batch": 16,
            },
            "degrade": {"clean": 1.0},
        }
    )
    files = list_images(cfg.data.train)[:40]
    sampler = PatchSampler(ImageStore(files), cfg.data, cfg.degrade, seed=0)
    batches = [sampler.batch(i) for i in range(repeats + 1)]
    torch.manual_seed(0)
    net = registry.make(spec)
    precision = resolve_train_precision("auto", torch.device("cpu"))
    channels_last = kind == "clearzoom channels-last"
    forward = torch.compile(net) if kind == "clearzoom compiled" else net
    if channels_last:
        net.to(memory_format=torch.channels_last)
    params = net.encoder.parameters() if kind == "encoder only" else net.parameters()
    opt = torch.optim.Adam(params, lr=1e-4)

    def step(b) -> None:
        inp = (b.inp - 0.5) / 0.5
        gt = (b.gt - 0.5) / 0.5
        if kind == "paper":
            feat = net.encoder(inp)
            pred = reference_query_rgb(net, feat, b.coord, b.cell, inp=inp)
            loss = F.l1_loss(pred, gt)
        elif kind == "encoder only":
            loss = net.encoder(inp).abs().mean()
        else:
            if channels_last:
                inp = inp.contiguous(memory_format=torch.channels_last)
            ctx = (
                torch.autocast("cpu", dtype=torch.bfloat16)
                if precision == "bf16"
                else torch.autocast("cpu", enabled=False)
            )
            with ctx:
                pred = forward(inp, b.coord, b.cell)
            loss = F.l1_loss(pred.float(), gt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step(batches[0])  # warm-up (and compilation, for "clearzoom compiled")
    times = []
    for b in batches[1:]:
        t = time.perf_counter()
        step(b)
        times.append(time.perf_counter() - t)
    macs = (
        16 * encoder_macs(net, 48)
        if kind == "encoder only"
        else forward_macs(net, 48, 16, queries, straightforward=kind == "paper")
    )
    q.put(
        {
            "recipe": recipe,
            "kind": kind,
            "threads": threads,
            "precision": precision,
            "seconds_per_step": statistics.median(times),
            "all_seconds": times,
            "samples_per_s": 16 / statistics.median(times),
            "queries_per_s": 16 * queries / statistics.median(times),
            "forward_gmacs": macs / 1e9,
        }
    )


def run_case(*args) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_case, args=(*args, q))
    p.start()
    res = q.get()
    p.join()
    return res


def main() -> None:
    from benchmarks.common import save_results

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--out", default=None)
    ap.add_argument(
        "--merge", action="store_true", help="keep the rows of --out that this run does not measure again"
    )
    args = ap.parse_args()
    rows = []
    for recipe in RECIPES:
        for threads in [int(t) for t in args.threads.split(",")]:
            for kind in args.kinds.split(","):
                r = run_case(kind, recipe, threads, args.repeats)
                rows.append(r)
                print(json.dumps({k: v for k, v in r.items() if k != "all_seconds"}), flush=True)
    if args.merge and args.out and Path(args.out).exists():
        key = lambda r: (r["recipe"], r["kind"], r["threads"])  # noqa: E731
        new = {key(r) for r in rows}
        old = [r for r in json.loads(Path(args.out).read_text())["rows"] if key(r) not in new]
        rows = sorted(
            old + rows, key=lambda r: (list(RECIPES).index(r["recipe"]), r["threads"], KINDS.index(r["kind"]))
        )
    for r in rows:
        ref = next(
            x
            for x in rows
            if x["recipe"] == r["recipe"] and x["threads"] == r["threads"] and x["kind"] == "paper"
        )
        r["speedup_vs_paper"] = ref["seconds_per_step"] / r["seconds_per_step"]
    save_results(args.out, rows)


if __name__ == "__main__":
    main()
