"""Input analysis: JPEG quality from the quantization tables, subsampling, blockiness, noise."""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import BENCH
from PIL import Image

from clearzoom.analysis import analyze_image, blockiness, describe_task, estimate_quality, noise_sigma
from clearzoom.analysis.jpeg import STD_LUMA, ijg_table
from clearzoom.errors import InvalidInputError


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return Image.open(BENCH / "Set14" / sorted(p.name for p in (BENCH / "Set14").iterdir())[0]).convert("RGB")


def _jpeg(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", **kw)
    return buf.getvalue()


@pytest.mark.parametrize("subsampling", ["4:2:0", "4:4:4"])
@pytest.mark.parametrize("quality", [10, 25, 50, 75, 90, 95])
def test_pillow_jpeg_quality_is_recovered(photo, quality, subsampling):
    a = analyze_image(_jpeg(photo, quality=quality, subsampling=subsampling))
    assert a.format == "JPEG" and a.jpeg is not None
    assert abs(a.jpeg.quality - quality) <= 2
    assert a.jpeg.tables_match == "exact"
    assert a.jpeg.subsampling == subsampling
    assert not a.jpeg.progressive


def test_progressive_and_grey_jpegs(photo):
    a = analyze_image(_jpeg(photo, quality=60, progressive=True))
    assert a.jpeg.progressive and abs(a.jpeg.quality - 60) <= 2
    g = analyze_image(_jpeg(photo.convert("L"), quality=40))
    assert g.jpeg.subsampling == "grey" and abs(g.jpeg.quality - 40) <= 2


def test_custom_tables_are_flagged(photo):
    """A camera-style table (not an IJG scaling) is reported as custom, with its nearest quality."""
    table = [max(1, min(255, int(v * 0.6 + 3 * (i % 5)))) for i, v in enumerate(STD_LUMA)]
    a = analyze_image(_jpeg(photo, qtables=[table, table]))
    assert a.jpeg.tables_match == "custom" and 1 <= a.jpeg.quality <= 100


def test_estimate_quality_inverts_the_ijg_scaling():
    for q in (3, 17, 49, 50, 51, 83, 99):
        got, err = estimate_quality([ijg_table(STD_LUMA, q)])
        assert err == 0 and abs(got - q) <= 2  # (some neighbouring qualities share a table)


def test_png_has_no_jpeg_quality(photo, tmp_path):
    photo.save(tmp_path / "p.png")
    a = analyze_image(tmp_path / "p.png")
    assert a.format == "PNG" and a.jpeg is None and a.bit_depth == 8
    assert "JPEG" not in describe_task(a, (a.width * 2, a.height * 2))


def test_sixteen_bit_alpha_icc_and_orientation(tmp_path, photo):
    arr = (np.random.default_rng(0).random((40, 50)) * 65535).astype(np.uint16)
    Image.fromarray(arr).save(tmp_path / "d.png")
    assert analyze_image(tmp_path / "d.png").bit_depth == 16
    import tifffile

    tifffile.imwrite(tmp_path / "d.tif", np.dstack([arr] * 3), photometric="rgb")
    assert analyze_image(tmp_path / "d.tif").bit_depth == 16  # Pillow's mode there says RGB
    exif = Image.Exif()
    exif[0x0112] = 6
    photo.save(tmp_path / "p.tif", exif=exif)
    a = analyze_image(tmp_path / "p.tif")
    assert a.bit_depth == 8 and a.exif_orientation == 6 and (a.width, a.height) == photo.size[::-1]
    rgba = photo.convert("RGBA")
    rgba.save(tmp_path / "a.png")
    assert analyze_image(tmp_path / "a.png").has_alpha
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: displayed width is the stored height
    small = photo.crop((0, 0, 64, 32))
    small.save(tmp_path / "r.jpg", exif=exif, icc_profile=b"\0" * 128)
    a = analyze_image(tmp_path / "r.jpg")
    assert a.exif_orientation == 6 and (a.width, a.height) == (32, 64) and a.has_icc


def test_blockiness_rises_as_jpeg_quality_falls(photo):
    gray = lambda b: np.asarray(Image.open(io.BytesIO(b)).convert("L"), dtype=np.float64)  # noqa: E731
    clean = blockiness(np.asarray(photo.convert("L"), dtype=np.float64))
    q10 = blockiness(gray(_jpeg(photo, quality=10)))
    q50 = blockiness(gray(_jpeg(photo, quality=50)))
    assert q10 > q50 > 0.9 and q10 > 1.5 and clean < 1.3


def test_noise_estimate_tracks_added_noise():
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:128, 0:128]
    smooth = 100 + 50 * np.sin(x / 20.0) * np.cos(y / 30.0)
    assert noise_sigma(smooth) < 0.5
    for sigma in (3.0, 10.0):
        est = noise_sigma(smooth + rng.normal(0, sigma, smooth.shape))
        assert est == pytest.approx(sigma, rel=0.15)


def test_task_sentence(tmp_path, photo):
    a = analyze_image(_jpeg(photo.resize((200, 150)), quality=35))
    assert describe_task(a, (800, 600)) == (
        "JPEG-compressed photo (quality ≈ 35, 4:2:0) — enlarge ×4 to 800×600 and remove compression artifacts"
    )


def test_not_an_image_is_a_clear_error(tmp_path):
    (tmp_path / "x.jpg").write_text("hello")
    with pytest.raises(InvalidInputError, match="not a readable image"):
        analyze_image(tmp_path / "x.jpg")
