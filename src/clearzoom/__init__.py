"""clearzoom: restore and magnify compressed images at any scale with a Local Implicit Image Function.

The public API (everything else is internal)::

    import clearzoom
    out = clearzoom.upscale(image, scale=3.7)            # PIL or numpy in, same kind out
    out = clearzoom.upscale(image, size=(1920, 1080))     # exact size
    model = clearzoom.load_model("clearzoom-jpeg")         # or a .safetensors / official LIIF .pth
    clearzoom.parse_prompt("remove the grain, 2x").to_dict()  # tasks, strengths and geometry

``import clearzoom`` is light: torch and the models load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__
from .errors import CheckpointError, ClearZoomError, InvalidInputError, InvalidTargetError, UnknownModelError

_LAZY = {
    "Model": "clearzoom.models.model",
    "convert_checkpoint": "clearzoom.checkpoints.loading",
    "list_models": "clearzoom.models.pretrained",
    "load_model": "clearzoom.checkpoints.loading",
    "parse_prompt": "clearzoom.instruct.prompt",
    "upscale": "clearzoom.inference.api",
    "upscale_file": "clearzoom.inference.api",
}

__all__ = sorted(
    [
        "CheckpointError",
        "ClearZoomError",
        "InvalidInputError",
        "InvalidTargetError",
        "Model",
        "UnknownModelError",
        "__version__",
        "convert_checkpoint",
        "list_models",
        "load_model",
        "parse_prompt",
        "upscale",
        "upscale_file",
    ]
)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'clearzoom' has no attribute {name!r}")


def __dir__() -> list[str]:
    return list(__all__)
