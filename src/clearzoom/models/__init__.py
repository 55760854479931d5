"""Models: EDSR/RDN encoders, the MLP decoder and LIIF, built from specs by an explicit registry."""

from . import edsr, liif, mlp, rdn  # noqa: F401  (the built-in architectures register themselves)
from .configs import Normalization
from .model import Model
from .registry import make, register, registered_names

__all__ = ["Model", "Normalization", "make", "register", "registered_names"]
