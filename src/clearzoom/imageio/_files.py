"""Which files are images, what format a path asks for, and where a batch's outputs go."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import InvalidInputError

__all__ = ["FORMATS", "IMAGE_EXTENSIONS", "find_images", "output_format", "plan_outputs"]

#: file extension (lower case, with the dot) -> Pillow format name, for the formats clearzoom writes
FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
}
#: the image file extensions clearzoom reads and writes (lower case, with the dot)
IMAGE_EXTENSIONS = frozenset(FORMATS)


def output_format(path: str | os.PathLike) -> str:
    """Pillow format name for an output path, from its extension."""
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        raise InvalidInputError(
            f"{path}: unknown output extension {ext!r} (use {', '.join(sorted(FORMATS))})"
        )
    return FORMATS[ext]


def find_images(folder: str | os.PathLike) -> list[Path]:
    """The image files (by :data:`IMAGE_EXTENSIONS`, any case) under ``folder``, recursively,
    sorted; hidden files and folders (names starting with ".") are left out."""
    root = Path(folder)
    return sorted(
        p
        for p in root.rglob("*")
        if p.suffix.lower() in IMAGE_EXTENSIONS
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def plan_outputs(
    inputs: Sequence[Path], out_dir: Path, fmt: str = "png", suffix: str = ""
) -> list[tuple[Path, Path]]:
    """``(input, output)`` pairs of a batch written into ``out_dir``.

    A file becomes ``out_dir/<stem><suffix>.<fmt>``; a folder's images (searched recursively,
    leaving out those inside ``out_dir`` should it lie in the folder) keep their path relative to
    the folder. ``fmt`` ``"same"`` keeps each input's extension where clearzoom writes it (else
    png).

    Raises:
        InvalidInputError: a folder without images, or two inputs that would write one output.
    """

    def name(f: Path) -> str:
        ext = (
            f".{fmt}"
            if fmt != "same"
            else (f.suffix.lower() if f.suffix.lower() in IMAGE_EXTENSIONS else ".png")
        )
        return f"{f.stem}{suffix}{ext}"

    out = out_dir.resolve()
    jobs: list[tuple[Path, Path]] = []
    for src in inputs:
        if not src.is_dir():
            jobs.append((src, out_dir / name(src)))
            continue
        found = [f for f in find_images(src) if out not in f.resolve().parents]
        if not found:
            raise InvalidInputError(
                f"{src}: no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) in this folder"
            )
        jobs += [(f, out_dir / f.relative_to(src).parent / name(f)) for f in found]
    seen: dict[Path, Path] = {}
    for src, dst in jobs:
        if dst in seen:
            raise InvalidInputError(f"{seen[dst]} and {src} would both be written to {dst}")
        seen[dst] = src
    return jobs
