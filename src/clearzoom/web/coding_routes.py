"""The web app's semantic coding (issue 23): encode an uploaded image as ``.czp``, download it,
and decode it a layer at a time (the page shows the layers arriving, as a progressive download
would). Encoding and decoding run on the upload queue's thread (one at a time, fairly between
clients); the file is kept with its image (it is never larger than a few hundred kB)."""
# No ``from __future__ import annotations`` here: FastAPI reads the routes' annotations at runtime.

import io
from typing import Literal

from fastapi import FastAPI, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ..errors import ClearZoomError
from .service import ApiError, Service

__all__ = ["coding_routes"]

MAX_BUDGET = 50_000_000


class CodingRequest(BaseModel):
    budget: str | None = Field(None, max_length=20)  # "20kB", "1.5MB", "40000"; None: default qualities
    prompt: str | None = Field(None, max_length=500)  # "the faces, then the text"
    detect: Literal["auto", "none", "text", "face", "text,face"] = "auto"


def coding_routes(app: FastAPI, svc: Service, queued) -> None:
    """``POST/GET /api/images/{id}/czp`` and ``GET /api/images/{id}/czp/layers/{k}.png``."""
    from ..coding import decode, encode_czp, parse, parse_bytes, plan_regions

    @app.post("/api/images/{image_id}/czp", summary="Encode the image as .czp (semantic coding)")
    async def encode(request: Request, image_id: str, req: CodingRequest):
        e = svc.entry(image_id)

        def work():
            try:
                budget = None if req.budget is None else parse_bytes(req.budget)
                if budget is not None and budget > MAX_BUDGET:
                    raise ApiError(422, f"budget is larger than {MAX_BUDGET} bytes")
                detectors = (
                    None
                    if req.detect == "auto"
                    else ()
                    if req.detect == "none"
                    else tuple(req.detect.split(","))
                )
                plan = plan_regions(e.rgb, prompt=req.prompt, detectors=detectors)
                return encode_czp(e.rgb, plan=plan, budget=budget)
            except ClearZoomError as exc:
                raise ApiError(422, str(exc)) from None

        enc = await queued(request, svc.ingest_queue, image_id, work)
        e.czp = enc.data
        return {
            "bytes": len(enc.data),
            "layers": [
                {k: v for k, v in layer.to_json().items() if k != "crc32"} for layer in enc.container.layers
            ],
            "left_out": [{"label": r.label, "rank": r.rank, "why": why} for r, why in enc.left_out],
            "download": f"/api/images/{image_id}/czp",
        }

    def czp_of(image_id: str) -> bytes:
        data = svc.entry(image_id).czp
        if data is None:
            raise ApiError(404, f"image {image_id} has not been encoded (POST /api/images/{image_id}/czp)")
        return data

    @app.get("/api/images/{image_id}/czp", summary="Download the image's .czp")
    def download(image_id: str):
        name = svc.entry(image_id).name.rsplit(".", 1)[0] or "image"
        return Response(
            czp_of(image_id),
            media_type="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{name}.czp"'},
        )

    @app.get("/api/images/{image_id}/czp/layers/{k}.png", summary="The .czp decoded from its first k layers")
    async def layers(request: Request, image_id: str, k: int, resize_only: bool = Query(False)):
        data = czp_of(image_id)
        if not 1 <= k <= len(parse(data).layers):
            raise ApiError(404, f"layer count {k} is not within 1..{len(parse(data).layers)}")

        def work():
            out, _ = decode(data, layers=k, model=svc.model, resize_only=resize_only)
            buf = io.BytesIO()
            out.save(buf, "PNG")
            return buf.getvalue()

        png = await queued(request, svc.ingest_queue, image_id, work)
        return Response(png, media_type="image/png")
