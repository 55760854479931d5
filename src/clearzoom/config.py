"""Typed configuration records read from YAML: one loader for training and the benchmarks.

A config is a frozen dataclass whose fields carry their bounds (:func:`bounded`); :func:`build`
turns a mapping (as YAML gives it) into one, refusing unknown keys, wrong types and out-of-range
values with a :class:`~clearzoom.errors.ConfigError` that names the key, e.g.
``optim.lr: must be > 0, got -1``. Nested dataclasses are sections (``optim.lr``).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
import os
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import ConfigError, first_line

__all__ = ["bounded", "build", "read_yaml"]


def bounded(
    default: Any,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    choices: tuple | None = None,
) -> Any:
    """A dataclass field with a default and the values it accepts: ``lo`` <= v (< if ``lo_open``)
    <= ``hi``, or one of ``choices``."""
    return dataclasses.field(
        default=default, metadata={"lo": lo, "hi": hi, "lo_open": lo_open, "choices": choices}
    )


def read_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """A YAML file's top-level mapping, or ConfigError naming the file."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not valid YAML ({first_line(exc)})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return raw


def build(cls: type, raw: Any, prefix: str = "") -> Any:
    """An instance of the dataclass ``cls`` from the mapping ``raw`` (missing keys: defaults)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping, got {raw!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        where = f"{prefix}." if prefix else ""
        raise ConfigError(f"unknown config key {where}{unknown[0]} (known: {', '.join(fields)})")
    kwargs = {}
    for name, value in raw.items():
        key = f"{prefix}.{name}" if prefix else name
        tp = hints[name]
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            kwargs[name] = build(tp, value, key)
        else:
            kwargs[name] = _check_bounds(convert(value, tp, key), fields[name].metadata, key)
    return cls(**kwargs)


def _check_bounds(v: Any, meta: typing.Mapping[str, Any], key: str) -> Any:
    if meta.get("choices") and v not in meta["choices"]:
        raise ConfigError(f"{key}: must be one of {', '.join(meta['choices'])}, got {v!r}")
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and (v < lo or (meta["lo_open"] and v == lo)):
        raise ConfigError(f"{key}: must be {'>' if meta['lo_open'] else '>='} {lo}, got {v!r}")
    if hi is not None and v > hi:
        raise ConfigError(f"{key}: must be <= {hi}, got {v!r}")
    return v


def convert(value: Any, tp: Any, key: str) -> Any:
    """``value`` as type ``tp`` (bool/int/float/str/dict/tuple/Optional), or ConfigError."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return convert(value, inner, key)
    if origin is tuple:
        return _to_tuple(value, typing.get_args(tp), key)
    if tp in _SCALARS:
        return _SCALARS[tp](value, key)
    raise AssertionError(f"unhandled config type {tp!r}")  # pragma: no cover


def _to_tuple(value: Any, args: tuple, key: str) -> tuple:
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{key}: expected a list, got {value!r}")
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(convert(v, args[0], f"{key}[{i}]") for i, v in enumerate(value))
    if len(value) != len(args):
        raise ConfigError(f"{key}: expected {len(args)} values, got {len(value)}")
    out = tuple(convert(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True)))
    if len(out) == 2 and all(isinstance(v, (int, float)) for v in out) and out[0] > out[1]:
        raise ConfigError(f"{key}: expected [low, high] with low <= high, got {list(value)}")
    return out


def _to_bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    return value


def _to_int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    return value


def _to_float(value: Any, key: str) -> float:
    if isinstance(value, str):  # YAML 1.1 reads 1e-4 (no dot) as a string
        with contextlib.suppress(ValueError):
            value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{key}: expected a finite number, got {value!r}")
    return float(value)


def _to_str(value: Any, key: str) -> str:
    if not isinstance(value, (str, os.PathLike)):
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    return str(value)


def _to_dict(value: Any, key: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a mapping, got {value!r}")
    return copy.deepcopy(value)


_SCALARS: dict[Any, Callable[[Any, str], Any]] = {
    bool: _to_bool,
    int: _to_int,
    float: _to_float,
    str: _to_str,
    dict: _to_dict,
}
