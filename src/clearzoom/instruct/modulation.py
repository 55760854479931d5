"""Task-specific low-rank weight biases on a shared LIIF (Instruct-IPT's weight modulation).

Instruct-IPT (Tian et al., arXiv 2407.00676) keeps one backbone for all tasks and adds, on the few
weights that are most sensitive to the task, a per-task bias decomposed to low rank; backbone and
biases are trained together. Its code is not public: this is our implementation of the idea on
LIIF's convolutions and linear layers, with no change to LIIF's maths.

For task ``t`` and chosen weight ``W`` (``(out, in)`` or ``(out, in, kh, kw)``) the delta is
``B_t @ A_t`` reshaped to ``W``'s shape, with ``A_t (r, in*kh*kw)`` and ``B_t (out, r)``; ``B`` starts
at zero so training starts exactly at the backbone. A request with strengths ``{t: s_t}`` uses
``W + sum_t s_t * B_t A_t``. For inference the deltas are merged into a copy of the network once
per request (:meth:`WeightModulation.merged`), so the engine, its tiling, int8 and speed are those
of a plain model; training runs the unmerged form (:meth:`WeightModulation.weights`) through
``torch.func.functional_call``, so each delta gets the gradient of its own task only.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["ModulationSpec", "WeightModulation", "conv_and_linear_weights"]


@dataclass(frozen=True)
class ModulationSpec:
    """Which tasks, on which weights (parameter names of the LIIF), at what rank."""

    tasks: tuple[str, ...]
    layers: tuple[str, ...]
    rank: int

    def to_dict(self) -> dict:
        return {"tasks": list(self.tasks), "layers": list(self.layers), "rank": self.rank}

    @classmethod
    def from_dict(cls, d: Mapping) -> ModulationSpec:
        return cls(tuple(d["tasks"]), tuple(d["layers"]), int(d["rank"]))


def _key(task: str, layer: str) -> str:
    return f"{task}:{layer}".replace(".", "/")  # ParameterDict keys may not hold dots


class WeightModulation(nn.Module):
    """The per-task low-rank deltas of a :class:`~clearzoom.models.liif.LIIF` (not the network
    itself, which stays the caller's).

    Args:
        net: the backbone, for the shapes of the chosen weights.
        spec: tasks, parameter names (e.g. ``encoder.body.3.body.0.weight``) and rank.
        seed: for ``A``'s initialisation (``B`` is zero).
    """

    def __init__(self, net: nn.Module, spec: ModulationSpec, *, seed: int = 0):
        super().__init__()
        params = dict(net.named_parameters())
        missing = [n for n in spec.layers if n not in params or params[n].dim() not in (2, 4)]
        if missing:
            raise ValueError(f"not conv/linear weights of this network: {missing}")
        if spec.rank < 1:
            raise ValueError(f"rank must be >= 1, got {spec.rank}")
        self.spec = spec
        self.shapes = {n: tuple(params[n].shape) for n in spec.layers}
        gen = torch.Generator().manual_seed(seed)
        self.a = nn.ParameterDict()
        self.b = nn.ParameterDict()
        for task in spec.tasks:
            for name, shape in self.shapes.items():
                fan_in = math.prod(shape[1:])
                a = torch.randn(spec.rank, fan_in, generator=gen) / math.sqrt(fan_in)
                self.a[_key(task, name)] = nn.Parameter(a)
                self.b[_key(task, name)] = nn.Parameter(torch.zeros(shape[0], spec.rank))

    def delta(self, layer: str, strengths: Mapping[str, float]) -> torch.Tensor | None:
        """``sum_t s_t B_t A_t`` for one weight, shaped like it; None when no task applies."""
        out = None
        for task, s in strengths.items():
            if task not in self.spec.tasks:
                raise ValueError(f"unknown task {task!r}: this model has {', '.join(self.spec.tasks)}")
            if s == 0:
                continue
            d = s * (self.b[_key(task, layer)] @ self.a[_key(task, layer)])
            out = d if out is None else out + d
        return None if out is None else out.view(self.shapes[layer])

    def weights(self, net: nn.Module, strengths: Mapping[str, float]) -> dict[str, torch.Tensor]:
        """The modulated weights (differentiable), for ``torch.func.functional_call(net, ...)``."""
        params = dict(net.named_parameters())
        out = {}
        for name in self.spec.layers:
            d = self.delta(name, strengths)
            if d is not None:
                out[name] = params[name] + d
        return out

    @torch.no_grad()
    def merged(self, net: nn.Module, strengths: Mapping[str, float]) -> nn.Module:
        """A copy of ``net`` with the deltas of ``strengths`` added to its weights (eval mode)."""
        copy_ = copy.deepcopy(net)
        params = dict(copy_.named_parameters())
        for name in self.spec.layers:
            d = self.delta(name, strengths)
            if d is not None:
                params[name].add_(d.to(params[name].dtype))
        return copy_.eval()

    def extra_parameters(self, task: str) -> int:
        """Numbers one task adds (its A and B on every chosen weight)."""
        return sum(self.a[_key(task, n)].numel() + self.b[_key(task, n)].numel() for n in self.spec.layers)


def conv_and_linear_weights(net: nn.Module, skip: Sequence[str] = ()) -> list[str]:
    """Names of ``net``'s conv and linear weights (the candidates for modulation), in order."""
    return [
        n for n, p in net.named_parameters() if n.endswith("weight") and p.dim() in (2, 4) and n not in skip
    ]
