import numpy as np
import pytest
import torch

from clearzoom.inference.engine import RenderOptions, render_color
from clearzoom.inference.tiling import plan_tiles
from conftest import OFFICIAL


def _render(model, color, out_hw, window=None, **opts):
    y0, x0, h, w = window or (0, 0, *out_hw)
    out = torch.full((3, h, w), float("nan"))
    tiles = 0
    for tile, rgb in render_color(model, color, out_hw, window, options=RenderOptions(**opts)):
        ty, tx, th, tw = tile.out_window
        out[:, ty - y0:ty - y0 + th, tx - x0:tx - x0 + tw] = rgb
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
            cover[y0:y0 + h, x0:x0 + w] += 1
            assert t.y.core_stop - t.y.core_start <= tile + 5
        assert (cover == 1).all()
