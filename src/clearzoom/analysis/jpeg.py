"""What a JPEG file's headers say about how it was compressed.

The IJG quality factor (libjpeg, Pillow, most software encoders) scales the standard tables of the
JPEG specification (Annex K): ``scale = 5000 / q`` for ``q < 50`` else ``200 - 2 q``, each entry
``clamp(floor((std * scale + 50) / 100), 1, 255)``. :func:`estimate_quality` finds the ``q`` whose
tables are nearest to the file's and says how near: ``exact`` (an IJG encoder), ``close`` (an
encoder that rounds differently) or ``custom`` (camera or app tables; the quality is then only the
IJG equivalent).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["JpegInfo", "STD_CHROMA", "STD_LUMA", "estimate_quality", "ijg_table", "jpeg_info", "jpeg_quality"]

# Annex K tables, natural (row-major) order, as Pillow reports them.
STD_LUMA = np.array(
    [
        16,
        11,
        10,
        16,
        24,
        40,
        51,
        61,
        12,
        12,
        14,
        19,
        26,
        58,
        60,
        55,
        14,
        13,
        16,
        24,
        40,
        57,
        69,
        56,
        14,
        17,
        22,
        29,
        51,
        87,
        80,
        62,
        18,
        22,
        37,
        56,
        68,
        109,
        103,
        77,
        24,
        35,
        55,
        64,
        81,
        104,
        113,
        92,
        49,
        64,
        78,
        87,
        103,
        121,
        120,
        101,
        72,
        92,
        95,
        98,
        112,
        100,
        103,
        99,
    ]
)
STD_CHROMA = np.array(
    [
        17,
        18,
        24,
        47,
        99,
        99,
        99,
        99,
        18,
        21,
        26,
        66,
        99,
        99,
        99,
        99,
        24,
        26,
        56,
        99,
        99,
        99,
        99,
        99,
        47,
        66,
        99,
        99,
        99,
        99,
        99,
        99,
    ]
    + [99] * 32
)

_CLOSE = 0.05  # mean relative table difference still called "close"


def ijg_table(std: np.ndarray, quality: int) -> np.ndarray:
    """The table an IJG encoder writes at ``quality`` (1..100), baseline (entries <= 255)."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return np.clip((std * scale + 50) // 100, 1, 255)


_TABLES = {q: (ijg_table(STD_LUMA, q), ijg_table(STD_CHROMA, q)) for q in range(1, 101)}


def estimate_quality(tables: dict[int, list[int]] | list[list[int]]) -> tuple[int, float]:
    """``(quality, error)``: the IJG quality whose tables best match, and the mean relative
    difference of the entries (0 = identical). Table 0 is compared with the luma table, table 1
    (if any) with the chroma table."""
    seq = [np.asarray(t, dtype=np.float64) for t in (tables.values() if isinstance(tables, dict) else tables)]
    best_q, best_err = 0, float("inf")
    for q, refs in _TABLES.items():
        errs = [np.mean(np.abs(t - r) / r) for t, r in zip(seq[:2], refs)]
        err = float(np.mean(errs))
        if err < best_err - 1e-12:
            best_q, best_err = q, err
    return best_q, best_err


_SUBSAMPLING = {
    ((1, 1), (1, 1)): "4:4:4",
    ((2, 1), (1, 1)): "4:2:2",
    ((2, 2), (1, 1)): "4:2:0",
    ((4, 1), (1, 1)): "4:1:1",
    ((1, 2), (1, 1)): "4:4:0",
}


@dataclass(frozen=True)
class JpegInfo:
    """Compression facts of one JPEG file."""

    quality: int  # IJG-equivalent quality factor
    tables_match: str  # "exact", "close" or "custom"
    table_error: float  # mean relative difference from the IJG tables at ``quality``
    subsampling: str  # "4:2:0", "4:4:4", ... or "grey"
    progressive: bool
    tables: int  # number of quantization tables

    def to_dict(self) -> dict:
        return asdict(self)


def jpeg_info(im) -> JpegInfo | None:
    """The :class:`JpegInfo` of an opened Pillow JPEG image, or None for any other format."""
    if getattr(im, "format", None) != "JPEG" or not getattr(im, "quantization", None):
        return None
    q, err = estimate_quality(im.quantization)
    match = "exact" if err == 0 else "close" if err < _CLOSE else "custom"
    layers = getattr(im, "layer", None) or []
    if len(layers) == 1:
        sub = "grey"
    elif len(layers) >= 3:
        y = (layers[0][1], layers[0][2])
        c = (layers[1][1], layers[1][2])
        ratio = ((y[0] // max(c[0], 1), y[1] // max(c[1], 1)), (1, 1))
        sub = _SUBSAMPLING.get(ratio, f"{y[0]}x{y[1]}:{c[0]}x{c[1]}")
    else:
        sub = "unknown"
    progressive = bool(im.info.get("progressive") or im.info.get("progression"))
    return JpegInfo(q, match, round(err, 4), sub, progressive, len(im.quantization))


def jpeg_quality(im) -> int | None:
    """The IJG quality of an opened Pillow JPEG image's tables (what JPEG-aware models are told),
    None for any other format. The one place clearzoom finds a JPEG's quality."""
    info = jpeg_info(im)
    return info.quality if info is not None else None
