"""Feature upsamplers (the FeatSharp issue): bilinear is F.interpolate, JBU keeps features on their
side of the image's edges where bilinear blurs them across, and tiling changes nothing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import BENCH
from PIL import Image

from clearzoom.features import upsample


def _photo(size=(96, 96)) -> torch.Tensor:
    img = (
        Image.open(BENCH / "Set5" / "butterfly.png").convert("RGB").crop((64, 64, 64 + size[1], 64 + size[0]))
    )
    return torch.from_numpy(np.asarray(img, dtype=np.float32).copy()).permute(2, 0, 1) / 255


def test_bilinear_is_interpolate_and_bad_input_is_refused():
    f = torch.rand(5, 6, 7, generator=torch.Generator().manual_seed(0))
    ref = F.interpolate(f[None], size=(24, 28), mode="bilinear", align_corners=False)[0]
    assert torch.equal(upsample(f, torch.rand(3, 24, 28), (24, 28), method="bilinear"), ref)
    with pytest.raises(ValueError, match="method"):
        upsample(f, torch.rand(3, 24, 28), (24, 28), method="nearest")


def test_jbu_keeps_constants_and_tiles_change_nothing():
    img = _photo()
    const = torch.full((4, 12, 12), 0.7)
    assert torch.allclose(upsample(const, img, (96, 96)), torch.full((4, 96, 96), 0.7), atol=1e-6)
    f = torch.rand(8, 12, 12, generator=torch.Generator().manual_seed(1))
    whole = upsample(f, img, (96, 96), rows_per_tile=96)
    tiled = upsample(f, img, (96, 96), rows_per_tile=7)
    assert torch.equal(whole, tiled)


def test_jbu_follows_the_image_s_edges_better_than_bilinear():
    """Features that are a known function of a real photo's colours (a 'perfect' encoder at high
    resolution), averaged down 8x: JBU guided by the photo recovers them closer than bilinear."""
    img = _photo()
    truth = torch.stack([img[0] - img[2], img.mean(0), (img[1] > 0.5).float()])  # (3, 96, 96)
    coarse = F.avg_pool2d(truth[None], 8)[0]  # (3, 12, 12)
    err_bilinear = (upsample(coarse, img, (96, 96), method="bilinear") - truth).abs().mean()
    err_jbu = (upsample(coarse, img, (96, 96), method="jbu") - truth).abs().mean()
    assert err_jbu < 0.9 * err_bilinear, (err_jbu, err_bilinear)
