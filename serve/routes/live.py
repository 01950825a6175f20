"""Live suggestions over a WebSocket while the contact is going on.

Protocol (JSON messages):
- client -> ``{"type": "turn", "speaker": "customer"|"agent"|"system", "text": "...", "offset_s": 12.5}``
  server -> ``{"type": "suggestion", "turn": i, "suggestion": {...} | null, "latency_ms": ms}``
- client -> ``{"type": "close"}``
  server -> ``{"type": "final", "suggestion": {... with "suggestion_id"}}``, then closes (1000). The final
  suggestion is stored like an on-demand one (source "live") and takes feedback the same way.
- an invalid message gets ``{"type": "error", "error": ..., "detail": ..., "problems": [...]}`` and the
  session goes on; nothing is lost. So do a turn over the key's rate limit (``rate_limited``, with
  ``retry_after``), a full house (``too_many_live_sessions``: all slots, or the tenant's), a turn
  for a session another key opened (``forbidden``: a session belongs to the key that opened it), a
  turn over the size limits of a whole contact (``too_large``: ``DISPO_MAX_TURNS``,
  ``DISPO_MAX_TURN_CHARS``, ``DISPO_MAX_TOTAL_CHARS``, as REST) and a close whose suggestion cannot
  be stored (``internal``: the session stays open, send the close again).
- a dropped connection leaves the session open for ``DISPO_LIVE_IDLE_SECONDS`` (10 minutes) so the
  desktop can reconnect; a model reload does not end it (it finishes on the version it started on).
  Sessions are held in memory: a restart of the service loses them. The first ``suggestion`` after
  a reconnect then says ``"turn": 0``: a desktop that had sent more turns knows to send them again.

The contact's context comes as query parameters: ``agent_id``, ``customer_id``, ``channel``,
``provider``, ``queue``. The session keeps those of the connection that opened it, and its start
time: a reconnect may leave them out, may add one the first connection lacked, and one it sends
with another value is ignored (logged as a warning): it is still the contact that was opened.
Authentication uses the same headers as HTTP; a refused connection is accepted and closed at once
with 4401 (no or bad key), 4403 (wrong role), 4429 (rate limited), 1013 (not ready) or 1008 (bad
contact id or query parameters, or one over 200 characters), and the reason. (Closed before the
handshake, a server answers a bare HTTP 403 whatever the cause: a client could not tell them apart.)
The key is checked again while the connection is open (at most every ``KEY_RECHECK_SECONDS``): once
it is revoked, the next message closes the connection with 4401.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from dispo.contact import ID_MAX_CHARS, Contact, Turn
from dispo.errors import DispoError, ForbiddenError, UnauthorizedError
from serve.bodies import JSONBodyRoute
from serve.deps import get_inference, get_limiter, get_settings, get_store, websocket_principal, websocket_secret
from serve.errors import close_code_for, status_for
from serve.inference import InferenceService
from serve.routes.dispositions import suggestion_row
from serve.schemas import LiveTurnIn, Suggestion
from serve.store import Principal, Store

logger = logging.getLogger(__name__)
router = APIRouter(tags=["live"], route_class=JSONBodyRoute)

CONTEXT_FIELDS = ("agent_id", "customer_id", "channel", "provider", "queue")
#: How long a connection trusts its API key before reading it again from the store, as REST does at
#: every request: a revoked key's connection ends at its first message after at most this long, and
#: a turn seldom costs a database read.
KEY_RECHECK_SECONDS = 5.0


@router.websocket("/v1/live/{contact_id}")
async def live(websocket: WebSocket, contact_id: str) -> None:
    try:
        caller = await run_in_threadpool(websocket_principal, websocket)
        if caller.role != "agent":
            raise ForbiddenError(f"a {caller.role!r} key may not open live sessions; it needs an 'agent' key")
        inference = get_inference(websocket)
    except DispoError as exc:
        await refuse(websocket, close_code_for(exc), str(exc))
        return
    if not contact_id or len(contact_id) > ID_MAX_CHARS:
        await refuse(websocket, 1008, f"contact_id must be 1-{ID_MAX_CHARS} characters")
        return
    too_long = [k for k in CONTEXT_FIELDS if len(websocket.query_params.get(k) or "") > ID_MAX_CHARS]
    if too_long:
        await refuse(websocket, 1008, f"{', '.join(too_long)} must be at most {ID_MAX_CHARS} characters")
        return
    settings = get_settings(websocket)
    limits = settings.limits
    store = get_store(websocket)
    limiter = get_limiter(websocket)
    context = {k: websocket.query_params[k] for k in CONTEXT_FIELDS if websocket.query_params.get(k)}
    started_at = datetime.now(UTC)  # the contact's start if this connection opens its session
    try:
        Contact(contact_id=contact_id, turns=[], **context)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(x) for x in e["loc"]) for e in exc.errors())
        await refuse(websocket, 1008, f"invalid query parameters: {fields}")
        return
    key = _KeyCheck(store, websocket_secret(websocket) or "", caller.key_id)
    inference.rejoin_live(caller.tenant_id, caller.key_id, contact_id, context)
    await websocket.accept()
    try:
        while True:
            message = await _receive_json(websocket, max_chars=4 * settings.max_turn_chars + 4096)
            if not await key.valid():
                logger.info("live connection for %s/%s closed: its key was revoked", caller.tenant_id, contact_id)
                revoked = UnauthorizedError("unknown or revoked API key")
                await websocket.close(code=close_code_for(revoked), reason=str(revoked))
                return
            if isinstance(message, _BadFrame):  # not a JSON text frame: say so and read on
                await websocket.send_json(_error(message.error, message.detail, []))
                continue
            try:
                incoming = LiveTurnIn.model_validate(message)
            except ValidationError as exc:
                await websocket.send_json(_error("invalid_input", "not a valid live message", exc.errors()))
                continue
            # The service in charge now: after a model reload it holds this session (on its old version).
            inference = get_inference(websocket)
            if incoming.type == "close":
                if await _close(websocket, inference, store, caller, contact_id):
                    return
                continue
            wait = limiter.acquire(caller.key_id)  # turns count against the key's rate like requests
            if wait > 0:
                retry = {"retry_after": round(wait, 2)}
                await websocket.send_json(
                    _error("rate_limited", f"rate limit exceeded; retry after {wait:.1f} s", []) | retry
                )
                continue
            if incoming.speaker is None or incoming.text is None:
                await websocket.send_json(_error("invalid_input", "a turn needs 'speaker' and 'text'", []))
                continue
            turn = Turn(speaker=incoming.speaker, text=incoming.text, offset_s=incoming.offset_s)
            try:
                _, prediction, latency_ms = await inference.live_turn(
                    caller.tenant_id, caller.key_id, contact_id, turn,
                    limits=limits, context=context, started_at=started_at,
                )  # fmt: skip
            except DispoError as exc:
                _, error = status_for(exc)
                await websocket.send_json(_error(error, str(exc), []))
                continue
            index = inference.live_turn_count(caller.tenant_id, contact_id) - 1
            body = None
            if prediction is not None:
                body = Suggestion.from_prediction("", prediction, latency_ms).model_dump(exclude={"suggestion_id"})
            await websocket.send_json(
                {"type": "suggestion", "turn": index, "suggestion": body, "latency_ms": round(latency_ms, 3)}
            )
    except WebSocketDisconnect:
        # The session stays open (an agent desktop may reconnect) until closed or idle too long.
        logger.info("live connection for %s/%s dropped", caller.tenant_id, contact_id)


async def _close(
    websocket: WebSocket, inference: InferenceService, store: Store, caller: Principal, contact_id: str
) -> bool:
    """Store the contact's final suggestion, send it and end the session and the connection. False
    when the suggestion cannot be stored: the session stays open, and the close may be sent again."""
    try:
        final = await inference.live_final(caller.tenant_id, caller.key_id, contact_id)
    except DispoError as exc:
        await websocket.send_json(_error(status_for(exc)[1], str(exc), []))
        return False
    body = None
    if final is not None and final.prediction is not None:
        contact = inference.private(
            Contact(
                contact_id=contact_id,
                turns=final.turns,
                started_at=final.started_at,
                ended_at=datetime.now(UTC),
                **final.context,
            )
        )
        row = suggestion_row(caller, "live", contact, final.prediction, final.latency_ms, inference.taxonomy)
        try:
            (suggestion_id,) = await run_in_threadpool(store.add_suggestions, [row])
        except Exception as exc:  # the database's error: the contact is kept, not lost with the connection
            logger.error("storing the final live suggestion of %s/%s failed: %s", caller.tenant_id, contact_id,
                         type(exc).__name__)  # fmt: skip
            detail = (
                "the final suggestion could not be stored now (the operator's log has the details); "
                "the session is still open: send the close again"
            )
            await websocket.send_json(_error("internal", detail, []))
            return False
        inference.telemetry.suggestions.labels("live").inc()
        body = Suggestion.from_prediction(suggestion_id, final.prediction, final.latency_ms).model_dump()
    if final is not None:  # by the service in charge now: a model reload during the write moved the session there
        get_inference(websocket).end_live(caller.tenant_id, contact_id, final)
    await websocket.send_json({"type": "final", "suggestion": body})
    await websocket.close(code=1000)
    return True


class _KeyCheck:
    """Whether the key a connection was opened with is still valid (not revoked): read from the
    store the way REST reads it at every request, at most every :data:`KEY_RECHECK_SECONDS`."""

    def __init__(self, store: Store, secret: str, key_id: str) -> None:
        self.store = store
        self.secret = secret
        self.key_id = key_id
        self.checked = time.monotonic()  # the connection was just authenticated

    async def valid(self) -> bool:
        now = time.monotonic()
        if now - self.checked < KEY_RECHECK_SECONDS:
            return True
        try:
            principal = await run_in_threadpool(self.store.authenticate, self.secret)
        except Exception as exc:  # the database's error: the key stays trusted until the next message checks
            logger.warning("live key check failed (%s); checked again at the next message", type(exc).__name__)
            return True
        if principal is None or principal.key_id != self.key_id:
            return False
        self.checked = now
        return True


async def refuse(websocket: WebSocket, code: int, reason: str) -> None:
    """End a connection that cannot start with ``code`` and ``reason``. The handshake is accepted
    first: closed before it, the server would answer HTTP 403 and the code would never arrive."""
    await websocket.accept()
    await websocket.close(code=code, reason=reason.encode()[:120].decode(errors="ignore"))


@dataclass(frozen=True)
class _BadFrame:
    """A frame that is not a JSON message: the error to answer it with."""

    error: str
    detail: str


async def _receive_json(websocket: WebSocket, *, max_chars: int) -> Any:
    """The next frame as JSON, or a :class:`_BadFrame` saying why it is not one (binary, too large
    (``too_large``, as REST answers a body over its limit), not JSON)."""
    frame = await websocket.receive()
    if frame["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(frame.get("code", 1000))
    text = frame.get("text")
    if text is None:
        return _BadFrame("invalid_input", "binary frames are not accepted: send JSON text")
    if len(text) > max_chars:
        return _BadFrame("too_large", f"a message may hold at most {max_chars} characters")
    try:
        return json.loads(text)
    except ValueError:
        return _BadFrame("invalid_input", "not a JSON message")


def _error(error: str, detail: str, problems: list[Any]) -> dict[str, Any]:
    cleaned = []
    for p in problems:
        if isinstance(p, dict):
            cleaned.append({"field": ".".join(str(x) for x in p.get("loc", ())), "expected": p.get("msg", "")})
    return {"type": "error", "error": error, "detail": detail, "problems": cleaned}
