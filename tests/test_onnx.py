"""ONNX export and the onnxruntime backend (issue 25): the graphs give PyTorch's colours, tiled and
windowed, through the engine and without clearzoom installed at all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import BENCH, make_tiny

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from clearzoom.inference.engine import RenderOptions, render_color  # noqa: E402
from clearzoom.inference.onnx_export import export_onnx  # noqa: E402
from clearzoom.inference.onnxrt import OnnxGraphs, upscale_array  # noqa: E402


@pytest.fixture(scope="module")
def jpeg_model():
    """A tiny JPEG-aware model with the shipped models' switches (global skip, JPEG condition)."""
    return make_tiny(seed=3, skip="bilinear", condition="jpeg")


@pytest.fixture(scope="module")
def exported(jpeg_model, tmp_path_factory) -> Path:
    return export_onnx(jpeg_model, tmp_path_factory.mktemp("onnx") / "tiny")


@pytest.fixture(scope="module")
def lr() -> torch.Tensor:
    from PIL import Image

    img = Image.open(BENCH / "Set14" / "baboon.png").convert("RGB").crop((40, 60, 93, 101))
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).float() / 255


def _render(model, lr, out_hw, window=None, **opts) -> torch.Tensor:
    window = window or (0, 0, *out_hw)
    out = torch.zeros(3, window[2], window[3])
    n = 0
    for tile, rgb in render_color(model, lr, out_hw, window, options=RenderOptions(**opts), jpeg_quality=30):
        y0, x0, th, tw = tile.out_window
        out[:, y0 - window[0] : y0 - window[0] + th, x0 - window[1] : x0 - window[1] + tw] = rgb
        n += 1
    assert n > 1 or opts.get("tile_lr", 384) >= max(lr.shape[-2:])
    return out


def test_the_folder_holds_graphs_manifest_and_driver(jpeg_model, exported):
    names = {p.name for p in exported.iterdir()}
    assert names == {
        "encoder.onnx",
        "decoder.onnx",
        "decoder.int8.onnx",
        "clearzoom-onnx.json",
        "clearzoom_onnx.py",
    }
    g = OnnxGraphs.load(exported)
    assert g.condition == "jpeg" and g.feature_radius == jpeg_model.feature_radius == 7
    assert [i.name for i in g.encoder.get_inputs()] == ["rgb", "strength"]


@pytest.mark.parametrize("out_hw", [(97, 121), (170, 220)])
def test_onnxruntime_matches_pytorch_tiled(jpeg_model, exported, lr, out_hw):
    graphs = OnnxGraphs.load(exported)
    ref = _render(jpeg_model, lr, out_hw, tile_lr=16)
    got = _render(graphs, lr, out_hw, tile_lr=16)
    assert (got - ref).abs().max() < 1e-4
    assert ref.std() > 0.05  # a render with real detail, not a flat field


def test_a_window_matches_and_int8_stays_close(jpeg_model, exported, lr):
    graphs = OnnxGraphs.load(exported)
    window = (31, 47, 60, 71)
    ref = _render(jpeg_model, lr, (170, 220), window, tile_lr=20)
    assert (_render(graphs, lr, (170, 220), window, tile_lr=20) - ref).abs().max() < 1e-4
    int8 = _render(graphs, lr, (170, 220), window, tile_lr=20, precision="int8")
    err = (int8 - ref).abs()
    assert 0 < err.max() < 0.1 and err.mean() < 0.01


def test_the_graphs_run_without_clearzoom(jpeg_model, exported, lr, tmp_path):
    """A clean interpreter (-I -S: no site-packages) that sees only numpy and onnxruntime runs the
    copied driver, and gets the engine's colours."""
    import numpy
    import onnxruntime

    only = tmp_path / "only"
    only.mkdir()
    for mod in (numpy, onnxruntime):
        pkg = Path(mod.__file__).parent
        (only / pkg.name).symlink_to(pkg)
        libs = pkg.with_name(pkg.name + ".libs")  # manylinux wheels keep their shared libraries here
        if libs.is_dir():
            (only / libs.name).symlink_to(libs)
    np.save(tmp_path / "in.npy", lr.permute(1, 2, 0).numpy())
    script = (
        "import sys\n"
        f"sys.path[:0] = [{str(only)!r}]\n"
        "import importlib.util\n"
        "for name in ('clearzoom', 'torch', 'PIL'):\n"
        "    assert importlib.util.find_spec(name) is None, name + ' is visible'\n"
        "import runpy\n"
        "sys.argv = ['clearzoom_onnx.py', 'in.npy', 'out.npy', '--scale', '2.5', '--jpeg-quality', '30']\n"
        f"runpy.run_path({str(exported / 'clearzoom_onnx.py')!r}, run_name='__main__')\n"
    )
    subprocess.run([sys.executable, "-I", "-S", "-c", script], cwd=tmp_path, check=True)
    got = np.load(tmp_path / "out.npy")
    out_hw = (int(41 * 2.5 + 0.5), int(53 * 2.5 + 0.5))
    ref = _render(jpeg_model, lr, out_hw, tile_lr=16).permute(1, 2, 0).numpy()
    assert got.shape == ref.shape and np.abs(got - ref).max() < 1e-4


def test_upscale_array_is_the_engine_untiled(jpeg_model, exported, lr):
    got = upscale_array(OnnxGraphs.load(exported), lr.permute(1, 2, 0).numpy(), (90, 110), jpeg_quality=30)
    ref = _render(jpeg_model, lr, (90, 110), tile_lr=512).permute(1, 2, 0).numpy()
    assert np.abs(got - ref).max() < 1e-4


def test_cli_export_and_backend(tmp_path, monkeypatch):
    from clearzoom.cli.main import main

    monkeypatch.chdir(tmp_path)
    model = make_tiny(seed=5)
    from clearzoom.checkpoints import save_native

    save_native(
        tmp_path / "tiny.safetensors",
        spec=model.spec,
        state_dict=model.net.state_dict(),
        normalization=model.normalization,
    )
    r = CliRunner().invoke(main, ["export", "--onnx", "tiny.safetensors", "exp"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["export", "--onnx", "tiny.safetensors", "exp"])
    assert r.exit_code != 0 and "--overwrite" in r.output
    src = BENCH / "Set5" / "bird.png"
    args = ["upscale", str(src), "--scale", "0.5", "-q", "--precision", "fp32", "--threads", "1"]
    assert CliRunner().invoke(main, [*args, "--model", "tiny.safetensors", "-o", "pt.png"]).exit_code == 0
    r = CliRunner().invoke(main, [*args, "--model", "exp", "--backend", "onnxruntime", "-o", "ox.png"])
    assert r.exit_code == 0, r.output
    a, b = (np.asarray(__import__("PIL.Image").Image.open(n), dtype=int) for n in ("pt.png", "ox.png"))
    assert a.shape == b.shape and np.abs(a - b).max() <= 1
    r = CliRunner().invoke(
        main, [*args, "--model", "exp", "--backend", "onnxruntime", "--crisp", "0.5", "-o", "c.png"]
    )
    assert r.exit_code == 2 and "crisp" in r.output and not Path("c.png").exists()
    r = CliRunner().invoke(main, [*args, "--model", "nowhere", "--backend", "onnxruntime", "-o", "n.png"])
    assert r.exit_code != 0 and "clearzoom-onnx.json" in r.output


def test_damaged_or_crafted_exports_are_refused_in_one_line(exported, tmp_path):
    import json
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(exported, bad)
    manifest = json.loads((bad / "clearzoom-onnx.json").read_text())
    (bad / "decoder.onnx").write_bytes((exported / "decoder.onnx").read_bytes()[:5000])  # torn
    with pytest.raises(ValueError, match="not a loadable ONNX graph"):
        OnnxGraphs.load(bad)
    for change, message in (
        ({"encoder": {"file": "../../elsewhere.onnx"}}, "plain name"),
        ({"version": 99}, "version 99"),
        ({"format": "other"}, "not a clearzoom-onnx manifest"),
        ({"feature_radius": None}, "incomplete"),
    ):
        (bad / "clearzoom-onnx.json").write_text(json.dumps({**manifest, **change}))
        with pytest.raises(ValueError, match=message):
            OnnxGraphs.load(bad)
    (bad / "clearzoom-onnx.json").write_bytes(b"\xff\xfe not json")
    with pytest.raises(ValueError, match="not JSON"):
        OnnxGraphs.load(bad)
