"""Input analysis: format, size, JPEG compression (quality from the quantization tables),
blockiness and noise, and the restoration task in plain words."""

from .image import ImageAnalysis, analyze_image, describe_task
from .jpeg import JpegInfo, estimate_quality, jpeg_info, jpeg_quality
from .signals import blockiness, noise_sigma

__all__ = [
    "ImageAnalysis",
    "JpegInfo",
    "analyze_image",
    "blockiness",
    "describe_task",
    "estimate_quality",
    "jpeg_info",
    "jpeg_quality",
    "noise_sigma",
]
