"""The FastAPI application: wiring only. The model and the database are opened in the lifespan."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import torch
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dispo.model.predictor import Predictor
from dispo.redact.pseudonym import Pseudonymizer
from serve.audit import routes as audit
from serve.audit import ui
from serve.db import make_engine, upgrade
from serve.errors import BodyTooLargeError, install_error_handlers, problem
from serve.inference import InferenceService
from serve.logfilter import install_privacy_filter
from serve.ratelimit import RateLimiter
from serve.routes import admin, batches, dispositions, health, live, metrics
from serve.routes.batches import BatchWorker
from serve.settings import Settings
from serve.store import Store
from serve.telemetry import Telemetry

logger = logging.getLogger(__name__)

PredictorLoader = Callable[[Settings], Predictor]


def load_predictor(settings: Settings) -> Predictor:
    # The service answers one contact or one live turn at a time: pick the encoder by latency.
    return Predictor.load(settings.model, settings.models_root, backend=settings.backend, objective="latency")


def create_app(settings: Settings | None = None, load: PredictorLoader = load_predictor) -> FastAPI:
    settings = settings or Settings.from_env()
    telemetry = Telemetry()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        install_privacy_filter()  # uvicorn has set up its handlers by now
        threads_before = torch.get_num_threads()  # process-wide: given back at shutdown
        if settings.torch_threads:
            torch.set_num_threads(settings.torch_threads)
        engine = make_engine(settings.database_url)
        await asyncio.to_thread(upgrade, engine)
        app.state.store = Store(engine, settings.key_pepper)
        await start_model(app)
        worker = BatchWorker(settings) if settings.batch_worker else None
        if worker is not None:
            await asyncio.to_thread(worker.start)
        try:
            yield
        finally:
            if worker is not None:
                await asyncio.to_thread(worker.close)
            if app.state.inference is not None:
                await app.state.inference.stop()
            engine.dispose()
            torch.set_num_threads(threads_before)

    async def start_model(app: FastAPI) -> None:
        predictor = await asyncio.to_thread(load, settings)
        inference = InferenceService(
            predictor,
            telemetry,
            max_batch=settings.max_inference_batch,
            max_live_sessions=settings.max_live_sessions,
            max_live_sessions_per_tenant=settings.max_live_sessions_per_tenant,
            live_idle_seconds=settings.live_idle_seconds,
            segment_cache=settings.segment_cache,
            pseudonymizer=Pseudonymizer(settings.pseudonym_key) if settings.pseudonym_key else None,
        )
        await inference.start()
        previous = getattr(app.state, "inference", None)
        if previous is not None:
            inference.adopt_live(previous)  # open live sessions finish on the version they started on
        app.state.inference = inference
        telemetry.model_info.clear()
        backend = predictor.backend.name if predictor.backend is not None else "torch"  # a cache keeps its name
        telemetry.model_info.labels(predictor.version, backend).set(1)
        if previous is not None:
            await previous.stop()
        logger.info("serving %s", predictor.version)

    app = FastAPI(
        title="dispo",
        version="1",
        summary="Contact dispositions: reason, outcome, sentiment and upsell, with a record of every suggestion.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.telemetry = telemetry
    app.state.limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
    app.state.inference = None

    async def reload_model() -> None:
        await start_model(app)

    app.state.reload_model = reload_model
    install_error_handlers(app)
    app.add_exception_handler(ui.LoginRequiredError, ui.to_login)
    for module in (dispositions, live, batches, admin, health, audit, ui, metrics):
        app.include_router(module.router)
    app.add_middleware(
        GuardMiddleware,
        telemetry=telemetry,
        max_body_bytes=settings.max_body_bytes,
        upload_limits={"/v1/batches": settings.max_upload_bytes},
    )
    return app


class GuardMiddleware:
    """Refuses bodies over the size limit (413, before they are read whole: by their Content-Length,
    or while a streamed body comes in) and records each request's route, status and latency for
    Prometheus."""

    def __init__(
        self, app: ASGIApp, telemetry: Telemetry, max_body_bytes: int, upload_limits: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.telemetry = telemetry
        self.max_body_bytes = max_body_bytes
        self.upload_limits = upload_limits or {}  # path prefix -> limit, for file uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}
        path = scope.get("path", "")
        limit = next((v for k, v in self.upload_limits.items() if path.startswith(k)), self.max_body_bytes)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(BodyTooLargeError(limit), scope, receive, send)
            self._observe(scope, 413, started)
            return
        received = 0
        responded = False

        async def limited_receive() -> Message:
            # A streamed body has no Content-Length: count it as it comes. The error is an
            # HTTPException, which FastAPI lets through its body parsing to the error handlers.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        async def recording_send(message: Message) -> None:
            nonlocal responded
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                responded = True
            await send(message)

        try:
            await self.app(scope, limited_receive, recording_send)
        except BodyTooLargeError as exc:  # read where no error handler answers it
            if responded:  # too late to say so
                raise
            await self._too_large(exc, scope, receive, send)
            status["code"] = 413
        finally:
            self._observe(scope, status["code"], started)

    async def _too_large(self, exc: BodyTooLargeError, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(exc.status_code, exc.code, str(exc.detail))
        await response(scope, receive, send)

    def _observe(self, scope: Scope, status: int, started: float) -> None:
        route: Any = scope.get("route")
        path = getattr(route, "path", None) or "unmatched"
        self.telemetry.requests.labels(path, scope.get("method", ""), str(status)).inc()
        self.telemetry.latency.labels(path).observe(time.perf_counter() - started)
