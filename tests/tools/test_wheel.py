"""The wheel path (issue 26): ``pip install clearzoom`` with CPU torch already there gives a
working CLI, API and web viewer, without npm and without the source tree."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest
from conftest import BENCH, ROOT

VENDOR = ROOT / "src" / "clearzoom" / "web" / "vendor" / "openseadragon" / "openseadragon.min.js"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The package built as a wheel and installed (without dependencies) into a folder of its own."""
    if not VENDOR.is_file():
        pytest.skip("the viewer is not vendored (scripts/setup.sh runs scripts.vendor_viewer after npm ci)")
    tmp = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist"), str(ROOT)], check=True
    )
    (wheel,) = (tmp / "dist").glob("clearzoom-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(tmp / "site"), str(wheel)], check=True)
    return wheel, tmp / "site"


def test_the_wheel_carries_weights_page_and_viewer(installed):
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "clearzoom/weights/clearzoom-jpeg.safetensors",
        "clearzoom/web/static/index.html",
        "clearzoom/web/vendor/openseadragon/openseadragon.min.js",
        "clearzoom/web/vendor/openseadragon/LICENSE.txt",
        "clearzoom/web/vendor/openseadragon/images/home_rest.png",
        "clearzoom/eval/niqe_pris_params.npz",
    ):
        assert needed in names, needed
    assert not any(n.startswith("clearzoom/train/runs") or n.endswith(".part") for n in names)


def test_the_installed_package_upscales_and_serves_its_viewer(installed, tmp_path):
    _, site = installed
    env = {**os.environ, "PYTHONPATH": str(site)}
    script = (
        "import clearzoom, sys\n"
        f"assert clearzoom.__file__.startswith({str(site)!r}), clearzoom.__file__\n"
        "from fastapi.testclient import TestClient\n"
        "from clearzoom.web import WebConfig, create_app\n"
        "c = TestClient(create_app(WebConfig(device='cpu')), base_url='http://127.0.0.1')\n"
        "r = c.get('/vendor/openseadragon/openseadragon.min.js')\n"
        "assert r.status_code == 200 and b'OpenSeadragon' in r.content[:5000], r.status_code\n"
        "assert c.get('/api/health').json()['viewer'] is True\n"
    )
    subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, check=True)
    src = BENCH / "Set5" / "bird.png"
    cmd = [sys.executable, "-m", "clearzoom", "upscale", str(src), "--scale", "1.5", "-o", "out.png", "-q"]
    subprocess.run(cmd, env=env, cwd=tmp_path, check=True)
    assert (tmp_path / "out.png").stat().st_size > 10_000


def test_the_wheel_declares_version_types_and_extras(installed):
    """The version comes from one place (clearzoom/_version.py); py.typed ships; the scale-out
    extras (onnx, ray) are declared."""
    import clearzoom

    wheel, _ = installed
    assert wheel.name.startswith(f"clearzoom-{clearzoom.__version__}-")
    with zipfile.ZipFile(wheel) as z:
        assert "clearzoom/py.typed" in z.namelist()
        assert "clearzoom/inference/onnxrt.py" in z.namelist()  # the driver export --onnx copies
        meta = z.read(f"clearzoom-{clearzoom.__version__}.dist-info/METADATA").decode()
    assert f"Version: {clearzoom.__version__}\n" in meta
    for extra in ("onnx", "ray", "web"):
        assert f"Provides-Extra: {extra}\n" in meta


@pytest.mark.slow
def test_pip_install_the_wheel_in_a_fresh_venv(installed, tmp_path):
    """What a user does: a new venv, torch as usual, then the wheel with its dependencies from the
    registry; the CLI works with the bundled models, from any folder, without the source tree."""
    wheel, _ = installed
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q", "install"]
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    subprocess.run([*pip, "torch==2.13.0"], check=True, env=env)
    subprocess.run([*pip, str(wheel)], check=True, env=env)
    cli = str(venv / "bin" / "clearzoom")
    src = BENCH / "Set5" / "baby.png"
    done = subprocess.run(
        [cli, "upscale", str(src), "--width", "700", "-o", "out.png", "-q"], cwd=tmp_path, env=env
    )
    assert done.returncode == 0
    from PIL import Image

    with Image.open(tmp_path / "out.png") as im:
        assert im.size == (700, 700)
    models = subprocess.run([cli, "models"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert "clearzoom-jpeg" in models.stdout
