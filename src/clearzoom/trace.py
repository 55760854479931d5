"""A record of the stages a render actually ran: tensor shapes, parameters, MACs and seconds.

Pass a :class:`Trace` to the engine (``render_color(..., trace=t)``) or to the API, and it fills
in one :class:`Stage` per named step, accumulated over tiles and query chunks::

    t = Trace()
    upscale(img, scale=4, trace=t)
    for s in t.stages.values():
        print(s.name, s.shape, s.calls, f"{s.seconds:.3f}s", s.macs)

Without a trace the engine uses :data:`NO_TRACE`, whose stages cost nothing. Stage times are wall
times (on CUDA the trace synchronises the device at each stage boundary, so they are real).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

__all__ = ["NO_TRACE", "Stage", "Trace", "Tracer", "conv_macs"]


@dataclass
class Stage:
    """One stage: the shape of its first output, and totals over all its calls."""

    name: str
    shape: tuple[int, ...] | None = None
    seconds: float = 0.0
    calls: int = 0
    macs: int = 0
    params: int | None = None
    detail: str = ""

    def set_shape(self, value: torch.Tensor | tuple[int, ...]) -> None:
        if self.shape is None:
            self.shape = tuple(value.shape) if isinstance(value, torch.Tensor) else tuple(value)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "shape": list(self.shape) if self.shape else None,
            "seconds": self.seconds,
            "calls": self.calls,
            "macs": self.macs,
            "params": self.params,
            "detail": self.detail,
        }


@dataclass
class Trace:
    """Collects :class:`Stage` records in the order stages first ran, plus free-form facts."""

    stages: dict[str, Stage] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    device: torch.device | None = None

    @contextlib.contextmanager
    def stage(
        self, name: str, *, macs: int = 0, params: int | None = None, detail: str = "", count: bool = True
    ) -> Iterator[Stage]:
        """Time the block as stage ``name`` (created on first use) and add ``macs`` to it.

        ``count=False`` for a second block of a stage that the same call already counted.
        """
        st = self.stages.get(name)
        if st is None:
            st = self.stages[name] = Stage(name, params=params, detail=detail)
        self._sync()
        t = time.perf_counter()
        try:
            yield st
        finally:
            self._sync()
            st.seconds += time.perf_counter() - t
            st.calls += int(count)
            st.macs += int(macs)

    def _sync(self) -> None:
        if self.device is not None and self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    @property
    def total_seconds(self) -> float:
        return sum(s.seconds for s in self.stages.values())


class _NullStage:
    def set_shape(self, value) -> None:
        pass


class _NoTrace:
    """The do-nothing trace the engine uses by default."""

    _stage = _NullStage()
    facts: dict = {}

    @contextlib.contextmanager
    def stage(self, name: str, **_) -> Iterator[_NullStage]:
        yield self._stage


NO_TRACE = _NoTrace()
#: what the engine records stages into: a :class:`Trace`, or :data:`NO_TRACE`
Tracer = Trace | _NoTrace


def conv_macs(module: nn.Module, h: int, w: int) -> int:
    """Multiply-accumulates of every Conv2d in ``module`` on an ``h x w`` input, for stride-1,
    same-padding convolutions (all of EDSR's and RDN's without an upsampler)."""
    return sum(
        m.in_channels // m.groups * m.out_channels * m.kernel_size[0] * m.kernel_size[1] * h * w
        for m in module.modules()
        if isinstance(m, nn.Conv2d)
    )
