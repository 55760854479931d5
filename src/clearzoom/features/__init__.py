"""Feature upsampling (FeatSharp, arXiv 2502.16025): sharper high-resolution feature maps."""

from .upsample import METHODS, joint_bilateral, upsample

__all__ = ["METHODS", "joint_bilateral", "upsample"]
