"""What every command shares: one-line errors, the scale and size parsers, model destinations."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from ..errors import ClearZoomError

__all__ = ["EXPECTED", "check_model_dst", "fail", "parse_scale", "parse_size"]

EXPECTED = (ClearZoomError, OSError, ValueError)  # one-line errors; anything else is a bug
PRECISION_CHOICES = click.Choice(["auto", "fp32", "int8", "bf16", "fp16"])
DEVICE_CHOICES = click.Choice(["auto", "cpu", "cuda"])


def say_error(msg: str) -> None:
    """Print ``error: msg`` on stderr (the command goes on, e.g. with the rest of a batch)."""
    click.echo(f"error: {msg}", err=True)


def fail(msg: str, code: int = 1) -> NoReturn:
    """Print ``error: msg`` on stderr and exit with ``code``."""
    say_error(msg)
    sys.exit(code)


def parse_scale(value: str | None) -> float | tuple[float, float] | None:
    """``"3.7"`` -> 3.7; ``"4,3"`` or ``"4x3"`` -> (4.0, 3.0) (per axis, x then y)."""
    if value is None:
        return None
    parts = value.lower().replace("x", ",").split(",")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a number or SX,SY pair") from None
    if len(nums) == 1:
        return nums[0]
    if len(nums) == 2:
        return (nums[0], nums[1])
    raise click.BadParameter(f"{value!r}: give S or SX,SY")


def parse_size(value: str | None) -> tuple[int, int] | None:
    """``"1920x1080"`` -> (1920, 1080)."""
    if value is None:
        return None
    try:
        w, h = value.lower().split("x")
        return int(w), int(h)
    except ValueError:
        raise click.BadParameter(f"{value!r}: give WIDTHxHEIGHT, e.g. 1920x1080") from None


def check_model_dst(dst: Path, overwrite: bool) -> None:
    """A model file destination: .safetensors, and not replaced unless asked."""
    if dst.suffix != ".safetensors":
        raise click.UsageError("the output must end in .safetensors")
    if dst.exists() and not overwrite:
        fail(f"{dst}: exists (use --overwrite to replace it)")
