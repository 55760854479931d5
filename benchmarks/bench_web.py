"""Web app latency: upload to first visible tile, and tile render times per zoom level.

    .venv/bin/python -m benchmarks.bench_web --out benchmarks/results/web.json

In-process (FastAPI TestClient, so HTTP parsing is included but not the network), default model
and precision, on the bundled example (160x90 JPEG) and a 500x480 Set14 photo. For each image:
* ``first_tile_s``: POST the upload, GET the .dzi, GET the first tile of the level a 1024-px-wide
  viewer shows first (the one whose width first reaches 1024), latent codes included;
* per level (input resolution, then x2 ... x32 of it): median seconds of ``--tiles`` distinct
  256x256 tiles from the centre outwards, uncached (latent codes already computed).
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    import torch
    from fastapi.testclient import TestClient
    from PIL import Image

    from benchmarks.common import save_results
    from clearzoom.web import WebConfig, create_app

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiles", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    set14 = ROOT.parent / "shared/data/bench/Set14"
    photo = sorted(set14.iterdir())[0]
    buf = io.BytesIO()
    Image.open(photo).convert("RGB").save(buf, "JPEG", quality=50)
    images = {
        "example 160x90 (JPEG q30)": (ROOT / "src/clearzoom/web/static/example.jpg").read_bytes(),
        f"Set14 {photo.stem} (JPEG q50)": buf.getvalue(),
    }
    rows = []
    app = create_app(WebConfig())
    with TestClient(app) as c:
        for label, data in images.items():
            t0 = time.perf_counter()
            info = c.post("/api/images", files={"file": ("in.jpg", data, "image/jpeg")}).json()
            iid, dz = info["id"], info["deepzoom"]
            c.get(f"/api/images/{iid}.dzi")
            level = next(
                lv for lv in range(dz["max_level"] + 1) if dz["width"] / 2 ** (dz["max_level"] - lv) >= 1024
            )
            r = c.get(f"/api/images/{iid}_files/{level}/0_0.png")
            first = time.perf_counter() - t0
            assert r.status_code == 200
            rows.append(
                {
                    "image": label,
                    "size": f"{info['width']}x{info['height']}",
                    "measure": f"upload -> first tile (level {level})",
                    "seconds": round(first, 3),
                }
            )
            base = dz["first_model_level"] - 1
            for lv in range(base, dz["max_level"] + 1):
                lw = -(-dz["width"] // 2 ** (dz["max_level"] - lv))
                lh = -(-dz["height"] // 2 ** (dz["max_level"] - lv))
                cols, nrows = -(-lw // 256), -(-lh // 256)
                cc, rr = cols // 2, nrows // 2
                coords = sorted(
                    {
                        (min(cols - 1, max(0, cc + dx)), min(nrows - 1, max(0, rr + dy)))
                        for dx in range(-2, 3)
                        for dy in range(-2, 3)
                    },
                    key=lambda p: abs(p[0] - cc) + abs(p[1] - rr),
                )[: args.tiles]
                times = []
                for col, row in coords:
                    t = time.perf_counter()
                    assert c.get(f"/api/images/{iid}_files/{lv}/{col}_{row}.png").status_code == 200
                    times.append(time.perf_counter() - t)
                zoom = lw / info["width"]
                rows.append(
                    {
                        "image": label,
                        "size": f"{info['width']}x{info['height']}",
                        "measure": f"tile at level {lv} (x{zoom:.2g} of the input), median of {len(times)}",
                        "seconds": round(statistics.median(times), 4),
                    }
                )
            for r_ in rows[-(dz["max_level"] - base + 2) :]:
                print(json.dumps(r_), flush=True)
    save_results(
        args.out,
        rows,
        threads=args.threads,
        model=app.state.service.model.name,
        precision=app.state.service.options.precision,
    )


if __name__ == "__main__":
    main()
