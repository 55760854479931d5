"""What a quality benchmark measures: its definition (:class:`BenchConfig`, from YAML or the
command line) and the names of its degradations."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import bounded, build, read_yaml
from ..errors import ClearZoomError, ConfigError
from ..precision import PRECISIONS
from .protocol import Degradation

__all__ = ["BenchConfig", "BenchError", "config_from_yaml", "parse_degradation"]


class BenchError(ClearZoomError, ValueError):
    """A benchmark definition that cannot run (bad path, method or degradation)."""


@dataclass(frozen=True)
class BenchConfig:
    data: tuple[Path, ...]
    scales: tuple[int, ...] = (2, 3, 4)
    degradations: tuple[str, ...] = ("clean",)
    methods: tuple[str, ...] = ("bicubic",)
    out_dir: Path = Path("bench-results")
    precision: str = "fp32"
    perceptual: bool = False  # also NIQE, HaarPSI and GMSD (eval/perceptual.py): slower
    extra: dict = field(default_factory=dict)
    #: where relative model-file methods are found (the YAML's folder); their names stay as written
    base: Path = Path(".")


@dataclass(frozen=True)
class _BenchFile:
    """The keys of a benchmark definition (YAML), as :func:`clearzoom.config.build` checks them."""

    data: tuple[str, ...] = ()
    scales: tuple[int, ...] = (2, 3, 4)
    degrade: tuple[str, ...] = ("clean",)
    methods: tuple[str, ...] = ("bicubic",)
    out: str = "bench-results"
    precision: str = bounded("fp32", choices=PRECISIONS)
    perceptual: bool = False


_LISTS = ("data", "scales", "degrade", "methods")  # keys that may be given as "a, b, c"


def _as_list(v: Any, *, numbers: bool = False) -> Any:
    """A comma-separated string as a list (``scales: 2,3,4`` as numbers); anything else as is."""
    if not isinstance(v, str):
        return v
    items = [x.strip() for x in v.split(",")]
    return [int(x) if numbers and x.isdigit() else x for x in items]


def config_from_yaml(path: str | Path) -> BenchConfig:
    """A benchmark definition from YAML; relative paths are relative to the YAML file. Keys::

    data: [../shared/data/bench/Set5, ../shared/data/bench/Set14]
    scales: [2, 3, 4]
    degrade: [clean, jpeg:10, jpeg:30]
    methods: [bicubic, lanczos, clearzoom:clearzoom-jpeg]
    out: bench-results
    precision: fp32
    """
    path = Path(path)
    try:
        doc = read_yaml(path)
        if not doc.get("data"):
            raise ConfigError("a benchmark definition is a mapping with at least 'data'")
        spec = build(
            _BenchFile, {k: _as_list(v, numbers=k == "scales") if k in _LISTS else v for k, v in doc.items()}
        )
    except ConfigError as exc:
        raise BenchError(f"{path}: {str(exc).removeprefix(f'{path}: ')}") from None
    base = path.parent

    def resolve(p: str) -> Path:
        return Path(p) if Path(p).is_absolute() else base / p

    return BenchConfig(
        data=tuple(resolve(d) for d in spec.data),
        scales=spec.scales,
        degradations=spec.degrade,
        methods=spec.methods,
        out_dir=resolve(spec.out),
        precision=spec.precision,
        perceptual=spec.perceptual,
        base=base,
    )


def parse_degradation(text: str) -> Degradation:
    """``clean``, ``jpeg:Q`` or ``webp:Q`` (Q in 1..100) as a :class:`~.protocol.Degradation`."""
    if text == "clean":
        return Degradation()
    kind, _, q = text.partition(":")
    if kind in ("jpeg", "webp") and q.isdigit() and 1 <= int(q) <= 100:
        return Degradation(kind, int(q))
    raise BenchError(f"unknown degradation {text!r} (use clean, jpeg:<1..100> or webp:<1..100>)")
