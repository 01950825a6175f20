"""Attacks on what tenants share, run against the real app (issue: hostile input and shared
resources): one bad contact in a shared inference batch, live-session quotas and ownership, live
turns over the rate limit, promotion of the shared model, and a reload under open live sessions."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dispo.contact import Contact
from dispo.errors import ConfigError
from dispo.model.predictor import Prediction, Predictor
from dispo.redact.pseudonym import Pseudonymizer
from serve.inference import InferenceService
from serve.logfilter import ACCESS_LOGGER, PrivacyFilter
from serve.store import Store
from serve.telemetry import Telemetry
from tests.conftest import make_contact
from tests.factories import Api, database_url, make_api, two_version_registry

DATABASES = ["sqlite", "postgresql"]  # PostgreSQL where DISPO_TEST_POSTGRES_URL is set (CI)


def _second_agent_key(api: Api, tenant: str = "acme") -> dict[str, str]:
    store: Store = api.client.app.state.store  # type: ignore[attr-defined]
    return {"X-API-Key": store.create_key(tenant, "agent", f"{tenant}-agent-2").secret}


def test_one_failing_contact_fails_its_own_request_only(tiny_bundle: Path) -> None:
    """Requests batched together: the one that breaks the model gets the error, the rest their answers."""
    predictor = Predictor.load(tiny_bundle)
    real_predict = predictor.predict

    def predict(contacts: Sequence[Contact], **options: object) -> list[Prediction]:
        if any(c.contact_id == "poison" for c in contacts):
            raise ValueError("a contact the model cannot read")
        return real_predict(contacts, **options)  # type: ignore[arg-type]

    predictor.predict = predict  # type: ignore[method-assign]

    async def scenario() -> list[object]:
        service = InferenceService(predictor, Telemetry(), max_batch=64)
        await service.start()
        try:
            requests = [[make_contact(i)] for i in range(6)]
            requests.insert(3, [make_contact(99, contact_id="poison")])
            return await asyncio.gather(*(service.predict(r) for r in requests), return_exceptions=True)
        finally:
            await service.stop()

    results = asyncio.run(scenario())
    failed = [i for i, r in enumerate(results) if isinstance(r, BaseException)]
    assert failed == [3]
    assert all(len(r) == 1 for r in results if not isinstance(r, BaseException))  # type: ignore[arg-type]


@pytest.mark.parametrize("db", DATABASES)
def test_live_sessions_are_capped_per_tenant_and_belong_to_the_key_that_opened_them(
    models_root: Path, tmp_path: Path, db: str
) -> None:
    for api in make_api(models_root, database_url(db, tmp_path), max_live_sessions_per_tenant=1):
        turn = {"type": "turn", "speaker": "customer", "text": "where is my order"}
        with api.client.websocket_connect("/v1/live/c1", headers=api.headers("agent")) as ws:
            ws.send_json(turn)
            assert ws.receive_json()["type"] == "suggestion"
            # The same tenant's second session is refused; another tenant still gets one.
            with api.client.websocket_connect("/v1/live/c2", headers=api.headers("agent")) as second:
                second.send_json(turn)
                assert second.receive_json()["error"] == "too_many_live_sessions"
            with api.client.websocket_connect("/v1/live/c2", headers=api.headers("agent", "globex")) as other:
                other.send_json(turn)
                assert other.receive_json()["type"] == "suggestion"
            # Another agent of the same tenant can neither continue nor close c1.
            with api.client.websocket_connect("/v1/live/c1", headers=_second_agent_key(api)) as intruder:
                intruder.send_json(turn)
                assert intruder.receive_json()["error"] == "forbidden"
                intruder.send_json({"type": "close"})
                assert intruder.receive_json()["error"] == "forbidden"
            ws.send_json(turn)
            assert ws.receive_json()["turn"] == 1  # the owner's session went on, untouched
            ws.send_json({"type": "close"})
            assert ws.receive_json()["suggestion"] is not None


@pytest.mark.parametrize("db", DATABASES)
def test_live_turns_count_against_the_keys_rate_limit(models_root: Path, tmp_path: Path, db: str) -> None:
    for api in make_api(models_root, database_url(db, tmp_path), rate_limit_burst=3, rate_limit_per_minute=1):
        with api.client.websocket_connect("/v1/live/c1", headers=api.headers("agent")) as ws:  # 1 token
            answers = []
            for _ in range(4):
                ws.send_json({"type": "turn", "speaker": "customer", "text": "where is my order"})
                answers.append(ws.receive_json())
        assert [a["type"] for a in answers[:2]] == ["suggestion", "suggestion"]
        assert answers[2]["error"] == "rate_limited" and answers[2]["retry_after"] > 0


@pytest.mark.parametrize("db", DATABASES)
def test_only_the_operator_tenant_promotes_and_open_live_sessions_survive_the_reload(
    models_root: Path, tmp_path: Path, db: str
) -> None:
    root = two_version_registry(models_root, tmp_path / "models")
    for api in make_api(root, database_url(db, tmp_path), operator_tenant="acme"):
        refused = api.post("/v1/models/dispo-default/promote", {"version": "v1"}, role="admin", tenant="globex")
        assert refused.status_code == 403 and "operator" in refused.json()["detail"]
        assert api.client.get("/readyz").json()["model"] == "dispo-default:v2"
        turn = {"type": "turn", "speaker": "customer", "text": "i want a refund"}
        with api.client.websocket_connect("/v1/live/c1", headers=api.headers("agent", "globex")) as ws:
            ws.send_json(turn)
            assert ws.receive_json()["suggestion"]["model_version"] == "dispo-default:v2"
            promoted = api.post("/v1/models/dispo-default/promote", {"version": "v1"}, role="admin")
            assert promoted.status_code == 200 and promoted.json()["reloaded"] is True
            ws.send_json(turn)
            assert ws.receive_json()["suggestion"]["model_version"] == "dispo-default:v2"  # its own version
            ws.send_json({"type": "close"})
            assert ws.receive_json()["suggestion"]["model_version"] == "dispo-default:v2"
        with api.client.websocket_connect("/v1/live/c2", headers=api.headers("agent")) as fresh:
            fresh.send_json(turn)
            assert fresh.receive_json()["suggestion"]["model_version"] == "dispo-default:v1"


def _wait_for(api: Api, job_id: str, headers: dict[str, str]) -> dict[str, object]:
    deadline = time.monotonic() + 120
    while (job := api.client.get(f"/v1/batches/{job_id}", headers=headers).json())["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    return job  # type: ignore[no-any-return]


@pytest.mark.parametrize("db", DATABASES)
def test_hostile_uploads_are_rejects_or_a_clean_failure_named_as_uploaded(
    models_root: Path, tmp_path: Path, db: str
) -> None:
    good = json.dumps(make_contact(1).to_json_dict()).encode()
    for api in make_api(models_root, database_url(db, tmp_path), batch_dir=str(tmp_path / "batches")):
        service = api.headers("service")
        long_name = "x" * 300 + ".jsonl"
        junk = good + b"\n\xff\xfe\x00 binary junk\n" + good.replace(b'"C-1"', b'"C-2"') + b"\n"
        submitted = api.client.post("/v1/batches", files={"file": (long_name, junk, "application/x-ndjson")},
                                    headers=service)  # fmt: skip
        assert submitted.status_code == 202, submitted.text
        job = _wait_for(api, submitted.json()["job_id"], service)
        assert (job["state"], job["outputs"], job["rejects"]) == ("done", 2, 1)
        assert len(str(job["input_name"])) <= 120
        [reject] = [json.loads(line) for line in api.client.get(
            f"/v1/batches/{job['job_id']}/rejects", headers=service).text.splitlines()]  # fmt: skip
        assert reject["source"] == job["input_name"] and str(tmp_path) not in json.dumps(reject)
        assert reject["errors"][0]["expected"] == "UTF-8 text"
        # Not Parquet at all: the job fails with a message naming the upload, never a server path.
        not_parquet = ("calls.parquet", b"not parquet", "application/x-parquet")
        fake = api.client.post("/v1/batches", files={"file": not_parquet}, headers=service)
        failed = _wait_for(api, fake.json()["job_id"], service)
        assert failed["state"] == "failed" and "calls.parquet" in str(failed["error"])
        assert str(tmp_path) not in str(failed["error"]) and "Error" not in str(failed["error"]).split(":")[0]


@pytest.mark.parametrize("db", DATABASES)
def test_metadata_over_the_limit_is_a_413_before_the_model(models_root: Path, tmp_path: Path, db: str) -> None:
    for api in make_api(models_root, database_url(db, tmp_path), max_metadata_chars=1_000):
        contact = make_contact(1).to_json_dict() | {"metadata": {"blob": "x" * 5_000}}
        response = api.post("/v1/dispositions", contact)
        assert response.status_code == 413
        assert response.json()["problems"][0]["field"] == "metadata"


def test_logs_carry_no_query_strings_no_pii_and_no_request_bodies_in_tracebacks() -> None:
    privacy = PrivacyFilter()
    access = logging.LogRecord(
        ACCESS_LOGGER, logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("1.2.3.4:5", "GET", "/v1/live/c1?customer_id=jo%40example.com&agent_id=Jo+Smith", "1.1", 101), None,
    )  # fmt: skip
    assert privacy.filter(access) and "customer_id" not in access.getMessage()
    assert access.getMessage().endswith('"GET /v1/live/c1 HTTP/1.1" 101')
    # uvicorn logs a WebSocket's handshake on its error logger, with the path and its query
    accepted = logging.LogRecord(
        "uvicorn.error", logging.INFO, __file__, 1, '%s - "WebSocket %s" [accepted]',
        ("1.2.3.4:5", "/v1/live/c1?agent_id=a-17&customer_id=K-9"), None,
    )  # fmt: skip
    assert privacy.filter(accepted) and accepted.getMessage() == '1.2.3.4:5 - "WebSocket /v1/live/c1" [accepted]'
    # Built at run time, so a traceback's quoted source lines cannot contain them.
    card, ssn = " ".join(["4111", *["1111"] * 3]), "-".join(["123", "45", "6789"])
    mail = "@".join(["jo", "example.com"])
    body = {"text": f"card {card}, ssn {ssn}, mail {mail}"}
    said = logging.LogRecord("serve", logging.ERROR, __file__, 1, "bad body %s", (body,), None)
    privacy.filter(said)
    try:
        raise ValueError(f"cannot parse {body}")
    except ValueError:
        crashed = logging.LogRecord("serve", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    privacy.filter(crashed)
    formatted = logging.Formatter().format(said) + logging.Formatter().format(crashed)
    for secret in (card, ssn, mail):
        assert secret not in formatted
    assert "[CARD]" in formatted and "ValueError" in formatted


def test_the_service_installs_the_privacy_filter_on_its_handlers(models_root: Path, tmp_path: Path) -> None:
    handler = logging.StreamHandler(io.StringIO())
    logging.getLogger().addHandler(handler)
    try:
        for _ in make_api(models_root, database_url("sqlite", tmp_path)):
            assert any(isinstance(f, PrivacyFilter) for f in handler.filters)
    finally:
        logging.getLogger().removeHandler(handler)


def test_an_uploaded_file_is_deleted_once_its_job_has_read_it(models_root: Path, tmp_path: Path) -> None:
    for api in make_api(models_root, database_url("sqlite", tmp_path), batch_dir=str(tmp_path / "batches")):
        service = api.headers("service")
        upload = ("calls.jsonl", json.dumps(make_contact(1).to_json_dict()).encode() + b"\n", "application/x-ndjson")
        job = _wait_for(api, api.client.post("/v1/batches", files={"file": upload}, headers=service).json()["job_id"],
                        service)  # fmt: skip
        assert job["state"] == "done"
        folder = tmp_path / "batches" / "acme" / str(job["job_id"])
        assert not (folder / "input" / "calls.jsonl").exists()
        assert (folder / "output.parquet").stat().st_mode & 0o077 == 0


KEY = "a-long-random-pseudonym-key"


def test_pseudonyms_are_keyed_stable_and_keep_customers_apart() -> None:
    pseudonyms = Pseudonymizer(KEY)
    same = pseudonyms.pseudonym("jo@example.com")
    assert same == pseudonyms.pseudonym("jo@example.com") != pseudonyms.pseudonym("al@example.com")
    assert same is not None and "jo" not in same and same.startswith("anon-")
    assert Pseudonymizer(KEY + "x").pseudonym("jo@example.com") != same  # another key, other pseudonyms
    assert pseudonyms.pseudonym(same) == same and pseudonyms.pseudonym(None) is None
    with pytest.raises(ConfigError):
        Pseudonymizer("short")


@pytest.mark.parametrize("db", DATABASES)
def test_the_service_stores_pseudonyms_for_customer_and_agent_ids(models_root: Path, tmp_path: Path, db: str) -> None:
    for api in make_api(models_root, database_url(db, tmp_path), pseudonym_key=KEY,
                        batch_dir=str(tmp_path / "batches")):  # fmt: skip
        first = make_contact(1, customer_id="jo@example.com", agent_id="Jo Agent Smith").to_json_dict()
        again = make_contact(2, customer_id="jo@example.com", agent_id="Jo Agent Smith").to_json_dict()
        ids = [api.post("/v1/dispositions", c).json()["suggestion_id"] for c in (first, again)]
        stored = [api.client.get(f"/v1/dispositions/{i}", headers=api.headers()).json() for i in ids]
        dump = json.dumps(stored)
        assert "jo@example.com" not in dump and "Jo Agent Smith" not in dump
        customers = {s["contact"]["customer_id"] for s in stored}
        assert len(customers) == 1 and customers.pop().startswith("anon-")  # still one customer: FCR chains
        feedback = {"agent_id": "Jo Agent Smith", "accepted": True}
        decided = api.post(f"/v1/dispositions/{ids[0]}/feedback", feedback).json()
        assert decided["agent_id"] == Pseudonymizer(KEY).pseudonym("Jo Agent Smith")
        service = api.headers("service")
        upload = ("calls.jsonl", json.dumps(first).encode() + b"\n", "application/x-ndjson")
        job = _wait_for(api, api.client.post("/v1/batches", files={"file": upload}, headers=service).json()["job_id"],
                        service)  # fmt: skip
        rows = pq.read_table(
            io.BytesIO(api.client.get(f"/v1/batches/{job['job_id']}/results", headers=service).content)
        )
        assert rows.column("customer_id").to_pylist() == [Pseudonymizer(KEY).pseudonym("jo@example.com")]
        assert KEY not in (tmp_path / "batches").joinpath("acme", str(job["job_id"]), "job.json").read_text()


def test_no_raw_pii_rests_in_the_database_the_job_folders_or_the_log(models_root: Path, tmp_path: Path) -> None:
    """Every way in (one-shot, live turns and query ids, feedback note, batch upload), then a byte
    scan of what the service keeps: the SQLite file, the batch folders and everything logged."""
    card, ssn = " ".join(["4111", *["1111"] * 3]), "-".join(["123", "45", "6789"])
    mail, name = "@".join(["dana.okafor", "example.com"]), "Dana " + "Okafor"
    said = f"My name is {name}. Card {card}, SSN {ssn}, email {mail}. Where is my refund?"
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    root = logging.getLogger()
    root.addHandler(handler)
    previous_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        for api in make_api(models_root, database_url("sqlite", tmp_path), pseudonym_key=KEY,
                            batch_dir=str(tmp_path / "batches")):  # fmt: skip
            contact = make_contact(1, customer_id=mail, agent_id=name).to_json_dict()
            contact["turns"][0]["text"] = said
            sid = api.post("/v1/dispositions", contact).json()["suggestion_id"]
            api.post(f"/v1/dispositions/{sid}/feedback", {"agent_id": name, "accepted": True, "note": said})
            query = f"/v1/live/live-1?customer_id={mail}&agent_id={name.replace(' ', '+')}"
            with api.client.websocket_connect(query, headers=api.headers("agent")) as ws:
                ws.send_json({"type": "turn", "speaker": "customer", "text": said})
                ws.receive_json()
                ws.send_json({"type": "close"})
                ws.receive_json()
            service = api.headers("service")
            upload = ("calls.jsonl", json.dumps(contact).encode() + b"\n", "application/x-ndjson")
            submitted = api.client.post("/v1/batches", files={"file": upload}, headers=service).json()
            assert _wait_for(api, submitted["job_id"], service)["state"] == "done"
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in files) and any("batches" in p.parts for p in files)
    kept = b"".join(p.read_bytes() for p in files) + captured.getvalue().encode()
    assert b"[CARD]" in kept and b"[NAME]" in kept and KEY.encode() not in kept  # what was scanned holds the record
    for secret in (card, ssn, mail, name, card.replace(" ", "")):
        assert secret.encode() not in kept, secret


def test_error_bodies_carry_no_server_paths_or_exception_names(models_root: Path, tmp_path: Path) -> None:
    for api in make_api(models_root, database_url("sqlite", tmp_path), operator_tenant="acme"):
        missing = api.post("/v1/models/no-such-model/promote", {"version": "v1"}, role="admin")
        assert missing.status_code == 404 and "no-such-model" in missing.json()["detail"]
        assert str(models_root) not in missing.text and "Error" not in missing.json()["detail"]


def test_a_suggestion_keeps_the_taxonomy_of_the_version_that_made_it(models_root: Path, tmp_path: Path) -> None:
    # v1 names an outcome otherwise than v2, the version served now: feedback on a v1 suggestion (made
    # before v2 was promoted, or by a live session that finished on v1) is checked against v1's labels
    registry = two_version_registry(models_root, tmp_path / "models")
    old = registry / "dispo-default" / "v1" / "taxonomy.yaml"
    old.write_text(old.read_text(encoding="utf-8").replace("  escalated:", "  escalated_to_team:"), encoding="utf-8")
    service = InferenceService(Predictor.load("dispo-default:v2", registry), Telemetry())
    assert "escalated_to_team" in service.taxonomy_of("dispo-default:v1").outcome_names
    assert "escalated_to_team" not in service.taxonomy.outcome_names
    assert service.taxonomy_of(service.version) is service.taxonomy
    assert service.taxonomy_of("dispo-default:v9") is service.taxonomy  # gone: the served model's labels
