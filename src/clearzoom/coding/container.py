"""The ``.czp`` container (version 1): a header, then layers in importance order.

Layout (integers little-endian)::

    0   4 bytes   magic b"CZP\\x1a"
    4   u16       format version (1)
    6   u32       N: the header's length in bytes (at most 1 MiB)
    10  N bytes   the header: UTF-8 JSON (below), zlib-compressed (RFC 1950) with the preset
                  dictionary ``ZDICT`` (this module's; part of version 1); at most 1 MiB inflated
    10+N u32      CRC-32 of the header's bytes
    ...           the layers' payloads, back to back, in the header's order

The header::

    {"width": W, "height": H,              # the image's size (1..65535 each, W*H <= 2**28)
     "encoder": "clearzoom 0.x",
     "layers": [{
        "kind": "base" | "region" | "rest",
        "codec": "jpeg" | "webp" | "avif" | "png",
        "quality": 1..100 or null (png),
        "box": [x, y, w, h],               # where it goes, in image pixels (the base's and the
                                           # rest's: the whole image)
        "size": [w, h],                    # the coded picture's size (the base's is smaller)
        "feather": f,                      # pixels of the box's rim that fade in (regions)
        "label": "text", "rank": 1, "source": "detector:text", "score": 0.93,  # regions
        "length": n, "crc32": c}]}         # the payload's bytes and checksum

A field whose value is its default (feather 0, label and source "", rank 0, score null) is left
out, to keep small files small.

The first layer is the base (the whole image, downscaled); region layers follow by rank; a rest
layer (the whole image at full size) may end the file. Any prefix of whole layers decodes.

:func:`parse` reads what is intact: a damaged header or base layer is an error; a truncated or
damaged later layer is dropped, with a warning, and so is everything after a truncation.
"""

from __future__ import annotations

import json
import logging
import struct
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any, TypeGuard

from ..errors import InvalidInputError

__all__ = ["FORMAT_VERSION", "MAGIC", "Container", "Layer", "pack", "parse"]

log = logging.getLogger(__name__)

MAGIC = b"CZP\x1a"
FORMAT_VERSION = 1
MAX_HEADER = 1 << 20
MAX_SIDE = 65535
MAX_PIXELS = 1 << 28
MAX_LAYERS = 256
CODECS = ("jpeg", "webp", "avif", "png")
KINDS = ("base", "region", "rest")
_PREFIX = struct.Struct("<4sHI")
#: the header's preset deflate dictionary: the JSON its layer tables repeat. It halves a small
#: file's header (268 -> 136 bytes for a base and two regions), which matters at a few kB.
ZDICT = (
    b'{"width":,"height":,"encoder":"clearzoom ","layers":[{"kind":"base","codec":"webp","quality":,'
    b'"box":[0,0,,"size":[,"length":,"crc32":},{"kind":"region","codec":"avif","quality":,"box":[,'
    b'"size":[,"length":,"crc32":,"feather":4,"label":"text","rank":1,"source":"detector:text",'
    b'"score":0.9},{"kind":"rest","label":"face","source":"detector:face","source":"grounding",'
    b'"source":"user","label":"salient","source":"detector:saliency"}]}'
)


@dataclass
class Layer:
    """One layer's table entry (its payload travels beside it, in :class:`Container`)."""

    kind: str
    codec: str
    quality: int | None
    box: tuple[int, int, int, int]
    size: tuple[int, int]
    length: int = 0
    crc32: int = 0
    feather: int = 0
    label: str = ""
    rank: int = 0
    source: str = ""
    score: float | None = None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["box"], d["size"] = list(self.box), list(self.size)
        return {k: v for k, v in d.items() if k not in _DEFAULTS or v != _DEFAULTS[k]}


_DEFAULTS = {"feather": 0, "label": "", "rank": 0, "source": "", "score": None}


@dataclass
class Container:
    """A parsed (or to-be-packed) file: the image's size, the layers and their payloads."""

    width: int
    height: int
    layers: list[Layer]
    payloads: list[bytes]
    encoder: str = ""
    # what parse() dropped: (layer index, why); the layers above are the intact prefix
    dropped: list[tuple[int, str]] = field(default_factory=list)
    declared_layers: int = 0


def pack(c: Container) -> bytes:
    """The file's bytes (lengths and checksums are filled in from the payloads)."""
    for layer, data in zip(c.layers, c.payloads, strict=True):
        layer.length, layer.crc32 = len(data), zlib.crc32(data)
    text = json.dumps(
        {
            "width": c.width,
            "height": c.height,
            "encoder": c.encoder,
            "layers": [layer.to_json() for layer in c.layers],
        },
        separators=(",", ":"),
    ).encode()
    _check_header(_header_dict(text))  # never write what parse() refuses
    deflate = zlib.compressobj(9, zdict=ZDICT)
    header = deflate.compress(text) + deflate.flush()
    prefix = _PREFIX.pack(MAGIC, FORMAT_VERSION, len(header))
    return b"".join([prefix, header, struct.pack("<I", zlib.crc32(header)), *c.payloads])


def parse(data: bytes) -> Container:
    """The intact layers of ``data`` (see the module's docstring for what is refused)."""
    if len(data) < _PREFIX.size:
        raise InvalidInputError("not a .czp file: too short")
    magic, version, n = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise InvalidInputError("not a .czp file: bad magic bytes")
    if version != FORMAT_VERSION:
        raise InvalidInputError(
            f".czp format version {version} is not supported (this reads {FORMAT_VERSION})"
        )
    if n > MAX_HEADER:
        raise InvalidInputError(f".czp header of {n} bytes is larger than {MAX_HEADER}")
    end = _PREFIX.size + n + 4
    if len(data) < end:
        raise InvalidInputError(".czp header is truncated")
    header = data[_PREFIX.size : _PREFIX.size + n]
    (crc,) = struct.unpack_from("<I", data, _PREFIX.size + n)
    if zlib.crc32(header) != crc:
        raise InvalidInputError(".czp header is damaged (checksum mismatch)")
    h = _header_dict(_inflate(header))
    layers = _check_header(h)
    out = Container(
        int(h["width"]),
        int(h["height"]),
        [],
        [],
        encoder=str(h.get("encoder", ""))[:200],
        declared_layers=len(layers),
    )
    pos = end
    for i, layer in enumerate(layers):
        payload = data[pos : pos + layer.length]
        pos += layer.length
        if len(payload) < layer.length:
            why = "truncated"
        elif zlib.crc32(payload) != layer.crc32:
            why = "damaged (checksum mismatch)"
        else:
            out.layers.append(layer)
            out.payloads.append(payload)
            continue
        if i == 0:
            raise InvalidInputError(f".czp base layer is {why}")
        out.dropped.append((i, why))
        log.warning("layer %d (%s %s) is %s: dropped", i, layer.kind, layer.label, why)
        if why == "truncated":
            out.dropped.extend((j, "after a truncation") for j in range(i + 1, len(layers)))
            break
    return out


def _inflate(header: bytes) -> bytes:
    """The header's JSON, inflated to at most ``MAX_HEADER`` bytes (a zlib bomb is refused)."""
    d = zlib.decompressobj(zdict=ZDICT)
    try:
        text = d.decompress(header, MAX_HEADER)
    except zlib.error:
        raise InvalidInputError(".czp header is not zlib data") from None
    if d.unconsumed_tail:
        raise InvalidInputError(f".czp header inflates to more than {MAX_HEADER} bytes")
    if not d.eof:
        raise InvalidInputError(".czp header's zlib stream is incomplete")
    return text


def _header_dict(header: bytes) -> dict[str, Any]:
    try:
        h = json.loads(header.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidInputError(".czp header is not valid JSON") from None
    if not isinstance(h, dict):
        raise InvalidInputError(".czp header is not a JSON object")
    return h


def _check_header(h: dict[str, Any]) -> list[Layer]:
    """The header's layers, each checked against the limits (hostile sizes are refused)."""
    w, hgt = h.get("width"), h.get("height")
    if not (_int(w) and _int(hgt) and 1 <= w <= MAX_SIDE and 1 <= hgt <= MAX_SIDE):
        raise InvalidInputError(f".czp image size {w}x{hgt} is not within 1..{MAX_SIDE}")
    if w * hgt > MAX_PIXELS:
        raise InvalidInputError(f".czp image of {w}x{hgt} pixels is larger than {MAX_PIXELS}")
    raw = h.get("layers")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_LAYERS:
        raise InvalidInputError(f".czp needs 1..{MAX_LAYERS} layers")
    layers = [_layer(d, i, (w, hgt)) for i, d in enumerate(raw)]
    if layers[0].kind != "base":
        raise InvalidInputError(".czp's first layer must be the base")
    return layers


def _int(v: Any) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _layer(d: Any, i: int, wh: tuple[int, int]) -> Layer:
    where = f".czp layer {i}"
    if not isinstance(d, dict):
        raise InvalidInputError(f"{where} is not an object")
    kind, codec, q = d.get("kind"), d.get("codec"), d.get("quality")
    if kind not in KINDS or codec not in CODECS:
        raise InvalidInputError(f"{where}: unknown kind {kind!r} or codec {codec!r}")
    if q is not None and not (_int(q) and 1 <= q <= 100):
        raise InvalidInputError(f"{where}: quality {q!r} is not 1..100")
    box, size = d.get("box"), d.get("size")
    if not (isinstance(box, list) and len(box) == 4 and all(_int(v) for v in box)):
        raise InvalidInputError(f"{where}: box must be 4 integers")
    x, y, bw, bh = box
    if not (x >= 0 and y >= 0 and bw >= 1 and bh >= 1 and x + bw <= wh[0] and y + bh <= wh[1]):
        raise InvalidInputError(f"{where}: box {box} is outside the {wh[0]}x{wh[1]} image")
    if not (isinstance(size, list) and len(size) == 2 and all(_int(v) and 1 <= v <= MAX_SIDE for v in size)):
        raise InvalidInputError(f"{where}: size must be 2 integers in 1..{MAX_SIDE}")
    if size[0] > bw or size[1] > bh:
        raise InvalidInputError(f"{where}: coded size {size} is larger than its box")
    length, crc, feather = d.get("length"), d.get("crc32"), d.get("feather", 0)
    if not (_int(length) and length >= 1 and _int(crc) and 0 <= crc < 1 << 32):
        raise InvalidInputError(f"{where}: bad length or checksum")
    if not (_int(feather) and 0 <= feather <= min(bw, bh) // 2):
        raise InvalidInputError(f"{where}: feather {feather!r} does not fit its box")
    rank, score = d.get("rank", 0), d.get("score")
    if not _int(rank) or (score is not None and not isinstance(score, (int, float))):
        raise InvalidInputError(f"{where}: bad rank or score")
    return Layer(
        kind,
        codec,
        q,
        (x, y, bw, bh),
        (size[0], size[1]),
        length,
        crc,
        feather,
        str(d.get("label", ""))[:100],
        rank,
        str(d.get("source", ""))[:100],
        None if score is None else float(score),
    )
