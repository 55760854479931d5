"""The web app's routes (FastAPI): HTTP in, :class:`~.service.Service` calls, JSON or bytes out.

API (OpenAPI document at ``/openapi.json``)::

    POST   /api/images                       multipart field "file" -> {"id", ...}  (201)
    POST   /api/images/example               the bundled example image          (201)
    GET    /api/images/{id}                  size, analysis, deep-zoom info
    GET    /api/images/{id}/input.png        the input as PNG (8-bit RGB)
    GET    /api/images/{id}.dzi              Deep Zoom descriptor (the input x zoom per side)
    GET    /api/images/{id}_files/{level}/{col}_{row}.{png|jpeg}   Deep Zoom tiles
    DELETE /api/images/{id}                                                      (204)
    GET    /api/prompt?text=...              what a request in words asks for (tasks, size)
    POST   /api/images/{id}/jobs             {"scale"} or {"width", "height"}, "format", "tta" (202)
    GET    /api/jobs/{job_id}                state, progress, error
    GET    /api/jobs/{job_id}/result         the upscaled image (download)
    DELETE /api/jobs/{job_id}                cancel
    POST   /api/images/{id}/czp              {"budget", "prompt", "detect"}: encode as .czp
    GET    /api/images/{id}/czp              the .czp (download)
    GET    /api/images/{id}/czp/layers/{k}.png   decoded from its first k layers (progressive)

Errors are JSON ``{"error": "..."}`` with a fitting status code.
"""
# No ``from __future__ import annotations`` here: FastAPI reads the routes' annotations at runtime.

import asyncio
import contextlib
import io
import logging
from importlib import resources
from typing import Literal

try:
    from fastapi import FastAPI, File, Query, Request, UploadFile
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, Response
    from fastapi.staticfiles import StaticFiles
    from pydantic import BaseModel, Field
    from starlette.exceptions import HTTPException as StarletteHTTPException
except ImportError as exc:  # pragma: no cover - exercised by the CLI's message
    raise ImportError(
        f"the web app needs the 'web' extra: pip install 'clearzoom[web]' (missing: {exc.name})"
    ) from None

from .._version import __version__
from ..instruct import parse_prompt
from ..models.model import Model
from .coding_routes import coding_routes
from .guard import Guard
from .queue import Busy, FairQueue
from .service import ApiError, Service, WebConfig, find_openseadragon, is_id

__all__ = ["create_app"]

log = logging.getLogger(__name__)


class JobRequest(BaseModel):
    scale: float | None = Field(None, gt=0, le=64)
    width: int | None = Field(None, ge=1)
    height: int | None = Field(None, ge=1)
    format: Literal["png", "jpeg", "webp"] = "png"
    tta: bool = False  # self-ensemble: 8 renders averaged (docs/self-ensemble.md)
    strip_metadata: bool = False  # keep only the colour profile (no EXIF: GPS, camera, dates)


def create_app(cfg: WebConfig | None = None, model: Model | None = None) -> FastAPI:
    """The ASGI app. ``model`` overrides ``cfg.model`` (tests pass a tiny one)."""
    cfg = cfg or WebConfig()
    svc = Service(cfg, model)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        svc.close()

    # no /docs: Swagger UI would load its scripts from a CDN; the OpenAPI document is local
    app = FastAPI(
        title="clearzoom",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        description="Restore and magnify compressed images; deep zoom rendered on demand.",
    )
    app.state.service = svc
    app.add_middleware(Guard, allowed_hosts=cfg.allowed_hosts, body_limit=_body_limit(cfg))
    _errors(app, cfg)
    _page(app, svc, cfg)
    _images(app, svc, cfg)
    _jobs(app, svc)
    coding_routes(app, svc, _queued)
    return app


def _body_limit(cfg: WebConfig):
    """The most bytes a request body may have: an upload's limit (plus the multipart framing) for
    ``POST /api/images``, 64 kB for every other request (they carry small JSON at most)."""

    def limit(method: str, path: str) -> int:
        return cfg.max_upload_bytes + 64 * 1024 if (method, path) == ("POST", "/api/images") else 64 * 1024

    return limit


def _errors(app: FastAPI, cfg: WebConfig) -> None:
    """Every error as JSON ``{"error": ...}``; a full queue as 503 with ``Retry-After``."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.exception_handler(Busy)
    async def _busy(request: Request, exc: Busy):
        return JSONResponse(
            {"error": str(exc)}, status_code=503, headers={"Retry-After": str(exc.retry_after)}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        message = exc.detail if exc.status_code != 404 else f"no such path: {request.url.path}"
        return JSONResponse({"error": str(message)}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return JSONResponse({"error": f"{where}: {first.get('msg', 'invalid request')}"}, status_code=422)


def _page(app: FastAPI, svc: Service, cfg: WebConfig) -> None:
    """The page, its static files, the deep-zoom viewer and the health check."""
    static = resources.files("clearzoom.web").joinpath("static")

    @app.get("/", include_in_schema=False)
    async def index():  # on the event loop: never waits behind renders
        return Response(static.joinpath("index.html").read_bytes(), media_type="text/html")

    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    osd = find_openseadragon(cfg.openseadragon_dir)
    if osd is not None:
        app.mount("/vendor/openseadragon", StaticFiles(directory=str(osd)), name="openseadragon")
    else:
        log.warning(
            "OpenSeadragon not found (run scripts/setup.sh, which runs npm ci): "
            "the page works without its deep-zoom viewer"
        )

    @app.get("/api/prompt", summary="What a request in words asks for (clearzoom.parse_prompt)")
    async def prompt(text: str = Query(..., max_length=500)):
        p = parse_prompt(text)  # pure Python, microseconds: on the event loop
        return {**p.to_dict(), "refused": list(p.refused), "matched": p.matched}

    @app.get("/api/health")
    async def health():  # on the event loop: answers while every render thread is busy
        return {
            "status": "ok",
            "model": svc.model.name,
            "images": len(svc.images),
            "viewer": osd is not None,
            "tiles": svc.render_queue.stats(),
            "memory": svc.memory(),
        }


def _images(app: FastAPI, svc: Service, cfg: WebConfig) -> None:
    """Uploads, image info, deep-zoom descriptors and tiles."""
    static = resources.files("clearzoom.web").joinpath("static")

    @app.post("/api/images", status_code=201, summary="Upload an image (multipart field 'file')")
    async def upload(request: Request, file: UploadFile = File(...)):
        data = await file.read()  # the guard bounded the body; svc.ingest checks the file's own size
        entry = await _queued(
            request, svc.ingest_queue, _client(request), lambda: svc.ingest(data, file.filename)
        )
        return svc.info(entry)

    @app.post("/api/images/example", status_code=201, summary="Load the bundled example image")
    async def example(request: Request):
        data = static.joinpath("example.jpg").read_bytes()
        entry = await _queued(
            request, svc.ingest_queue, _client(request), lambda: svc.ingest(data, "osprey-small.jpg")
        )
        return svc.info(entry)

    @app.get("/api/images/{image_id}.dzi", summary="Deep Zoom descriptor")
    def dzi(image_id: str):
        e = svc.entry(image_id)
        return Response(e.pyramid.dzi("png"), media_type="application/xml")

    @app.get("/api/images/{image_id}_files/{level}/{col}_{row}.{fmt}", summary="Deep Zoom tile")
    async def tile(request: Request, image_id: str, level: int, col: int, row: int, fmt: str):
        if fmt not in ("png", "jpeg", "jpg"):
            raise ApiError(404, f"tile format {fmt!r}: use png or jpeg")
        fmt = "jpeg" if fmt in ("jpeg", "jpg") else "png"
        e = svc.entry(image_id)
        try:
            e.pyramid.level_size(level)
        except ValueError as exc:
            raise ApiError(404, str(exc)) from None
        data = svc.cached_tile(e, level, col, row, fmt)
        if data is None:  # rendered on the tile threads, fairly between images; dropped if the client leaves
            data = await _queued(
                request, svc.render_queue, image_id, lambda: svc.tile(e, level, col, row, fmt)
            )
        return Response(data, media_type=f"image/{fmt}", headers={"Cache-Control": "private, max-age=3600"})

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
        if not (is_id(image_id) and svc.images.delete(image_id)):
            raise ApiError(404, f"no image {image_id!r}")
        return Response(status_code=204)


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


async def _queued(request: Request, queue: FairQueue, key, fn):
    """``fn()`` run on ``queue``'s threads; if the client disconnects while it waits, it is
    cancelled (never run) and the request ends. A full queue raises :class:`Busy` (503)."""
    future = queue.submit(key, fn)
    result = asyncio.wrap_future(future)
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({result, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if not result.done():
        future.cancel()
        result.cancel()
        raise ApiError(499, "the client went away")
    return result.result()


async def _disconnected(request: Request) -> None:
    """Return when the client has closed the connection (the request body is already read)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _jobs(app: FastAPI, svc: Service) -> None:
    """Upscale jobs: start, poll, download, cancel."""

    @app.post("/api/images/{image_id}/jobs", status_code=202, summary="Start an upscale job")
    def create_job(image_id: str, req: JobRequest):
        e = svc.entry(image_id)
        job = svc.start_job(e, req.scale, req.width, req.height, req.format, req.tta, req.strip_metadata)
        return job.to_dict()

    def find(job_id: str):
        job = svc.jobs.get(job_id) if is_id(job_id) else None
        if job is None:
            raise ApiError(404, f"no job {job_id!r}")
        return job

    @app.get("/api/jobs/{job_id}", summary="Job state and progress")
    def job_state(job_id: str):
        return find(job_id).to_dict()

    @app.get("/api/jobs/{job_id}/result", summary="Download a finished job's image")
    def job_result(job_id: str):
        job = find(job_id)
        if job.state == "expired":
            raise ApiError(410, f"job {job_id}: {job.error}")
        if job.state != "done":
            raise ApiError(409, f"job {job_id} is {job.state}, not done")
        return Response(
            job.result,
            media_type=job.media_type,
            headers={"Content-Disposition": f'attachment; filename="{job.filename}"'},
        )

    @app.delete("/api/jobs/{job_id}", summary="Cancel a job")
    def cancel_job(job_id: str):
        find(job_id)
        cancelled = svc.jobs.cancel(job_id)
        assert cancelled is not None  # find() has just seen it; jobs are only trimmed when done
        return cancelled.to_dict()
