"""``clearzoom export --onnx``: a model as two ONNX graphs, a manifest and a standalone driver.

The split follows the engine (and LIIF's own ``gen_feat`` / ``query_rgb``): the encoder graph
returns the latent codes already multiplied by the decoder's first layer (:meth:`LIIF.project`),
once per input pixel; the decoder graph answers any batch of query points from a window of those
codes, so tiles, exact sizes and windows work as in PyTorch. Pixel normalisation is inside the
graphs: both take colours in [0, 1]. :mod:`.onnxrt` drives them (and is copied beside them).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import logging
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import _version
from ..atomic import write_atomic
from ..coords import make_cell, make_coord
from ..models.model import Model
from .onnxrt import FORMAT, FORMAT_VERSION, MANIFEST

__all__ = ["export_onnx"]

log = logging.getLogger(__name__)

OPSET = 18
FILES = ("encoder.onnx", "decoder.onnx", "decoder.int8.onnx", MANIFEST, "clearzoom_onnx.py")


class _EncoderGraph(nn.Module):
    """``rgb (1, 3, h, w)`` in [0, 1], ``strength (1,)`` -> ``proj (1, h, w, hidden)``."""

    def __init__(self, model: Model):
        super().__init__()
        self.net, self.norm = model.net, model.normalization

    def forward(self, rgb: torch.Tensor, strength: torch.Tensor) -> torch.Tensor:
        inp = (rgb - self.norm.inp_sub) / self.norm.inp_div
        return self.net.project(self.net.gen_feat(inp, strength))


class _DecoderGraph(nn.Module):
    """A window of codes and input, query points of the whole output -> colours in [0, 1]."""

    def __init__(self, model: Model):
        super().__init__()
        self.net, self.norm = model.net, model.normalization

    def forward(self, proj, rgb, coord, cell, grid_hw, offset) -> torch.Tensor:
        inp = (rgb - self.norm.inp_sub) / self.norm.inp_div
        out = self.net.decode(
            proj, coord, cell, inp=inp, grid_hw=(grid_hw[0], grid_hw[1]), offset=(offset[0], offset[1])
        )
        return out * self.norm.gt_div + self.norm.gt_sub


@contextlib.contextmanager
def _quiet(*loggers: str):
    """Raise ``loggers`` (names; "" is the root) to ERROR for the block: the exporter and quantizer
    log notices about their own internals (e.g. a missing torchvision) that are not ours to show."""
    saved = [(logging.getLogger(n), logging.getLogger(n).level) for n in loggers]
    for lg, _ in saved:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in saved:
            lg.setLevel(level)


def _export(module: nn.Module, args: tuple, names: list[str], output: str, dims: dict, path: Path) -> None:
    """torch.export-based ONNX export of ``module`` with named, partly dynamic inputs."""
    from torch.export import Dim

    shapes = {
        n: {axis: Dim(label, min=1, max=hi) for axis, (label, hi) in dims.get(n, {}).items()} or None
        for n in names
    }
    with warnings.catch_warnings(), torch.no_grad(), _quiet("torch.onnx", ""):
        warnings.simplefilter("ignore")  # the exporter's notices about its own internals
        torch.onnx.export(
            module,
            args,
            str(path),
            dynamo=True,
            opset_version=OPSET,
            input_names=names,
            dynamic_shapes=shapes,
            output_names=[output],
            external_data=False,  # one self-contained file per graph (the weights are small)
            verbose=False,
        )


def export_onnx(
    model: Model, folder: str | os.PathLike, *, overwrite: bool = False, int8: bool = True
) -> Path:
    """Write ``model`` as ONNX graphs into ``folder`` (created), with ``clearzoom-onnx.json`` and the
    standalone driver ``clearzoom_onnx.py``. ``int8`` adds ``decoder.int8.onnx`` (onnxruntime's
    dynamic int8 quantisation of the decoder's matrix products).

    Raises:
        FileExistsError: ``folder`` holds an export already and ``overwrite`` is False.
    """
    folder = Path(folder)
    if folder.exists() and any((folder / f).exists() for f in FILES) and not overwrite:
        raise FileExistsError(f"{folder}: holds an ONNX export (use --overwrite to replace it)")
    folder.mkdir(parents=True, exist_ok=True)
    if next(model.net.parameters()).device.type != "cpu":
        model = dataclasses.replace(model, net=copy.deepcopy(model.net).cpu())
    side, big = 24, 1 << 15
    rgb = torch.rand(1, 3, side, side, generator=torch.Generator().manual_seed(0))
    strength = torch.tensor([0.5])
    hw = {2: ("h", big), 3: ("w", big)}
    _export(
        _EncoderGraph(model).eval(),
        (rgb, strength),
        ["rgb", "strength"],
        "proj",
        {"rgb": hw},
        folder / "encoder.onnx",
    )
    with torch.no_grad():
        proj = _EncoderGraph(model)(rgb, strength)
    out_hw = (side * 3, side * 3)
    coord = make_coord(out_hw).unsqueeze(0)[:, :500]
    cell = make_cell(out_hw, 1).view(1, 1, 2)
    grid = torch.tensor([side, side])
    args = (proj, rgb, coord, cell, grid, torch.tensor([0, 0]))
    dims = {"proj": {1: ("h", big), 2: ("w", big)}, "rgb": hw, "coord": {1: ("q", 1 << 26)}}
    names = ["proj", "rgb", "coord", "cell", "grid_hw", "offset"]
    _export(_DecoderGraph(model).eval(), args, names, "out", dims, folder / "decoder.onnx")
    if int8:
        _quantize(folder / "decoder.onnx", folder / "decoder.int8.onnx")
    manifest = _manifest(model, int8)
    write_atomic(folder / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    shutil.copyfile(Path(__file__).with_name("onnxrt.py"), folder / "clearzoom_onnx.py")
    log.info("exported %s to %s", model.name, folder)
    return folder


def _quantize(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet(""):  # the quantizer's advice (pre-processing) goes to the root logger
        quantize_dynamic(
            str(src), str(dst), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gemm"]
        )


def _manifest(model: Model, int8: bool) -> dict[str, Any]:
    net = model.net
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "clearzoom": _version.__version__,
        "model": model.name,
        "spec": model.spec,
        "normalization": model.normalization.to_dict(),
        "condition": net.condition,
        "feature_radius": net.feature_radius,
        "hidden": net.first_layer.out_features,
        "opset": OPSET,
        "encoder": {
            "file": "encoder.onnx",
            "inputs": {
                "rgb": "(1, 3, h, w) float32 in [0, 1]",
                "strength": "(1,) float32: 1 - q/100, 0 if clean",
            },
            "outputs": {"proj": "(1, h, w, hidden) float32"},
        },
        "decoder": {
            "file": "decoder.onnx",
            "int8_file": "decoder.int8.onnx" if int8 else None,
            "inputs": {
                "proj": "(1, hw, ww, hidden): a window of the encoder's output",
                "rgb": "(1, 3, hw, ww): the same window of the input, in [0, 1]",
                "coord": "(1, Q, 2) float32: output pixel centres (y, x) in [-1, 1] of the whole output",
                "cell": "(1, 1, 2) float32: (2/H, 2/W)",
                "grid_hw": "(2,) int64: the whole input's (h, w)",
                "offset": "(2,) int64: the window's top-left (y, x) in the input",
            },
            "outputs": {"out": "(1, Q, 3) float32 colours in [0, 1], not clipped"},
            "window_rule": "a window's codes are exact where it extends feature_radius input "
            "pixels beyond the queried area (or to the image edge): encode crops with that halo",
        },
    }
