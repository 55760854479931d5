"""Training checkpoints (resumable state) and their export to a shippable model file.

A training checkpoint is one ``torch.save`` file, written atomically, holding only tensors and
plain data (it loads with ``weights_only=True``)::

    {"format": "clearzoom-train/1", "config": {...}, "step": 1200, "seconds": 3540.2,
     "cpu_seconds": 3522.9,
     "model": state_dict, "ema": state_dict | None, "optimizer": state_dict,
     "scheduler": {"name": "cosine", "lr": 4.1e-4}, "scaler": state_dict | None,
     "rng": {"torch": ByteTensor, "cuda": [...]}, "last_validation": {...}}

The batches need no saved sampler state: they are a function of (seed, step, rank), see
:mod:`.data`. ``export_model`` writes the EMA weights (or the raw ones) as a clearzoom
safetensors model with the recipe in its provenance.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ..atomic import atomic_path
from ..checkpoints.native import save_native
from ..checkpoints.official import safe_torch_load
from ..errors import CheckpointError
from ..models.configs import Normalization

__all__ = ["FORMAT", "export_model", "load_state", "save_state"]

FORMAT = "clearzoom-train/1"


def save_state(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write a training checkpoint atomically (never a half-written file at ``path``)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, **state}, tmp)
    return path


def load_state(path: str | os.PathLike) -> dict[str, Any]:
    """Read a training checkpoint (safely: tensors and plain data only)."""
    path = Path(path)
    state = safe_torch_load(path)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a clearzoom training checkpoint")
    return state


def export_model(
    checkpoint: str | os.PathLike,
    out: str | os.PathLike,
    *,
    use_ema: bool = True,
    description: str | None = None,
    extra_provenance: dict[str, Any] | None = None,
) -> Path:
    """Turn a training checkpoint into a clearzoom model file (safetensors + config)."""
    state = load_state(checkpoint)
    config = state["config"]
    weights = state["ema"] if use_ema and state.get("ema") is not None else state["model"]
    provenance = {
        "trained_by": "clearzoom train",
        "run": config.get("name"),
        "steps": state["step"],
        "train_seconds": round(float(state["seconds"]), 1),
        "train_cpu_seconds": round(float(state.get("cpu_seconds", 0.0)), 1),
        "weights": "ema" if weights is state.get("ema") else "raw",
        "recipe": {k: config[k] for k in ("data", "degrade", "optim", "train") if k in config},
        "last_validation": state.get("last_validation"),
        "source": Path(checkpoint).name,
        **(extra_provenance or {}),
    }
    desc = description or f"LIIF trained by clearzoom ({config.get('name')}, {state['step']} steps)"
    return save_native(
        out,
        spec=config["model"]["spec"],
        state_dict=weights,
        normalization=Normalization.from_dict(config["model"]["normalization"]),
        description=desc,
        provenance=provenance,
    )
