"""The Python API on real images: types, modes, bit depths, alpha, metadata, targets."""

import io

import numpy as np
import pytest
from PIL import Image

import clearzoom
from clearzoom.errors import InvalidInputError, InvalidTargetError
from clearzoom.imageio import read_image, write_image
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
