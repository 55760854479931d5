"""The crisp strength control: weights blended between a faithful model and its partner."""

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import BENCH, make_tiny
from PIL import Image

from clearzoom import upscale
from clearzoom.checkpoints import blend_models, crisp_model, save_native
from clearzoom.cli.main import main
from clearzoom.errors import CheckpointError, InvalidInputError

FAITHFUL = make_tiny(seed=0)


def _fine_tuned(seed=1, size=0.2):
    """A partner for FAITHFUL as fine-tuning makes one: the same network, every weight moved a little."""
    partner = make_tiny(seed=0)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in partner.net.parameters():
            p.add_(torch.randn(p.shape, generator=g) * size * p.abs().mean())
    return partner


CRISP = _fine_tuned()


@pytest.fixture(scope="module")
def photo():
    return Image.open(BENCH / "Set5" / "bird.png").convert("RGB").crop((40, 40, 88, 80))


def test_strength_0_is_the_faithful_model_and_1_the_crisp_one(photo):
    assert blend_models(FAITHFUL, CRISP, 0.0) is FAITHFUL
    a = np.asarray(upscale(photo, scale=2, model=FAITHFUL, crisp=0.0, crisp_model=CRISP, device="cpu"))
    assert np.array_equal(a, np.asarray(upscale(photo, scale=2, model=FAITHFUL, device="cpu")))
    b = np.asarray(upscale(photo, scale=2, model=FAITHFUL, crisp=1.0, crisp_model=CRISP, device="cpu"))
    assert np.array_equal(b, np.asarray(upscale(photo, scale=2, model=CRISP, device="cpu")))


def test_between_the_weights_are_interpolated_and_the_output_moves_between(photo):
    half = blend_models(FAITHFUL, CRISP, 0.5)
    for name, w in half.net.state_dict().items():
        mid = (FAITHFUL.net.state_dict()[name] + CRISP.net.state_dict()[name]) / 2
        assert torch.allclose(w, mid, atol=1e-6), name
    assert half.provenance["crisp"] == {"partner": "tiny", "strength": 0.5}
    outs = [
        np.asarray(upscale(photo, scale=2, model=FAITHFUL, crisp=s, crisp_model=CRISP, device="cpu"), float)
        for s in (0.0, 0.25, 0.75, 1.0)
    ]
    dist = [np.abs(o - outs[0]).mean() for o in outs]
    assert dist[0] == 0 < dist[1] < dist[2] < dist[3]  # monotone from faithful to crisp
    assert FAITHFUL.net.state_dict()["imnet.layers.0.weight"].equal(
        make_tiny(seed=0).net.state_dict()["imnet.layers.0.weight"]
    )


def test_blends_that_make_no_sense_are_refused():
    with pytest.raises(InvalidInputError, match="0..1"):
        blend_models(FAITHFUL, CRISP, 1.5)
    with pytest.raises(CheckpointError, match="architectures differ"):
        blend_models(FAITHFUL, make_tiny(seed=1, skip="bilinear"), 0.5)
    with pytest.raises(CheckpointError, match="no crisp partner"):
        crisp_model("clearzoom-clean", 0.5)


def test_the_cli_and_explain_take_a_crisp_partner_file(tmp_path, photo):
    src = tmp_path / "in.png"
    photo.save(src)
    paths = {}
    for name, m in (("faithful", FAITHFUL), ("crisp", CRISP)):
        paths[name] = save_native(
            tmp_path / f"{name}.safetensors",
            spec=m.spec,
            state_dict=m.net.state_dict(),
            normalization=m.normalization,
        )
    run = CliRunner().invoke
    common = ["--scale", "2", "--model", str(paths["faithful"]), "--device", "cpu", "-q"]
    for s in ("0", "0.5"):
        r = run(
            main,
            [
                "upscale",
                str(src),
                "-o",
                str(tmp_path / f"c{s}.png"),
                *common,
                "--crisp",
                s,
                "--crisp-model",
                str(paths["crisp"]),
            ],
        )
        assert r.exit_code == 0, r.output
    r = run(main, ["upscale", str(src), "-o", str(tmp_path / "plain.png"), *common])
    plain, c0, c5 = (np.asarray(Image.open(tmp_path / f)) for f in ("plain.png", "c0.png", "c0.5.png"))
    assert np.array_equal(plain, c0) and not np.array_equal(plain, c5)
    r = run(main, ["upscale", str(src), "-o", str(tmp_path / "x.png"), "--scale", "2", "--crisp", "0.5"])
    assert r.exit_code == 2 and "no crisp partner" in r.output
    r = run(
        main,
        [
            "explain",
            str(src),
            "--scale",
            "2",
            "--model",
            str(paths["faithful"]),
            "--crisp",
            "0.5",
            "--crisp-model",
            str(paths["crisp"]),
            "--json",
            "--device",
            "cpu",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "at crisp 0.5" in r.output and "blended with the perceptual partner" in r.output
