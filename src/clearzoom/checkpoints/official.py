"""The official LIIF checkpoint format (github.com/yinboc/liif), read safely and converted on purpose.

An official ``.pth`` file is ``{'model': {'name': 'liif', 'args': {...}, 'sd': state_dict}, ...}``
(training checkpoints also hold ``optimizer`` and ``epoch``). Two things differ from what clearzoom
runs, and both are handled explicitly here rather than by a lenient load:

* the EDSR encoder carries ``sub_mean``/``add_mean`` parameters that its forward never uses
  (LIIF normalises by (x - 0.5) / 0.5 instead): they are dropped, then the rest loads *strictly*;
* the file does not record that normalisation: :data:`LIIF_NORMALIZATION` is attached.

Files are read with ``torch.load(weights_only=True)``: a pickle that needs code to load is refused,
never loaded unsafely.
"""

from __future__ import annotations

import os
import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError, first_line

__all__ = ["UNUSED_OFFICIAL_KEYS", "convert_official_state_dict", "read_official"]

#: encoder entries of official checkpoints that no forward pass uses
UNUSED_OFFICIAL_KEYS = ("encoder.sub_mean.", "encoder.add_mean.")


def safe_torch_load(path: str | os.PathLike) -> Any:
    """``torch.load(weights_only=True)`` with every failure turned into a one-line CheckpointError."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        with warnings.catch_warnings():  # torch's note on old pickles: the outcome is what counts
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise CheckpointError(
            f"{path}: refused: the file needs code to unpickle, which is unsafe"
            f" (weights_only load failed: {first[:160]})"
        ) from None
    except (
        RuntimeError,
        EOFError,
        zipfile.BadZipFile,
        ValueError,
        OSError,
        AttributeError,
        TypeError,
        KeyError,
        IndexError,
    ) as exc:
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({type(exc).__name__})") from None
    except Exception as exc:  # safetensors' own error type
        if type(exc).__module__.split(".")[0] != "safetensors":  # torch hands some files to it
            raise
        raise CheckpointError(f"{path}: not a readable checkpoint ({first_line(exc)})") from None


def read_official(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Read an official LIIF checkpoint: returns ``(spec, state_dict)`` (state dict unconverted)."""
    obj = safe_torch_load(path)
    model = obj.get("model") if isinstance(obj, dict) else None
    if not (isinstance(model, dict) and {"name", "args", "sd"} <= set(model)):
        raise CheckpointError(
            f"{path}: not a LIIF checkpoint (expected {{'model': {{'name', 'args', 'sd'}}}})"
        )
    sd = model["sd"]
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise CheckpointError(f"{path}: the checkpoint's 'sd' is not a state dict of tensors")
    return {"name": model["name"], "args": model["args"]}, sd


def convert_official_state_dict(
    sd: dict[str, torch.Tensor], target: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Official state dict -> clearzoom state dict for a module whose state dict is ``target``.

    Drops :data:`UNUSED_OFFICIAL_KEYS`, then checks key by key that names and shapes match exactly.
    Raises :class:`CheckpointError` naming the first mismatch.
    """
    out = {k: v for k, v in sd.items() if not k.startswith(UNUSED_OFFICIAL_KEYS)}
    missing = sorted(set(target) - set(out))
    unexpected = sorted(set(out) - set(target))
    if missing or unexpected:
        raise CheckpointError(
            f"checkpoint does not match its spec: missing {missing[:3]}, unexpected {unexpected[:3]}"
        )
    for k, v in out.items():
        if tuple(v.shape) != tuple(target[k].shape):
            raise CheckpointError(
                f"checkpoint does not match its spec: {k} has shape {tuple(v.shape)},"
                f" expected {tuple(target[k].shape)}"
            )
    return out
