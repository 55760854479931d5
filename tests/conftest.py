"""Shared fixtures: the official-code fixture, tiny random models, real images from ../shared."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
if not SHARED.is_dir():  # CI lays shared/ beside the clone; fall back to the workspace copy
    SHARED = Path("/work/shared")
OFFICIAL = SHARED / "fixtures" / "liif-official"
BENCH = SHARED / "data" / "bench"


def tiny_spec(**liif_args) -> dict:
    return {
        "name": "liif",
        "args": {
            "encoder_spec": {
                "name": "edsr-baseline",
                "args": {"n_resblocks": 2, "n_feats": 8, "no_upsampling": True},
            },
            "imnet_spec": {"name": "mlp", "args": {"out_dim": 3, "hidden_list": [16, 16]}},
            **liif_args,
        },
    }


def make_tiny(seed: int = 0, **liif_args):
    from clearzoom.models import Model, Normalization, make

    torch.manual_seed(seed)
    net = make(tiny_spec(**liif_args))
    with torch.no_grad():  # amplify so outputs vary strongly from pixel to pixel
        net.encoder.head[0].weight.mul_(4)
        for layer in net.imnet.layers:
            if isinstance(layer, torch.nn.Linear):
                layer.weight.mul_(2)
    return Model(name="tiny", spec=tiny_spec(**liif_args), net=net.eval(), normalization=Normalization())


@pytest.fixture(scope="session")
def tiny_model():
    return make_tiny()


@pytest.fixture(scope="session")
def tiny_skip_model():
    return make_tiny(seed=1, skip="bilinear")


@pytest.fixture(scope="session")
def official_model():
    from clearzoom.checkpoints import load_model

    return load_model(OFFICIAL / "edsr-baseline-liif-random-seed0.pth")


@pytest.fixture(scope="session")
def official_input() -> torch.Tensor:
    arr = np.asarray(Image.open(OFFICIAL / "input.png").convert("RGB"))
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float() / 255


@pytest.fixture(scope="session")
def photo() -> Image.Image:
    """A real photo (Set5 butterfly), cropped small to keep tests fast."""
    return Image.open(BENCH / "Set5" / "butterfly.png").convert("RGB").crop((64, 64, 128, 112))


# Debian's Chromium, as the browser tests drive it (scripts/setup.sh installs it).
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def open_page(pw, viewport: dict, errors: list[str]):
    """A new page in headless Chromium whose console errors and page errors go to ``errors``."""
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    page = browser.new_page(viewport=viewport)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return browser, page
