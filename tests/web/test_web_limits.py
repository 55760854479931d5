"""The web app under abuse: host and origin checks, streamed body limits, bounded fair queues,
cancellation when clients leave, the memory budget, slow clients; against a real uvicorn server
where the transport matters."""

from __future__ import annotations

import io
import socket
import threading
import time
from concurrent.futures import CancelledError

import numpy as np
import pytest
from conftest import make_tiny
from fastapi.testclient import TestClient
from PIL import Image

from clearzoom.web import WebConfig, create_app
from clearzoom.web.jobs import JobManager
from clearzoom.web.queue import Busy, FairQueue
from clearzoom.web.server import server_config
from clearzoom.web.store import ENTRY_OVERHEAD

MODEL = make_tiny(seed=2, skip="bilinear")
BASE = {"device": "cpu", "precision": "fp32", "max_upload_bytes": 2 << 20}


def _png(size=(24, 20), seed=0) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _client(**cfg) -> TestClient:
    return TestClient(create_app(WebConfig(**{**BASE, **cfg}), model=MODEL), base_url="http://127.0.0.1")


def _upload(c: TestClient, seed=0) -> str:
    r = c.post("/api/images", files={"file": ("a.png", _png(seed=seed), "image/png")})
    assert r.status_code == 201, r.text
    return r.json()["id"]


# ----------------------------------------------------------------------------- the wall
def test_foreign_hosts_and_origins_are_refused_and_headers_are_set():
    with _client() as c:
        page = c.get("/")
        assert page.status_code == 200
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"
        rebound = c.get("/api/health", headers={"host": "attacker.example:8000"})
        assert rebound.status_code == 400 and "attacker.example" in rebound.json()["error"]
        assert rebound.headers["x-frame-options"] == "DENY"
        forged = c.post("/api/images/example", headers={"origin": "http://attacker.example"})
        assert forged.status_code == 403
        assert c.post("/api/images/example", headers={"origin": "http://localhost:8000"}).status_code == 201
        assert c.get("/api/health", headers={"host": "[::1]:8000"}).status_code == 200
    with _client(allowed_hosts=("*",)) as c:
        assert c.get("/api/health", headers={"host": "zoom.example"}).status_code == 200


def test_small_routes_refuse_large_bodies_from_the_header():
    with _client() as c:
        iid = _upload(c)
        r = c.post(f"/api/images/{iid}/jobs", content=b"{" + b" " * (100 << 10) + b"}")
        assert r.status_code == 413 and "0.1 MB limit" in r.json()["error"]


# ----------------------------------------------------------------------------- queues
def test_the_fair_queue_takes_turns_between_keys_and_refuses_when_full():
    gate = threading.Event()
    order: list[str] = []
    q = FairQueue(threads=1, max_waiting=6, name="test")
    blocker = q.submit("x", gate.wait)  # occupies the one thread
    time.sleep(0.05)
    futures = [q.submit("a", lambda i=i: order.append(f"a{i}")) for i in range(4)]
    futures += [q.submit("b", lambda i=i: order.append(f"b{i}")) for i in range(2)]
    with pytest.raises(Busy, match="6 test requests are waiting"):
        q.submit("c", lambda: None)
    futures[3].cancel()  # a client that went away: never run, and its place is free again
    q.submit("c", lambda: order.append("c0"))
    gate.set()
    blocker.result(timeout=5)
    for f in futures[:3] + futures[4:]:
        f.result(timeout=5)
    time.sleep(0.05)
    assert order == ["a0", "b0", "c0", "a1", "b1", "a2"]
    assert q.stats()["cancelled"] == 1 and q.stats()["refused"] == 1
    with pytest.raises(CancelledError):
        futures[3].result()
    q.close()


def test_work_that_waited_too_long_is_refused_not_run():
    gate, ran = threading.Event(), []
    q = FairQueue(threads=1, max_waiting=4, name="tile", max_wait_s=0.1)
    q.submit("a", gate.wait)
    late = q.submit("b", lambda: ran.append("late"))
    time.sleep(0.3)
    gate.set()
    with pytest.raises(Busy, match="waited over 0.1 s"):
        late.result(timeout=5)
    assert ran == [] and q.stats()["expired"] == 1
    assert q.submit("c", lambda: "fresh").result(timeout=5) == "fresh"
    q.close()


def test_a_full_tile_queue_answers_503_with_retry_after():
    with _client(tile_queue=0) as c:
        iid = _upload(c)
        deep = c.get(f"/api/images/{iid}").json()["deepzoom"]["max_level"]
        r = c.get(f"/api/images/{iid}_files/{deep}/0_0.png")
        assert r.status_code == 503 and r.headers["retry-after"] == "2"
        assert c.get("/api/health").status_code == 200


def test_pending_jobs_are_bounded_and_old_results_expire():
    gate = threading.Event()
    jobs = JobManager(workers=1, max_pending=2, max_result_bytes=150)
    first = jobs.submit("img", {}, lambda job, progress: (gate.wait(), (b"1" * 100, "x", "a"))[1])
    jobs.submit("img", {}, lambda job, progress: (b"2" * 100, "x", "b"))
    with pytest.raises(Busy, match="2 upscale jobs"):
        jobs.submit("img", {}, lambda job, progress: (b"", "x", "c"))
    gate.set()
    deadline = time.time() + 5
    while first.state != "expired" and time.time() < deadline:
        time.sleep(0.01)
    assert first.state == "expired" and first.result is None and jobs.result_bytes() == 100
    jobs.shutdown()


def test_the_store_counts_tiny_images_results_and_reserves_room_for_codes():
    with _client(store_bytes=3 * ENTRY_OVERHEAD) as c:
        svc = c.app.state.service
        ids = [_upload(c, seed=i) for i in range(4)]
        assert len(svc.images) <= 2 and ids[-1] in svc.images  # 24x20 images are not free
        assert svc.images.total_bytes() <= 3 * ENTRY_OVERHEAD
        entry = svc.entry(ids[-1])
        svc.images.trim(keep=entry.id, reserve=svc.feature_bytes(entry) + ENTRY_OVERHEAD)
        assert len(svc.images) == 1


# ----------------------------------------------------------------------------- a real server
@pytest.fixture
def real_server():
    """A started uvicorn server in this process: ``(service, port, app)``; tiles take 0.3 s each."""

    def start(**cfg):
        app = create_app(WebConfig(**{**BASE, "tile_threads": 1, **cfg}), model=MODEL)
        svc = app.state.service
        render = svc.tile
        svc.tile = lambda *a: (time.sleep(0.3), render(*a))[1]
        import uvicorn

        server = uvicorn.Server(server_config(app, "127.0.0.1", 0, header_timeout=1.0))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        started.append((server, thread))
        return svc, port

    started: list = []
    yield start
    for server, thread in started:
        server.should_exit = True
        thread.join(timeout=10)


def _raw(port: int, request: bytes) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(request)
    return s


def _get(port: int, path: str) -> tuple[int, float]:
    t = time.perf_counter()
    s = _raw(port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    head = s.recv(64)
    s.close()
    return int(head.split()[1]), time.perf_counter() - t


def test_a_chunked_upload_is_cut_off_at_the_limit_while_streaming(real_server):
    svc, port = real_server()
    s = _raw(
        port,
        b"POST /api/images HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: multipart/form-data; boundary=xx\r\n\r\n",
    )
    part = b'--xx\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
    s.sendall(b"%x\r\n" % len(part) + part + b"\r\n")
    chunk = b"%x\r\n" % (1 << 20) + b"\0" * (1 << 20) + b"\r\n"
    sent = 0
    try:
        while sent < 200 << 20:  # a 200 MB body; the limit is 2 MB
            s.sendall(chunk)
            sent += 1 << 20
    except OSError:
        pass  # the server closed the connection after its 413
    answer = s.recv(4096)
    s.close()
    assert answer.startswith(b"HTTP/1.1 413") and b"2.1 MB limit" in answer
    assert sent < 40 << 20  # it stopped reading long before the end (socket buffers hold some)


def test_tiles_of_clients_that_left_are_never_rendered(real_server):
    svc, port = real_server()
    iid = svc.ingest(_png(), "a.png").id
    level = svc.entry(iid).pyramid.max_level
    gone = [
        _raw(
            port,
            f"GET /api/images/{iid}_files/{level}/{i}_0.png HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode(),
        )
        for i in range(8)
    ]
    time.sleep(0.2)
    for s in gone:
        s.close()
    status, seconds = _get(port, "/api/health")
    assert status == 200 and seconds < 1.0  # health does not wait behind the renders
    time.sleep(1.5)
    stats = svc.render_queue.stats()
    assert stats["cancelled"] >= 4 and stats["served"] <= 4 and stats["waiting"] == 0


def test_slow_half_open_connections_do_not_lock_others_out(real_server):
    svc, port = real_server()
    slow = [_raw(port, b"GET /api/health HTTP/1.1\r\nHost: 127.") for _ in range(300)]
    status, seconds = _get(port, "/api/health")
    assert status == 200 and seconds < 1.0
    time.sleep(1.5)  # past the 1 s header timeout: the server has closed them
    closed = 0
    for s in slow:
        s.settimeout(2)
        try:
            closed += s.recv(1) == b""
        except OSError:
            closed += 1
        s.close()
    assert closed == len(slow)


# ----------------------------------------------------------------------------- soak
@pytest.mark.parametrize(
    "seconds",
    [15, pytest.param(180, marks=pytest.mark.slow)],  # the slow one is issue 27's bar in full
)
def test_a_mixed_soak_with_tile_bursts_holds(seconds):
    from benchmarks.bench_web_soak import check, soak

    result = soak(seconds, rate=5, burst=30, burst_every=min(20, seconds / 2), store_mb=256, model=None)
    assert check(result) == [], result
    served = sum(r["statuses"].get("200", 0) for k, r in result["kinds"].items() if "tile" in k)
    assert served > 10 and result["kinds"]["health"]["requests"] >= 2 * seconds - 2
