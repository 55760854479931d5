"""Distillation: a teacher pack made once from the training split, batches from it, and the
distillation term in a perceptual run (a stand-in teacher: Real-ESRGAN is too slow for tests)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_train import _perceptual_cfg, photos, records, tiny_raw  # noqa: F401 (photos: a fixture)

from clearzoom.errors import ConfigError
from clearzoom.train import config_from_dict, load_state, train
from clearzoom.train.teacher import PackSampler, build_pack


def _teacher(lr: np.ndarray) -> np.ndarray:
    """A stand-in teacher: nearest-neighbour x4, inverted (so it differs from the ground truth)."""
    return 255 - lr.repeat(4, 0).repeat(4, 1)


@pytest.fixture(scope="module")
def pack(photos, tmp_path_factory):  # noqa: F811
    cfg = config_from_dict(tiny_raw(photos, data={"whole_patches": True, "patch": 16, "batch": 4}))
    return build_pack(cfg, tmp_path_factory.mktemp("pack") / "pack.npz", 6, lr_side=24, teacher=_teacher)


def test_a_pack_holds_degraded_crops_of_the_training_split_and_their_teacher_renders(pack):
    with np.load(pack) as z:
        hr, lr, te, strength = z["hr"], z["lr"], z["teacher"], z["strength"]
    assert hr.shape == te.shape == (6, 96, 96, 3) and lr.shape == (6, 24, 24, 3) and strength.shape == (6,)
    assert np.array_equal(te, np.stack([_teacher(x) for x in lr]))
    big = hr.reshape(6, 24, 4, 24, 4, 3).mean((2, 4))  # the LR is the x4-downscaled truth, degraded
    assert np.abs(big - lr).mean() < 12


def test_pack_batches_are_deterministic_and_match_truth_and_teacher(photos, pack):  # noqa: F811
    raw = tiny_raw(photos, data={"whole_patches": True, "patch": 16, "batch": 4, "scale": [2, 4]})
    data = config_from_dict(raw).data
    a, b = PackSampler(pack, data, seed=3), PackSampler(pack, data, seed=3)
    first = a.batch(5)
    assert torch.equal(first.inp, b.batch(5).inp) and torch.equal(first.teacher, b.batch(5).teacher)
    side = int(round(first.gt.shape[1] ** 0.5))
    assert first.inp.shape == (4, 3, 16, 16) and first.teacher.shape == first.gt.shape and 32 <= side <= 64
    # the stand-in teacher inverts the colours: at any scale its target is about 1 - the LR's colours
    assert abs(first.teacher.mean() - (1 - first.inp.mean())) < 0.05
    with pytest.raises(ConfigError, match="do not fit data.patch"):
        PackSampler(
            pack, config_from_dict(tiny_raw(photos, data={"whole_patches": True, "patch": 32})).data, seed=0
        )


def test_distillation_logs_its_term_and_resumes_bit_for_bit(photos, pack, tmp_path):  # noqa: F811
    base = _perceptual_cfg(photos).to_dict()
    base["data"]["teacher_pack"] = str(pack)
    base["perceptual"]["distill"] = 1.0
    cfg = config_from_dict(base)
    whole = train(cfg, tmp_path / "whole", progress=False)
    assert all(r["distill"] > 0.2 for r in records(tmp_path / "whole", "train"))  # the teacher is far off
    part = train(cfg, tmp_path / "parts", stop_at_step=3, progress=False)
    resumed = train(cfg, tmp_path / "parts", resume=part.checkpoint, progress=False)
    a, b = load_state(whole.checkpoint), load_state(resumed.checkpoint)
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name


def test_distillation_needs_a_pack_and_the_perceptual_mode(photos):  # noqa: F811
    raw = _perceptual_cfg(photos).to_dict()
    raw["perceptual"]["distill"] = 1.0
    with pytest.raises(ConfigError, match="needs perceptual.enabled and a data.teacher_pack"):
        config_from_dict(raw)
    with pytest.raises(ConfigError, match="needs data.whole_patches"):
        config_from_dict(tiny_raw(photos, data={"teacher_pack": "x.npz"}))
