"""Image files: metadata (orientation, ICC, EXIF, dpi), CMYK, animation, 16-bit PNG and TIFF,
the one reader (path or bytes) and the one 8-bit conversion."""

import io

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

import clearzoom
from clearzoom.errors import InvalidInputError
from clearzoom.imageio import ImageMeta, encode_image, read_image, write_image


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


def test_reading_bytes_equals_reading_the_file(tmp_path, photo):
    src = tmp_path / "p.jpg"
    photo.save(src, quality=40, dpi=(72, 72))
    from_path, meta_path = read_image(src)
    from_bytes, meta_bytes = read_image(src.read_bytes())
    assert np.array_equal(np.asarray(from_path), np.asarray(from_bytes))
    assert meta_path == meta_bytes and meta_path.jpeg_quality == 40 and meta_path.format == "JPEG"


def test_a_pixel_limit_refuses_before_decoding(tmp_path):
    from clearzoom.imageio import read_image as read

    big = tmp_path / "big.png"
    Image.new("L", (4000, 3000)).save(big)
    with pytest.raises(InvalidInputError, match="4000x3000 .*the limit is 10.0 MP"):
        read(big, max_pixels=10_000_000)
    assert read(big, max_pixels=12_000_000)[0].size == (4000, 3000)


def test_to_uint8_rounds_floats_and_16_bit_alike():
    import torch

    from clearzoom.imageio import to_uint8

    floats = np.array([-0.5, 0.0, 0.5 / 255, 1.5 / 255, 0.5, 1.0, 2.0], np.float32)
    expect = np.array([0, 0, 0, 2, 128, 255, 255], np.uint8)  # clipped; halves to even
    assert np.array_equal(to_uint8(floats), expect)
    assert np.array_equal(to_uint8(torch.from_numpy(floats)), expect)
    assert np.array_equal(to_uint8(np.array([0, 257, 65535, 32896], np.uint16)), [0, 1, 255, 128])
    with pytest.raises(TypeError):
        to_uint8(np.array([1], np.int32))


def test_a_batch_plan_keeps_folders_and_refuses_collisions(tmp_path, photo):
    from clearzoom.imageio import plan_outputs

    (tmp_path / "album" / "day1").mkdir(parents=True)
    photo.save(tmp_path / "album" / "day1" / "a.jpg")
    photo.save(tmp_path / "album" / "b.PNG")
    (tmp_path / "album" / ".hidden.jpg").write_bytes(b"x")
    out = tmp_path / "out"
    plan = plan_outputs([tmp_path / "album"], out, "same", "_x2")
    assert [(s.name, d.relative_to(out).as_posix()) for s, d in plan] == [
        ("b.PNG", "b_x2.png"),
        ("a.jpg", "day1/a_x2.jpg"),
    ]
    with pytest.raises(InvalidInputError, match="would both be written"):
        plan_outputs([tmp_path / "album" / "b.PNG", tmp_path / "b.PNG"], out)


def test_folder_search_survives_symlink_loops(tmp_path):
    from clearzoom.imageio import find_images

    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    (tmp_path / "loop1.png").symlink_to(tmp_path / "loop2.png")
    (tmp_path / "loop2.png").symlink_to(tmp_path / "loop1.png")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "up").symlink_to(tmp_path)  # a folder that contains itself
    assert find_images(tmp_path) == [tmp_path / "a.png"]
