"""The Python API on real images: types, modes, bit depths, alpha, metadata, targets."""

import io

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

import clearzoom
from clearzoom.errors import InvalidInputError, InvalidTargetError
from clearzoom.imageio import ImageMeta, encode_image, read_image, write_image
from clearzoom.inference.target import resolve_target


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "CMYK", "I;16", "1"])
def test_pil_modes_come_back_in_kind(photo, tiny_model, mode):
    if mode == "I;16":
        src = Image.fromarray(np.asarray(photo.convert("L")).astype(np.uint16) * 257)
        assert src.mode == "I;16"
    else:
        src = photo.convert(mode)
    out = clearzoom.upscale(src, scale=1.5, model=tiny_model)
    expected_mode = {"P": "RGB", "1": "L"}.get(mode, mode)
    assert out.mode == expected_mode
    assert out.size == (96, 72)


def test_output_is_a_good_upscale_of_real_content(photo):
    """The default model on a real photo: close to bicubic-from-the-same-LR, not garbage."""
    hr = np.asarray(photo, np.float64)
    lr = photo.resize((32, 24), Image.BICUBIC)
    out = np.asarray(clearzoom.upscale(lr, scale=2), np.float64)
    psnr = 10 * np.log10(255**2 / ((out - hr) ** 2).mean())
    assert psnr > 20


def test_numpy_types_and_layouts(photo, tiny_model):
    rgb8 = np.asarray(photo)
    for arr in (
        rgb8,
        rgb8[:, :, 0],
        rgb8[:, :, :1],
        (rgb8.astype(np.uint16) * 257),
        rgb8.astype(np.float32) / 255,
        np.dstack([rgb8, rgb8[:, :, :1]]),
    ):
        out = clearzoom.upscale(arr, size=(100, 70), model=tiny_model)
        assert out.dtype == (np.float32 if arr.dtype.kind == "f" else arr.dtype)
        assert out.shape == (70, 100) + arr.shape[2:]


def test_sixteen_bit_precision_is_kept(tiny_model):
    ramp = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (16, 1))
    arr = np.dstack([ramp, ramp[::-1], ramp])
    out = clearzoom.upscale(arr, scale=2, model=tiny_model)
    assert out.dtype == np.uint16
    assert len(np.unique(out[..., 0])) > 256  # more levels than 8 bit could hold


def test_alpha_is_interpolated_not_modelled(tiny_model):
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[5:15, 5:15] = (200, 30, 30, 255)  # an opaque square on black transparent pixels
    out = np.asarray(clearzoom.upscale(Image.fromarray(rgba), scale=3, model=tiny_model))
    a = out[..., 3]
    assert a[:9].max() == 0 and a[22:38, 22:38].min() == 255  # clean inside/outside
    assert set(np.unique(a)) >= {0, 255} and a.max() <= 255


def test_exif_orientation_icc_and_exif_are_kept(tmp_path, photo, tiny_model):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    exif[0x010F] = "clearzoom-test-camera"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = tmp_path / "in.jpg"
    photo.save(src, quality=90, exif=exif.tobytes(), icc_profile=icc)
    img, meta = read_image(src)
    assert img.size == (photo.height, photo.width)  # orientation applied
    with Image.open(src) as opened:  # a PIL image straight from Image.open, too
        assert clearzoom.upscale(opened, scale=1, model=tiny_model).size == img.size
    for ext in ("png", "jpg", "webp", "tif"):
        dst = clearzoom.upscale_file(src, tmp_path / f"out.{ext}", scale=2, model=tiny_model)
        with Image.open(dst) as out:
            assert out.size == (2 * photo.height, 2 * photo.width)
            assert out.info.get("icc_profile") == icc, ext
            e = out.getexif()
            assert e.get(0x010F) == "clearzoom-test-camera", ext
            assert e.get(0x0112, 1) == 1, ext


def test_resolution_is_kept_and_follows_the_orientation(tmp_path, photo, tiny_model):
    """dpi as image editors keep it when they resample; x and y swap with a 90-degree rotation."""
    exif = Image.Exif()
    exif[0x0112] = 6
    src = tmp_path / "in.jpg"
    photo.save(src, quality=90, dpi=(100, 300), exif=exif.tobytes())
    assert read_image(src)[1].dpi == (300.0, 100.0)
    for ext in ("png", "jpg", "tif", "bmp"):
        dst = clearzoom.upscale_file(src, tmp_path / f"out.{ext}", scale=2, model=tiny_model)
        with Image.open(dst) as out:
            assert out.info["dpi"] == pytest.approx((300, 100), abs=0.01), ext
    with Image.open(src) as opened:  # the API: PIL in, PIL out, its info keeping the dpi
        assert clearzoom.upscale(opened, scale=2, model=tiny_model).info["dpi"] == (300.0, 100.0)
    # 16-bit colour PNGs are written by clearzoom's own chunk code (pHYs)
    data = encode_image(np.full((3, 4, 3), 4000, np.uint16), "PNG", meta=ImageMeta(dpi=(600, 150)))
    with Image.open(io.BytesIO(data)) as im16:
        assert im16.info["dpi"] == pytest.approx((600, 150), abs=0.05)  # whole pixels per metre


def test_cmyk_jpeg_can_be_written_to_formats_without_cmyk(tmp_path, photo, tiny_model):
    """PNG, WebP and BMP hold no CMYK: the output is RGB there, CMYK in JPEG and TIFF."""
    src = tmp_path / "cmyk.jpg"
    photo.convert("CMYK").save(src, quality=95)
    with Image.open(src) as opened:  # the same pixels as RGB, through the same model
        expected = np.asarray(clearzoom.upscale(opened.convert("RGB"), scale=2, model=tiny_model), np.float64)
    for ext, mode, tol in (
        ("png", "RGB", 0),
        ("bmp", "RGB", 0),
        ("tif", "CMYK", 0),
        ("webp", "RGB", 12),
        ("jpg", "CMYK", 12),
    ):
        dst = clearzoom.upscale_file(src, tmp_path / f"out.{ext}", scale=2, model=tiny_model)
        with Image.open(dst) as out:
            assert out.mode == mode, ext
            assert out.size == (2 * photo.width, 2 * photo.height), ext
            assert "icc_profile" not in out.info, ext
            err = np.abs(np.asarray(out.convert("RGB"), np.float64) - expected)
            assert err.mean() <= tol, ext  # lossless formats: exactly the RGB render


def test_a_cmyk_icc_profile_that_does_not_fit_is_dropped_not_written(tmp_path, photo):
    """An sRGB profile attached to CMYK pixels cannot describe the RGB output: it is not copied."""
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    dst = write_image(photo.convert("CMYK"), tmp_path / "out.png", meta=ImageMeta(icc_profile=icc))
    with Image.open(dst) as out:
        assert out.mode == "RGB" and "icc_profile" not in out.info


def test_animated_input_gives_its_first_frame_with_a_warning(tmp_path, photo, caplog):
    src = tmp_path / "anim.gif"
    first, second = photo.convert("P"), photo.rotate(90).convert("P")
    first.save(src, save_all=True, append_images=[second])
    with caplog.at_level("WARNING", logger="clearzoom"):
        img, _ = read_image(src)
    assert "2 frames; only the first is upscaled" in caplog.text
    assert np.array_equal(np.asarray(img.convert("RGB")), np.asarray(first.convert("RGB")))


def test_sixteen_bit_png_file_round_trip(tmp_path, tiny_model):
    import png

    rng = np.random.default_rng(0)
    arr = (rng.random((12, 10, 4)) * 65535).astype(np.uint16)
    src = tmp_path / "in16.png"
    with open(src, "wb") as f:
        png.Writer(10, 12, greyscale=False, alpha=True, bitdepth=16).write(f, arr.reshape(12, 40))
    dst = clearzoom.upscale_file(src, tmp_path / "out16.png", scale=2, model=tiny_model)
    w, h, rows, info = png.Reader(filename=str(dst)).asDirect()
    assert (w, h, info["bitdepth"], info["planes"]) == (20, 24, 16, 4)


def test_sixteen_bit_tiff_files_stay_sixteen_bit_with_their_tags(tmp_path, photo, tiny_skip_model, caplog):
    """Archival scans: 48-bit TIFF in, 48-bit TIFF out, ICC, dpi and descriptive tags kept."""
    import tifffile

    rgb16 = np.asarray(photo).astype(np.uint16) * 256 + np.arange(photo.width, dtype=np.uint16)[:, None]
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = tmp_path / "scan.tif"
    tifffile.imwrite(
        src,
        rgb16,
        photometric="rgb",
        iccprofile=icc,
        resolution=(600, 600),
        resolutionunit="INCH",
        extratags=[(315, "s", 0, "A. Archivist", True), (33432, "s", 0, "(c) the museum", True)],
    )
    img, meta = read_image(src)
    assert img.dtype == np.uint16 and np.array_equal(img, rgb16)
    dst = clearzoom.upscale_file(src, tmp_path / "out.tif", scale=2, model=tiny_skip_model)
    with tifffile.TiffFile(dst) as tif:
        out = tif.pages[0].asarray()
        assert tif.pages[0].tags["InterColorProfile"].value == icc
    assert out.dtype == np.uint16 and out.shape == (2 * photo.height, 2 * photo.width, 3)
    assert len(np.unique(out[..., 0])) > 256
    with Image.open(dst) as im:
        assert im.info["dpi"] == (600, 600)
        assert im.getexif().get(315) == "A. Archivist" and im.getexif().get(33432) == "(c) the museum"

    # planar RGBA: the alpha is interpolated, not dropped
    rgba = np.dstack([rgb16, np.full(rgb16.shape[:2], 40000, np.uint16)])
    src = tmp_path / "planar.tif"
    tifffile.imwrite(
        src, np.moveaxis(rgba, -1, 0), photometric="rgb", planarconfig="separate", extrasamples=["unassalpha"]
    )
    assert np.array_equal(read_image(src)[0], rgba)
    out = tifffile.imread(
        clearzoom.upscale_file(src, tmp_path / "planar-out.tif", scale=2, model=tiny_skip_model)
    )
    assert out.shape[2] == 4 and (out[..., 3] == 40000).all()

    # rotated by its Orientation tag (Pillow applies it while loading and drops the tag)
    src = tmp_path / "rotated.tif"
    tifffile.imwrite(
        src,
        rgb16,
        photometric="rgb",
        extratags=[(274, "H", 1, 6, True)],
        resolution=(100, 200),
        resolutionunit="INCH",
    )
    img, meta = read_image(src)
    with Image.open(src) as im:
        assert np.array_equal(img >> 8, np.asarray(ImageOps.exif_transpose(im)))  # 8-bit view
    assert img.shape == (photo.width, photo.height, 3) and meta.dpi == (200.0, 100.0)

    # an 8-bit format was asked for: rounded, with a warning, tags still carried as EXIF
    with caplog.at_level("WARNING", logger="clearzoom"):
        dst = clearzoom.upscale_file(
            tmp_path / "scan.tif", tmp_path / "out.jpg", scale=2, model=tiny_skip_model
        )
    assert "JPEG holds 8 bits per channel" in caplog.text
    with Image.open(dst) as im:
        assert im.mode == "RGB" and im.getexif().get(33432) == "(c) the museum"


def test_sixteen_bit_grey_asked_for_as_jpeg_is_scaled_to_8_bit_not_clipped(caplog):
    grey16 = Image.fromarray(np.full((4, 5), 40000, np.uint16))
    assert grey16.mode == "I;16"
    with caplog.at_level("WARNING", logger="clearzoom"):
        data = encode_image(grey16, "JPEG")
    assert "rounded to 8 bit" in caplog.text
    with Image.open(io.BytesIO(data)) as im:
        assert im.mode == "L" and abs(int(np.asarray(im).mean()) - 156) <= 1  # 40000 / 257


def test_rounding_rule_and_targets():
    assert resolve_target((100, 500), scale=3.7).out_hw == (370, 1850)
    assert resolve_target((333, 333), scale=1.5).out_hw == (500, 500)  # 499.5 rounds up
    assert resolve_target((480, 640), width=1000).out_hw == (750, 1000)
    assert resolve_target((480, 640), height=100).out_hw == (100, 133)
    assert resolve_target((480, 640), size=(1001, 667)).out_hw == (667, 1001)
    assert resolve_target((10, 10), scale=(2, 3)).out_hw == (30, 20)  # (sx, sy)
    t = resolve_target((100, 100), scale=32, region=(10, 20, 30, 40))
    assert t.out_hw == (3200, 3200) and t.window == (20, 10, 40, 30)
    for bad in (
        {"scale": 0},
        {"scale": -2},
        {"scale": float("nan")},
        {"scale": 65},
        {"size": (0, 5)},
        {},
        {"scale": 2, "width": 5},
        {"scale": 2, "region": (0, 0, 500, 1)},
    ):
        with pytest.raises(InvalidTargetError):
            resolve_target((100, 100), **bad)
    with pytest.raises(InvalidTargetError, match="over the limit"):
        resolve_target((5000, 5000), scale=8)


def test_fit_is_the_largest_output_of_the_same_aspect_in_the_box():
    assert resolve_target((480, 640), fit=(3840, 2160)).out_hw == (2160, 2880)  # height limits
    assert resolve_target((480, 640), fit=(1000, 2000)).out_hw == (750, 1000)  # width limits
    assert resolve_target((2000, 3000), fit=(300, 300)).out_hw == (200, 300)  # shrinking too
    rng = np.random.default_rng(0)
    for _ in range(2000):
        h, w = (int(v) for v in rng.integers(1, 3000, 2))
        bw, bh = (int(v) for v in rng.integers(1, 8000, 2))
        if max(bw / w, bh / h) > 64:
            continue
        oh, ow = resolve_target((h, w), fit=(bw, bh)).out_hw
        assert ow <= bw and oh <= bh and (ow == bw or oh == bh)  # inside, touching the box
        if min(ow, oh) > 1:  # (a side is at least 1 px, whatever the aspect)
            assert abs(ow / oh - w / h) <= (w / h) * (1 / oh + 1 / ow)  # aspect kept to a pixel
    for bad in ({"fit": (0, 5)}, {"fit": (5.5, 5)}, {"fit": (5, 5), "scale": 2}):
        with pytest.raises(InvalidTargetError):
            resolve_target((100, 100), **bad)


def test_bad_inputs_give_clear_errors(tmp_path):
    with pytest.raises(InvalidInputError, match="empty"):
        clearzoom.upscale(np.zeros((0, 0, 3), np.uint8), scale=2)
    with pytest.raises(InvalidInputError, match="dtype"):
        clearzoom.upscale(np.zeros((4, 4), np.int64), scale=2)
    with pytest.raises(InvalidInputError, match="PIL image or a numpy array"):
        clearzoom.upscale("picture.png", scale=2)
    good = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(good, "PNG")
    trunc = tmp_path / "trunc.png"
    trunc.write_bytes(good.getvalue()[:60])
    with pytest.raises(InvalidInputError, match="trunc.png"):
        read_image(trunc)
    out = tmp_path / "exists.png"
    out.write_bytes(b"keep me")
    with pytest.raises(FileExistsError):
        write_image(Image.new("RGB", (2, 2)), out)
    assert out.read_bytes() == b"keep me"


def test_self_ensemble_changes_colour_not_alpha_or_size(tiny_model):
    rgba = np.zeros((20, 24, 4), np.uint8)
    rgba[5:15, 4:17] = (200, 30, 90, 255)
    plain = np.asarray(clearzoom.upscale(Image.fromarray(rgba), scale=2.5, model=tiny_model))
    tta = np.asarray(clearzoom.upscale(Image.fromarray(rgba), scale=2.5, model=tiny_model, tta=True))
    assert tta.shape == plain.shape == (50, 60, 4)
    assert (tta[..., 3] == plain[..., 3]).all()
    assert np.abs(tta[..., :3].astype(int) - plain[..., :3]).mean() > 0.5
