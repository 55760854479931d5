"""The exceptions clearzoom raises, one tree::

    ClearZoomError                 base: catch this to catch everything below
    ├── CheckpointError            a file that is not a usable checkpoint (or unsafe to load)
    ├── UnknownModelError          a model name or spec name that is not registered
    ├── InvalidInputError          an image that cannot be read, or is empty/unsupported
    ├── InvalidTargetError         a scale/size/region that is non-positive, absurd or over the limit
    └── ConfigError                a training/benchmark config with an unknown key or a bad value

Every message is one line that says what was wrong and, where it helps, what to do instead.
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "ClearZoomError",
    "ConfigError",
    "InvalidInputError",
    "InvalidTargetError",
    "UnknownModelError",
    "first_line",
]


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, for a one-line error; its type name when the
    message is empty."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class ClearZoomError(Exception):
    """Base of every error clearzoom raises on purpose."""


class CheckpointError(ClearZoomError):
    """The file is not a checkpoint clearzoom can load safely."""


class UnknownModelError(ClearZoomError, KeyError):
    """A model name/spec that clearzoom does not know."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InvalidInputError(ClearZoomError, ValueError):
    """An input image that cannot be used."""


class InvalidTargetError(ClearZoomError, ValueError):
    """A requested output scale, size or region that cannot be produced."""


class ConfigError(ClearZoomError, ValueError):
    """A configuration file or value that cannot be used (unknown key, wrong type, out of range)."""
