"""An explicit model registry keyed by LIIF's own spec names.

A *spec* is ``{"name": str, "args": dict}``, exactly as in the official LIIF configs and checkpoints,
so an official spec such as ``{"name": "liif", "args": {"encoder_spec": {"name": "edsr-baseline",
...}}}`` resolves unchanged. Models are registered by the modules that define them; nothing is
discovered by scanning files, and a name can be registered only once. The built-in models
register when the ``clearzoom.models`` package is imported (its ``__init__`` imports them), so this
file imports no model: no import loop.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

from torch import nn

from ..errors import UnknownModelError, first_line

__all__ = ["register", "make", "registered_names"]

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


def register(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Class/function decorator: make ``name`` resolve to the decorated constructor."""

    def decorator(ctor: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"model name {name!r} is already registered")
        _REGISTRY[name] = ctor
        return ctor

    return decorator


def registered_names() -> list[str]:
    """The spec names that :func:`make` understands, sorted."""
    return sorted(_REGISTRY)


def make(spec: dict[str, Any], args: dict[str, Any] | None = None) -> nn.Module:
    """Build the module that ``spec`` describes; ``args`` override/extend ``spec['args']``."""
    if not isinstance(spec, dict) or "name" not in spec:
        raise UnknownModelError(f"a model spec must be a mapping with a 'name', got {spec!r}")
    name = spec["name"]
    if name not in _REGISTRY:
        raise UnknownModelError(f"unknown model spec name {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    model_args = copy.deepcopy(spec.get("args") or {})
    if not isinstance(model_args, dict):
        raise UnknownModelError(f"model {name!r}: its args must be a mapping, got {model_args!r}")
    if args:
        model_args.update(args)
    _check_sizes(name, model_args)
    try:
        return _REGISTRY[name](**model_args)
    except (TypeError, ValueError, RuntimeError) as exc:  # wrong or missing arguments in the spec
        raise UnknownModelError(f"bad arguments for model {name!r}: {first_line(exc)}") from None


#: the largest integer a spec may hold (channels, blocks, layer widths) and the longest list: a
#: crafted file must not make the constructor allocate without bound
MAX_SPEC_INT = 4096
MAX_SPEC_LIST = 64


def _check_sizes(name: str, value: Any, where: str = "") -> None:
    """Refuse integers outside ``0..MAX_SPEC_INT``, non-finite numbers and over-long lists
    anywhere in a spec's arguments (nested specs are checked when they are built)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if not (isinstance(v, dict) and "name" in v):  # a nested spec: checked by its own make()
                _check_sizes(name, v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, (list, tuple)):
        if len(value) > MAX_SPEC_LIST:
            raise UnknownModelError(
                f"model {name!r}: {where} has {len(value)} items (at most {MAX_SPEC_LIST})"
            )
        for v in value:
            _check_sizes(name, v, where)
    elif isinstance(value, float) and not math.isfinite(value):
        raise UnknownModelError(f"model {name!r}: {where} = {value} is not a finite number")
    elif isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= MAX_SPEC_INT:
        raise UnknownModelError(f"model {name!r}: {where} = {value} is outside 0..{MAX_SPEC_INT}")
