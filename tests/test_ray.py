"""``clearzoom upscale --ray`` (issue 25) on a local 2-CPU Ray cluster: the single-process CLI's
bytes, a summary of bad files while the rest goes on, a rerun that skips finished files, and a
killed worker whose files are redone."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import BENCH, make_tiny
from PIL import Image

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

from clearzoom.checkpoints import save_native  # noqa: E402
from clearzoom.cli.main import main  # noqa: E402
from clearzoom.cluster import run_ray_batch  # noqa: E402
from clearzoom.imageio import plan_outputs  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory) -> Path:
    m = make_tiny(seed=7, skip="bilinear", condition="jpeg")
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    return save_native(path, spec=m.spec, state_dict=m.net.state_dict(), normalization=m.normalization)


def _photos(folder: Path, count: int) -> Path:
    """``count`` real crops (PNG, and a JPEG q40 with EXIF, so the JPEG-aware path and the metadata
    are exercised), in ``folder/in/`` with a subfolder."""
    src = folder / "in"
    (src / "sub").mkdir(parents=True)
    names = sorted((BENCH / "Set14").glob("*.png"))
    for i in range(count):
        img = Image.open(names[i % len(names)]).convert("RGB").crop((i * 7, i * 5, i * 7 + 60, i * 5 + 44))
        if i % 3 == 0:
            exif = Image.Exif()
            exif[0x010F] = "clearzoom-test"  # Make
            img.save(src / "sub" / f"p{i:02d}.jpg", quality=40, exif=exif)
        else:
            img.save(src / f"p{i:02d}.png")
    return src


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_ray_gives_the_cli_bytes_reports_bad_files_and_resumes(cluster, tiny_file, tmp_path):
    src = _photos(tmp_path, 5)
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    common = ["upscale", str(src), "--scale", "2.3", "--model", str(tiny_file), "--threads", "1", "-q"]
    one = CliRunner().invoke(main, [*common, "--out-dir", str(tmp_path / "one")])
    assert one.exit_code == 1 and "broken.png" in one.output  # the CLI's own summary of a bad file
    r = CliRunner().invoke(main, [*common, "--out-dir", str(tmp_path / "ray"), "--ray", "--ray-workers", "2"])
    assert r.exit_code == 1, r.output
    assert r.output.count("error:") == 1 and "broken.png" in r.output
    expected = _files(tmp_path / "one")
    assert len(expected) == 5 and _files(tmp_path / "ray") == expected  # byte for byte
    with Image.open(tmp_path / "ray" / "sub" / "p00.png") as im:
        assert im.getexif().get(0x010F) == "clearzoom-test"  # metadata kept
    loud = [a for a in common if a != "-q"]
    again = CliRunner().invoke(main, [*loud, "--out-dir", str(tmp_path / "ray"), "--ray"])
    assert "skipping 5 image(s)" in again.output and again.exit_code == 1  # only the bad file is tried
    assert _files(tmp_path / "ray") == expected
    bad = [a if a != str(tiny_file) else "no-such-model" for a in common]
    r = CliRunner().invoke(main, [*bad, "--out-dir", str(tmp_path / "bad"), "--ray"])
    assert r.exit_code == 2 and "no-such-model" in r.output  # refused once, before any worker


def _worker_pids() -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True, check=True).stdout
    return [int(line.split()[0]) for line in out.splitlines() if "MapWorker" in line and "_Restorer" in line]


def test_a_killed_worker_s_files_are_redone(cluster, tiny_file, tmp_path):
    src = _photos(tmp_path, 12)
    jobs = plan_outputs([src], tmp_path / "out")
    options = {"scale": 4.0, "precision": "fp32", "tile_lr": 16}
    killed: list[int] = []

    def kill_one_worker() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            done = list((tmp_path / "out").rglob("p*.*"))
            pids = _worker_pids()
            if done and pids:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
            time.sleep(0.05)

    killer = threading.Thread(target=kill_one_worker, daemon=True)
    killer.start()
    summary = run_ray_batch(jobs, model={"name": str(tiny_file)}, options=options, workers=2, progress=False)
    killer.join()
    assert killed, "no worker was killed: the job ended first"
    assert not summary.failed
    assert len(summary.written) + len(summary.already) == len(jobs)
    for _, d in jobs:
        assert d.is_file(), d
    # each output equals a single-process render of its input
    from clearzoom.inference.api import upscale_file

    for s, d in jobs[:3]:
        ref = upscale_file(
            s, tmp_path / f"ref{d.suffix}", overwrite=True, model=str(tiny_file), threads=1, **options
        )
        assert ref.read_bytes() == d.read_bytes()
