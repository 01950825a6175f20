"""Live suggestions over a WebSocket while the contact is going on.

Protocol (JSON messages):
- client -> ``{"type": "turn", "speaker": "customer"|"agent"|"system", "text": "...", "offset_s": 12.5}``
  server -> ``{"type": "suggestion", "turn": i, "suggestion": {...} | null, "latency_ms": ms}``
- client -> ``{"type": "close"}``
  server -> ``{"type": "final", "suggestion": {... with "suggestion_id"}}``, then closes (1000). The final
  suggestion is stored like an on-demand one (source "live") and takes feedback the same way.
- an invalid message gets ``{"type": "error", "error": ..., "detail": ..., "problems": [...]}`` and the
  session goes on; nothing is lost. So do a turn over the key's rate limit (``rate_limited``, with
  ``retry_after``), a full house (``too_many_live_sessions``: all slots, or the tenant's) and a turn
  for a session another key opened (``forbidden``: a session belongs to the key that opened it).
- a dropped connection leaves the session open for ``DISPO_LIVE_IDLE_SECONDS`` (10 minutes) so the
  desktop can reconnect; a model reload does not end it (it finishes on the version it started on).

The contact's context comes as query parameters: ``agent_id``, ``customer_id``, ``channel``,
``provider``, ``queue``. Authentication uses the same headers as HTTP; a refused connection is
accepted and closed at once with 4401 (no or bad key), 4403 (wrong role), 4429 (rate limited),
1013 (not ready) or 1008 (bad contact id or query parameters), and the reason. (Closed before the
handshake, a server answers a bare HTTP 403 whatever the cause: a client could not tell them apart.)
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from dispo.contact import Contact, Turn
from dispo.errors import DispoError, ForbiddenError
from serve.bodies import JSONBodyRoute
from serve.deps import get_inference, get_limiter, get_settings, get_store, websocket_principal
from serve.errors import close_code_for, status_for
from serve.routes.dispositions import suggestion_row
from serve.schemas import LiveTurnIn, Suggestion

logger = logging.getLogger(__name__)
router = APIRouter(tags=["live"], route_class=JSONBodyRoute)

CONTEXT_FIELDS = ("agent_id", "customer_id", "channel", "provider", "queue")


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
    if not contact_id or len(contact_id) > 200:
        await refuse(websocket, 1008, "contact_id must be 1-200 characters")
        return
    settings = get_settings(websocket)
    store = get_store(websocket)
    limiter = get_limiter(websocket)
    context = {k: websocket.query_params[k] for k in CONTEXT_FIELDS if websocket.query_params.get(k)}
    started_at = datetime.now(UTC)
    try:
        Contact(contact_id=contact_id, turns=[], **context)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(x) for x in e["loc"]) for e in exc.errors())
        await refuse(websocket, 1008, f"invalid query parameters: {fields}")
        return
    await websocket.accept()
    try:
        while True:
            message = await _receive_json(websocket, max_chars=4 * settings.max_turn_chars + 4096)
            if isinstance(message, str):  # not a JSON text frame: say so and read on
                await websocket.send_json(_error("invalid_input", message, []))
                continue
            try:
                incoming = LiveTurnIn.model_validate(message)
            except ValidationError as exc:
                await websocket.send_json(_error("invalid_input", "not a valid live message", exc.errors()))
                continue
            # The service in charge now: after a model reload it holds this session (on its old version).
            inference = get_inference(websocket)
            if incoming.type == "close":
                try:
                    turns, prediction, latency = inference.close_live(caller.tenant_id, caller.key_id, contact_id)
                except DispoError as exc:
                    await websocket.send_json(_error(status_for(exc)[1], str(exc), []))
                    continue
                final = None
                if prediction is not None:
                    contact = inference.private(
                        Contact(
                            contact_id=contact_id,
                            turns=turns,
                            started_at=started_at,
                            ended_at=datetime.now(UTC),
                            **context,
                        )
                    )
                    row = suggestion_row(caller, "live", contact, prediction, latency, inference.taxonomy)
                    (suggestion_id,) = await run_in_threadpool(store.add_suggestions, [row])
                    inference.telemetry.suggestions.labels("live").inc()
                    final = Suggestion.from_prediction(suggestion_id, prediction, latency).model_dump()
                await websocket.send_json({"type": "final", "suggestion": final})
                await websocket.close(code=1000)
                return
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
            if inference.live_turn_count(caller.tenant_id, contact_id) >= settings.max_turns:
                await websocket.send_json(_error("too_large", f"at most {settings.max_turns} turns per contact", []))
                continue
            if len(incoming.text) > settings.max_turn_chars:
                detail = f"at most {settings.max_turn_chars} characters per turn"
                await websocket.send_json(_error("too_large", detail, []))
                continue
            turn = Turn(speaker=incoming.speaker, text=incoming.text, offset_s=incoming.offset_s)
            try:
                _, prediction, latency_ms = await inference.live_turn(caller.tenant_id, caller.key_id, contact_id, turn)
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


async def refuse(websocket: WebSocket, code: int, reason: str) -> None:
    """End a connection that cannot start with ``code`` and ``reason``. The handshake is accepted
    first: closed before it, the server would answer HTTP 403 and the code would never arrive."""
    await websocket.accept()
    await websocket.close(code=code, reason=reason.encode()[:120].decode(errors="ignore"))


async def _receive_json(websocket: WebSocket, *, max_chars: int) -> Any:
    """The next frame as JSON, or a string saying why it is not one (binary, too large, not JSON)."""
    frame = await websocket.receive()
    if frame["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(frame.get("code", 1000))
    text = frame.get("text")
    if text is None:
        return "binary frames are not accepted: send JSON text"
    if len(text) > max_chars:
        return f"a message may hold at most {max_chars} characters"
    try:
        return json.loads(text)
    except ValueError:
        return "not a JSON message"


def _error(error: str, detail: str, problems: list[Any]) -> dict[str, Any]:
    cleaned = []
    for p in problems:
        if isinstance(p, dict):
            cleaned.append({"field": ".".join(str(x) for x in p.get("loc", ())), "expected": p.get("msg", "")})
    return {"type": "error", "error": error, "detail": detail, "problems": cleaned}
