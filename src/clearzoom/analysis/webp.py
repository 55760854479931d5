"""How strongly a lossy WebP was compressed, read from its VP8 frame header (no decoding).

A lossy WebP holds one VP8 key frame. Its first partition starts with the frame's quantizer indices
(RFC 6386, sections 9.2-9.6), coded with VP8's boolean entropy coder (section 7). The frame's
base luma AC index ``y_ac_qi`` (0..127, larger is coarser) says how much detail was thrown away.
With segmentation on, as libwebp encodes by default, segments of smooth content get finer indices
of their own (content-dependent); the base index is the coarsest and follows the quality setting.

``quality_estimate`` inverts libwebp's quality -> base index mapping, measured below on training
photos; on the bench photos it lands within 10 points of the true setting
(tests/analysis/test_webp.py), which is finer than the restoration needs.

JPEG-aware models are told a JPEG quality, and WebP's artifacts are not JPEG's: its in-loop
deblocking filter leaves it smoother. :func:`told_quality` maps the WebP quality to the JPEG
quality that restores it best, ``min(q + 45, 90)``. It was calibrated on held-out training images
(x4 from WebP q15, q30, q60 and q80; docs/evaluation.md, "WebP inputs").
"""

from __future__ import annotations

import struct
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["WebpInfo", "told_quality", "webp_info"]

#: libwebp quality -> base luma AC quantizer index: the median over 12 training photos (every
#: 40th of the training split), encoded by Pillow 11's libwebp; the spread was 7 indices at most
_QUALITY_TO_QI = (
    (5, 102), (10, 92), (20, 78), (30, 68), (40, 59), (50, 52),
    (60, 45), (70, 39), (80, 27), (90, 12), (95, 6),
)  # fmt: skip


@dataclass(frozen=True)
class WebpInfo:
    """What the VP8 header says: the base luma AC quantizer index, the mean over segments, and the
    libwebp quality that gives that base."""

    quantizer: int
    mean_quantizer: float
    quality_estimate: int

    def to_dict(self) -> dict:
        return asdict(self)


def told_quality(webp_quality: int) -> int:
    """The JPEG quality to tell a JPEG-aware model for a WebP of this (estimated) quality."""
    return int(min(max(webp_quality + 45, 1), 90))


class _BoolDecoder:
    """VP8's boolean entropy decoder (RFC 6386, section 7.3)."""

    def __init__(self, data: bytes):
        if len(data) < 2:
            raise ValueError("VP8 partition too short")
        self.data, self.pos = data, 2
        self.value, self.range, self.bits = (data[0] << 8) | data[1], 255, 0

    def bit(self, prob: int = 128) -> int:
        split = 1 + (((self.range - 1) * prob) >> 8)
        big = split << 8
        if self.value >= big:
            out, self.range, self.value = 1, self.range - split, self.value - big
        else:
            out, self.range = 0, split
        while self.range < 128:
            self.value, self.range, self.bits = self.value << 1, self.range << 1, self.bits + 1
            if self.bits == 8:
                self.bits = 0
                if self.pos < len(self.data):
                    self.value |= self.data[self.pos]
                    self.pos += 1
        return out

    def literal(self, n: int) -> int:
        v = 0
        for _ in range(n):
            v = (v << 1) | self.bit()
        return v

    def signed(self, n: int) -> int:
        v = self.literal(n)
        return -v if self.bit() else v

    def optional(self, n: int, signed: bool = True) -> int:
        """A flag, then (if set) an ``n``-bit value with a sign bit when ``signed``."""
        if not self.bit():
            return 0
        return self.signed(n) if signed else self.literal(n)


def _vp8_payload(data: bytes) -> bytes | None:
    """The payload of the ``VP8 `` chunk of a RIFF WebP (None: not a lossy WebP)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    i = 12
    while i + 8 <= len(data):
        tag, size = data[i : i + 4], struct.unpack("<I", data[i + 4 : i + 8])[0]
        if tag == b"VP8 ":
            return data[i + 8 : i + 8 + size]
        i += 8 + size + (size & 1)
    return None


def webp_info(data: bytes) -> WebpInfo | None:
    """The compression of a lossy WebP file's bytes; None for anything else (lossless WebP too)
    or a header that cannot be read."""
    payload = _vp8_payload(data)
    if payload is None or len(payload) < 12 or payload[0] & 1 or payload[3:6] != b"\x9d\x01\x2a":
        return None  # not a key frame with the VP8 start code
    try:
        base, mean = _quantizers(_BoolDecoder(payload[10:]))
    except (ValueError, IndexError):
        return None
    qualities, indices = zip(*_QUALITY_TO_QI, strict=True)
    # the index falls as the quality rises: interpolate on the reversed table
    quality = float(np.interp(base, indices[::-1], qualities[::-1]))
    return WebpInfo(quantizer=base, mean_quantizer=round(mean, 2), quality_estimate=int(round(quality)))


def _quantizers(d: _BoolDecoder) -> tuple[int, float]:
    """The base luma AC quantizer index of the frame header that ``d`` reads, and the mean over
    its segments (RFC 6386, 9.2-9.6)."""
    d.literal(2)  # colour space, clamping type
    segment_q: list[int] | None = None
    absolute = False
    if d.bit():  # segmentation enabled
        update_map, update_data = d.bit(), d.bit()
        if update_data:
            absolute = bool(d.bit())
            segment_q = [d.optional(7) for _ in range(4)]
            for _ in range(4):
                d.optional(6)  # loop filter level per segment
        if update_map:
            for _ in range(3):
                d.optional(8, signed=False)  # segment map probabilities
    d.literal(1 + 6 + 3)  # filter type, loop filter level, sharpness
    if d.bit() and d.bit():  # loop filter deltas enabled and updated
        for _ in range(8):
            d.optional(6)
    d.literal(2)  # log2 of the number of DCT partitions
    base = d.literal(7)
    if segment_q is None:
        return base, float(base)
    per_segment = [q if absolute else base + q for q in segment_q]
    return base, float(np.mean([min(max(q, 0), 127) for q in per_segment]))
