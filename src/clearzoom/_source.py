"""An image source given as a path or as the file's bytes, read once into memory."""

from __future__ import annotations

import os
import struct
from pathlib import Path

from .errors import InvalidInputError

__all__ = ["DECODE_ERRORS", "ImageSource", "source_bytes"]

#: what decoders raise on crafted or damaged files besides their own errors (Pillow raises
#: SyntaxError for a broken PNG chunk, TypeError or ZeroDivisionError for nonsense tag values;
#: struct.error for short headers). Readers turn these into one-line InvalidInputErrors.
DECODE_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    EOFError,
    KeyError,
    IndexError,
    ZeroDivisionError,
    struct.error,
)

#: what clearzoom's readers accept: a path, or the bytes of a file (e.g. an upload)
ImageSource = str | os.PathLike | bytes | bytearray | memoryview


def source_bytes(source: ImageSource) -> tuple[bytes, str]:
    """``(the file's bytes, a name for messages)``: ``<bytes>`` for bytes, else the path.

    Raises:
        InvalidInputError: a path that is not a file.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "<bytes>"
    path = Path(source)
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such file")
    return path.read_bytes(), str(path)
