"""Training pipeline: configs, data sampling, the loop (learning, resume, DDP), export, errors."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner
from conftest import ROOT, SHARED
from PIL import Image

from clearzoom.checkpoints import load_model
from clearzoom.cli.main import main
from clearzoom.errors import ConfigError
from clearzoom.train import config_from_dict, export_model, load_config, load_state, lr_at, train
from clearzoom.train.data import ImageStore, PatchSampler, list_images, split_files

TRAIN = SHARED / "data" / "train"


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """24 real training photos (BSD200, 481x321), linked into a folder of their own."""
    folder = tmp_path_factory.mktemp("photos")
    for src in sorted((TRAIN / "BSD200").glob("*.webp"))[:24]:
        (folder / src.name).symlink_to(src)
    return folder


def tiny_raw(folder: Path, **sections) -> dict:
    raw = {
        "name": "tiny",
        "model": {
            "spec": {
                "name": "liif",
                "args": {
                    "encoder_spec": {
                        "name": "edsr-baseline",
                        "args": {"n_resblocks": 2, "n_feats": 16, "no_upsampling": True},
                    },
                    "imnet_spec": {"name": "mlp", "args": {"out_dim": 3, "hidden_list": [64, 64]}},
                    "skip": "bilinear",
                },
            }
        },
        "data": {
            "train": str(folder),
            "patch": 32,
            "scale": [1, 3],
            "queries": 256,
            "batch": 8,
            "val_every": 8,
            "val_max": 3,
        },
        "degrade": {"clean": 0.5, "jpeg_quality": [20, 90], "double_jpeg": 0.2},
        "optim": {"lr": 1e-3, "schedule": "cosine", "warmup_steps": 5, "ema": 0.9},
        "train": {"steps": 300, "threads": 1, "log_every": 25},
        "validate": {"every": 100, "scales": [2, 4], "jpeg_quality": [None, 30], "crop": 96},
    }
    for k, v in sections.items():
        raw[k] = {**raw.get(k, {}), **v} if isinstance(v, dict) else v
    return raw


def records(run: Path, kind: str) -> list[dict]:
    return [r for r in map(json.loads, (run / "log.jsonl").read_text().splitlines()) if r["kind"] == kind]


# ----------------------------------------------------------------------------- config
def test_shipped_configs_validate():
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        cfg = load_config(path)
        assert cfg.name == path.stem


@pytest.mark.parametrize(
    "change, message",
    [
        ({"optim": {"lrr": 1e-3}}, "unknown config key optim.lrr"),
        ({"bogus": 1}, "unknown config key bogus"),
        ({"optim": {"lr": -1}}, "optim.lr: must be > 0"),
        ({"data": {"batch": 0}}, "data.batch: must be >= 1"),
        ({"data": {"patch": "big"}}, "data.patch: expected an integer"),
        ({"degrade": {"clean": 1.5}}, "degrade.clean: must be <= 1"),
        ({"degrade": {"jpeg_quality": [50, 10]}}, "low <= high"),
        ({"degrade": {"jpeg_quality": [0, 10]}}, "degrade.jpeg_quality: must lie in 1..100"),
        ({"optim": {"schedule": "linear"}}, "optim.schedule: must be one of"),
        ({"validate": {"crop": 100, "scales": [3]}}, "not a multiple of scale 3"),
        ({"train": {"precision": "fp8"}}, "train.precision: must be one of"),
    ],
)
def test_bad_config_values_are_named(tmp_path, change, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("[", r"\[")):
        config_from_dict(tiny_raw(tmp_path, **change))


def test_schedule_warmup_step_and_cosine(tmp_path):
    cfg = config_from_dict(
        tiny_raw(
            tmp_path,
            optim={"lr": 1.0, "schedule": "step", "warmup_steps": 4, "milestones": [10, 20], "gamma": 0.5},
        )
    )
    assert [lr_at(s, cfg) for s in (0, 3, 4, 9, 10, 19, 20)] == [0.25, 1.0, 1.0, 1.0, 0.5, 0.5, 0.25]
    cos = config_from_dict(
        tiny_raw(
            tmp_path,
            optim={"lr": 1.0, "schedule": "cosine", "warmup_steps": 0, "min_lr_ratio": 0.1},
            train={"steps": 100},
        )
    )
    assert lr_at(0, cos) == pytest.approx(1.0)
    assert lr_at(50, cos) == pytest.approx(0.55)
    assert lr_at(100, cos) == pytest.approx(0.1)


# ----------------------------------------------------------------------------- data
def test_missing_and_empty_folders_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="is not a folder"):
        list_images(tmp_path / "nope")
    with pytest.raises(ConfigError, match="no images"):
        list_images(tmp_path)


def test_split_is_by_file_and_disjoint(photos):
    files = list_images(photos)
    train_files, val_files = split_files(files, 8)
    assert val_files == files[::8] and not set(train_files) & set(val_files)
    assert len(train_files) + len(val_files) == len(files)


def test_corrupt_and_small_images_are_skipped_with_a_log(tmp_path, photos, caplog):
    folder = tmp_path / "mixed"
    folder.mkdir()
    good = sorted(photos.iterdir())[:2]
    for p in good:
        (folder / p.name).symlink_to(p.resolve())
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    Image.new("RGB", (20, 20)).save(folder / "small.png")
    with caplog.at_level(logging.WARNING, logger="clearzoom.train.data"):
        store = ImageStore(list_images(folder), min_side=64)
    assert sorted(p.name for p in store.files) == sorted(p.name for p in good)
    assert {p.name for p, _ in store.skipped} == {"broken.png", "small.png"}
    assert "broken.png" in caplog.text and "small.png" in caplog.text


def test_sampler_targets_are_the_pixels_at_their_coordinates(tmp_path):
    """Queries must carry the HR colour at the pixel their coordinate names (any scale)."""
    y, x = np.mgrid[0:300, 0:300]
    img = np.stack([x % 256, y % 256, (x // 256) * 100 + (y // 256) * 10], -1).astype(np.uint8)
    Image.fromarray(img).save(tmp_path / "ramp.png")
    cfg = config_from_dict(tiny_raw(tmp_path, data={"augment": False, "queries": 64}, degrade={"clean": 1.0}))
    sampler = PatchSampler(ImageStore(list_images(tmp_path)), cfg.data, cfg.degrade, seed=3)
    b = sampler.batch(0)
    assert b.inp.shape == (8, 3, 32, 32) and b.coord.shape == (8, 64, 2) and b.gt.shape == (8, 64, 3)
    for i in range(8):
        side = round(2 / b.cell[i, 0, 0].item())
        iy = ((b.coord[i, :, 0] + 1) * side - 1) / 2  # coordinate -> pixel index in the crop
        ix = ((b.coord[i, :, 1] + 1) * side - 1) / 2
        assert torch.allclose(iy, iy.round(), atol=1e-3)
        rgb = (b.gt[i] * 255).round().long()
        abs_x = rgb[:, 0] + 256 * (rgb[:, 2] // 100)
        abs_y = rgb[:, 1] + 256 * ((rgb[:, 2] % 100) // 10)
        assert len(set((abs_x - ix.round().long()).tolist())) == 1  # one crop origin per patch
        assert len(set((abs_y - iy.round().long()).tolist())) == 1


def test_whole_patches_are_hr_crops_of_one_scale_per_batch(photos):
    """data.whole_patches: every HR pixel, row-major, so targets and predictions reshape into the
    HR crops whose MATLAB-bicubic downscale is the (clean) input."""
    from clearzoom.data.degrade import quantize
    from clearzoom.data.resize import imresize

    cfg = config_from_dict(
        tiny_raw(photos, data={"whole_patches": True, "augment": True}, degrade={"clean": 1.0})
    )
    sampler = PatchSampler(ImageStore(list_images(photos)[:4]), cfg.data, cfg.degrade, seed=5)
    sides = set()
    for step in range(4):
        b = sampler.batch(step)
        hr = b.as_images(b.gt)
        side = hr.shape[-1]
        sides.add(side)
        assert hr.shape == (8, 3, side, side) and torch.allclose(b.cell, torch.full_like(b.cell, 2 / side))
        down = quantize(imresize(hr.double(), size=(32, 32)).float())
        assert torch.equal(down, b.inp)
    assert len(sides) > 1  # the scale varies from batch to batch


def test_batches_depend_only_on_seed_step_and_rank(photos):
    cfg = config_from_dict(tiny_raw(photos))
    store = ImageStore(list_images(photos)[:4])
    a = PatchSampler(store, cfg.data, cfg.degrade, seed=0)
    b = PatchSampler(store, cfg.data, cfg.degrade, seed=0)
    b.batch(7)  # order of calls does not matter
    assert torch.equal(a.batch(3).inp, b.batch(3).inp) and torch.equal(a.batch(3).gt, b.batch(3).gt)
    assert not torch.equal(a.batch(3).inp, a.batch(4).inp)
    r1 = PatchSampler(store, cfg.data, cfg.degrade, seed=0, rank=1, world_size=2)
    assert r1.batch(3).inp.shape[0] == 4 and r1.indices == [1, 3]


# ----------------------------------------------------------------------------- loop
@pytest.fixture(scope="module")
def trained(photos, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = train(config_from_dict(tiny_raw(photos)), out, progress=False)
    return out, result


def test_the_progress_bar_says_when_it_validates_and_where_the_budget_stands(photos, tmp_path, capsys):
    raw = tiny_raw(photos, train={"steps": 4, "threads": 1, "compile": False})
    train(config_from_dict(raw), tmp_path / "run", progress=True, budget_minutes=30)
    err = capsys.readouterr().err
    assert "validating at step 0" in err and "budget 0/30 min" in err and "4/4" in err


def test_tiny_run_lowers_validation_l1_and_raises_psnr(trained):
    out, result = trained
    vals = records(out, "val")
    first, last = vals[0], vals[-1]
    assert first["step"] == 0 and last["step"] == result.step == 300
    assert last["l1"] < first["l1"] * 0.9
    for key in ("x2", "x4", "x2_q30", "x4_q30"):
        assert last[key] > first[key] + 0.5, key
    assert set(records(out, "bicubic")[0]) >= {"x2", "x4", "x2_q30", "x4_q30"}
    train_recs = records(out, "train")
    assert train_recs[-1]["loss"] < train_recs[0]["loss"]
    assert all(0 <= r["data_fraction"] < 0.5 for r in train_recs)  # data loading does not starve it
    for name in ("checkpoint.pt", "config.yaml", "log.csv", "curves.png"):
        assert (out / name).is_file(), name


def test_resume_continues_the_same_trajectory_bitwise(photos, tmp_path):
    cfg = config_from_dict(
        tiny_raw(
            photos,
            train={"steps": 24, "threads": 1, "log_every": 5},
            validate={"every": 1000, "scales": [2], "jpeg_quality": [None], "crop": 96},
        )
    )
    whole = train(cfg, tmp_path / "whole", progress=False)
    part = train(cfg, tmp_path / "parts", stop_at_step=11, progress=False)
    assert part.step == 11
    resumed = train(cfg, tmp_path / "parts", resume=part.checkpoint, progress=False)
    a, b = load_state(whole.checkpoint), load_state(resumed.checkpoint)
    assert a["step"] == b["step"] == 24
    for key in ("model", "ema"):
        for name, tensor in a[key].items():
            assert torch.equal(tensor, b[key][name]), f"{key}.{name}"
    for name, st in a["optimizer"]["state"].items():
        assert torch.equal(st["exp_avg_sq"], b["optimizer"]["state"][name]["exp_avg_sq"])


@pytest.mark.slow
@pytest.mark.parametrize("condition", [None, "jpeg"])
def test_compiled_bf16_steps_learn_like_fp32(photos, tmp_path, condition):
    """The long runs' setting on a CPU with native bf16: compiled, bf16 autocast (both LIIFs)."""
    spec_args = {"condition": condition} if condition else {}
    losses = {}
    for precision in ("fp32", "bf16"):
        raw = tiny_raw(
            photos,
            train={"steps": 12, "threads": 1, "log_every": 4, "compile": True, "precision": precision},
            validate={"every": 1000, "scales": [2], "jpeg_quality": [None], "crop": 96},
        )
        raw["model"]["spec"]["args"].update(spec_args)
        train(config_from_dict(raw), tmp_path / precision, progress=False)
        losses[precision] = [r["loss"] for r in records(tmp_path / precision, "train")]
    assert len(losses["bf16"]) == len(losses["fp32"]) >= 3
    assert np.allclose(losses["bf16"], losses["fp32"], rtol=0.05)


def test_a_run_folder_is_not_overwritten_without_resume(photos, trained):
    out, _ = trained
    with pytest.raises(ConfigError, match="--resume"):
        train(config_from_dict(tiny_raw(photos)), out, progress=False)


def test_export_gives_a_model_that_loads_and_renders(trained, tmp_path):
    from clearzoom import load_model, upscale

    out, result = trained
    dst = export_model(result.checkpoint, tmp_path / "m.safetensors")
    model = load_model(dst)
    assert model.provenance["steps"] == 300 and model.provenance["weights"] == "ema"
    img = np.asarray(Image.open(sorted((TRAIN / "BSD200").glob("*.webp"))[0]).convert("RGB"))[:40, :40]
    res = upscale(img, scale=2, model=model)
    assert res.shape == (80, 80, 3)


def test_cli_train_resume_and_export(photos, tmp_path):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(
        yaml.safe_dump(
            tiny_raw(photos, validate={"every": 1000, "scales": [2], "jpeg_quality": [None], "crop": 96})
        )
    )
    run = tmp_path / "run"
    r = CliRunner().invoke(
        main,
        [
            "train",
            "--config",
            str(cfg),
            "--out",
            str(run),
            "-q",
            "--steps",
            "12",
            "--stop-at-step",
            "5",
            "--set",
            "optim.lr=2e-3",
        ],
    )
    assert r.exit_code == 0, r.output
    assert load_state(run / "checkpoint.pt")["step"] == 5
    assert load_state(run / "checkpoint.pt")["config"]["optim"]["lr"] == 2e-3
    r = CliRunner().invoke(
        main,
        [
            "train",
            "--config",
            str(cfg),
            "--out",
            str(run),
            "-q",
            "--steps",
            "12",
            "--set",
            "optim.lr=2e-3",
            "--resume",
            str(run / "checkpoint.pt"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert load_state(run / "checkpoint.pt")["step"] == 12
    r = CliRunner().invoke(main, ["export", str(run / "checkpoint.pt"), str(tmp_path / "m.safetensors")])
    assert r.exit_code == 0 and (tmp_path / "m.safetensors").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--set", "optim.lr=-3"], "error: optim.lr: must be > 0"),
        (["--set", "data.nope=1"], "error: unknown config key data.nope"),
        (["--data", "/nonexistent/folder"], "error: data.train: /nonexistent/folder is not a folder"),
        (["--set", "model.spec.name=vdsr"], "error: model.spec:"),
    ],
)
def test_cli_errors_are_one_line_before_training(photos, tmp_path, args, message):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(tiny_raw(photos)))
    r = CliRunner().invoke(main, ["train", "--config", str(cfg), "--out", str(tmp_path / "r"), "-q", *args])
    assert r.exit_code == 1
    assert r.output.strip().startswith(message) and len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "r" / "checkpoint.pt").exists()


def test_torchrun_two_cpu_processes_write_one_checkpoint(photos, tmp_path):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(
        yaml.safe_dump(
            tiny_raw(
                photos,
                train={"steps": 10, "threads": 1},
                validate={"every": 1000, "scales": [2], "jpeg_quality": [None], "crop": 96},
            )
        )
    )
    run = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "clearzoom",
            "train",
            "--config",
            str(cfg),
            "--out",
            str(run),
            "-q",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in run.glob("*.pt")) == ["checkpoint.pt"]
    state = load_state(run / "checkpoint.pt")
    assert state["step"] == 10
    assert "module." not in next(iter(state["model"]))  # the plain network's weights
    assert proc.stdout.count("step 10:") == 1  # only rank 0 reports


def test_predownscale_applies_to_the_listed_formats_only(tmp_path, photos):
    src = sorted(photos.iterdir())[0]
    img = Image.open(src).convert("RGB")
    img.save(tmp_path / "a.jpg", quality=90)
    img.save(tmp_path / "b.png")
    for cache in (True, False):
        store = ImageStore(list_images(tmp_path), cache=cache, predownscale=2.0)
        sizes = dict(zip((p.name for p in store.files), store.sizes))
        assert sizes["a.jpg"] == (round(img.height / 2), round(img.width / 2))
        assert sizes["b.png"] == (img.height, img.width)
    assert store[0].shape[:2] == sizes["a.jpg"]  # decoded on demand, also shrunk


def test_sigterm_stops_a_background_run_with_a_checkpoint(photos, tmp_path):
    import signal

    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(
        yaml.safe_dump(
            tiny_raw(
                photos,
                train={"steps": 100000, "threads": 1, "log_every": 5},
                validate={"every": 100000, "scales": [2], "jpeg_quality": [None], "crop": 96},
            )
        )
    )
    run = tmp_path / "bg"
    proc = subprocess.Popen(
        [sys.executable, "-m", "clearzoom", "train", "--config", str(cfg), "--out", str(run), "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while not (run / "log.csv").exists() or len((run / "log.csv").read_text().splitlines()) < 3:
        assert proc.poll() is None and time.time() < deadline, proc.stderr.read() if proc.poll() else ""
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    state = load_state(run / "checkpoint.pt")
    assert 10 <= state["step"] < 100000


def test_batches_carry_the_jpeg_strength_a_jpeg_aware_model_is_told(photos, tmp_path):
    store = ImageStore(list_images(photos)[:4])
    clean = config_from_dict(tiny_raw(photos, degrade={"clean": 1.0}))
    q30 = config_from_dict(
        tiny_raw(photos, degrade={"clean": 0.0, "jpeg_quality": [30, 30], "double_jpeg": 0.0})
    )
    assert torch.equal(
        PatchSampler(store, clean.data, clean.degrade, seed=0).batch(2).strength, torch.zeros(8)
    )
    assert torch.allclose(
        PatchSampler(store, q30.data, q30.degrade, seed=0).batch(2).strength, torch.full((8,), 0.7)
    )
    mixed = config_from_dict(tiny_raw(photos))  # clean 0.5, q 20..90
    s = PatchSampler(store, mixed.data, mixed.degrade, seed=0).batch(5).strength
    assert (s == 0).any() and ((s >= 0.1 - 1e-6) & (s <= 0.8 + 1e-6) | (s == 0)).all()
    # a JPEG-aware model trains on them and exports with its condition
    raw = tiny_raw(
        photos,
        train={"steps": 12, "threads": 1, "log_every": 4},
        validate={"every": 100, "scales": [2], "jpeg_quality": [None, 30], "crop": 96},
    )
    raw["model"]["spec"]["args"]["condition"] = "jpeg"
    out = tmp_path / "cond"
    train(config_from_dict(raw), out, progress=False)
    model = load_model(export_model(out / "checkpoint.pt", tmp_path / "cond.safetensors"))
    assert model.spec["args"]["condition"] == "jpeg"
    assert model.net.encoder.head[0].weight.shape[1] == 4
    assert {"x2", "x2_q30"} <= set(records(out, "val")[-1])


def test_config_numbers_must_be_finite(tmp_path):
    for bad in (".nan", ".inf", "-.inf"):
        with pytest.raises(ConfigError, match="optim.lr: expected a finite number"):
            config_from_dict({"data": {"train": str(tmp_path)}, "optim": {"lr": yaml.safe_load(bad)}})


# ----------------------------------------------------------------------------- perceptual mode
def _perceptual_cfg(photos, **train_keys):
    raw = tiny_raw(
        photos,
        data={"whole_patches": True, "patch": 16, "scale": [1, 2], "batch": 4},
        train={"steps": 8, "threads": 1, "log_every": 2, **train_keys},
        validate={"every": 1000, "scales": [2], "jpeg_quality": [None], "crop": 96},
        perceptual={"enabled": True, "width": 8, "frequency": 0.5, "shift": 8},
    )
    return config_from_dict(raw)


def test_the_discriminator_sees_output_and_truth_at_one_random_shift(photos):
    from clearzoom.train.step import _disc_view

    cfg = _perceptual_cfg(photos)
    run = SimpleNamespace(cfg=cfg, d=SimpleNamespace(rank=0), step=0)
    real = torch.arange(2 * 3 * 20 * 20, dtype=torch.float32).reshape(2, 3, 20, 20)
    offsets = set()
    for step in range(12):
        run.step = step
        fake, seen = _disc_view(run, real + 1, real)
        assert fake.shape[-2] % 8 == 0 and fake.shape[-1] % 8 == 0
        assert torch.equal(fake, seen + 1)  # one offset for both
        first = seen[0, 0, 0, 0].item()
        offsets.add((int(first) // 20, int(first) % 20))
        assert torch.equal(_disc_view(run, real, real)[0], seen)  # the step decides it
    assert len(offsets) > 3 and all(0 <= dy < 8 and 0 <= dx < 8 for dy, dx in offsets)


def test_a_perceptual_run_logs_every_term_and_resumes_bit_for_bit(photos, tmp_path):
    cfg = _perceptual_cfg(photos)
    whole = train(cfg, tmp_path / "whole", progress=False)
    logged = records(tmp_path / "whole", "train")
    for key in ("l1", "g_adv", "feature_matching", "frequency", "d_loss"):
        assert all(r[key] > 0 for r in logged), key
    part = train(cfg, tmp_path / "parts", stop_at_step=3, progress=False)
    resumed = train(cfg, tmp_path / "parts", resume=part.checkpoint, progress=False)
    a, b = load_state(whole.checkpoint), load_state(resumed.checkpoint)
    for key in ("model", "ema", "discriminator"):
        for name, tensor in a[key].items():
            assert torch.equal(tensor, b[key][name]), f"{key}.{name}"
    for name, st in a["optimizer_d"]["state"].items():
        assert torch.equal(st["exp_avg_sq"], b["optimizer_d"]["state"][name]["exp_avg_sq"])


def test_perceptual_training_needs_whole_patches(photos):
    raw = tiny_raw(photos, perceptual={"enabled": True})
    with pytest.raises(ConfigError, match="needs data.whole_patches"):
        config_from_dict(raw)
