"""Reading a lossy WebP's compression from its VP8 header, and telling the model."""

import io

import numpy as np
import pytest
import torch
from conftest import BENCH, make_tiny
from PIL import Image

from clearzoom import upscale
from clearzoom.analysis import analyze_image
from clearzoom.analysis.image import describe_task
from clearzoom.analysis.webp import told_quality, webp_info
from clearzoom.eval.bench_config import parse_degradation
from clearzoom.imageio import read_image


def _webp(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "WEBP", **kw)
    return buf.getvalue()


@pytest.mark.parametrize("name", ["baboon", "lenna", "comic", "foreman", "zebra"])
def test_the_quality_is_estimated_within_10_points(name):
    img = Image.open(BENCH / "Set14" / f"{name}.png").convert("RGB")
    for q in (10, 30, 60, 85):
        info = webp_info(_webp(img, quality=q))
        assert info is not None and abs(info.quality_estimate - q) <= 10, (q, info)
        assert 0 <= info.quantizer <= 127 and info.mean_quantizer <= info.quantizer


def test_what_is_not_a_lossy_webp_has_no_estimate():
    img = Image.open(BENCH / "Set5" / "bird.png").convert("RGB")
    lossy = _webp(img, quality=40)
    assert webp_info(_webp(img, lossless=True)) is None
    assert webp_info(b"RIFF\0\0\0\0WEBPVP8 ") is None
    for cut in (12, 20, 30, 40):  # torn headers give None or an estimate, never an exception
        webp_info(lossy[:cut])
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=40)
    assert webp_info(buf.getvalue()) is None


def test_a_webp_is_told_to_the_model_as_its_equivalent_jpeg_quality():
    img = Image.open(BENCH / "Set5" / "bird.png").convert("RGB").crop((0, 0, 64, 48))
    data = _webp(img, quality=30)
    a = analyze_image(data)
    assert a.jpeg is None and a.webp is not None and "lossy WebP photo" in describe_task(a, (128, 96))
    _, meta = read_image(data)
    assert meta.jpeg_quality is None and meta.restoration_quality == told_quality(meta.webp_quality)
    assert told_quality(30) == 75 and told_quality(80) == 90 and told_quality(1) == 46
    model = make_tiny(seed=4, condition="jpeg")
    decoded = Image.open(io.BytesIO(data)).convert("RGB")
    told = np.asarray(upscale(decoded, scale=2, model=model, input_quality=meta.restoration_quality))
    clean = np.asarray(upscale(decoded, scale=2, model=model, input_quality="clean"))
    assert not np.array_equal(told, clean)


def test_the_bench_degrades_with_webp_and_tells_what_the_reader_would():
    lr = torch.rand(3, 40, 48)
    out, told = parse_degradation("webp:30").apply(lr)
    assert out.shape == lr.shape and 40 <= told <= 90 and (out - lr).abs().mean() > 0.01
    out, told = parse_degradation("jpeg:30").apply(lr)
    assert told == 30
    assert parse_degradation("clean").apply(lr) == (lr, None)
