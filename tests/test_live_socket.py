"""The live WebSocket against the real app: what a session keeps across a failed write, a revoked
key and a reconnect, and the size limits it shares with REST (SQLite here; the route does not
depend on the database)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from starlette.websockets import WebSocketDisconnect

import serve.routes.live
from serve.store import Store
from tests.factories import Api, database_url, make_api

TURNS = [
    {"type": "turn", "speaker": "agent", "text": "thanks for calling, how can I help?"},
    {"type": "turn", "speaker": "customer", "text": "where is my order, it was due monday"},
    {"type": "turn", "speaker": "agent", "text": "it ships tomorrow, sorry for the wait"},
]


@pytest.fixture
def api(models_root: Path, tmp_path: Path) -> Iterator[Api]:
    yield from make_api(models_root, database_url("sqlite", tmp_path))


def _store(api: Api) -> Store:
    store: Store = api.client.app.state.store  # type: ignore[attr-defined]
    return store


def _record(api: Api, suggestion: dict[str, Any]) -> dict[str, Any]:
    response = api.client.get(f"/v1/dispositions/{suggestion['suggestion_id']}", headers=api.headers())
    assert response.status_code == 200, response.text
    record: dict[str, Any] = response.json()
    return record


def _send_turns(ws: Any, turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    answers = []
    for turn in turns:
        ws.send_json(turn)
        answers.append(ws.receive_json())
    return answers


# -- 1: the close ---------------------------------------------------------------------------------
def test_a_failed_final_write_leaves_the_session_open_and_the_close_can_be_sent_again(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(api)
    real_add = store.add_suggestions
    failures = [OperationalError("INSERT INTO suggestions", {}, Exception("database is locked"))]

    def add_suggestions(rows: list[dict[str, Any]]) -> list[str]:
        if failures:
            raise failures.pop()
        return real_add(rows)

    monkeypatch.setattr(store, "add_suggestions", add_suggestions)
    with api.client.websocket_connect("/v1/live/c-write?agent_id=a-1", headers=api.headers()) as ws:
        assert [a["type"] for a in _send_turns(ws, TURNS)] == ["suggestion"] * 3
        ws.send_json({"type": "close"})
        failed = ws.receive_json()
        assert (
            failed["type"] == "error" and failed["error"] == "internal" and "send the close again" in failed["detail"]
        )
    # The connection dropped after the failure; a reconnect closes the same contact, nothing lost.
    with api.client.websocket_connect("/v1/live/c-write", headers=api.headers()) as ws:
        ws.send_json({"type": "close"})
        final = ws.receive_json()
    assert final["type"] == "final" and final["suggestion"] is not None
    record = _record(api, final["suggestion"])
    assert len(record["contact"]["turns"]) == 3 and record["contact"]["agent_id"] == "a-1"
    assert api.client.app.state.inference.live_turn_count("acme", "c-write") == 0  # type: ignore[attr-defined]


def test_query_parameters_over_200_characters_are_refused_at_connect(api: Api) -> None:
    """PostgreSQL stores them in 200-character columns: longer would fail the final write."""
    for name in ("agent_id", "customer_id", "provider", "queue"):
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            api.client.websocket_connect(f"/v1/live/c1?{name}={'x' * 201}", headers=api.headers()) as ws,
        ):
            ws.send_json({"type": "close"})  # were it accepted, the answer would be a final message
            ws.receive_json()
        assert closed.value.code == 1008 and f"{name} must be at most 200 characters" in closed.value.reason, name
    with api.client.websocket_connect(f"/v1/live/c1?agent_id={'x' * 200}", headers=api.headers()) as ws:
        ws.send_json(TURNS[1])
        assert ws.receive_json()["type"] == "suggestion"  # 200 is still fine


# -- 2: a revoked key -----------------------------------------------------------------------------
@pytest.mark.parametrize("message", [TURNS[1], {"type": "close"}], ids=["turn", "close"])
def test_a_revoked_key_is_refused_inside_an_open_live_connection(
    api: Api, monkeypatch: pytest.MonkeyPatch, message: dict[str, Any]
) -> None:
    monkeypatch.setattr(serve.routes.live, "KEY_RECHECK_SECONDS", 0.2, raising=False)
    created = api.post("/v1/keys", {"role": "agent", "name": "desk 12"}, role="admin").json()
    headers = {"X-API-Key": created["key"]}
    with api.client.websocket_connect("/v1/live/c-revoked", headers=headers) as ws:
        ws.send_json(TURNS[1])
        assert ws.receive_json()["type"] == "suggestion"
        assert api.client.delete(f"/v1/keys/{created['id']}", headers=api.headers("admin")).status_code == 204
        time.sleep(0.3)  # past the re-check interval
        ws.send_json(message)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4401
    assert _store(api).suggestions("acme", contact_id="c-revoked") == []


# -- 3: a reconnect -------------------------------------------------------------------------------
def test_a_reconnect_keeps_the_first_connections_context_and_start(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    first = "/v1/live/c-back?agent_id=a-1&customer_id=cust-9&channel=chat&provider=bpo"
    with api.client.websocket_connect(first, headers=api.headers()) as ws:
        _send_turns(ws, TURNS[:1])
    after_first = datetime.now(UTC)
    time.sleep(0.05)
    with api.client.websocket_connect("/v1/live/c-back", headers=api.headers()) as ws:  # no parameters
        assert _send_turns(ws, TURNS[1:2])[0]["turn"] == 1
    # Another agent_id is ignored (with a warning naming the field, not the value); a new queue is added.
    with (
        caplog.at_level(logging.WARNING, logger="serve.inference"),
        api.client.websocket_connect("/v1/live/c-back?agent_id=a-2&queue=orders", headers=api.headers()) as ws,
    ):
        _send_turns(ws, TURNS[2:])
        ws.send_json({"type": "close"})
        final = ws.receive_json()
    contact = _record(api, final["suggestion"])["contact"]
    assert len(contact["turns"]) == 3
    assert {k: contact[k] for k in ("agent_id", "customer_id", "channel", "provider", "queue")} == {
        "agent_id": "a-1", "customer_id": "cust-9", "channel": "chat", "provider": "bpo", "queue": "orders"
    }  # fmt: skip
    assert datetime.fromisoformat(contact["started_at"]) < after_first
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("agent_id" in w for w in warnings) and not any("a-2" in w for w in warnings)


# -- 4: size limits -------------------------------------------------------------------------------
def test_live_turns_have_the_size_limits_of_rest(models_root: Path, tmp_path: Path) -> None:
    """DISPO_MAX_TURN_CHARS (above the old hard-coded 20,000 here) and DISPO_MAX_TOTAL_CHARS hold
    for a live contact as for a posted one, with the same too_large error."""
    url = database_url("sqlite", tmp_path)
    for api in make_api(models_root, url, max_turn_chars=25_000, max_total_chars=60_000):
        turn = {"type": "turn", "speaker": "customer", "text": "where is my parcel " * 1_200}  # 22,800
        with api.client.websocket_connect("/v1/live/c-big", headers=api.headers()) as ws:
            assert _send_turns(ws, [turn])[0]["type"] == "suggestion"
            over = _send_turns(ws, [{**turn, "text": "x" * 25_001}])[0]
            assert over["error"] == "too_large" and "25000 characters per turn" in over["detail"]
            assert _send_turns(ws, [turn])[0]["turn"] == 1  # 45,600 characters in all
            total = _send_turns(ws, [turn])[0]
            assert total["error"] == "too_large" and "60000 characters in all" in total["detail"]
            assert _send_turns(ws, [{**turn, "text": "thanks"}])[0]["turn"] == 2  # the session went on
            ws.send_text('{"type": "turn", "speaker": "customer", "text": "' + "x" * 200_000 + '"}')
            assert ws.receive_json()["error"] == "too_large"  # a frame over its limit, as a body over its own
            ws.send_json({"type": "close"})
            final = ws.receive_json()
        assert len(_record(api, final["suggestion"])["contact"]["turns"]) == 3
        # The same contact posted whole is refused too: the two paths agree.
        contact = {"contact_id": "c-big-rest", "turns": [{"speaker": "customer", "text": turn["text"]}] * 3}
        refused = api.post("/v1/dispositions", contact)
        assert refused.status_code == 413 and refused.json()["error"] == "too_large"


def test_a_turn_over_the_default_limit_is_too_large_not_invalid(api: Api) -> None:
    with api.client.websocket_connect("/v1/live/c-long", headers=api.headers()) as ws:
        answer = _send_turns(ws, [{"type": "turn", "speaker": "customer", "text": "x" * 20_001}])[0]
    assert answer["error"] == "too_large" and "20000 characters per turn" in answer["detail"]
