"""Image files at the boundary: one reader (a path or bytes), one writer, one 8-bit conversion.

Everything that knows about file formats, bit depths, orientation and metadata lives here; the
rest of clearzoom sees a PIL image or a numpy array plus an :class:`ImageMeta`::

    image, meta = read_image("photo.jpg")          # or read_image(data) for bytes
    meta.jpeg_quality, meta.dpi                    # typed metadata
    write_image(image, "out.png", meta=meta)       # ICC, EXIF and dpi kept; atomic

=================  =====================================  =======================================
file               read as                                written from
=================  =====================================  =======================================
8-bit formats      a PIL image, EXIF orientation applied  a PIL image (any mode Pillow writes;
                                                          CMYK becomes sRGB where the format has
                                                          no CMYK)
16-bit PNG         ``(h, w, c)`` uint16 array (pypng)     a uint16 array (pypng)
16-bit TIFF        ``(h, w, c)`` uint16 array (tifffile)  a uint16 array (tifffile)
=================  =====================================  =======================================

The ICC profile, the EXIF block and the resolution (dpi) are carried to the output where the
format stores them (a TIFF's descriptive tags count as its EXIF). 16-bit results asked for in an
8-bit format (JPEG, WebP, BMP) are rounded to 8 bit with a warning. An animated file gives its
first frame, with a warning. Writes are atomic: a failed write never leaves a partial file.
"""

from ._convert import to_uint8
from ._files import FORMATS, IMAGE_EXTENSIONS, find_images, output_format, plan_outputs
from ._meta import ImageMeta
from ._read import image_dpi, read_image, read_pixels
from ._write import encode_image, write_image

__all__ = [
    "FORMATS",
    "IMAGE_EXTENSIONS",
    "ImageMeta",
    "encode_image",
    "find_images",
    "image_dpi",
    "output_format",
    "plan_outputs",
    "read_image",
    "read_pixels",
    "to_uint8",
    "write_image",
]
