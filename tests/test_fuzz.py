"""Fuzzing the readers and loaders with truncated and mutated files (hypothesis): whatever the
bytes, only a :class:`~clearzoom.errors.ClearZoomError` escapes, in one line.

Seeds are real files: photos in PNG, JPEG, WebP and 16-bit TIFF, a clearzoom safetensors model
and an official LIIF checkpoint. Each example truncates a seed and/or overwrites a few bytes.
``FUZZ_EXAMPLES`` (environment) sets how many examples each reader gets (default 300).
"""

from __future__ import annotations

import io
import os
import warnings

import numpy as np
import pytest
from conftest import BENCH, OFFICIAL, make_tiny
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from clearzoom.analysis import analyze_image
from clearzoom.checkpoints import load_model, save_native
from clearzoom.errors import ClearZoomError
from clearzoom.imageio import read_image

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _image_seeds() -> dict[str, bytes]:
    img = Image.open(BENCH / "Set5" / "butterfly.png").convert("RGB").crop((0, 0, 48, 40))
    seeds = {}
    for fmt, kw in (("PNG", {}), ("JPEG", {"quality": 40}), ("WEBP", {"quality": 50})):
        buf = io.BytesIO()
        img.save(buf, fmt, **kw)
        seeds[fmt] = buf.getvalue()
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, (np.asarray(img).astype(np.uint16) * 257), photometric="rgb")
    seeds["TIFF16"] = buf.getvalue()
    return seeds


IMAGES = _image_seeds()


def _mutated(seed: bytes, data) -> bytes:
    """``seed`` cut at a drawn length and with up to 8 drawn bytes overwritten."""
    whole_or_cut = st.one_of(st.just(len(seed)), st.integers(0, len(seed)))  # half keep every byte
    out = bytearray(seed[: data.draw(whole_or_cut, label="length")])
    for _ in range(data.draw(st.integers(0, 8), label="edits") if out else 0):
        pos = data.draw(st.integers(0, len(out) - 1))
        out[pos] = data.draw(st.integers(0, 255))
    return bytes(out)


def _only_clearzoom_errors(fn, *args, **kwargs) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn(*args, **kwargs)
    except ClearZoomError as exc:
        assert "\n" not in str(exc).strip(), str(exc)


@FUZZ
@given(name=st.sampled_from(sorted(IMAGES)), data=st.data())
def test_image_reader_and_analysis_survive_mutated_files(name, data):
    blob = _mutated(IMAGES[name], data)
    _only_clearzoom_errors(read_image, blob)
    _only_clearzoom_errors(read_image, blob, max_pixels=10_000)
    _only_clearzoom_errors(analyze_image, blob)


@pytest.fixture(scope="module")
def model_seeds(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seeds")
    tiny = make_tiny(seed=1)
    native = save_native(
        folder / "tiny.safetensors",
        spec=tiny.spec,
        state_dict=tiny.net.state_dict(),
        normalization=tiny.normalization,
    )
    return {
        "native": native.read_bytes(),
        "official": (OFFICIAL / "edsr-baseline-liif-random-seed0.pth").read_bytes(),
    }


@FUZZ
@given(kind=st.sampled_from(["native", "official"]), data=st.data())
def test_model_loader_survives_mutated_files(model_seeds, tmp_path_factory, kind, data):
    path = tmp_path_factory.mktemp("fuzz") / ("m.safetensors" if kind == "native" else "m.pth")
    path.write_bytes(_mutated(model_seeds[kind], data))
    _only_clearzoom_errors(load_model, path)
