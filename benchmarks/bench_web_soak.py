"""Web server soak: a real ``clearzoom serve`` under mixed load with tile bursts, loopback only.

    .venv/bin/python -m benchmarks.bench_web_soak --seconds 180 --rate 5 \\
        --out docs/results/reliability/soak.json --md docs/results/reliability/soak.md

The server runs in its own process (default model and limits, ``--store-mb``). Three Set14
photos are uploaded, then for ``--seconds``:

* ``--rate`` requests per second, a mix of deep-zoom tiles at random levels and places (half of
  them rendered by the model), image info, the page, uploads and upscale jobs (x2);
* every ``--burst-every`` seconds, ``--burst`` tile requests at once (a viewer zooming in);
* twice a second, a separate probe of ``/api/health`` and of the page, whose latencies are the
  responsiveness figures.

Recorded: requests and status codes per kind, p50/p95/p99 latency, the server's peak RSS
(``VmHWM``) and the largest stored bytes it reported against its budget. ``check()`` says
whether the run meets issue 27's bar: no 5xx but 503, health and page p99 under 1 s, stored bytes
within the budget.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT.parent / "shared" / "data" / "bench" / "Set14"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``clearzoom serve`` in a child process, stopped on exit."""

    def __init__(self, store_mb: int, model: str | None):
        self.port = _free_port()
        cmd = [sys.executable, "-m", "clearzoom", "serve", "--port", str(self.port)]
        cmd += ["--store-mb", str(store_mb)]
        if model:
            cmd += ["--model", model]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if request(self.port, "GET", "/api/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the server did not start")

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def request(port: int, method: str, path: str, body: bytes | None = None, headers=None, timeout=60.0):
    """``(status, seconds, body)`` of one HTTP request (a fresh connection)."""
    t = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, time.perf_counter() - t, data
    finally:
        conn.close()


def _multipart(name: str, data: bytes) -> tuple[bytes, dict[str, str]]:
    boundary = "soakboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


class Load:
    """The load generator and its records: ``(kind, status, seconds)`` per request."""

    def __init__(self, port: int, images: list[dict], seed: int = 0):
        self.port, self.images = port, images
        self.rng = random.Random(seed)
        self.records: list[tuple[str, int, float]] = []
        self.lock = threading.Lock()

    def record(self, kind: str, method: str, path: str, body=None, headers=None) -> None:
        try:
            status, seconds, _ = request(self.port, method, path, body, headers)
        except OSError:
            status, seconds = 0, float("nan")  # no answer at all (counted as an error)
        with self.lock:
            self.records.append((kind, status, seconds))

    def tile_path(self) -> str:
        img = self.rng.choice(self.images)
        dz = img["deepzoom"]
        lo = dz["first_model_level"] if self.rng.random() < 0.5 else max(dz["first_model_level"] - 3, 0)
        level = self.rng.randint(lo, dz["max_level"])
        side = 2 ** (dz["max_level"] - level)
        cols = max(1, -(-dz["width"] // side // dz["tile"]))
        rows = max(1, -(-dz["height"] // side // dz["tile"]))
        col, row = self.rng.randrange(cols), self.rng.randrange(rows)
        return f"/api/images/{img['id']}_files/{level}/{col}_{row}.jpeg"

    def mixed(self, upload: bytes) -> tuple:
        r = self.rng.random()
        if r < 0.55:
            return ("tile", "GET", self.tile_path())
        if r < 0.75:
            return ("info", "GET", f"/api/images/{self.rng.choice(self.images)['id']}")
        if r < 0.9:
            return ("page", "GET", "/")
        if r < 0.95:
            body, headers = _multipart("soak.png", upload)
            return ("upload", "POST", "/api/images", body, headers)
        job = json.dumps({"scale": 2, "format": "jpeg"}).encode()
        img = self.rng.choice(self.images)["id"]
        return ("job", "POST", f"/api/images/{img}/jobs", job, {"Content-Type": "application/json"})


def soak(
    seconds: float, rate: float, burst: int, burst_every: float, store_mb: int, model: str | None
) -> dict:
    """Run the soak; returns the figures (see the module docstring)."""
    photos = sorted(BENCH.glob("*.png"))[:4]
    server = Server(store_mb, model)
    stored_max = 0
    try:
        images = []
        for p in photos[:3]:
            body, headers = _multipart(p.name, p.read_bytes())
            status, _, data = request(server.port, "POST", "/api/images", body, headers)
            assert status == 201, data
            images.append(json.loads(data))
        load = Load(server.port, images)
        upload = photos[3].read_bytes()
        pool = ThreadPoolExecutor(max_workers=128)
        start = time.perf_counter()
        next_burst, next_probe, sent = start + burst_every / 2, start, 0
        while (now := time.perf_counter()) - start < seconds:
            if now >= next_probe:
                pool.submit(load.record, "health", "GET", "/api/health")
                pool.submit(load.record, "page probe", "GET", "/")
                status, _, data = request(server.port, "GET", "/api/health")
                if status == 200:
                    mem = json.loads(data)["memory"]
                    stored_max = max(stored_max, mem["images"] + mem["results"] + mem["tiles"])
                next_probe += 0.5
            if now >= next_burst:
                for _ in range(burst):
                    pool.submit(load.record, "burst tile", "GET", load.tile_path())
                next_burst += burst_every
            if sent < (now - start) * rate:
                pool.submit(load.record, *load.mixed(upload))
                sent += 1
            time.sleep(0.01)
        pool.shutdown(wait=True)
        peak = server.peak_rss_mb()
    finally:
        server.stop()
    return summarise(load.records, seconds, rate, burst, burst_every, store_mb, peak, stored_max)


def _pct(values: list[float], q: float) -> float:
    values = sorted(v for v in values if v == v)
    return round(values[min(len(values) - 1, int(q * len(values)))], 3) if values else float("nan")


def summarise(records, seconds, rate, burst, burst_every, store_mb, peak_mb, stored_max) -> dict:
    kinds = sorted({k for k, _, _ in records})
    rows = {}
    for kind in kinds:
        mine = [(s, t) for k, s, t in records if k == kind]
        statuses: dict[str, int] = {}
        for s, _ in mine:
            statuses[str(s)] = statuses.get(str(s), 0) + 1
        times = [t for _, t in mine]
        rows[kind] = {
            "requests": len(mine),
            "statuses": statuses,
            "p50_s": _pct(times, 0.5),
            "p95_s": _pct(times, 0.95),
            "p99_s": _pct(times, 0.99),
        }
    budget = (store_mb + 256) << 20  # the store and the tile cache (256 MB by default)
    return {
        "date": datetime.date.today().isoformat(),
        "machine": f"{_cpu()}, {os.cpu_count()} CPUs",
        "settings": {
            "seconds": seconds,
            "rate": rate,
            "burst": burst,
            "burst_every": burst_every,
            "store_mb": store_mb,
        },
        "kinds": rows,
        "errors": sum(1 for _, s, _ in records if s == 0 or (s >= 500 and s != 503)),
        "peak_rss_mb": round(peak_mb, 1),
        "stored_max_mb": round(stored_max / (1 << 20), 1),
        "budget_mb": budget >> 20,
    }


def _cpu() -> str:
    from clearzoom.eval.speed import cpu_name

    return cpu_name()


def check(result: dict) -> list[str]:
    """What misses issue 27's bar (empty when all is met)."""
    problems = []
    if result["errors"]:
        problems.append(f"{result['errors']} requests failed (no answer, or 5xx other than 503)")
    for kind in ("health", "page probe"):
        p99 = result["kinds"].get(kind, {}).get("p99_s", float("nan"))
        if not p99 < 1.0:
            problems.append(f"{kind} p99 {p99} s (limit 1 s)")
    if result["stored_max_mb"] > result["budget_mb"]:
        problems.append(f"stored {result['stored_max_mb']} MB over the {result['budget_mb']} MB budget")
    return problems


COMMAND = "python -m benchmarks.bench_web_soak"


def to_markdown(result: dict) -> str:
    """The figures as a Markdown table (what docs/reliability.md shows)."""
    st = result["settings"]
    lines = [
        f"<!-- generated by `{COMMAND} --md ...`; do not edit -->",
        f"Soak of {st['seconds']:g} s at {st['rate']:g} requests/s, a burst of {st['burst']} tile "
        f"requests every {st['burst_every']:g} s, `--store-mb {st['store_mb']}`; "
        f"{result['machine']}, {result['date']}.",
        "",
        "| requests | count | statuses | p50 s | p95 s | p99 s |",
        "|---|---|---|---|---|---|",
    ]
    for kind, row in result["kinds"].items():
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(row["statuses"].items()))
        lines.append(
            f"| {kind} | {row['requests']} | {statuses} | {row['p50_s']} | {row['p95_s']} | {row['p99_s']} |"
        )
    lines += [
        "",
        f"Failed requests (no answer, or a 5xx other than 503): **{result['errors']}**. "
        f"Stored bytes at most **{result['stored_max_mb']} MB** of a {result['budget_mb']} MB budget "
        f"(store and tile cache); the server's peak RSS **{result['peak_rss_mb']} MB** (model, "
        "runtime and the working memory of renders included).",
        f"Bar (issue 27): {'met' if not result.get('problems') else '; '.join(result['problems'])}.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=180)
    ap.add_argument("--rate", type=float, default=5)
    ap.add_argument("--burst", type=int, default=50)
    ap.add_argument("--burst-every", type=float, default=20)
    ap.add_argument("--store-mb", type=int, default=512)
    ap.add_argument("--model", default=None)
    ap.add_argument("--out", type=Path, default=None, help="the figures as JSON")
    ap.add_argument("--md", type=Path, default=None, help="the figures as a Markdown table")
    args = ap.parse_args()
    result = soak(args.seconds, args.rate, args.burst, args.burst_every, args.store_mb, args.model)
    result["problems"] = check(result)
    text = json.dumps(result, indent=2)
    from clearzoom.atomic import write_atomic

    for path, content in ((args.out, text + "\n"), (args.md, to_markdown(result) if args.md else "")):
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, content)
    sys.stdout.write(text + "\n")
    sys.exit(1 if result["problems"] else 0)


if __name__ == "__main__":
    main()
