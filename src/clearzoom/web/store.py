"""Bounded in-memory stores for the web app: uploaded images (with their latent codes) and tiles.

Nothing here touches the filesystem. Ids are random (128 bits), never derived from user input.
When a store is over its byte budget, the least recently used entries are dropped.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..imageio import ImageMeta
from .deepzoom import Pyramid

__all__ = ["ImageEntry", "ImageStore", "LRUBytes", "new_id"]


#: bytes counted for each stored image beyond its arrays (the analysis, the Python objects, the
#: allocator's slack): an allowance, so that a flood of tiny uploads is not counted as free
ENTRY_OVERHEAD = 64 * 1024


def new_id() -> str:
    return secrets.token_hex(16)


def _pil_bytes(img: Image.Image) -> int:
    """The pixel buffer of a PIL image (16-bit and float modes count 2 and 4 bytes per band)."""
    per_band = {"I;16": 2, "I;16B": 2, "I;16L": 2, "I": 4, "F": 4}.get(img.mode, 1)
    return img.width * img.height * len(img.getbands()) * per_band


@dataclass
class ImageEntry:
    """One uploaded image: its decoded pixels, analysis and (once computed) latent codes."""

    id: str
    name: str
    image: Image.Image | np.ndarray  # as read (orientation applied; 16-bit colour as uint16 array)
    meta: ImageMeta  # format, ICC profile, EXIF, dpi, JPEG quality
    rgb: Image.Image  # 8-bit RGB, for display and the levels below the input's resolution
    color: torch.Tensor  # (3, h, w) float [0, 1], the model's input
    analysis: dict[str, Any]
    pyramid: Pyramid
    created: float = field(default_factory=time.time)
    feat: torch.Tensor | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    levels: dict[int, Image.Image] = field(default_factory=dict)  # downscaled levels (small)
    czp: bytes | None = None  # the image coded as .czp (semantic coding), once asked for

    @property
    def jpeg_quality(self) -> int | None:
        """The JPEG quality told to JPEG-aware models: the upload's own tables, or for a lossy WebP
        the equivalent (:attr:`~clearzoom.imageio.ImageMeta.restoration_quality`); None if clean."""
        return self.meta.restoration_quality

    @property
    def nbytes(self) -> int:
        """Every array the entry holds (pixels as read, 8-bit copy, model input, resampled levels,
        latent codes), plus a fixed overhead so that tiny images are not counted as free."""
        n = ENTRY_OVERHEAD + self.color.numel() * self.color.element_size() + _pil_bytes(self.rgb)
        n += self.image.nbytes if isinstance(self.image, np.ndarray) else _pil_bytes(self.image)
        n += sum(_pil_bytes(img) for img in list(self.levels.values()))
        if self.feat is not None:
            n += self.feat.numel() * self.feat.element_size()
        return n + len(self.czp or b"")

    def features(self, compute: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """The latent codes, computed once (the first caller computes, the others wait)."""
        with self.lock:
            if self.feat is None:
                self.feat = compute(self.color)
            return self.feat


class ImageStore:
    """Images by id, at most ``max_bytes`` in all (least recently used dropped first)."""

    def __init__(
        self,
        max_bytes: int,
        on_evict: Callable[[str], None] | None = None,
        external: Callable[[], int] | None = None,
    ):
        """``external()``: bytes held elsewhere that share this budget (finished jobs' images)."""
        self.max_bytes = max_bytes
        self._external = external or (lambda: 0)
        self._items: OrderedDict[str, ImageEntry] = OrderedDict()
        self._lock = threading.Lock()
        self._on_evict = on_evict

    def add(self, entry: ImageEntry) -> None:
        with self._lock:
            self._items[entry.id] = entry
        self.trim(keep=entry.id)

    def get(self, image_id: str) -> ImageEntry | None:
        with self._lock:
            entry = self._items.get(image_id)
            if entry is not None:
                self._items.move_to_end(image_id)
            return entry

    def delete(self, image_id: str) -> bool:
        with self._lock:
            found = self._items.pop(image_id, None) is not None
        if found and self._on_evict:
            self._on_evict(image_id)
        return found

    def total_bytes(self) -> int:
        with self._lock:
            return sum(e.nbytes for e in self._items.values())

    def trim(self, keep: str | None = None, reserve: int = 0) -> None:
        """Drop least recently used images (never ``keep``) until the store, with ``reserve``
        more bytes about to be added, fits its budget."""
        dropped = []
        with self._lock:
            room = self.max_bytes - reserve - self._external()
            while sum(e.nbytes for e in self._items.values()) > room:
                victim = next((k for k in self._items if k != keep), None)
                if victim is None:
                    break
                del self._items[victim]
                dropped.append(victim)
        for image_id in dropped:
            if self._on_evict:
                self._on_evict(image_id)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, image_id: str) -> bool:
        return image_id in self._items


class LRUBytes:
    """A byte-bounded LRU cache of ``bytes`` values (rendered tiles)."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[Any, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key) -> bytes | None:
        with self._lock:
            v = self._items.get(key)
            if v is not None:
                self._items.move_to_end(key)
            return v

    def put(self, key, value: bytes) -> None:
        if len(value) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= len(old)
            self._items[key] = value
            self._size += len(value)
            while self._size > self.max_bytes:
                _, v = self._items.popitem(last=False)
                self._size -= len(v)

    def drop(self, predicate: Callable[[Any], bool]) -> None:
        with self._lock:
            for k in [k for k in self._items if predicate(k)]:
                self._size -= len(self._items.pop(k))

    @property
    def size(self) -> int:
        return self._size

    def __len__(self) -> int:
        return len(self._items)
