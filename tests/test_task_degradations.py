"""Degradations by task (the Instruct-IPT issue): present exactly for the tasks asked, in camera
order, replayable; motion blur blurs along its direction only."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import BENCH
from PIL import Image

from clearzoom.data.degrade import Blur, Jpeg, MotionBlur, Noise, PoissonNoise, apply
from clearzoom.data.tasks import TaskMix


def _photo() -> torch.Tensor:
    img = Image.open(BENCH / "Set5" / "butterfly.png").convert("RGB").crop((40, 40, 104, 104))
    return torch.from_numpy(np.asarray(img, dtype=np.float32).copy()).permute(2, 0, 1) / 255


@pytest.mark.parametrize("tasks", [(), ("jpeg",), ("noise",), ("blur",), ("blur", "noise", "jpeg")])
def test_each_task_adds_its_own_degradation_in_camera_order(tasks):
    mix = TaskMix()
    for seed in range(20):
        params = mix.sample(torch.Generator().manual_seed(seed), tasks)
        kinds = [
            (
                "blur"
                if isinstance(p, Blur | MotionBlur)
                else "noise"
                if isinstance(p, Noise | PoissonNoise)
                else "jpeg"
            )
            for p in params
        ]
        assert kinds == [t for t in ("blur", "noise", "jpeg") if t in tasks]
        assert params == mix.sample(torch.Generator().manual_seed(seed), tasks)  # replays
    with pytest.raises(ValueError, match="unknown task"):
        mix.sample(torch.Generator(), ["rain"])


def test_draws_cover_clean_single_and_mixed_images():
    mix = TaskMix()
    g = torch.Generator().manual_seed(0)
    counts = [len(mix.draw_tasks(g)) for _ in range(400)]
    assert {0, 1, 2, 3} <= set(counts) and 0.30 < sum(
        c == 1 for c in counts
    ) / 400 < 0.45  # 3 x 0.5^3 = 0.375


def test_motion_blur_smears_along_its_direction_only():
    x = torch.zeros(3, 33, 33)
    x[:, 16, 16] = 1.0
    k = MotionBlur(7, 0).kernel()
    assert torch.isclose(k.sum(), torch.tensor(1.0)) and k[k.shape[0] // 2].sum() > 0.99  # one row
    v = MotionBlur(7, 90).kernel()
    assert v[:, v.shape[1] // 2].sum() > 0.99  # one column
    photo = _photo()
    for p in (MotionBlur(7, 30), Blur(1.6), Noise(0.05, 1), Jpeg(30)):
        y = apply(photo, [p])
        assert y.shape == photo.shape and y.min() >= 0 and y.max() <= 1
        assert (y - photo).abs().mean() > 0.005  # each really degrades a real photo
