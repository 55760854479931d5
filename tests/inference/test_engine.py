import numpy as np
import pytest
import torch
from conftest import OFFICIAL

from clearzoom.inference.engine import RenderOptions, render_color
from clearzoom.inference.tiling import plan_tiles


def _render(model, color, out_hw, window=None, **opts):
    y0, x0, h, w = window or (0, 0, *out_hw)
    out = torch.full((3, h, w), float("nan"))
    tiles = 0
    for tile, rgb in render_color(model, color, out_hw, window, options=RenderOptions(**opts)):
        ty, tx, th, tw = tile.out_window
        out[:, ty - y0 : ty - y0 + th, tx - x0 : tx - x0 + tw] = rgb
        tiles += 1
    assert not out.isnan().any()
    return out, tiles


def test_engine_reproduces_official_demo(official_model, official_input):
    out, _ = _render(official_model, official_input, (97, 131))
    assert np.abs(out.numpy() - np.load(OFFICIAL / "expected_97x131.npy")).max() < 1e-4


@pytest.mark.parametrize("model_name", ["official_model", "tiny_skip_model"])
@pytest.mark.parametrize("out_hw", [(97, 131), (40, 48), (123, 77)])
def test_tiled_equals_untiled(request, model_name, out_hw, official_input):
    model = request.getfixturevalue(model_name)
    whole, n_whole = _render(model, official_input, out_hw, tile_lr=1000)
    tiled, n_tiled = _render(model, official_input, out_hw, tile_lr=7, chunk_queries=333)
    assert n_whole == 1 and n_tiled > 4
    assert (whole - tiled).abs().max() <= 1e-5


def test_region_equals_crop_of_full_render(official_model, official_input):
    full, _ = _render(official_model, official_input, (200, 240))
    region, _ = _render(official_model, official_input, (200, 240), (37, 101, 50, 61), tile_lr=9)
    assert (full[:, 37:87, 101:162] - region).abs().max() <= 1e-5


def test_region_only_encodes_what_it_needs():
    plan = plan_tiles((1000, 1000), (32000, 32000), (16000, 16000, 256, 256), tile_lr=192, halo=35)
    assert len(plan.tiles) == 1
    t = plan.tiles[0]
    assert t.y.crop_stop - t.y.crop_start <= 8 + 2 * 2 + 2 * 35 + 1


def test_plan_covers_every_output_pixel_once():
    for lr, out, tile in [((40, 48), (97, 131), 5), ((7, 300), (3, 1201), 16), ((50, 50), (50, 50), 1)]:
        plan = plan_tiles(lr, out, tile_lr=tile, halo=3)
        cover = np.zeros(out, int)
        for t in plan.tiles:
            y0, x0, h, w = t.out_window
            cover[y0 : y0 + h, x0 : x0 + w] += 1
            assert t.y.core_stop - t.y.core_start <= tile + 5
        assert (cover == 1).all()


def test_int8_decoder_stays_close_to_fp32(photo):
    """The default CPU precision (int8 hidden layers) on the shipped model and a real photo."""
    from clearzoom.checkpoints import load_model
    from clearzoom.inference.planes import to_planes

    model = load_model()
    color = to_planes(photo).color
    exact, _ = _render(model, color, (120, 160), precision="fp32")
    fast, _ = _render(model, color, (120, 160), precision="int8")
    diff = (exact - fast).abs()
    assert diff.mean() < 1 / 255 and diff.max() < 8 / 255
    assert not torch.equal(exact, fast)  # it really took the int8 path


@pytest.mark.parametrize("model_name", ["official_model", "tiny_skip_model"])
def test_bf16_autocast_stays_close_to_fp32(request, model_name, official_input):
    """bf16 (what ``auto`` picks on CPUs with native bf16) renders, and stays near fp32."""
    model = request.getfixturevalue(model_name)
    exact, _ = _render(model, official_input, (61, 83), precision="fp32")
    half, _ = _render(model, official_input, (61, 83), precision="bf16")
    diff = (exact - half).abs()
    assert diff.mean() < 2 / 255 and diff.max() < 16 / 255
    assert not torch.equal(exact, half)


def test_precision_and_device_resolution():
    from clearzoom.precision import resolve_device, resolve_precision

    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu) == "fp32"
    assert resolve_precision("auto", cpu) in ("bf16", "int8", "fp32")
    assert resolve_precision("auto", torch.device("cuda")) == "fp16"
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision("fp8", cpu)
    assert resolve_device("cpu") == cpu
    if not torch.cuda.is_available():
        assert resolve_device("auto") == cpu
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def test_axis_bands_are_exact_for_random_sizes():
    import random

    from clearzoom.inference.tiling import _plan_axis

    rng = random.Random(0)
    for _ in range(3000):
        n_lr, n_out, tile = rng.randint(1, 60), rng.randint(1, 400), rng.randint(1, 20)
        start = rng.randint(0, n_out - 1)
        count = rng.randint(1, n_out - start)
        spans = _plan_axis(n_lr, n_out, start, count, tile, 3)
        assert spans[0].out_start == start and sum(s.out_count for s in spans) == count
        bands = []
        for s in spans:
            pix = [((2 * i + 1) * n_lr) // (2 * n_out) for i in range(s.out_start, s.out_start + s.out_count)]
            assert len({p // tile for p in pix}) == 1  # one band per span
            bands.append(pix[0] // tile)
        assert bands == sorted(set(bands))  # maximal spans, in order


def test_features_once_then_any_window_equals_the_full_render(tiny_skip_model):
    """Deep zoom: latent codes computed once (tile by tile) render any window of any size."""
    from clearzoom.eval.protocol import render_full
    from clearzoom.inference.engine import RenderOptions, encode_features, render_from_features

    g = torch.Generator().manual_seed(5)
    color = torch.rand(3, 37, 53, generator=g)
    opts = RenderOptions(tile_lr=16)  # several encoder tiles
    feat = encode_features(tiny_skip_model, color, options=opts)
    net, norm = tiny_skip_model.net, tiny_skip_model.normalization
    with torch.no_grad():
        whole = net.gen_feat(((color - norm.inp_sub) / norm.inp_div)[None])
    assert feat.shape == whole.shape
    assert torch.allclose(feat, whole, atol=1e-5)
    for out_hw, window in [
        ((74, 106), (10, 20, 30, 40)),
        ((370, 530), (200, 256, 100, 128)),
        ((1184, 1696), (1000, 1500, 184, 196)),
        ((37, 53), None),
    ]:
        full = render_full(tiny_skip_model, color, out_hw, opts)
        part = render_from_features(tiny_skip_model, feat, color, out_hw, window, options=opts)
        y0, x0, wh, ww = window or (0, 0, *out_hw)
        assert part.shape == (3, wh, ww)
        assert torch.allclose(part, full[:, y0 : y0 + wh, x0 : x0 + ww], atol=1e-5), out_hw


def test_dihedral_windows_follow_the_pixels():
    from clearzoom.inference.dihedral import DIHEDRAL

    img = torch.arange(7 * 11).view(1, 7, 11)
    win = (2, 3, 4, 5)
    assert len(set(DIHEDRAL)) == 8 and DIHEDRAL[0].apply(img).equal(img)
    for t in DIHEDRAL:
        ty, tx, th, tw = t.window(win, (7, 11))
        timg = t.apply(img)
        assert timg.shape[-2:] == t.size((7, 11)) and t.undo(timg).equal(img)
        # the window's pixels, transformed, are the transformed image's window
        assert timg[:, ty : ty + th, tx : tx + tw].equal(t.apply(img[:, 2:6, 3:8]))
        assert t.source_window((ty, tx, th, tw), (7, 11)) == win


@pytest.mark.parametrize("out_hw", [(97, 131), (123, 77)])
def test_tta_is_the_mean_of_the_transformed_renders(tiny_skip_model, official_input, out_hw):
    from clearzoom.inference.dihedral import DIHEDRAL

    expected = (
        sum(t.undo(_render(tiny_skip_model, t.apply(official_input), t.size(out_hw))[0]) for t in DIHEDRAL)
        / 8
    )
    tta, tiles = _render(tiny_skip_model, official_input, out_hw, tta=True, tile_lr=9)
    plain, _ = _render(tiny_skip_model, official_input, out_hw)
    assert tiles > 4 and (tta - expected).abs().max() <= 1e-5  # tiled, each tile 8 times
    assert (tta - plain).abs().mean() > 1e-3  # a random model is far from flip-equivariant
    region, _ = _render(tiny_skip_model, official_input, out_hw, (5, 17, 40, 33), tta=True)
    assert (tta[:, 5:45, 17:50] - region).abs().max() <= 1e-5
