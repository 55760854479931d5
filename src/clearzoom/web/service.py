"""What the web app does, without HTTP: images, deep-zoom tiles and upscale jobs (:class:`Service`).

The routes in :mod:`.app` only translate requests into calls here and :class:`ApiError` into JSON
errors. Limits (upload bytes, pixels, stored bytes, tile cache bytes) are in :class:`WebConfig`.
User input never becomes a path: ids are random hex, checked by pattern, and uploads are decoded
from memory.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from .. import imageio
from ..analysis import analyze_image, describe_task
from ..checkpoints.loading import load_model
from ..errors import ClearZoomError, InvalidTargetError
from ..inference.api import upscale
from ..inference.engine import RenderOptions, encode_features, render_from_features
from ..inference.planes import to_planes
from ..inference.target import resolve_target
from ..models.model import Model
from ..precision import resolve_device, resolve_precision
from .deepzoom import Pyramid
from .guard import LOOPBACK_HOSTS
from .jobs import JobManager
from .queue import FairQueue
from .store import ImageEntry, ImageStore, LRUBytes, new_id

__all__ = ["ApiError", "MB", "Service", "WebConfig", "find_openseadragon", "is_id"]

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF"}
_ID = re.compile(r"^[0-9a-f]{32}$")
MB = 1 << 20


@dataclass(frozen=True)
class WebConfig:
    """Server settings and limits."""

    model: str | None = None  # name or file; the default model when None
    device: str = "auto"
    precision: str = "auto"
    max_upload_bytes: int = 32 * MB
    max_pixels: int = 4_000_000  # per uploaded image (also refuses decompression bombs)
    max_output_pixels: int = 100_000_000  # per upscale job
    store_bytes: int = 2048 * MB  # uploaded images and their latent codes, in all
    tile_cache_bytes: int = 256 * MB
    zoom: int = 32  # the deep-zoom image is the input magnified this much per side
    workers: int = 1  # upscale jobs run at once
    max_pending_jobs: int = 8  # jobs queued or running; more are answered 503
    result_bytes: int = 512 * MB  # finished jobs' images kept for download (part of store_bytes)
    tile_threads: int = 2  # tiles rendered at once
    tile_queue: int = 64  # tile renders waiting; more are answered 503 (the viewer retries)
    tile_max_wait_s: float = 20.0  # a tile that waited longer is answered 503 instead of rendered
    upload_queue: int = 4  # uploads waiting to be decoded; more are answered 503
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS  # Host names served ("*": any); see guard.py
    openseadragon_dir: str | None = None  # the viewer's files; found in node_modules when None


def find_openseadragon(explicit: str | None = None) -> Path | None:
    """The folder with ``openseadragon.min.js`` (npm package ``openseadragon``), if installed:
    given, from the environment, inside the package (a wheel built after setup carries it), or in
    a ``node_modules`` of the working directory or the source tree."""
    vendored = Path(__file__).resolve().parent / "vendor" / "openseadragon"
    candidates = [explicit, os.environ.get("CLEARZOOM_OPENSEADRAGON"), str(vendored)]
    for root in (Path.cwd(), Path(__file__).resolve().parents[3]):
        candidates.append(str(root / "node_modules" / "openseadragon" / "build" / "openseadragon"))
    for c in candidates:
        if c and (Path(c) / "openseadragon.min.js").is_file():
            return Path(c)
    return None


def is_id(text: str) -> bool:
    """Whether ``text`` has the shape of an image or job id (32 lower-case hex digits)."""
    return bool(_ID.match(text))


class ApiError(Exception):
    """An error for the client: its HTTP status and a one-line message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _safe_name(name: str | None) -> str:
    """A display name from the client's file name (never used as a path)."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^A-Za-z0-9._ -]", "_", base)[:80].strip()
    return base or "image"


class Service:
    """Everything the routes do, without HTTP: images, tiles and jobs."""

    def __init__(self, cfg: WebConfig, model: Model | None = None):
        self.cfg = cfg
        dev = resolve_device(cfg.device)
        self.model = model if model is not None else load_model(cfg.model, device=dev)
        self.options = RenderOptions(device=dev, precision=resolve_precision(cfg.precision, dev))
        self.tiles = LRUBytes(cfg.tile_cache_bytes)
        self.jobs = JobManager(
            workers=cfg.workers, max_pending=cfg.max_pending_jobs, max_result_bytes=cfg.result_bytes
        )
        # finished jobs' images share the store's budget with the images and their latent codes
        self.images = ImageStore(cfg.store_bytes, on_evict=self._forget, external=self.jobs.result_bytes)
        self.render_queue = FairQueue(cfg.tile_threads, cfg.tile_queue, "tile", cfg.tile_max_wait_s)
        self.ingest_queue = FairQueue(1, cfg.upload_queue, "upload")

    def close(self) -> None:
        """Cancel queued work and jobs (the server is shutting down)."""
        self.render_queue.close()
        self.ingest_queue.close()
        self.jobs.shutdown()

    def memory(self) -> dict[str, int]:
        """What the server holds, in bytes: images with their codes, job results, cached tiles."""
        return {
            "images": self.images.total_bytes(),
            "results": self.jobs.result_bytes(),
            "tiles": self.tiles.size,
            "budget": self.cfg.store_bytes + self.cfg.tile_cache_bytes,
        }

    def _forget(self, image_id: str) -> None:
        self.tiles.drop(lambda k: k[0] == image_id)
        self.jobs.cancel_image(image_id)

    # ------------------------------------------------------------------ images
    def ingest(self, data: bytes, name: str | None) -> ImageEntry:
        if not data:
            raise ApiError(400, "empty upload: send an image file in the multipart field 'file'")
        if len(data) > self.cfg.max_upload_bytes:
            raise ApiError(
                413,
                f"upload of {len(data) / MB:.1f} MB is over the "
                f"{self.cfg.max_upload_bytes / MB:.0f} MB limit",
            )
        try:
            with Image.open(io.BytesIO(data)) as probe:
                fmt, (w, h) = probe.format, probe.size
        except Image.DecompressionBombError:
            raise ApiError(413, "image dimensions are too large (decompression bomb?)") from None
        except (OSError, ValueError):
            raise ApiError(415, "not an image (the content is not a format clearzoom reads)") from None
        if fmt not in ACCEPTED_FORMATS:
            raise ApiError(415, f"{fmt} images are not accepted (use {', '.join(sorted(ACCEPTED_FORMATS))})")
        if w * h > self.cfg.max_pixels:
            raise ApiError(
                413,
                f"image is {w}x{h} ({w * h / 1e6:.1f} MP); the limit is {self.cfg.max_pixels / 1e6:.1f} MP "
                "(clearzoom serve --max-megapixels N raises it)",
            )
        try:
            image, meta = imageio.read_image(data)  # from memory: no temporary file
            analysis = analyze_image(data)
        except (ClearZoomError, OSError, ValueError) as exc:
            raise ApiError(415, f"the image could not be decoded ({str(exc).split(': ', 1)[-1]})") from None
        planes = to_planes(image)
        rgb = Image.fromarray(imageio.to_uint8(planes.color.permute(1, 2, 0)))
        a = analysis.to_dict()
        a["task_x4"] = describe_task(analysis, (analysis.width * 4, analysis.height * 4))
        entry = ImageEntry(
            id=new_id(),
            name=_safe_name(name),
            image=image,
            meta=meta,
            rgb=rgb,
            color=planes.color,
            analysis=a,
            pyramid=Pyramid(rgb.width, rgb.height, zoom=self.cfg.zoom),
        )
        self.images.add(entry)
        return entry

    def entry(self, image_id: str) -> ImageEntry:
        e = self.images.get(image_id) if is_id(image_id) else None
        if e is None:
            raise ApiError(404, f"no image {image_id!r} (unknown, deleted or evicted)")
        return e

    def info(self, e: ImageEntry) -> dict:
        p = e.pyramid
        fw, fh = p.full_size
        return {
            "id": e.id,
            "name": e.name,
            "width": e.rgb.width,
            "height": e.rgb.height,
            "analysis": e.analysis,
            "model": self.model.name,
            "deepzoom": {
                "dzi": f"/api/images/{e.id}.dzi",
                "zoom": p.zoom,
                "width": fw,
                "height": fh,
                "tile": p.tile,
                "max_level": p.max_level,
                "first_model_level": next(
                    (lv for lv in range(p.max_level + 1) if p.rendered_by_model(lv)), None
                ),
            },
        }

    # ------------------------------------------------------------------ tiles
    def cached_tile(self, e: ImageEntry, level: int, col: int, row: int, fmt: str) -> bytes | None:
        return self.tiles.get((e.id, level, col, row, fmt))

    def tile(self, e: ImageEntry, level: int, col: int, row: int, fmt: str) -> bytes:
        key = (e.id, level, col, row, fmt)
        cached = self.tiles.get(key)
        if cached is not None:
            return cached
        p = e.pyramid
        try:
            y0, x0, h, w = p.window(level, col, row)
        except ValueError as exc:
            raise ApiError(404, str(exc)) from None
        lw, lh = p.level_size(level)
        if p.rendered_by_model(level):
            if e.feat is None:  # room for the latent codes is made before they are computed
                self.images.trim(keep=e.id, reserve=self.feature_bytes(e))
            feat = e.features(
                lambda c: encode_features(self.model, c, options=self.options, jpeg_quality=e.jpeg_quality)
            )
            rgb = render_from_features(
                self.model, feat, e.color, (lh, lw), (y0, x0, h, w), options=self.options
            )
            img = Image.fromarray(imageio.to_uint8(rgb.permute(1, 2, 0)))
        else:
            img = self.level_image(e, level).crop((x0, y0, x0 + w, y0 + h))
        buf = io.BytesIO()
        img.save(buf, "PNG" if fmt == "png" else "JPEG", **({"quality": 90} if fmt == "jpeg" else {}))
        data = buf.getvalue()
        self.tiles.put(key, data)
        return data

    def feature_bytes(self, e: ImageEntry) -> int:
        """The size of ``e``'s latent codes (float32, the encoder's channels per input pixel)."""
        return e.color.shape[-2] * e.color.shape[-1] * self.model.net.encoder.out_dim * 4

    @staticmethod
    def level_image(e: ImageEntry, level: int) -> Image.Image:
        """A level at or below the input's resolution: the input, resampled (Lanczos)."""
        lw, lh = e.pyramid.level_size(level)
        img = e.levels.get(level)
        if img is None:
            img = e.rgb if (lw, lh) == e.rgb.size else e.rgb.resize((lw, lh), Image.Resampling.LANCZOS)
            e.levels[level] = img
        return img

    # ------------------------------------------------------------------ jobs
    def start_job(
        self,
        e: ImageEntry,
        scale: float | None,
        width: int | None,
        height: int | None,
        fmt: str,
        tta: bool = False,
        strip_metadata: bool = False,
    ):
        try:
            if scale is not None:
                if width is not None or height is not None:
                    raise InvalidTargetError("give either scale or width/height, not both")
                target = resolve_target(
                    (e.rgb.height, e.rgb.width), scale=scale, max_output_pixels=self.cfg.max_output_pixels
                )
            elif width is not None or height is not None:
                target = resolve_target(
                    (e.rgb.height, e.rgb.width),
                    width=width,
                    height=height,
                    max_output_pixels=self.cfg.max_output_pixels,
                )
            else:
                raise InvalidTargetError("give a scale, or a width and/or height")
        except InvalidTargetError as exc:
            raise ApiError(422, str(exc)) from None
        out_h, out_w = target.out_hw
        params = {
            "width": out_w,
            "height": out_h,
            "format": fmt,
            "tta": tta,
            "strip_metadata": strip_metadata,
        }
        meta = e.meta.colour_only() if strip_metadata else e.meta
        ext = {"png": "png", "jpeg": "jpg", "webp": "webp"}[fmt]
        stem = Path(e.name).stem or "image"

        def work(job, progress):
            out = upscale(
                e.image,
                size=(out_w, out_h),
                model=self.model,
                input_quality=e.jpeg_quality,
                device=str(self.options.device),
                precision=self.options.precision,
                max_output_pixels=self.cfg.max_output_pixels,
                tta=tta,
                progress=lambda done, total: progress(done / total),
            )
            # 16-bit colour (a uint16 array) stays 16-bit in PNG; encode_image rounds it for JPEG/WebP
            data = imageio.encode_image(
                out, {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[fmt], meta=meta, jpeg_quality=95
            )
            self.images.trim(keep=e.id, reserve=len(data))  # the result shares the store's budget
            return data, f"image/{fmt}", f"{stem}-{out_w}x{out_h}.{ext}"

        return self.jobs.submit(e.id, params, work)
