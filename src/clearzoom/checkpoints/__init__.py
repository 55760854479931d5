"""Checkpoints: safe loading of official LIIF files and clearzoom's self-describing format."""

from .blend import blend_models, crisp_model
from .loading import convert_checkpoint, load_model
from .native import read_native, save_native
from .official import convert_official_state_dict, read_official

__all__ = [
    "blend_models",
    "crisp_model",
    "convert_checkpoint",
    "convert_official_state_dict",
    "load_model",
    "read_native",
    "read_official",
    "save_native",
]
