"""NIQE, HaarPSI and GMSD against independent references, and in the benchmark runner."""

import pytest
import torch
from conftest import BENCH

from clearzoom.coords import size_hw
from clearzoom.data.degrade import jpeg_compress
from clearzoom.eval.bench_config import BenchConfig, BenchError
from clearzoom.eval.perceptual import gmsd, haarpsi, niqe
from clearzoom.eval.protocol import bicubic_up, load_rgb, make_lr
from clearzoom.eval.runner import run_quality


@pytest.fixture(scope="module")
def baboon():
    return load_rgb(BENCH / "Set14" / "baboon.png")


def test_niqe_matches_the_official_matlab_code(baboon):
    # BasicSR documents the official MATLAB release's NIQE of this image (its tests/data/baboon.png,
    # Set14's baboon): 5.72957338 (MATLAB R2021a)
    assert niqe(baboon) == pytest.approx(5.72957338, abs=2e-3)


def test_niqe_finds_heavy_blocking_less_natural(baboon):
    # (not on baboon itself: NIQE reads its fur as noise, and JPEG's smoothing lowers the score)
    bridge = load_rgb(BENCH / "Set14" / "bridge.png")
    assert niqe(jpeg_compress(bridge, 10)) > niqe(bridge) + 2
    with pytest.raises(ValueError, match="at least 96x96"):
        niqe(baboon[:, :90, :200])


def test_haarpsi_and_gmsd_match_piq(baboon):
    # piq 0.8.0 (photosynthesis-team/piq) on the same pair, float64: haarpsi 0.4785921123907157
    # (it rounds the YIQ matrix differently from the authors' code this one follows),
    # gmsd 0.20056647895526658
    hr, lr = make_lr(baboon, 4, 30)
    sr = bicubic_up(lr, size_hw(hr)).clamp(0, 1)
    assert haarpsi(sr, hr) == pytest.approx(0.4785921123907157, abs=1e-4)
    assert gmsd(sr, hr) == pytest.approx(0.20056647895526658, abs=1e-9)


def test_identical_images_score_perfectly_and_worse_images_worse(baboon):
    crop = baboon[:, :128, :160]
    assert haarpsi(crop, crop) == pytest.approx(1.0) and gmsd(crop, crop) == 0
    mild, heavy = jpeg_compress(crop, 70), jpeg_compress(crop, 10)
    assert haarpsi(heavy, crop) < haarpsi(mild, crop) < 1
    assert gmsd(heavy, crop) > gmsd(mild, crop) > 0
    assert haarpsi(torch.flip(crop, (1,)), crop) < haarpsi(heavy, crop)


def test_the_runner_adds_the_scores_and_measures_older_cells_again(tmp_path):
    cfg = BenchConfig(data=(BENCH / "Set5",), scales=(4,), methods=("bicubic",), out_dir=tmp_path)
    plain = run_quality(cfg)
    assert "niqe" not in plain[0] and "haarpsi" not in plain[0]
    scored = run_quality(BenchConfig(**{**cfg.__dict__, "perceptual": True}))
    assert scored[0]["psnr_y"] == plain[0]["psnr_y"] and scored[0]["images"] == plain[0]["images"]
    assert 0 < scored[0]["haarpsi"] < 1 and 0 < scored[0]["gmsd"] < 1 and scored[0]["niqe"] > 3
    assert "NIQE" in (tmp_path / "summary.md").read_text()


def test_a_benchmark_that_reads_no_image_fails(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(BenchError, match="no image could be read"):
        run_quality(BenchConfig(data=(tmp_path / "data",), scales=(2,), out_dir=tmp_path / "out"))
