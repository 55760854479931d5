import math

import torch

from clearzoom.data.resize import imresize
from clearzoom.eval.metrics import psnr
from conftest import SHARED


def test_psnr_closed_form():
    hr = torch.rand(3, 20, 20, dtype=torch.float64)
    d = 0.01
    assert abs(psnr(hr + d, hr, y_channel=False) - (-10 * math.log10(d * d))) < 1e-9
    # LIIF's Y rule: the difference weighted by 65.738, 129.057, 25.064 over 256
    k = (65.738 + 129.057 + 25.064) / 256
    assert abs(psnr(hr + d, hr) - (-10 * math.log10((k * d) ** 2))) < 1e-9
    noisy = hr.clone()
    noisy[:, :2] += 0.5  # only in the border: shaved away
    assert psnr(noisy, hr, shave=2) == float("inf")


def test_imresize_matches_matlab_fixture():
    import numpy as np
    from PIL import Image

    fx = SHARED / "fixtures" / "matlab-imresize"
    img = torch.from_numpy(np.asarray(Image.open(fx / "input.png").convert("RGB")).copy())
    img = img.permute(2, 0, 1).double() / 255
    for name, scale in [("0.25", 0.25), ("0.333333", 1 / 3), ("0.4", 0.4), ("0.5", 0.5),
                        ("2", 2), ("3.5", 3.5)]:
        expected = np.load(fx / f"scale_{name}.npy")
        out = imresize(img.float().double(), scale).permute(1, 2, 0).numpy()
        assert out.shape == expected.shape, name
        assert np.abs(out - expected).max() < 1e-5, name
