"""The crisp strength control: one network whose weights lie between a faithful model and its
perceptual (crisp) partner, as Real-ESRGAN's ``--denoise_strength`` interpolates two networks.

``strength`` 0 gives the faithful model itself (the very object: bit-identical outputs), 1 the
crisp one, and values between the weights ``(1 - s) * faithful + s * crisp``. That is meaningful
because the crisp model is fine-tuned *from* the faithful weights (docs/training.md), so the two
lie in one basin; two unrelated networks would not blend into anything useful.
"""

from __future__ import annotations

import copy
import dataclasses
import os

import torch

from ..errors import CheckpointError, InvalidInputError
from ..models.model import Model
from ..models.pretrained import DEFAULT_MODEL, PRETRAINED
from .loading import load_model

__all__ = ["blend_models", "crisp_model"]


def blend_models(faithful: Model, crisp: Model, strength: float) -> Model:
    """The model with weights ``(1 - strength) * faithful + strength * crisp``.

    Raises:
        InvalidInputError: strength outside [0, 1].
        CheckpointError: the two models do not share one architecture and normalisation.
    """
    if not 0.0 <= strength <= 1.0:
        raise InvalidInputError(f"crisp strength must be in 0..1, got {strength}")
    if crisp.spec != faithful.spec or crisp.normalization != faithful.normalization:
        raise CheckpointError(
            f"{crisp.name} cannot be blended with {faithful.name}: their architectures differ"
        )
    if strength == 0.0:
        return faithful
    if strength == 1.0:
        return crisp
    net = copy.deepcopy(faithful.net)
    theirs = crisp.net.state_dict()
    with torch.no_grad():
        for name, tensor in net.state_dict().items():
            if tensor.is_floating_point():
                tensor.lerp_(theirs[name].to(tensor.device, tensor.dtype), strength)
    return dataclasses.replace(
        faithful,
        name=f"{faithful.name} + {crisp.name} at crisp {strength:g}",
        net=net,
        provenance={**faithful.provenance, "crisp": {"partner": crisp.name, "strength": strength}},
    )


def crisp_model(
    model: str | os.PathLike | Model | None,
    strength: float,
    partner: str | os.PathLike | Model | None = None,
    *,
    device: str | torch.device = "cpu",
) -> Model:
    """``model`` (the default when None) blended at ``strength`` with its crisp partner: ``partner``
    when given, else the one the package ships for that model."""
    faithful = load_model(model, device=device)
    if strength == 0.0:
        return faithful
    if partner is None:
        key = DEFAULT_MODEL if model is None else model
        entry = PRETRAINED.get(key) if isinstance(key, str) else None
        if entry is None or entry.crisp is None:
            raise CheckpointError(
                f"{faithful.name} has no crisp partner in this version: give one (--crisp-model FILE, "
                "a perceptual model fine-tuned from it)"
            )
        partner = entry.crisp
    return blend_models(faithful, load_model(partner, device=device), strength)
