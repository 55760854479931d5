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
from collections.abc import Callable
from typing import Any

from torch import nn

from ..errors import UnknownModelError

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
    if args:
        model_args.update(args)
    try:
        return _REGISTRY[name](**model_args)
    except TypeError as exc:  # wrong or missing arguments in the spec
        raise UnknownModelError(f"bad arguments for model {name!r}: {exc}") from None
