"""The semantic-coding study's labelled photos with text: training photos cropped, with real words
rendered in (signs, captions, labels) and their boxes and strings written down.

    python -m benchmarks.coding_set OUT_DIR [--count 12]

writes ``OUT_DIR/NNN.png`` and ``OUT_DIR/NNN.json`` (a grounding file, docs/coding.md, each region
also carrying its ``text``). Deterministic: the same photos, words and places every time. The font
is Pillow's built-in one (no system fonts needed).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT.parent / "shared" / "data" / "train"
if not TRAIN.is_dir():
    TRAIN = Path("/work/shared/data/train")

WORDS = [
    "OPEN DAILY 9-5",
    "NO PARKING",
    "EXIT",
    "Main Street 42",
    "Fresh Bread",
    "Platform 3",
    "SALE 50% OFF",
    "Keep Clear",
    "Bus Stop",
    "Coffee & Tea",
    "Museum Entrance",
    "Room 214",
    "Pharmacy",
    "Welcome Home",
    "Tickets Here",
    "Gate B7",
    "Library",
    "City Hall",
    "Harbour View",
    "Park Avenue",
    "Please Wait",
    "Taxi",
    "Hotel Royal",
    "Bakery",
    "Post Office",
    "North Station",
    "Open 24 Hours",
    "Police",
    "Fire Exit",
    "Route 66",
]
SIZE = (384, 256)


def photos(count: int) -> list[Path]:
    """Every n-th photo of the training folders, for ``count`` photos."""
    files = sorted(p for p in TRAIN.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"))
    step = max(1, len(files) // count)
    return files[::step][:count]


def render(photo: Path, seed: int) -> tuple[Image.Image, list[dict]]:
    """A ``SIZE`` crop of ``photo`` with 1-3 signs of text; the grounding regions of the text."""
    rng = random.Random(seed)
    im = Image.open(photo).convert("RGB")
    scale = max(SIZE[0] / im.width, SIZE[1] / im.height, 1.0)
    if scale > 1:
        im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)
    x0, y0 = rng.randint(0, im.width - SIZE[0]), rng.randint(0, im.height - SIZE[1])
    im = im.crop((x0, y0, x0 + SIZE[0], y0 + SIZE[1]))
    draw = ImageDraw.Draw(im)
    regions: list[dict] = []
    for _ in range(rng.randint(1, 3)):
        text = rng.choice(WORDS)
        font = ImageFont.load_default(size=rng.randint(14, 26))
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        w, h = right - left + 12, bottom - top + 10
        for _try in range(20):  # a place that overlaps no earlier sign
            x, y = rng.randint(0, SIZE[0] - w), rng.randint(0, SIZE[1] - h)
            if all(not _overlap((x, y, w, h), r["box"]) for r in regions):
                break
        else:
            continue
        bg = tuple(rng.randint(0, 255) for _ in range(3))
        ink = (20, 20, 20) if sum(bg) > 380 else (245, 245, 240)
        draw.rectangle((x, y, x + w - 1, y + h - 1), fill=bg)
        draw.text((x + 6 - left, y + 5 - top), text, font=font, fill=ink)
        regions.append({"label": "text", "box": [x, y, w, h], "text": text})
    return im, regions


def _overlap(a, b) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def make(out: Path, count: int = 12) -> list[Path]:
    """Write the set to ``out``; returns the image paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, photo in enumerate(photos(count)):
        im, regions = render(photo, seed=i)
        path = out / f"{i:03d}.png"
        im.save(path)
        (out / f"{i:03d}.json").write_text(json.dumps({"source": photo.name, "regions": regions}, indent=1))
        paths.append(path)
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--count", type=int, default=12)
    args = ap.parse_args()
    print(f"wrote {len(make(args.out, args.count))} photos to {args.out}")


if __name__ == "__main__":
    main()
