"""Published PSNR numbers to set beside ours (from ../shared/REFERENCES.md), with their protocol."""

from __future__ import annotations

__all__ = ["PUBLISHED"]

# (dataset, degradation, scale, method) -> (PSNR dB, protocol, source)
_Y = "PSNR-Y, LIIF rules (benchmark sets)"
PUBLISHED: dict[tuple[str, str, int, str], tuple[float, str, str]] = {
    **{
        ("Set5", "clean", s, "RDN-LIIF (published)"): (v, _Y, "LIIF Table 2")
        for s, v in {2: 38.17, 3: 34.68, 4: 32.50, 6: 29.15, 8: 27.14}.items()
    },
    **{
        ("Set14", "clean", s, "RDN-LIIF (published)"): (v, _Y, "LIIF Table 2")
        for s, v in {2: 33.97, 3: 30.53, 4: 28.80, 6: 26.64, 8: 25.15}.items()
    },
    **{
        ("Set5", "clean", s, "bicubic (standard)"): (v, "PSNR-Y, MATLAB", "standard values")
        for s, v in {2: 33.66, 3: 30.39, 4: 28.42}.items()
    },
    ("Set14", "clean", 4, "bicubic (standard)"): (26.00, "PSNR-Y, MATLAB", "standard values"),
}
