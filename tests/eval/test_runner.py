import json

import pytest
import torch
from conftest import BENCH, make_tiny

from clearzoom.eval.bench_config import BenchConfig, BenchError, config_from_yaml, parse_degradation
from clearzoom.eval.runner import psnr_cell, published_beside, run_quality


def test_bicubic_on_set5_and_resume(tmp_path):
    cfg = BenchConfig(
        data=(BENCH / "Set5",),
        scales=(4,),
        degradations=("clean", "jpeg:30"),
        methods=("bicubic", "lanczos"),
        out_dir=tmp_path,
    )
    calls = []
    summary = run_quality(cfg, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (20, 20)
    rec = json.loads((tmp_path / "results.json").read_text())
    assert {tuple(sorted(r)) for r in rec} == {
        tuple(
            sorted(
                [
                    "dataset",
                    "degradation",
                    "scale",
                    "method",
                    "psnr_y",
                    "ssim",
                    "psnr_b",
                    "seconds",
                    "images",
                    "psnr_y_matlab",
                    "psnr_rgb_div2k",
                ]
            )
        )
    }
    bic = next(r for r in summary if r["method"] == "bicubic" and r["degradation"] == "clean")
    assert abs(bic["psnr_y"] - 28.42) < 0.02  # the standard Set5 x4 bicubic value
    assert abs(bic["psnr_y_matlab"] - 28.42) < 0.02 and bic["psnr_rgb_div2k"] < bic["psnr_y"]
    jpg = next(r for r in summary if r["method"] == "bicubic" and r["degradation"] == "jpeg:30")
    assert jpg["psnr_y"] < bic["psnr_y"] and jpg["psnr_b"] < jpg["psnr_y"]
    assert psnr_cell(rec, "bicubic", "Set5", "jpeg:30", 4) == jpg["psnr_y"]
    assert psnr_cell(rec, "lanczos", "Set5", "clean", 4, key="ssim") != bic["ssim"]
    assert psnr_cell(rec, "bicubic", "Set5", "clean", 2) is None  # not measured
    calls.clear()
    again = run_quality(cfg, progress=lambda d, t: calls.append((d, t)))
    assert calls == [] and again == summary  # finished cells are not recomputed


def test_bad_definitions(tmp_path):
    with pytest.raises(BenchError, match="does not exist"):
        run_quality(BenchConfig(data=(tmp_path / "nope",), out_dir=tmp_path))
    with pytest.raises(BenchError, match="unknown degradation"):
        parse_degradation("jpeg:200")
    with pytest.raises(BenchError, match="unknown method"):
        run_quality(BenchConfig(data=(BENCH / "Set5",), methods=("esrgan",), out_dir=tmp_path))
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "bad.png").write_text("not an image")
    (folder / "bird.png").write_bytes((BENCH / "Set5" / "bird.png").read_bytes())
    s = run_quality(BenchConfig(data=(folder,), scales=(2,), out_dir=tmp_path / "o"))
    assert s[0]["images"] == 1  # the bad file was reported and skipped


def test_yaml_definition_and_published_numbers(tmp_path):

    (tmp_path / "b.yaml").write_text(
        f"data: [{BENCH / 'Set5'}]\nscales: [4]\ndegrade: clean\nmethods: [bicubic]\nout: res\n"
    )
    cfg = config_from_yaml(tmp_path / "b.yaml")
    assert cfg.out_dir == tmp_path / "res" and cfg.scales == (4,) and cfg.degradations == ("clean",)
    summary = run_quality(cfg)
    table = published_beside(summary)
    assert "| Set5 | clean | x4 | RDN-LIIF (published) | 32.50 |" in table
    assert "| Set5 | clean | x4 | bicubic (standard) | 28.42 |" in table
    assert "Beside the published numbers" in (tmp_path / "res" / "summary.md").read_text()
    (tmp_path / "bad.yaml").write_text("data: [x]\nscale: [2]\n")
    with pytest.raises(BenchError, match="unknown config key scale"):
        config_from_yaml(tmp_path / "bad.yaml")
    (tmp_path / "c.yaml").write_text("data: 2020, b\nscales: 2,3\nprecision: int8\nout: x\n")
    cfg = config_from_yaml(tmp_path / "c.yaml")  # comma lists; a plain string stays one value
    assert cfg.data == (tmp_path / "2020", tmp_path / "b") and cfg.scales == (2, 3)  # a folder named 2020
    assert cfg.precision == "int8" and cfg.out_dir == tmp_path / "x"
    (tmp_path / "d.yaml").write_text("data: [a]\nprecision: fp8\n")
    with pytest.raises(BenchError, match="precision: must be one of"):
        config_from_yaml(tmp_path / "d.yaml")


def test_official_checkpoint_as_a_method(tmp_path):
    from conftest import OFFICIAL

    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "bird.png").write_bytes((BENCH / "Set5" / "bird.png").read_bytes())
    ckpt = OFFICIAL / "edsr-baseline-liif-random-seed0.pth"
    s = run_quality(BenchConfig(data=(folder,), scales=(4,), methods=(str(ckpt),), out_dir=tmp_path / "o"))
    assert s[0]["method"] == str(ckpt) and s[0]["images"] == 1
    assert s[0]["psnr_y"] < 20  # random weights: far from bicubic, but measured


def test_bicubic_reproduces_the_standard_values():
    """Standard bicubic PSNR-Y (MATLAB evaluation): Set5 x2/x3/x4 33.66/30.39/28.42, Set14 x4 26.00.
    Our LR images and MATLAB-rule metric must land within 0.02 dB of them."""
    import numpy as np

    from clearzoom.data.degrade import quantize
    from clearzoom.data.resize import imresize
    from clearzoom.eval.protocol import is_gray, load_rgb, make_lr, psnr_matlab

    for name, scale, standard in [
        ("Set5", 2, 33.66),
        ("Set5", 3, 30.39),
        ("Set5", 4, 28.42),
        ("Set14", 4, 26.00),
    ]:
        vals = []
        for f in sorted((BENCH / name).glob("*.png")):
            hr, lr = make_lr(load_rgb(f), scale)
            bic = quantize(imresize(lr.double(), scale).float())
            vals.append(psnr_matlab(bic, hr, scale, is_gray(f)))
        assert abs(np.mean(vals) - standard) <= 0.02, (name, scale, np.mean(vals))


def test_model_files_in_a_yaml_are_found_beside_it_and_keep_their_names(tmp_path, tiny_skip_model):
    from clearzoom.checkpoints import save_native

    (tmp_path / "models").mkdir()
    save_native(
        tmp_path / "models" / "t.safetensors",
        spec=tiny_skip_model.spec,
        state_dict=tiny_skip_model.net.state_dict(),
        normalization=tiny_skip_model.normalization,
    )
    (tmp_path / "defs").mkdir()
    (tmp_path / "defs" / "b.yaml").write_text(
        f"data: [{BENCH / 'Set5'}]\nscales: [2]\nmethods: [../models/t.safetensors]\nout: res\n"
    )
    summary = run_quality(config_from_yaml(tmp_path / "defs" / "b.yaml"))  # cwd is elsewhere
    assert [r["method"] for r in summary] == ["../models/t.safetensors"]


def test_self_ensemble_is_a_method_of_its_own(tmp_path, tiny_skip_model):
    from clearzoom.checkpoints import save_native

    save_native(
        tmp_path / "t.safetensors",
        spec=tiny_skip_model.spec,
        state_dict=tiny_skip_model.net.state_dict(),
        normalization=tiny_skip_model.normalization,
    )
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "bird.png").write_bytes((BENCH / "Set5" / "bird.png").read_bytes())
    model = str(tmp_path / "t.safetensors")
    s = run_quality(
        BenchConfig(data=(folder,), scales=(3,), methods=(model, model + "+tta"), out_dir=tmp_path / "o")
    )
    psnr = {r["method"]: r["psnr_y"] for r in s}
    assert set(psnr) == {model, model + "+tta"}
    assert psnr[model + "+tta"] != psnr[model]
    with pytest.raises(BenchError, match="for models"):
        run_quality(BenchConfig(data=(folder,), methods=("bicubic+tta",), out_dir=tmp_path / "b"))


def test_new_weights_under_the_same_name_are_measured_again(tmp_path, tiny_skip_model):
    """A rerun after new weights are exported to the same file must not report the old ones."""
    from clearzoom.checkpoints import save_native

    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "bird.png").write_bytes((BENCH / "Set5" / "bird.png").read_bytes())
    model = tmp_path / "m.safetensors"

    def export(m):
        save_native(model, spec=m.spec, state_dict=m.net.state_dict(), normalization=m.normalization)

    export(tiny_skip_model)
    cfg = BenchConfig(data=(folder,), scales=(3,), methods=("bicubic", str(model)), out_dir=tmp_path / "o")
    first = {r["method"]: r["psnr_y"] for r in run_quality(cfg)}
    calls = []
    assert run_quality(cfg, progress=lambda d, t: calls.append(d)) and calls == []  # same weights: kept
    export(make_tiny(seed=2, skip="bilinear"))
    calls.clear()
    second = {r["method"]: r["psnr_y"] for r in run_quality(cfg, progress=lambda d, t: calls.append(d))}
    assert calls == [2]  # only the model's cell was measured again, not bicubic's
    assert second["bicubic"] == first["bicubic"] and second[str(model)] != first[str(model)]
    # a method the config no longer names leaves the summary, not the CSV
    only = run_quality(BenchConfig(data=(folder,), scales=(3,), methods=("bicubic",), out_dir=tmp_path / "o"))
    assert [r["method"] for r in only] == ["bicubic"]
    assert str(model) in (tmp_path / "o" / "per_image.csv").read_text()


def test_detailed_region_finds_the_texture():
    from clearzoom.eval.figures import detailed_region
    from clearzoom.eval.protocol import load_rgb

    canvas = torch.full((3, 256, 320), 0.5)
    canvas[:, 160:224, 32:96] = load_rgb(BENCH / "Set5" / "butterfly.png")[:, 100:164, 100:164]
    y, x = detailed_region(canvas, 64)
    assert abs(y - 160) <= 16 and abs(x - 32) <= 16  # the window sits on the pasted detail
    assert detailed_region(canvas, 1000) == (0, 0)  # window larger than the image: clipped
