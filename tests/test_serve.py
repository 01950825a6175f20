"""The HTTP API against the real app, a tiny trained model and a real database (SQLite here;
PostgreSQL too when DISPO_TEST_POSTGRES_URL is set, as CI does)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect
from starlette.websockets import WebSocketDisconnect

from dispo.contact import Contact
from dispo.model.runtime import SegmentCache
from serve.app import create_app
from serve.background import BackgroundServer
from serve.db import make_engine, upgrade
from serve.settings import Settings
from tests.factories import Api, database_url, make_api, two_version_registry

DATABASES = ["sqlite", "postgresql"]


@pytest.fixture(scope="module")
def sample_contacts() -> list[Contact]:
    from training.corpus.builder import CorpusBuilder, CorpusConfig

    return [b.contact for b in CorpusBuilder(CorpusConfig(n_contacts=12, seed=11)).build()]


@pytest.fixture(params=DATABASES)
def api(request: pytest.FixtureRequest, models_root: Path, tmp_path: Path) -> Iterator[Api]:
    yield from make_api(models_root, database_url(request.param, tmp_path))


@pytest.fixture
def sqlite_api(models_root: Path, tmp_path: Path) -> Iterator[Api]:
    yield from make_api(models_root, database_url("sqlite", tmp_path))


def body(contact: Contact) -> dict[str, Any]:
    return contact.to_json_dict()


# -- dispositions and the stored record -------------------------------------------------------
def test_disposition_returns_calibrated_top3_and_is_stored_with_feedback(
    api: Api, sample_contacts: list[Contact]
) -> None:
    contact = sample_contacts[0]
    response = api.post("/v1/dispositions", body(contact))
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["contact_id"] == contact.contact_id and out["model_version"] == "dispo-default:v1"
    probabilities = [r["probability"] for r in out["reasons"]]
    assert len(probabilities) == 3 and probabilities == sorted(probabilities, reverse=True)
    assert abs(sum(out["outcome"]["probabilities"].values()) - 1) < 1e-4
    assert 0 <= out["upsell_probability"] <= 1 and out["evidence"]["upsell"]
    assert out["disposition_code"] and out["latency_ms"] > 0

    sid = out["suggestion_id"]
    taxonomy_reason = out["reasons"][1]["label"]
    accepted = api.post(f"/v1/dispositions/{sid}/feedback", {"agent_id": "a-7", "accepted": True})
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["disposition_code"] == out["disposition_code"]
    changed = api.post(
        f"/v1/dispositions/{sid}/feedback",
        {"agent_id": "a-7", "accepted": False, "reason": taxonomy_reason, "outcome": "escalated", "note": "call me"},
    )
    assert changed.status_code == 201, changed.text

    record = api.client.get(f"/v1/dispositions/{sid}", headers=api.headers("analyst")).json()
    assert record["model_version"] == "dispo-default:v1" and record["latency_ms"] > 0
    assert record["prediction"]["reasons"][0]["label"] == out["reasons"][0]["label"]
    assert [d["accepted"] for d in record["decisions"]] == [True, False]  # both kept, in order
    assert record["decisions"][1]["reason"] == taxonomy_reason and record["decisions"][1]["outcome"] == "escalated"


def test_small_batches_keep_order_and_the_limit_is_413(api: Api, sample_contacts: list[Contact]) -> None:
    batch = [body(c) for c in sample_contacts[:3]]
    response = api.post("/v1/dispositions", batch)
    assert response.status_code == 200, response.text
    assert [d["contact_id"] for d in response.json()["dispositions"]] == [c["contact_id"] for c in batch]
    assert api.post("/v1/dispositions", [body(c) for c in sample_contacts[:5]]).status_code == 413


def test_pii_is_redacted_before_it_is_stored(sqlite_api: Api, sample_contacts: list[Contact]) -> None:
    contact = sample_contacts[1]
    secret = "my card is 4111 1111 1111 1111 and my email is jane.doe@example.com"
    turns = [*contact.turns, contact.turns[0].model_copy(update={"speaker": "customer", "text": secret})]
    response = sqlite_api.post("/v1/dispositions", body(contact.model_copy(update={"turns": turns})))
    assert response.status_code == 200
    record = sqlite_api.client.get(
        f"/v1/dispositions/{response.json()['suggestion_id']}", headers=sqlite_api.headers()
    ).json()
    stored = str(record["contact"])
    assert "4111" not in stored and "jane.doe@example.com" not in stored


# -- errors: never a 500 ------------------------------------------------------------------------
def test_missing_or_wrong_key_is_401_and_wrong_role_is_403(sqlite_api: Api, sample_contacts: list[Contact]) -> None:
    client = sqlite_api.client
    assert client.post("/v1/dispositions", json=body(sample_contacts[0])).status_code == 401
    wrong = client.post("/v1/dispositions", json=body(sample_contacts[0]), headers={"X-API-Key": "dsp_nope"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "unauthorized"
    bearer = client.post(
        "/v1/dispositions", json=body(sample_contacts[0]),
        headers={"Authorization": f"Bearer {sqlite_api.keys[('acme', 'agent')]}"},
    )  # fmt: skip
    assert bearer.status_code == 200
    assert sqlite_api.post("/v1/dispositions", body(sample_contacts[0]), role="analyst").status_code == 403
    assert client.get("/v1/keys", headers=sqlite_api.headers("agent")).status_code == 403


def test_invalid_contacts_are_422_with_the_field_path(sqlite_api: Api, sample_contacts: list[Contact]) -> None:
    good = body(sample_contacts[0])
    bad_speaker = {**good, "turns": [{"speaker": "robot", "text": "hi"}]}
    response = sqlite_api.post("/v1/dispositions", bad_speaker)
    assert response.status_code == 422
    assert any("turns.0.speaker" in p["field"] for p in response.json()["problems"])
    problems = sqlite_api.post("/v1/dispositions", {**good, "channel": "phone"}).json()["problems"]
    assert [p["field"] for p in problems] == ["body.Contact.channel"]  # not also "body.list[Contact]: not a list"
    blank = {**good, "turns": [{"speaker": "customer", "text": "  "}]}
    assert sqlite_api.post("/v1/dispositions", blank).status_code == 422
    unknown_label = {**good, "agent_labels": {"reason": "not_a_reason"}}
    response = sqlite_api.post("/v1/dispositions", unknown_label)
    assert response.status_code == 422 and response.json()["problems"][0]["field"] == "agent_labels.reason"
    sid = sqlite_api.post("/v1/dispositions", good).json()["suggestion_id"]
    bad_feedback = sqlite_api.post(f"/v1/dispositions/{sid}/feedback", {"agent_id": "a", "accepted": False})
    assert bad_feedback.status_code == 422
    outside = {"agent_id": "a", "accepted": False, "reason": "teleportation"}
    assert sqlite_api.post(f"/v1/dispositions/{sid}/feedback", outside).status_code == 422
    assert sqlite_api.post("/v1/dispositions/nope/feedback", {"agent_id": "a", "accepted": True}).status_code == 404
    # ids are stored in 200-character columns, which PostgreSQL enforces (SQLite does not): longer is a 422
    for field in ("contact_id", "customer_id", "agent_id", "provider", "queue"):
        response = sqlite_api.post("/v1/dispositions", {**good, field: "x" * 201})
        assert response.status_code == 422 and response.json()["problems"][0]["field"].endswith(field), field


def test_size_limits_are_413(models_root: Path, tmp_path: Path, sample_contacts: list[Contact]) -> None:
    url = database_url("sqlite", tmp_path)
    for api in make_api(models_root, url, max_turns=5, max_turn_chars=50, max_body_bytes=20_000):
        contact = body(sample_contacts[0])
        many = {**contact, "turns": [{"speaker": "customer", "text": "hello"}] * 6}
        assert api.post("/v1/dispositions", many).status_code == 413
        long_turn = {**contact, "turns": [{"speaker": "customer", "text": "word " * 20}]}
        assert api.post("/v1/dispositions", long_turn).status_code == 413
        huge = {**contact, "turns": [{"speaker": "customer", "text": "x" * 30_000}]}
        response = api.post("/v1/dispositions", huge)
        assert response.status_code == 413 and response.json()["error"] == "too_large"


def test_rate_limit_is_429_with_retry_after(models_root: Path, tmp_path: Path, sample_contacts: list[Contact]) -> None:
    url = database_url("sqlite", tmp_path)
    for api in make_api(models_root, url, rate_limit_per_minute=60, rate_limit_burst=2):
        statuses = [api.post("/v1/dispositions", body(sample_contacts[0])).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        limited = api.post("/v1/dispositions", body(sample_contacts[0]))
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        # Another key has its own bucket.
        assert api.post("/v1/dispositions", body(sample_contacts[0]), role="service").status_code == 200


# -- tenants ------------------------------------------------------------------------------------
def test_one_tenant_never_sees_another_tenants_suggestions(api: Api, sample_contacts: list[Contact]) -> None:
    sid = api.post("/v1/dispositions", body(sample_contacts[2]), tenant="acme").json()["suggestion_id"]
    other = api.headers("agent", "globex")
    assert api.client.get(f"/v1/dispositions/{sid}", headers=other).status_code == 404
    feedback = api.client.post(
        f"/v1/dispositions/{sid}/feedback", json={"agent_id": "x", "accepted": True}, headers=other
    )
    assert feedback.status_code == 404
    keys = api.client.get("/v1/keys", headers=api.headers("admin", "globex")).json()
    assert keys and all(k["name"].startswith("globex") for k in keys)
    acme_key = next(k for k in api.client.get("/v1/keys", headers=api.headers("admin")).json())
    assert api.client.delete(f"/v1/keys/{acme_key['id']}", headers=api.headers("admin", "globex")).status_code == 404


def test_admin_creates_and_revokes_keys(sqlite_api: Api, sample_contacts: list[Contact]) -> None:
    created = sqlite_api.post("/v1/keys", {"role": "agent", "name": "desk 12"}, role="admin")
    assert created.status_code == 201
    secret = created.json()["key"]
    headers = {"X-API-Key": secret}
    assert sqlite_api.client.post("/v1/dispositions", json=body(sample_contacts[0]), headers=headers).status_code == 200
    assert (
        sqlite_api.client.delete(f"/v1/keys/{created.json()['id']}", headers=sqlite_api.headers("admin")).status_code
        == 204
    )
    assert sqlite_api.client.post("/v1/dispositions", json=body(sample_contacts[0]), headers=headers).status_code == 401
    listed = sqlite_api.client.get("/v1/keys", headers=sqlite_api.headers("admin")).text
    assert secret not in listed
    revoked = next(k for k in json.loads(listed) if k["id"] == created.json()["id"])
    assert revoked["created_at"].endswith(("Z", "+00:00")) and revoked["revoked_at"].endswith(("Z", "+00:00"))


# -- live ---------------------------------------------------------------------------------------
def test_live_session_updates_after_each_turn_and_the_final_suggestion_is_stored(
    api: Api, sample_contacts: list[Contact]
) -> None:
    contact = sample_contacts[3]
    headers = api.headers("agent")
    path = f"/v1/live/{contact.contact_id}?agent_id=a-1&channel=chat"
    with api.client.websocket_connect(path, headers=headers) as ws:
        updates = []
        for turn in contact.turns:
            ws.send_json({"type": "turn", "speaker": turn.speaker, "text": turn.text})
            message = ws.receive_json()
            assert message["type"] == "suggestion"
            updates.append(message)
        ws.send_json({"type": "turn", "speaker": "robot", "text": "x"})
        assert ws.receive_json()["type"] == "error"  # and the session goes on
        ws.send_json({"type": "close"})
        final = ws.receive_json()
    assert [u["turn"] for u in updates] == list(range(len(contact.turns)))
    assert final["type"] == "final" and final["suggestion"]["suggestion_id"]
    last = updates[-1]["suggestion"]
    assert final["suggestion"]["reasons"] == last["reasons"]
    cache = api.client.app.state.inference.predictor.backend  # type: ignore[attr-defined]
    assert isinstance(cache, SegmentCache)
    hits = cache.hits
    one_shot = api.post("/v1/dispositions", body(contact)).json()
    assert [r["label"] for r in one_shot["reasons"]] == [r["label"] for r in last["reasons"]]
    assert cache.hits > hits and cache.misses == len(cache.vectors)  # the live turns' vectors were reused
    record = api.client.get(f"/v1/dispositions/{final['suggestion']['suggestion_id']}", headers=headers).json()
    assert record["source"] == "live" and len(record["contact"]["turns"]) == len(contact.turns)
    assert record["contact"]["agent_id"] == "a-1" and record["contact"]["channel"] == "chat"


def test_live_refuses_bad_keys_and_roles(sqlite_api: Api) -> None:
    client = sqlite_api.client
    for headers, code in (({}, 4401), (sqlite_api.headers("analyst"), 4403)):
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            client.websocket_connect("/v1/live/c1", headers=headers) as ws,
        ):
            ws.receive_json()
        assert closed.value.code == code
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/v1/live/c1?channel=pigeon", headers=sqlite_api.headers()) as ws,
    ):
        ws.receive_json()
    assert closed.value.code == 1008


def test_live_answers_hostile_frames_and_a_full_house_with_errors_not_a_crash(
    models_root: Path, tmp_path: Path
) -> None:
    for api in make_api(models_root, database_url("sqlite", tmp_path), max_live_sessions=1):
        headers = api.headers("agent")
        with api.client.websocket_connect("/v1/live/c1", headers=headers) as ws:
            ws.send_text("not json {")
            assert ws.receive_json()["detail"] == "not a JSON message"
            ws.send_bytes(b"\x00\xff")
            assert "binary" in ws.receive_json()["detail"]
            ws.send_text('{"type": "turn", "speaker": "customer", "text": "' + "x" * 200_000 + '"}')
            assert "at most" in ws.receive_json()["detail"]
            ws.send_text('{"type": "turn", "speaker": "customer", "text": "refund \\ud800"}')
            bad = ws.receive_json()
            assert bad["type"] == "error" and bad["problems"][0]["field"] == "text"
            ws.send_json({"type": "turn", "speaker": "customer", "text": "where is my order"})
            assert ws.receive_json()["type"] == "suggestion"  # the session went on
            with api.client.websocket_connect("/v1/live/c2", headers=headers) as other:
                other.send_json({"type": "turn", "speaker": "customer", "text": "hello"})
                full = other.receive_json()
                assert full["type"] == "error" and full["error"] == "too_many_live_sessions"
            ws.send_json({"type": "close"})
            assert ws.receive_json()["type"] == "final"


# -- operations ---------------------------------------------------------------------------------
def test_health_readiness_and_prometheus_metrics(sqlite_api: Api, sample_contacts: list[Contact]) -> None:
    client = sqlite_api.client
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["model"] == "dispo-default:v1"
    sqlite_api.post("/v1/dispositions", body(sample_contacts[0]))
    metrics = client.get("/metrics").text
    assert 'dispo_requests_total{method="POST",route="/v1/dispositions",status="200"}' in metrics
    assert "dispo_request_seconds_bucket" in metrics and 'dispo_model_info{backend="torch"' in metrics
    assert "dispo_inference_queue_depth" in metrics


def test_promoting_a_version_reloads_the_served_model(models_root: Path, tmp_path: Path) -> None:

    root = two_version_registry(models_root, tmp_path / "models")
    for api in make_api(root, database_url("sqlite", tmp_path), operator_tenant="acme"):
        assert api.client.get("/readyz").json()["model"] == "dispo-default:v2"  # the latest by default
        response = api.post("/v1/models/dispo-default/promote", {"version": "v1"}, role="admin")
        assert response.status_code == 200 and response.json()["reloaded"] is True
        assert api.client.get("/readyz").json()["model"] == "dispo-default:v1"
        assert api.post("/v1/models/dispo-default/promote", {"version": "v9"}, role="admin").status_code == 404


def test_migrations_run_up_from_an_empty_database(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"tenants", "api_keys", "suggestions", "decisions", "alembic_version"} <= tables
    upgrade(engine)  # idempotent
    engine.dispose()


def test_unsafe_settings_fail_fast() -> None:
    from dispo.errors import ConfigError

    with pytest.raises(ConfigError, match="KEY_PEPPER"):
        Settings.from_env({"DISPO_HOST": "0.0.0.0"})
    assert Settings.from_env({"DISPO_HOST": "0.0.0.0", "DISPO_KEY_PEPPER": uuid.uuid4().hex}).host == "0.0.0.0"
    with pytest.raises(ConfigError, match="DISPO_PORT"):
        Settings.from_env({"DISPO_PORT": "eighty"})
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        Settings.from_env({"DISPO_DATABASE_URL": "mysql://x"})


# -- metrics ------------------------------------------------------------------------------------
def test_metrics_endpoints_compute_from_the_tenants_record(sqlite_api: Api, sample_contacts: list[Contact]) -> None:
    outcomes = []
    for contact in sample_contacts[:6]:
        out = sqlite_api.post("/v1/dispositions", body(contact)).json()
        outcomes.append(out["outcome"]["label"])
    sid = out["suggestion_id"]
    sqlite_api.post(f"/v1/dispositions/{sid}/feedback", {"agent_id": "a", "accepted": False, "outcome": "resolved",
                                                            "reason": out["reasons"][0]["label"]})  # fmt: skip
    analyst = sqlite_api.headers("analyst")
    result = sqlite_api.client.get("/v1/metrics?labels=model&by=provider", headers=analyst)
    assert result.status_code == 200, result.text
    overall = result.json()["overall"]
    assert overall["contacts"]["value"] == 6
    resolved = sum(o == "resolved" for o in outcomes)
    assert overall["resolution_rate"]["value"] == pytest.approx(resolved / 6)
    # Agent codes where the agent gave one (the code sent with the contact, or the decision on the
    # suggestion, which wins), the model's elsewhere.
    chosen = [
        (c.agent_labels.outcome if c.agent_labels and c.agent_labels.outcome else model)
        for c, model in zip(sample_contacts[:5], outcomes[:5], strict=True)
    ] + ["resolved"]
    mixed = sqlite_api.client.get("/v1/metrics?labels=agent,model", headers=analyst).json()["overall"]
    assert mixed["resolution_rate"]["value"] == pytest.approx(sum(o == "resolved" for o in chosen) / 6)
    for path in ("/v1/metrics/scorecard", "/v1/metrics/labels", "/v1/metrics/reasons", "/v1/metrics/dashboard"):
        assert sqlite_api.client.get(path, headers=analyst).status_code == 200, path
    # Why a metric is missing, in the API's words: no command-line flags (there are no surveys here).
    assert overall["nps"]["unavailable"] and "(--" not in result.text
    assert "(--" not in sqlite_api.client.get("/v1/metrics/dashboard", headers=analyst).text
    assert sqlite_api.client.get("/v1/metrics", headers=sqlite_api.headers("agent")).status_code == 403
    other = sqlite_api.client.get("/v1/metrics", headers=sqlite_api.headers("analyst", "globex")).json()
    assert other["overall"]["contacts"]["value"] == 0
    assert sqlite_api.client.get("/v1/metrics?by=planet", headers=analyst).status_code == 422


def test_requests_before_the_model_is_loaded_are_503(sqlite_api: Api, sample_contacts: list[Contact]) -> None:
    from serve.deps import get_inference
    from serve.errors import NotReadyError

    def not_loaded() -> None:
        raise NotReadyError("the model is not loaded")

    app = sqlite_api.client.app
    app.dependency_overrides[get_inference] = not_loaded  # type: ignore[attr-defined]
    try:
        response = sqlite_api.post("/v1/dispositions", body(sample_contacts[0]))
        assert response.status_code == 503 and response.json()["error"] == "not_ready"
    finally:
        app.dependency_overrides.clear()  # type: ignore[attr-defined]
    assert sqlite_api.post("/v1/dispositions", body(sample_contacts[0])).status_code == 200


# -- batch jobs ---------------------------------------------------------------------------------
def test_batch_jobs_label_an_upload_and_account_for_every_record(
    sqlite_api: Api, sample_contacts: list[Contact]
) -> None:
    import io

    import pyarrow.parquet as pq

    lines = [json.dumps(body(c)) for c in sample_contacts[:5]] + ['{"contact_id": "broken", "turns": "nope"}']
    upload = ("contacts.jsonl", ("\n".join(lines) + "\n").encode(), "application/x-ndjson")
    service = sqlite_api.headers("service")
    assert (
        sqlite_api.client.post("/v1/batches", files={"file": upload}, headers=sqlite_api.headers()).status_code == 403
    )
    submitted = sqlite_api.client.post("/v1/batches", files={"file": upload}, headers=service)
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["job_id"]
    deadline = time.monotonic() + 120
    while (job := sqlite_api.client.get(f"/v1/batches/{job_id}", headers=service).json())["state"] in (
        "queued",
        "running",
    ):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert job["state"] == "done", job
    assert (job["records_done"], job["outputs"], job["rejects"]) == (6, 5, 1)
    # the status names the files the caller downloads, never a path on the server
    assert (job["summary"]["output"], job["summary"]["rejects_path"]) == (
        f"{job_id}.parquet",
        f"{job_id}.rejects.jsonl",
    )
    assert "/" not in json.dumps(job["summary"])
    rows = pq.read_table(io.BytesIO(sqlite_api.client.get(f"/v1/batches/{job_id}/results", headers=service).content))
    assert rows.column("contact_id").to_pylist() == [c.contact_id for c in sample_contacts[:5]]
    rejects = sqlite_api.client.get(f"/v1/batches/{job_id}/rejects", headers=service).text
    assert "broken" in rejects and "turns" in rejects
    other = sqlite_api.headers("service", "globex")
    assert sqlite_api.client.get(f"/v1/batches/{job_id}", headers=other).status_code == 404
    assert sqlite_api.client.get("/v1/batches", headers=other).json() == []
    bad = sqlite_api.client.post("/v1/batches", files={"file": ("contacts.txt", b"x", "text/plain")}, headers=service)
    assert bad.status_code == 422
    assert "speaker_text format" in bad.json()["detail"] and "--" not in bad.json()["detail"]  # no CLI flag


def test_invalid_unicode_non_finite_numbers_and_deep_metadata_are_a_named_422(
    sqlite_api: Api, sample_contacts: list[Contact]
) -> None:
    import json as stdjson

    def send(raw: dict[str, Any]) -> Any:
        content = stdjson.dumps(raw, ensure_ascii=True, allow_nan=True)  # "\ud800" escapes, NaN literals
        headers = {**sqlite_api.headers(), "Content-Type": "application/json"}
        return sqlite_api.client.post("/v1/dispositions", content=content, headers=headers)

    good = body(sample_contacts[0])
    deep: dict[str, Any] = {}
    cursor = deep
    for _ in range(200):
        cursor["k"] = {}
        cursor = cursor["k"]
    cases = {
        "turns.0.text": {**good, "turns": [{"speaker": "customer", "text": "refund \ud800 please"}]},
        "turns.0.offset_s": {**good, "turns": [{"speaker": "customer", "text": "hi", "offset_s": float("nan")}]},
        "metadata": {**good, "metadata": {"crm": {"note": "x\udc00", "score": float("inf")}}},
        "agent_id": {**good, "agent_id": "\ud83d"},
    }
    for field, raw in cases.items():
        response = send(raw)
        assert response.status_code == 422, (field, response.text)
        problems = response.json()["problems"]
        assert any(p["field"].endswith(field) for p in problems), (field, problems)
    assert send({**good, "metadata": deep}).status_code == 422
    # The next request of the same tenant is served as usual.
    assert sqlite_api.post("/v1/dispositions", good).status_code == 200


# -- request bodies: size, media type, encoding, syntax ----------------------------------------------
def test_a_streamed_body_over_the_limit_is_413_like_a_declared_one(
    models_root: Path, tmp_path: Path, sample_contacts: list[Contact]
) -> None:
    url = database_url("sqlite", tmp_path)
    for api in make_api(models_root, url, max_body_bytes=20_000, max_upload_bytes=30_000):
        huge = json.dumps({**body(sample_contacts[0]), "turns": [{"speaker": "customer", "text": "x" * 25_000}]})
        headers = {**api.headers(), "Content-Type": "application/json"}
        declared = api.client.post("/v1/dispositions", content=huge, headers=headers)
        streamed = api.client.post("/v1/dispositions", content=iter([huge[:9_000].encode(), huge[9_000:].encode()]),
                                   headers=headers)  # fmt: skip
        assert "content-length" not in streamed.request.headers  # Transfer-Encoding: chunked
        assert declared.status_code == streamed.status_code == 413, streamed.text
        assert streamed.json() == declared.json() and streamed.json()["error"] == "too_large"
        # An upload has its own limit, streamed too.
        boundary = "dispo-test-boundary"
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="c.jsonl"\r\n\r\n'.encode(),
            b"x" * 40_000,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
        upload_headers = {**api.headers("service"), "Content-Type": f"multipart/form-data; boundary={boundary}"}
        upload = api.client.post("/v1/batches", content=iter(parts), headers=upload_headers)
        assert upload.status_code == 413 and upload.json()["error"] == "too_large", upload.text


def test_a_json_body_must_come_as_json_and_be_utf8_json(sqlite_api: Api, sample_contacts: list[Contact]) -> None:
    good = json.dumps(body(sample_contacts[0]))

    def send(content: str | bytes, content_type: str | None, path: str = "/v1/dispositions") -> Any:
        headers = sqlite_api.headers() | ({"Content-Type": content_type} if content_type else {})
        return sqlite_api.client.post(path, content=content, headers=headers)

    for media_type in ("application/json; charset=utf-8", "application/vnd.dispo+json"):
        assert send(good, media_type).status_code == 200, media_type
    for media_type in ("text/plain", "application/x-www-form-urlencoded", None):
        refused = send(good, media_type)
        assert refused.status_code == 415 and refused.json()["error"] == "unsupported_media_type", refused.text
        assert "application/json" in refused.json()["detail"]
        assert refused.json()["problems"][0]["field"] == "Content-Type"
    form = sqlite_api.client.post("/v1/dispositions", data={"contact_id": "c1"}, headers=sqlite_api.headers())
    assert form.status_code == 415, form.text
    # Every operation that takes JSON (from the schema) says so; the media type is checked before anything else.
    schema = sqlite_api.client.get("/openapi.json").json()
    json_operations = [
        path.replace("{", "").replace("}", "")
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if method == "post" and "application/json" in operation.get("requestBody", {}).get("content", {})
    ]
    assert len(json_operations) >= 5, json_operations
    for path in json_operations:
        assert send("{}", "text/plain", path).status_code == 415, path

    latin1 = send('{"contact_id": "caf\u00e9"}'.encode("latin-1"), "application/json")
    assert latin1.status_code == 422 and latin1.json()["error"] == "invalid_input", latin1.text
    assert "not UTF-8" in latin1.json()["detail"] and "offset 19" in latin1.json()["detail"]
    broken = send('{\n  "contact_id": "c1",\n  "turns": [', "application/json")
    assert broken.status_code == 422, broken.text
    assert "not valid JSON" in broken.json()["detail"] and "line 3, column 13" in broken.json()["detail"]
    assert broken.json()["problems"][0]["field"] == "body"
    assert send("[" * 100_000 + "]" * 100_000, "application/json").status_code == 422  # too deep to parse
    assert send(good, "application/json").status_code == 200  # and the service goes on


def test_over_a_real_connection_streamed_bodies_and_refused_live_sessions_get_their_own_answer(
    models_root: Path, tmp_path: Path, sample_contacts: list[Contact]
) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    settings = Settings.from_env(
        {}, database_url=database_url("sqlite", tmp_path), models_dir=str(models_root), backend="torch",
        batch_dir=str(tmp_path / "batches"), max_body_bytes=20_000,
    )  # fmt: skip
    app = create_app(settings)
    server = BackgroundServer(app)
    try:
        keys = {role: app.state.store.create_key("acme", role, role).secret for role in ("agent", "analyst")}
        huge = json.dumps({**body(sample_contacts[0]), "turns": [{"speaker": "customer", "text": "x" * 25_000}]})
        headers = {"X-API-Key": keys["agent"], "Content-Type": "application/json"}
        chunks = iter([huge[:9_000].encode(), huge[9_000:].encode()])
        streamed = httpx.post(f"{server.url}/v1/dispositions", content=chunks, headers=headers, timeout=30)
        assert streamed.status_code == 413 and streamed.json()["error"] == "too_large", streamed.text
        # A refused live session gets the close code that mirrors the REST status (a bare HTTP 403
        # for every cause before): 4401 without a key, 4403 for the wrong role.
        live_url = server.url.replace("http://", "ws://") + "/v1/live/c1"
        for key, code in ((None, 4401), (keys["analyst"], 4403)):
            with (
                connect(live_url, additional_headers={"X-API-Key": key} if key else {}, open_timeout=30) as ws,
                pytest.raises(ConnectionClosed) as closed,
            ):
                ws.recv(timeout=30)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == code
            assert "key" in closed.value.rcvd.reason
    finally:
        server.stop()
