"""Liveness, readiness and Prometheus metrics (unauthenticated: they carry no tenant data)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from serve.bodies import JSONBodyRoute

router = APIRouter(tags=["health"], route_class=JSONBodyRoute)


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The model is loaded and the database answers", responses={503: {}})
async def readyz(request: Request) -> Any:
    inference = getattr(request.app.state, "inference", None)
    if inference is None:
        return JSONResponse({"status": "not_ready", "detail": "the model is not loaded"}, status_code=503)
    return {"status": "ready", "model": inference.version}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    inference = getattr(request.app.state, "inference", None)
    if inference is not None:
        inference.telemetry.queue_depth.set(inference.queue_size())
    return Response(request.app.state.telemetry.render(), media_type=CONTENT_TYPE_LATEST)
