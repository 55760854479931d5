"""The web app (FastAPI): upload, analyse, upscale jobs, and deep-zoom tiles rendered on demand.

API (OpenAPI document at ``/openapi.json``)::

    POST   /api/images                       multipart field "file" -> {"id", ...}  (201)
    POST   /api/images/example               the bundled example image          (201)
    GET    /api/images/{id}                  size, analysis, deep-zoom info
    GET    /api/images/{id}/input.png        the input as PNG (8-bit RGB)
    GET    /api/images/{id}.dzi              Deep Zoom descriptor (the input x zoom per side)
    GET    /api/images/{id}_files/{level}/{col}_{row}.{png|jpeg}   Deep Zoom tiles
    DELETE /api/images/{id}                                                      (204)
    POST   /api/images/{id}/jobs             {"scale"} or {"width", "height"}, "format", "tta" (202)
    GET    /api/jobs/{job_id}                state, progress, error
    GET    /api/jobs/{job_id}/result         the upscaled image (download)
    DELETE /api/jobs/{job_id}                cancel

Errors are JSON ``{"error": "..."}`` with a fitting status code. Limits (upload bytes, pixels,
stored bytes, tile cache bytes) are in :class:`WebConfig`. User input never becomes a path: ids are
random hex, checked by pattern, and uploads are decoded from memory.
"""


import contextlib
import io
import logging
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image

from ..analysis import analyze_image, describe_task
from ..checkpoints.loading import load_model
from ..errors import ClearZoomError, InvalidTargetError
from ..inference import imageio
from ..inference.api import upscale
from ..inference.engine import RenderOptions, encode_features, render_from_features
from ..precision import resolve_device, resolve_precision
from ..inference.target import resolve_target
from ..models.model import Model
from .deepzoom import Pyramid
from .jobs import JobManager
from .store import ImageEntry, ImageStore, LRUBytes, new_id

__all__ = ["WebConfig", "create_app"]

log = logging.getLogger(__name__)

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
    tile_threads: int = 2  # tiles rendered at once
    openseadragon_dir: str | None = None  # the viewer's files; found in node_modules when None


def find_openseadragon(explicit: str | None = None) -> Path | None:
    """The folder with ``openseadragon.min.js`` (npm package ``openseadragon``), if installed."""
    candidates = [explicit, os.environ.get("CLEARZOOM_OPENSEADRAGON")]
    for root in (Path.cwd(), Path(__file__).resolve().parents[3]):
        candidates.append(str(root / "node_modules" / "openseadragon" / "build" / "openseadragon"))
    for c in candidates:
        if c and (Path(c) / "openseadragon.min.js").is_file():
            return Path(c)
    return None


class ApiError(Exception):
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
        self.images = ImageStore(cfg.store_bytes, on_evict=self._forget)
        self.jobs = JobManager(workers=cfg.workers)
        self._tile_slots = threading.BoundedSemaphore(cfg.tile_threads)

    def _forget(self, image_id: str) -> None:
        self.tiles.drop(lambda k: k[0] == image_id)
        self.jobs.cancel_image(image_id)

    # ------------------------------------------------------------------ images
    def ingest(self, data: bytes, name: str | None) -> ImageEntry:
        if not data:
            raise ApiError(400, "empty upload: send an image file in the multipart field 'file'")
        if len(data) > self.cfg.max_upload_bytes:
            raise ApiError(413, f"upload of {len(data) / MB:.1f} MB is over the "
                                f"{self.cfg.max_upload_bytes / MB:.0f} MB limit")
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
            raise ApiError(413, f"image is {w}x{h} ({w * h / 1e6:.1f} MP); the limit is "
                                f"{self.cfg.max_pixels / 1e6:.1f} MP")
        with tempfile.TemporaryDirectory(prefix="clearzoom-upload-") as tmp:
            path = Path(tmp) / f"upload.{fmt.lower()}"  # our own name, never the client's
            path.write_bytes(data)
            try:
                image, meta = imageio.read_image(path)
                analysis = analyze_image(data)
            except (ClearZoomError, OSError, ValueError) as exc:
                raise ApiError(415, f"the image could not be decoded ({str(exc).split(': ', 1)[-1]})") from None
        planes = imageio.to_planes(image)
        rgb = Image.fromarray((planes.color.permute(1, 2, 0).numpy() * 255).round()
                              .astype(np.uint8))
        a = analysis.to_dict()
        a["task_x4"] = describe_task(analysis, (analysis.width * 4, analysis.height * 4))
        entry = ImageEntry(id=new_id(), name=_safe_name(name), image=image, meta=meta, rgb=rgb,
                           color=planes.color, analysis=a,
                           pyramid=Pyramid(rgb.width, rgb.height, zoom=self.cfg.zoom))
        self.images.add(entry)
        return entry

    def entry(self, image_id: str) -> ImageEntry:
        e = self.images.get(image_id) if _ID.match(image_id) else None
        if e is None:
            raise ApiError(404, f"no image {image_id!r} (unknown, deleted or evicted)")
        return e

    def info(self, e: ImageEntry) -> dict:
        p = e.pyramid
        fw, fh = p.full_size
        return {"id": e.id, "name": e.name, "width": e.rgb.width, "height": e.rgb.height,
                "analysis": e.analysis, "model": self.model.name,
                "deepzoom": {"dzi": f"/api/images/{e.id}.dzi", "zoom": p.zoom, "width": fw,
                             "height": fh, "tile": p.tile, "max_level": p.max_level,
                             "first_model_level": next(
                                 (lv for lv in range(p.max_level + 1) if p.rendered_by_model(lv)),
                                 None)}}

    # ------------------------------------------------------------------ tiles
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
            had = e.feat is not None
            feat = e.features(lambda c: encode_features(self.model, c, options=self.options,
                                                        jpeg_quality=e.jpeg_quality))
            if not had:  # the latent codes count against the store's budget too
                self.images.trim(keep=e.id)
            with self._tile_slots:
                rgb = render_from_features(self.model, feat, e.color, (lh, lw), (y0, x0, h, w),
                                           options=self.options)
            img = Image.fromarray((rgb.clamp(0, 1) * 255).round().to(torch.uint8)
                                  .permute(1, 2, 0).numpy())
        else:
            img = self.level_image(e, level).crop((x0, y0, x0 + w, y0 + h))
        buf = io.BytesIO()
        img.save(buf, "PNG" if fmt == "png" else "JPEG", **({"quality": 90} if fmt == "jpeg" else {}))
        data = buf.getvalue()
        self.tiles.put(key, data)
        return data

    @staticmethod
    def level_image(e: ImageEntry, level: int) -> Image.Image:
        """A level at or below the input's resolution: the input, resampled (Lanczos)."""
        lw, lh = e.pyramid.level_size(level)
        img = e.levels.get(level)
        if img is None:
            img = e.rgb if (lw, lh) == e.rgb.size else e.rgb.resize(
                (lw, lh), Image.Resampling.LANCZOS)
            e.levels[level] = img
        return img

    # ------------------------------------------------------------------ jobs
    def start_job(self, e: ImageEntry, scale: float | None, width: int | None,
                  height: int | None, fmt: str, tta: bool = False):
        try:
            if scale is not None:
                if width is not None or height is not None:
                    raise InvalidTargetError("give either scale or width/height, not both")
                target = resolve_target((e.rgb.height, e.rgb.width), scale=scale,
                                        max_output_pixels=self.cfg.max_output_pixels)
            elif width is not None or height is not None:
                target = resolve_target((e.rgb.height, e.rgb.width), width=width, height=height,
                                        max_output_pixels=self.cfg.max_output_pixels)
            else:
                raise InvalidTargetError("give a scale, or a width and/or height")
        except InvalidTargetError as exc:
            raise ApiError(422, str(exc)) from None
        out_h, out_w = target.out_hw
        params = {"width": out_w, "height": out_h, "format": fmt, "tta": tta}
        ext = {"png": "png", "jpeg": "jpg", "webp": "webp"}[fmt]
        stem = Path(e.name).stem or "image"

        def work(job, progress):
            out = upscale(e.image, size=(out_w, out_h), model=self.model,
                          input_quality=e.jpeg_quality,
                          device=str(self.options.device), precision=self.options.precision,
                          max_output_pixels=self.cfg.max_output_pixels, tta=tta,
                          progress=lambda done, total: progress(done / total))
            # 16-bit colour (a uint16 array) stays 16-bit in PNG; encode_image rounds it for JPEG/WebP
            data = imageio.encode_image(out, {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[fmt],
                                        icc_profile=e.meta.get("icc_profile"),
                                        exif=e.meta.get("exif"), dpi=e.meta.get("dpi"),
                                        jpeg_quality=95)
            return data, f"image/{fmt}", f"{stem}-{out_w}x{out_h}.{ext}"

        return self.jobs.submit(e.id, params, work)


def create_app(cfg: WebConfig = WebConfig(), model: Model | None = None):
    """The ASGI app. ``model`` overrides ``cfg.model`` (tests pass a tiny one)."""
    try:
        from fastapi import FastAPI, File, Request, UploadFile
        from fastapi.exceptions import RequestValidationError
        from fastapi.responses import JSONResponse, Response
        from fastapi.staticfiles import StaticFiles
        from pydantic import BaseModel, Field
        from starlette.concurrency import run_in_threadpool
        from starlette.exceptions import HTTPException as StarletteHTTPException
    except ImportError as exc:  # pragma: no cover - exercised by the CLI's message
        raise ImportError("the web app needs the 'web' extra: pip install 'clearzoom[web]' "
                          f"(missing: {exc.name})") from None

    svc = Service(cfg, model)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        svc.jobs.shutdown()

    # no /docs: Swagger UI would load its scripts from a CDN; the OpenAPI document is local
    app = FastAPI(title="clearzoom", version=_version(), lifespan=lifespan, docs_url=None,
                  redoc_url=None,
                  description="Restore and magnify compressed images; deep zoom rendered on demand.")
    app.state.service = svc
    static = resources.files("clearzoom.web").joinpath("static")

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        message = exc.detail if exc.status_code != 404 else f"no such path: {request.url.path}"
        return JSONResponse({"error": str(message)}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return JSONResponse({"error": f"{where}: {first.get('msg', 'invalid request')}"},
                            status_code=422)

    @app.middleware("http")
    async def _limit_upload(request: Request, call_next):
        length = request.headers.get("content-length")
        if request.method == "POST" and length and length.isdigit() \
                and int(length) > cfg.max_upload_bytes + 64 * 1024:
            return JSONResponse({"error": f"upload of {int(length) / MB:.1f} MB is over the "
                                          f"{cfg.max_upload_bytes / MB:.0f} MB limit"},
                                status_code=413)
        return await call_next(request)

    class JobRequest(BaseModel):
        scale: float | None = Field(None, gt=0, le=64)
        width: int | None = Field(None, ge=1)
        height: int | None = Field(None, ge=1)
        format: Literal["png", "jpeg", "webp"] = "png"
        tta: bool = False  # self-ensemble: 8 renders averaged (docs/self-ensemble.md)

    @app.get("/", include_in_schema=False)
    def index():
        return Response(static.joinpath("index.html").read_bytes(), media_type="text/html")

    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    osd = find_openseadragon(cfg.openseadragon_dir)
    if osd is not None:
        app.mount("/vendor/openseadragon", StaticFiles(directory=str(osd)), name="openseadragon")
    else:
        log.warning("OpenSeadragon not found (run scripts/setup.sh, which runs npm ci): "
                    "the page works without its deep-zoom viewer")

    @app.get("/api/health")
    def health():
        return {"status": "ok", "model": svc.model.name, "images": len(svc.images),
                "viewer": osd is not None}

    async def _read_limited(file: UploadFile) -> bytes:
        chunks, size = [], 0
        while chunk := await file.read(1 << 20):
            size += len(chunk)
            if size > cfg.max_upload_bytes:
                raise ApiError(413, f"upload is over the {cfg.max_upload_bytes / MB:.0f} MB limit")
            chunks.append(chunk)
        return b"".join(chunks)

    @app.post("/api/images", status_code=201, summary="Upload an image (multipart field 'file')")
    async def upload(file: UploadFile = File(...)):
        data = await _read_limited(file)
        entry = await run_in_threadpool(svc.ingest, data, file.filename)
        return svc.info(entry)

    @app.post("/api/images/example", status_code=201, summary="Load the bundled example image")
    async def example():
        data = static.joinpath("example.jpg").read_bytes()
        entry = await run_in_threadpool(svc.ingest, data, "osprey-small.jpg")
        return svc.info(entry)

    @app.get("/api/images/{image_id}.dzi", summary="Deep Zoom descriptor")
    def dzi(image_id: str):
        e = svc.entry(image_id)
        return Response(e.pyramid.dzi("png"), media_type="application/xml")

    @app.get("/api/images/{image_id}_files/{level}/{col}_{row}.{fmt}", summary="Deep Zoom tile")
    def tile(image_id: str, level: int, col: int, row: int, fmt: str):
        if fmt not in ("png", "jpeg", "jpg"):
            raise ApiError(404, f"tile format {fmt!r}: use png or jpeg")
        fmt = "jpeg" if fmt in ("jpeg", "jpg") else "png"
        e = svc.entry(image_id)
        try:
            e.pyramid.level_size(level)
        except ValueError as exc:
            raise ApiError(404, str(exc)) from None
        data = svc.tile(e, level, col, row, fmt)
        return Response(data, media_type=f"image/{fmt}",
                        headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/api/images/{image_id}/input.png", summary="The input as an 8-bit RGB PNG")
    def input_png(image_id: str):
        e = svc.entry(image_id)
        buf = io.BytesIO()
        e.rgb.save(buf, "PNG")
        return Response(buf.getvalue(), media_type="image/png")

    @app.get("/api/images/{image_id}", summary="Image info and analysis")
    def image_info(image_id: str):
        return svc.info(svc.entry(image_id))

    @app.delete("/api/images/{image_id}", status_code=204)
    def delete_image(image_id: str):
        if not (_ID.match(image_id) and svc.images.delete(image_id)):
            raise ApiError(404, f"no image {image_id!r}")
        return Response(status_code=204)

    @app.post("/api/images/{image_id}/jobs", status_code=202, summary="Start an upscale job")
    def create_job(image_id: str, req: JobRequest):
        e = svc.entry(image_id)
        job = svc.start_job(e, req.scale, req.width, req.height, req.format, req.tta)
        return job.to_dict()

    def _job(job_id: str):
        job = svc.jobs.get(job_id) if _ID.match(job_id) else None
        if job is None:
            raise ApiError(404, f"no job {job_id!r}")
        return job

    @app.get("/api/jobs/{job_id}", summary="Job state and progress")
    def job_state(job_id: str):
        return _job(job_id).to_dict()

    @app.get("/api/jobs/{job_id}/result", summary="Download a finished job's image")
    def job_result(job_id: str):
        job = _job(job_id)
        if job.state != "done":
            raise ApiError(409, f"job {job_id} is {job.state}, not done")
        return Response(job.result, media_type=job.media_type,
                        headers={"Content-Disposition": f'attachment; filename="{job.filename}"'})

    @app.delete("/api/jobs/{job_id}", summary="Cancel a job")
    def cancel_job(job_id: str):
        _job(job_id)
        return svc.jobs.cancel(job_id).to_dict()

    return app


def _version() -> str:
    from .._version import __version__

    return __version__
