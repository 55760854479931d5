"""``load_model``: a registered name or a file (clearzoom safetensors or official LIIF .pth)."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError, UnknownModelError, first_line
from ..models import registry
from ..models.configs import LIIF_NORMALIZATION, Normalization
from ..models.liif import LIIF
from ..models.model import Model
from ..models.pretrained import DEFAULT_MODEL, PRETRAINED
from .native import read_native, save_native
from .official import convert_official_state_dict, read_official

__all__ = ["convert_checkpoint", "load_model"]

log = logging.getLogger(__name__)


def _is_safetensors(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{"  # u64 header length, then the JSON header


def _check_size(spec: dict[str, Any], sd: dict[str, torch.Tensor], source: str) -> None:
    """Refuse a spec whose network holds more numbers than the file's weights before any memory is
    allocated for it (it is built on the meta device): a crafted spec cannot exhaust memory."""
    with torch.device("meta"):
        probe = registry.make(spec)
    need = sum(t.numel() for t in probe.state_dict().values())
    have = sum(t.numel() for t in sd.values())
    if need > have:
        raise CheckpointError(
            f"{source}: weights do not match the spec (it needs {need:,} numbers, the file has {have:,})"
        )


def _build(spec: dict[str, Any], sd: dict[str, torch.Tensor], source: str, *, official: bool) -> LIIF:
    if spec.get("name") != "liif":
        raise UnknownModelError(
            f"{source}: clearzoom runs LIIF models; this checkpoint's model is {spec.get('name')!r}"
        )
    try:
        _check_size(spec, sd, source)
        net = registry.make(spec)
    except UnknownModelError as exc:
        raise UnknownModelError(f"{source}: {exc}") from None
    if not isinstance(net, LIIF):  # pragma: no cover - the spec's name was checked above
        raise UnknownModelError(f"{source}: not a LIIF model")
    if official:
        sd = convert_official_state_dict(sd, net.state_dict())
    try:
        net.load_state_dict(sd, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{source}: weights do not match the spec ({first_line(exc)})") from None
    net.eval().requires_grad_(False)
    return net


def load_model(
    name_or_path: str | os.PathLike | Model | None = None, *, device: str | torch.device = "cpu"
) -> Model:
    """Load a model by registered name (see ``clearzoom models``) or from a file.

    Files: clearzoom ``.safetensors`` (self-describing) or an official LIIF ``.pth`` (read with
    ``weights_only=True``; ``sub_mean``/``add_mean`` dropped; the ±0.5 normalisation attached).
    ``None`` gives the default model.

    Raises:
        UnknownModelError: a name that is neither registered nor a file, or a non-LIIF spec.
        CheckpointError: a file that is not a usable checkpoint.
    """
    if isinstance(name_or_path, Model):
        return name_or_path
    key = DEFAULT_MODEL if name_or_path is None else str(name_or_path)
    if key in PRETRAINED:
        entry = PRETRAINED[key]
        path, name, description = entry.path, entry.name, entry.description
        if not path.is_file():
            raise CheckpointError(f"model {key!r}: its weights file is missing from the package ({path})")
    else:
        path = Path(key)
        if not path.exists():
            raise UnknownModelError(
                f"{key}: neither a model name ({', '.join(PRETRAINED)}) nor an existing file"
            )
        if not path.is_file():
            raise CheckpointError(f"{path}: is not a file")
        name, description = str(path), ""

    if _is_safetensors(path):
        config, sd = read_native(path)
        spec = config["spec"]
        net = _build(spec, sd, str(path), official=False)
        try:
            norm = Normalization.from_dict(config["normalization"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{path}: bad normalization in the model config ({exc!r})") from None
        description = description or config.get("description", "")
        provenance = config.get("provenance", {})
    else:
        spec, sd = read_official(path)
        net = _build(spec, sd, str(path), official=True)
        norm = LIIF_NORMALIZATION
        provenance = {"format": "official LIIF checkpoint", "file": path.name}
        description = description or "official LIIF checkpoint"
    log.debug("loaded %s (%s)", name, spec["args"].get("encoder_spec", {}).get("name"))
    return Model(
        name=name,
        spec=spec,
        net=net.to(device),
        normalization=norm,
        description=description,
        provenance=provenance,
    )


def convert_checkpoint(src: str | os.PathLike, dst: str | os.PathLike, *, description: str = "") -> Path:
    """Convert an official LIIF ``.pth`` into a self-describing clearzoom ``.safetensors``."""
    src = Path(src)
    spec, sd = read_official(src)
    net = _build(spec, sd, str(src), official=True)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    return save_native(
        dst,
        spec=spec,
        state_dict=net.state_dict(),
        normalization=LIIF_NORMALIZATION,
        description=description or f"converted from official LIIF checkpoint {src.name}",
        provenance={
            "converted_from": src.name,
            "sha256": digest,
            "source_format": "official LIIF .pth (sub_mean/add_mean dropped)",
        },
    )
