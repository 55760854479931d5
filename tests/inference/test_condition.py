"""JPEG-aware LIIF (condition="jpeg"): the model is told the input's JPEG quality, from training
(the quality the degradation applied) to inference (the quality in the file's tables)."""

import io

import numpy as np
import pytest
import torch
from conftest import make_tiny
from PIL import Image

from clearzoom.data.degrade import DoubleJpeg, Jpeg, Noise, last_jpeg_quality
from clearzoom.errors import InvalidInputError, UnknownModelError
from clearzoom.inference.api import resolve_input_quality, upscale
from clearzoom.inference.engine import RenderOptions, encode_features, render_color
from clearzoom.models.liif import jpeg_strength


@pytest.fixture(scope="module")
def cond_model():
    return make_tiny(seed=3, skip="bilinear", condition="jpeg")


def _jpeg(img: Image.Image, q: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=q)
    buf.seek(0)
    return Image.open(buf)


def test_strength_and_the_quality_a_degradation_leaves():
    assert jpeg_strength(None) == 0.0 and jpeg_strength(30) == pytest.approx(0.7)
    assert jpeg_strength(100) == 0.0 and jpeg_strength(1) == pytest.approx(0.99)
    with pytest.raises(ValueError):
        jpeg_strength(0)
    assert last_jpeg_quality([]) is None and last_jpeg_quality([Noise(0.01)]) is None
    assert last_jpeg_quality([Noise(0.01), Jpeg(40)]) == 40
    assert last_jpeg_quality([DoubleJpeg(80, 25)]) == 25  # what the file's tables would say


def test_condition_adds_an_input_plane_and_changes_the_codes(cond_model):
    net = cond_model.net
    assert net.encoder.head[0].weight.shape[1] == 4
    inp = torch.rand(2, 3, 12, 12) * 2 - 1
    with torch.no_grad():
        clean = net.gen_feat(inp)
        both = net.gen_feat(inp, torch.tensor([0.0, 0.7]))
        q30 = net.gen_feat(inp, 0.7)
    assert torch.equal(clean[0], both[0]) and torch.allclose(q30[1], both[1], atol=1e-6)
    assert (clean[1] - both[1]).abs().max() > 1e-3
    with pytest.raises(UnknownModelError, match="condition must be None or 'jpeg'"):
        make_tiny(condition="blur")
    plain = make_tiny(seed=3, skip="bilinear").net  # a model without a condition ignores it
    with torch.no_grad():
        assert torch.equal(plain.gen_feat(inp, 0.7), plain.gen_feat(inp))


def test_engine_passes_the_quality_and_tiles_stay_exact(cond_model, photo):
    color = torch.from_numpy(np.asarray(photo, dtype=np.float32) / 255).permute(2, 0, 1)
    out_hw = (color.shape[1] * 3, color.shape[2] * 3)

    def render(q, tile):
        out = torch.empty(3, *out_hw)
        for t, rgb in render_color(
            cond_model, color, out_hw, options=RenderOptions(tile_lr=tile), jpeg_quality=q
        ):
            y0, x0, h, w = t.out_window
            out[:, y0 : y0 + h, x0 : x0 + w] = rgb
        return out

    whole = render(30, 512)
    assert torch.allclose(render(30, 16), whole, atol=1e-5)  # several tiles, same result
    assert (render(None, 512) - whole).abs().mean() > 1e-3  # the quality reaches the encoder
    feat = encode_features(cond_model, color, options=RenderOptions(tile_lr=16), jpeg_quality=30)
    with torch.no_grad():
        ref = cond_model.net.gen_feat(((color - 0.5) / 0.5)[None], 0.7)
    assert torch.allclose(feat, ref, atol=1e-5)


def test_auto_reads_the_quality_from_the_jpeg_tables(cond_model, photo, tmp_path):
    j = _jpeg(photo, 35)
    assert resolve_input_quality("auto", j) == 35
    assert resolve_input_quality("auto", photo) is None  # not a JPEG: clean
    assert resolve_input_quality("clean", j) is None and resolve_input_quality("60") == 60
    for bad in ("0", "101", "high"):
        with pytest.raises(InvalidInputError, match="input quality"):
            resolve_input_quality(bad)
    auto = np.asarray(upscale(j, scale=2, model=cond_model), dtype=np.int16)
    told = np.asarray(upscale(j.convert("RGB"), scale=2, model=cond_model, input_quality=35), dtype=np.int16)
    clean = np.asarray(upscale(j, scale=2, model=cond_model, input_quality="clean"), dtype=np.int16)
    assert np.array_equal(auto, told) and np.abs(auto - clean).mean() > 0.5


def test_cli_reads_the_file_and_rejects_a_bad_quality(cond_model, photo, tmp_path):
    from click.testing import CliRunner

    from clearzoom.checkpoints import save_native
    from clearzoom.cli.main import main
    from clearzoom.imageio import read_image

    model_path = save_native(
        tmp_path / "cond.safetensors",
        spec=cond_model.spec,
        state_dict=cond_model.net.state_dict(),
        normalization=cond_model.normalization,
        description="tiny jpeg-aware",
    )
    src = tmp_path / "in.jpg"
    photo.save(src, quality=30)
    photo.save(tmp_path / "in.png")
    assert read_image(src)[1].jpeg_quality == 30  # what `auto` tells the model, file header once
    assert read_image(tmp_path / "in.png")[1].jpeg_quality is None
    runner = CliRunner()
    outs = {}
    for flag in ("auto", "30", "clean"):
        dst = tmp_path / f"out-{flag}.png"
        r = runner.invoke(
            main,
            [
                "upscale",
                str(src),
                "-o",
                str(dst),
                "--scale",
                "2",
                "--model",
                str(model_path),
                "--input-quality",
                flag,
                "-q",
            ],
        )
        assert r.exit_code == 0, r.output
        outs[flag] = np.asarray(Image.open(dst), dtype=np.int16)
    assert np.array_equal(outs["auto"], outs["30"]) and np.abs(outs["auto"] - outs["clean"]).mean() > 0.5
    r = runner.invoke(
        main, ["upscale", str(src), "-o", str(tmp_path / "x.png"), "--scale", "2", "--input-quality", "150"]
    )
    assert r.exit_code == 2 and r.output.startswith("error:") and "input quality" in r.output


def test_explain_reports_the_quality_it_told_the_model(cond_model, photo, tmp_path):
    from clearzoom.explain import explain

    src = tmp_path / "in.jpg"
    photo.save(src, quality=30)
    report = explain(src, scale=2, model=cond_model, device="cpu", precision="fp32").report
    assert report["run"]["jpeg_condition"] == "JPEG quality 30"
    photo.save(tmp_path / "in.png")
    report = explain(tmp_path / "in.png", scale=2, model=cond_model, device="cpu").report
    assert report["run"]["jpeg_condition"] == "clean"


def test_the_rendered_report_says_what_the_model_was_told(cond_model, photo, tmp_path):
    from clearzoom.explain import explain
    from clearzoom.explain.render import to_html

    src = tmp_path / "in.jpg"
    photo.save(src, quality=30)
    html = to_html(explain(src, scale=2, model=cond_model, device="cpu"))
    assert "JPEG condition told to the model: JPEG quality 30." in html
