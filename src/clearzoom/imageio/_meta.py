"""What a file says about its image besides the pixels."""

from __future__ import annotations

from dataclasses import dataclass

from ..analysis.webp import told_quality

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
        webp_quality: the libwebp quality a lossy WebP was encoded at, estimated from its VP8
            quantizer (:mod:`clearzoom.analysis.webp`); None otherwise.
    """

    format: str | None = None
    icc_profile: bytes | None = None
    exif: bytes | None = None
    jpeg_quality: int | None = None
    dpi: tuple[float, float] | None = None
    webp_quality: int | None = None

    def colour_only(self) -> ImageMeta:
        """This metadata less everything but the format and the colour profile (no EXIF: no GPS
        position, camera or dates; no dpi), for outputs shared without it."""
        return ImageMeta(format=self.format, icc_profile=self.icc_profile)

    @property
    def restoration_quality(self) -> int | None:
        """The JPEG quality to tell a JPEG-aware model (None: clean): a JPEG's own, or for a lossy
        WebP the JPEG quality that restores it best (:func:`~clearzoom.analysis.webp.told_quality`)."""
        if self.jpeg_quality is not None:
            return self.jpeg_quality
        return told_quality(self.webp_quality) if self.webp_quality is not None else None
