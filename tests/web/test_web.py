"""Web API: uploads and their limits, deep-zoom tiles (equal to full renders), jobs, errors."""

from __future__ import annotations

import io
import re
import struct
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import BENCH, make_tiny  # noqa: E402
from fastapi.testclient import TestClient  # the dev extra installs fastapi and httpx2
from PIL import Image

from clearzoom import upscale  # noqa: E402
from clearzoom.web import WebConfig, create_app  # noqa: E402
from clearzoom.web.deepzoom import Pyramid  # noqa: E402

MODEL = make_tiny(seed=2, skip="bilinear")


def _jpeg_bytes(size=(24, 20), quality=40) -> bytes:
    src = BENCH / "Set14" / sorted(p.name for p in (BENCH / "Set14").iterdir())[2]
    img = Image.open(src).convert("RGB").crop((40, 40, 40 + size[0], 40 + size[1]))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _client(**cfg) -> TestClient:
    base = {"device": "cpu", "precision": "fp32", "max_upload_bytes": 8 << 20}
    return TestClient(create_app(WebConfig(**{**base, **cfg}), model=MODEL), base_url="http://127.0.0.1")


@pytest.fixture(scope="module")
def client():
    with _client() as c:
        yield c


@pytest.fixture(scope="module")
def uploaded(client):
    data = _jpeg_bytes()
    r = client.post("/api/images", files={"file": ("../../etc/photo.jpg", data, "image/jpeg")})
    assert r.status_code == 201, r.text
    return r.json(), data


def _png(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_upload_reports_the_analysis(uploaded):
    info, _ = uploaded
    assert re.fullmatch(r"[0-9a-f]{32}", info["id"])
    assert (info["width"], info["height"]) == (24, 20)
    assert info["analysis"]["jpeg"]["quality"] == 40
    assert info["name"] == "photo.jpg"  # the client's path is reduced to a display name


def test_dzi_describes_the_magnified_image(client, uploaded):
    info, _ = uploaded
    r = client.get(f"/api/images/{info['id']}.dzi")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    w, h = map(int, re.search(r'Width="(\d+)" Height="(\d+)"', r.text).groups())
    assert (w, h) == (24 * 32, 20 * 32)
    assert 'TileSize="256"' in r.text and 'Overlap="0"' in r.text


def test_every_level_tile_equals_the_crop_of_a_full_render(client, uploaded):
    """Levels above the input: model renders; at and below: the resampled input."""
    info, data = uploaded
    p = Pyramid(24, 20, zoom=32)
    src = Image.open(io.BytesIO(data)).convert("RGB")
    checked_model_levels = 0
    for level in range(p.max_level + 1):
        lw, lh = p.level_size(level)
        if p.rendered_by_model(level):
            full = np.asarray(upscale(src, size=(lw, lh), model=MODEL, device="cpu", precision="fp32"))
            checked_model_levels += 1
        else:
            full = np.asarray(src if (lw, lh) == src.size else src.resize((lw, lh), Image.Resampling.LANCZOS))
        cols, rows = p.grid(level)
        for col, row in {(0, 0), (cols - 1, rows - 1), (cols // 2, rows // 2)}:
            r = client.get(f"/api/images/{info['id']}_files/{level}/{col}_{row}.png")
            assert r.status_code == 200, (level, col, row, r.text)
            tile = _png(r.content).astype(int)
            y0, x0 = row * 256, col * 256
            ref = full[y0 : y0 + tile.shape[0], x0 : x0 + tile.shape[1]].astype(int)
            assert tile.shape == ref.shape and tile.shape[:2] == (min(256, lh - y0), min(256, lw - x0))
            assert np.abs(tile - ref).max() <= 1, (level, col, row)
    assert checked_model_levels == 5  # x2, x4, x8, x16, x32 above the input's 24x20


def test_twenty_concurrent_tile_requests(uploaded):
    info, data = uploaded
    with _client() as c:  # a fresh server: no features, no cached tiles yet
        iid = c.post("/api/images", files={"file": ("a.jpg", data, "image/jpeg")}).json()["id"]
        p = Pyramid(24, 20, zoom=32)
        level = p.max_level
        cols, rows = p.grid(level)
        coords = [(i % cols, (i // cols) % rows) for i in range(20)]
        with ThreadPoolExecutor(20) as pool:
            responses = list(
                pool.map(lambda cr: c.get(f"/api/images/{iid}_files/{level}/{cr[0]}_{cr[1]}.png"), coords)
            )
        assert all(r.status_code == 200 for r in responses)
        full = np.asarray(
            upscale(
                Image.open(io.BytesIO(data)).convert("RGB"),
                size=p.level_size(level),
                model=MODEL,
                device="cpu",
                precision="fp32",
            )
        ).astype(int)
        for (col, row), r in zip(coords, responses):
            tile = _png(r.content).astype(int)
            ref = full[row * 256 : row * 256 + tile.shape[0], col * 256 : col * 256 + tile.shape[1]]
            assert np.abs(tile - ref).max() <= 1
        assert c.get("/api/health").json()["status"] == "ok"


def _bomb_png(side: int = 100_000) -> bytes:
    """A tiny PNG file that claims side x side pixels (a decompression bomb)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload))
            + kind
            + payload
            + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * (side + 1) * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_bad_uploads_are_refused_and_the_server_keeps_serving(client, uploaded):
    big = client.post("/api/images", files={"file": ("big.jpg", b"\xff" * (50 << 20), "image/jpeg")})
    assert big.status_code == 413 and "limit" in big.json()["error"]
    text = client.post("/api/images", files={"file": ("x.png", b"hello, not an image", "image/png")})
    assert text.status_code == 415 and "not an image" in text.json()["error"]
    bomb = client.post("/api/images", files={"file": ("bomb.png", _bomb_png(), "image/png")})
    assert bomb.status_code == 413, bomb.text
    wide = Image.new("RGB", (3000, 2000))
    buf = io.BytesIO()
    wide.save(buf, "PNG")
    over = client.post("/api/images", files={"file": ("wide.png", buf.getvalue(), "image/png")})
    assert over.status_code == 413 and "MP" in over.json()["error"]
    empty = client.post("/api/images", files={"file": ("e.jpg", b"", "image/jpeg")})
    assert empty.status_code == 400
    missing = client.post("/api/images", data={"nofile": "1"})
    assert missing.status_code == 422 and "error" in missing.json()
    info, _ = uploaded
    assert client.get(f"/api/images/{info['id']}").status_code == 200
    assert client.get("/api/health").json()["status"] == "ok"


@pytest.mark.parametrize(
    "url",
    [
        "/api/images/0123456789abcdef0123456789abcdef",
        "/api/images/..%2F..%2Fetc%2Fpasswd",
        "/api/images/0123456789abcdef0123456789abcdef.dzi",
        "/api/images/0123456789abcdef0123456789abcdef_files/3/0_0.png",
        "/api/jobs/0123456789abcdef0123456789abcdef",
    ],
)
def test_unknown_ids_are_404_json(client, url):
    r = client.get(url)
    assert r.status_code == 404 and "error" in r.json()


def test_bad_tile_addresses(client, uploaded):
    iid = uploaded[0]["id"]
    for url in (
        f"/api/images/{iid}_files/99/0_0.png",
        f"/api/images/{iid}_files/5/9_9.png",
        f"/api/images/{iid}_files/5/0_0.gif",
    ):
        r = client.get(url)
        assert r.status_code == 404 and "error" in r.json(), url


def _finished_job(client, job_id: str, timeout: float = 60) -> dict:
    """Poll a job until it is done or failed (at most ``timeout`` seconds); its state."""
    deadline = time.time() + timeout
    while (j := client.get(f"/api/jobs/{job_id}").json())["state"] not in ("done", "error"):
        assert time.time() < deadline
        time.sleep(0.05)
    return j


def test_job_progress_result_and_cancel(uploaded):
    info, data = uploaded
    with _client(workers=1) as c:
        iid = c.post("/api/images", files={"file": ("p.jpg", data, "image/jpeg")}).json()["id"]
        first = c.post(f"/api/images/{iid}/jobs", json={"width": 60, "format": "png"})
        assert first.status_code == 202
        # the pool has one worker: a second job queues behind a long one and can be cancelled
        slow = c.post(f"/api/images/{iid}/jobs", json={"scale": 64}).json()
        queued = c.post(f"/api/images/{iid}/jobs", json={"scale": 3}).json()
        assert c.delete(f"/api/jobs/{queued['id']}").json()["state"] == "cancelled"
        c.delete(f"/api/jobs/{slow['id']}")
        deadline = time.time() + 60
        j = _finished_job(c, first.json()["id"])
        assert j["state"] == "done" and j["progress"] == 1.0 and j["params"]["height"] == 50
        r = c.get(j["result_url"])
        assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
        assert Image.open(io.BytesIO(r.content)).size == (60, 50)
        while c.get(f"/api/jobs/{slow['id']}").json()["state"] in ("queued", "running"):
            assert time.time() < deadline
            time.sleep(0.05)
        assert c.get(f"/api/jobs/{slow['id']}").json()["state"] == "cancelled"
        assert c.get(f"/api/jobs/{queued['id']}/result").status_code == 409
        bad = c.post(f"/api/images/{iid}/jobs", json={"scale": 2, "width": 9})
        assert bad.status_code == 422 and "either" in bad.json()["error"]


def test_old_images_are_evicted_when_the_store_is_full(uploaded):
    _, data = uploaded
    with _client(store_bytes=12_000) as c:  # room for about two 24x20 images
        ids = [
            c.post("/api/images", files={"file": (f"{i}.jpg", data, "image/jpeg")}).json()["id"]
            for i in range(4)
        ]
        assert c.get(f"/api/images/{ids[0]}").status_code == 404
        assert c.get(f"/api/images/{ids[-1]}").status_code == 200


def test_delete_and_openapi(client):
    iid = client.post("/api/images/example").json()["id"]
    assert client.delete(f"/api/images/{iid}").status_code == 204
    assert client.get(f"/api/images/{iid}").status_code == 404
    paths = client.get("/openapi.json").json()["paths"]
    for p in (
        "/api/images",
        "/api/images/{image_id}",
        "/api/images/{image_id}.dzi",
        "/api/images/{image_id}_files/{level}/{col}_{row}.{fmt}",
        "/api/jobs/{job_id}",
    ):
        assert p in paths
    assert client.get("/").status_code == 200


def test_serve_without_the_web_extra_says_how_to_install_it(monkeypatch):
    import builtins

    from click.testing import CliRunner

    from clearzoom.cli.main import main

    real_import = builtins.__import__

    def no_fastapi(name, *args, **kwargs):
        if name.split(".")[0] in ("fastapi", "uvicorn"):
            raise ImportError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_fastapi)
    r = CliRunner().invoke(main, ["serve", "--port", "1"])
    assert r.exit_code == 1
    assert "pip install 'clearzoom[web]'" in r.output and len(r.output.strip().splitlines()) == 1


def test_a_jpeg_aware_model_is_told_the_uploads_quality():
    cond = make_tiny(seed=4, skip="bilinear", condition="jpeg")
    data = _jpeg_bytes(quality=35)
    src = Image.open(io.BytesIO(data)).convert("RGB")
    base = {"device": "cpu", "precision": "fp32", "max_upload_bytes": 8 << 20}
    with TestClient(create_app(WebConfig(**base), model=cond), base_url="http://localhost") as c:
        iid = c.post("/api/images", files={"file": ("q.jpg", data, "image/jpeg")}).json()["id"]
        p = Pyramid(24, 20, zoom=32)
        level = p.max_level - 3  # x4 of the input: one tile
        tile = _png(c.get(f"/api/images/{iid}_files/{level}/0_0.png").content).astype(int)
        job = c.post(f"/api/images/{iid}/jobs", json={"width": 96, "format": "png"}).json()
        j = _finished_job(c, job["id"])
        result = _png(c.get(j["result_url"]).content).astype(int)
    told, clean = (
        np.asarray(
            upscale(
                src, size=p.level_size(level), model=cond, device="cpu", precision="fp32", input_quality=q
            )
        ).astype(int)
        for q in (35, None)
    )
    assert tile.shape == told.shape and np.abs(tile - told).max() <= 1
    assert np.abs(told - clean).mean() > 0.5  # the quality matters to this model
    assert np.abs(result - told).max() <= 1  # the download is told it too


def test_a_best_quality_job_is_the_self_ensemble(tiny_skip_model):
    data = _jpeg_bytes(quality=80)
    src = Image.open(io.BytesIO(data)).convert("RGB")
    base = {"device": "cpu", "precision": "fp32", "max_upload_bytes": 8 << 20}
    results = {}
    with TestClient(create_app(WebConfig(**base), model=tiny_skip_model), base_url="http://localhost") as c:
        iid = c.post("/api/images", files={"file": ("q.jpg", data, "image/jpeg")}).json()["id"]
        for tta in (False, True):
            job = c.post(f"/api/images/{iid}/jobs", json={"scale": 3, "tta": tta}).json()
            j = _finished_job(c, job["id"])
            assert j["state"] == "done" and j["params"]["tta"] is tta
            results[tta] = _png(c.get(j["result_url"]).content).astype(int)
    expected = np.asarray(
        upscale(src, scale=3, model=tiny_skip_model, device="cpu", precision="fp32", tta=True)
    ).astype(int)
    assert np.abs(results[True] - expected).max() <= 1
    assert np.abs(results[True] - results[False]).mean() > 0.5


def test_the_prompt_route_reads_a_request(client):
    r = client.get("/api/prompt", params={"text": "make it 3x bigger, remove the grain but keep the blocks"})
    assert r.status_code == 200
    p = r.json()
    assert p["scale"] == 3 and p["tasks"] == {"noise": 1.0} and p["refused"] == ["jpeg"]
    assert p["matched"] == {"noise": ["grain"], "jpeg": ["blocks"]}
    assert client.get("/api/prompt", params={"text": "x" * 501}).status_code == 422  # bounded
    assert client.get("/api/prompt").status_code == 422


def test_semantic_coding_encodes_downloads_and_decodes_layer_by_layer(client, uploaded):
    """The page's .czp panel: encode with a budget and a user-ordered prompt, download the file
    (it parses and decodes to the same image), decode prefixes, refuse bad requests."""
    pytest.importorskip("rapidocr_onnxruntime", reason="the coding extra (bash scripts/setup.sh installs it)")
    from clearzoom.coding import decode, parse

    info, _ = uploaded
    base = f"/api/images/{info['id']}/czp"
    assert client.get(base).status_code == 404  # not encoded yet
    r = client.post(base, json={"budget": "3kB", "detect": "none"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["bytes"] <= 3000 and body["layers"][0]["kind"] == "base"
    data = client.get(body["download"]).content
    assert len(data) == body["bytes"] and len(parse(data).layers) == len(body["layers"])
    one = _png(client.get(f"{base}/layers/1.png").content)
    assert one.shape == (info["height"], info["width"], 3)
    expected, _ = decode(data, layers=1, model=MODEL)
    assert np.array_equal(one, np.asarray(expected))
    assert client.get(f"{base}/layers/{len(body['layers']) + 1}.png").status_code == 404
    for bad in (
        {"budget": "lots"},
        {"budget": "10"},
        {"budget": "60MB"},
        {"detect": "cats"},
        {"prompt": "x" * 501},
    ):
        r = client.post(base, json=bad)
        assert r.status_code == 422 and "error" in r.json(), (bad, r.text)
    assert client.get("/api/health").status_code == 200
