"""clearzoom's own model format: one ``.safetensors`` file that describes itself.

The tensors are the network's state dict; the safetensors header's metadata holds one entry,
``clearzoom``, a JSON document::

    {
      "format": "clearzoom-model/1",
      "spec": {"name": "liif", "args": {...}},          # LIIF-style spec, rebuilds the network
      "normalization": {"inp_sub": 0.5, ...},            # see models.configs.Normalization
      "description": "one line",
      "provenance": {...}                                 # training recipe, source file, date
    }

Nothing is executed on loading: safetensors holds only tensors, the JSON only data.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from ..atomic import atomic_path
from ..errors import CheckpointError
from ..models.configs import Normalization

__all__ = ["FORMAT", "read_native", "save_native"]

FORMAT = "clearzoom-model/1"
_KEY = "clearzoom"


def save_native(
    path: str | os.PathLike,
    *,
    spec: dict[str, Any],
    state_dict: dict[str, torch.Tensor],
    normalization: Normalization,
    description: str = "",
    provenance: dict[str, Any] | None = None,
) -> Path:
    """Write a self-describing safetensors model file (atomically)."""
    from safetensors.torch import save_file

    path = Path(path)
    config = {
        "format": FORMAT,
        "spec": spec,
        "normalization": normalization.to_dict(),
        "description": description,
        "provenance": provenance or {},
    }
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state_dict.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={_KEY: json.dumps(config, sort_keys=True)})
    return path


def read_native(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Read a clearzoom safetensors model: returns ``(config, state_dict)``."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such model file")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            sd = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not iterable)
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a readable safetensors file ({exc})") from None
    if _KEY not in meta:
        raise CheckpointError(f"{path}: a safetensors file without a clearzoom model config")
    try:
        config = json.loads(meta[_KEY])
    except json.JSONDecodeError:
        raise CheckpointError(f"{path}: the clearzoom model config is not valid JSON") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        found = config.get("format") if isinstance(config, dict) else type(config).__name__
        raise CheckpointError(f"{path}: unknown model format {found!r}")
    if not isinstance(config.get("spec"), dict) or not isinstance(config.get("normalization"), dict):
        raise CheckpointError(f"{path}: the model config needs a 'spec' and a 'normalization' mapping")
    return config, sd
