"""What a file says about its image besides the pixels."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ImageMeta"]


@dataclass(frozen=True)
class ImageMeta:
    """Metadata of an image file, as read; all of it is optional.

    Attributes:
        format: Pillow's format name (``JPEG``, ``PNG``, ...), None for an image made in memory.
        icc_profile: the embedded colour profile, carried to outputs.
        exif: the EXIF block (orientation already applied and removed), carried to outputs.
        jpeg_quality: the IJG quality read from a JPEG's quantization tables, None otherwise.
        dpi: ``(x, y)`` resolution of the oriented image, kept unchanged in outputs.
    """

    format: str | None = None
    icc_profile: bytes | None = None
    exif: bytes | None = None
    jpeg_quality: int | None = None
    dpi: tuple[float, float] | None = None
