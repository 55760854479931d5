"""Make docs/images/example.png: the bundled JPEG enlarged x4 three ways (the default model), side by side.

.venv/bin/python scripts/make_readme_figure.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
import clearzoom  # noqa: E402
from clearzoom.models.pretrained import DEFAULT_MODEL  # noqa: E402

SRC = ROOT / "examples" / "osprey-small.jpg"
OUT = ROOT / "docs" / "images" / "example.png"
CROP = (35, 8, 115, 68)  # the osprey, in input pixels
SCALE = 4


def main() -> None:
    lr = Image.open(SRC).convert("RGB")
    big = clearzoom.upscale(lr, scale=SCALE)
    box = tuple(v * SCALE for v in CROP)
    panels = [
        ("input (nearest)", lr.resize(big.size, Image.NEAREST).crop(box)),
        ("bicubic", lr.resize(big.size, Image.BICUBIC).crop(box)),
        (DEFAULT_MODEL, big.crop(box)),
    ]
    w, h = panels[0][1].size
    sheet = Image.new("RGB", (3 * w + 20, h + 24), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (label, im) in enumerate(panels):
        sheet.paste(im, (i * (w + 10), 24))
        draw.text((i * (w + 10) + 4, 6), label, fill="black")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(OUT, optimize=True)
    print(f"wrote {OUT} ({sheet.size[0]}x{sheet.size[1]})")


if __name__ == "__main__":
    main()
