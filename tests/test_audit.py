"""The QA audit: ranking on a corpus with known injected mistakes, the append-only audit log,
roles and tenants, agreement and accuracy statistics, the web pages, and the export round trip."""

from __future__ import annotations

import argparse
import json
import math
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from dispo.audit.agreement import cohen_kappa
from dispo.audit.items import item_from_labelled
from dispo.audit.ranking import (
    RankingConfig,
    TaskView,
    label_quality,
    label_quality_matrix,
    precision_at,
    ranking,
    recall_at,
    suspicion,
    suspicion_scores,
)
from dispo.audit.sampling import sample_prefix, wilson_interval
from dispo.contact import Contact
from dispo.errors import ConfigError, InvalidInputError
from dispo.io import read_contacts, write_contacts
from dispo.labelled import labelled_row
from dispo.model.predictor import Predictor
from dispo.redact import Redactor
from serve.app import create_app
from serve.audit.cli import import_rows, register_audit
from serve.audit.deps import COOKIE
from serve.audit.store import AuditStore, QueueQuery
from serve.db import make_engine
from serve.settings import Settings
from serve.store import Store
from tests.factories import database_url
from training.labelsources import resolve_labels


# -- ranking, sampling, agreement: the statistics ---------------------------------------------------
def test_label_quality_scores_by_hand() -> None:
    view = TaskView("refund", 0.1, (("cancel", 0.7), ("refund", 0.1), ("track", 0.05)))
    assert label_quality(view, "self_confidence") == pytest.approx(0.1)
    assert label_quality(view, "normalized_margin") == pytest.approx((0.1 - 0.7 + 1) / 2)
    agreeing = TaskView("cancel", 0.7, view.top)
    assert label_quality(agreeing, "normalized_margin") == pytest.approx((0.7 - 0.1 + 1) / 2)
    # A code is right only if reason and outcome both are: qualities multiply.
    outcome = TaskView("resolved", 0.5, (("resolved", 0.5), ("escalated", 0.4)))
    scored = suspicion(view, outcome)
    assert scored is not None and scored.score == pytest.approx(1 - 0.1 * 0.5) and scored.disagrees
    assert suspicion(view, outcome, RankingConfig(tasks=("reason",))).score == pytest.approx(0.9)  # type: ignore[union-attr]
    # Without the agent label's own probability, what the top labels leave over bounds it.
    bounded = TaskView.bounded("other", [("cancel", 0.7), ("refund", 0.2)], None)
    assert bounded.given_probability == pytest.approx(0.1)
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]])
    assert label_quality_matrix(probabilities, np.array([1, 1])).tolist() == pytest.approx([0.2, 0.8])
    with pytest.raises(Exception, match="method"):
        RankingConfig(method="vibes")


def test_ranking_finds_injected_agent_mistakes_far_better_than_random() -> None:
    """Built contacts whose agent codes carry the builder's injected mistakes (10% of contacts),
    scored by a bag-of-words model trained on other built contacts (out of sample): the most
    suspicious codes are mostly the wrong ones, and far more of them than a random sample finds."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import make_pipeline

    from training.corpus.builder import CorpusBuilder, CorpusConfig

    def build(n: int, seed: int) -> list[Contact]:
        return [b.contact for b in CorpusBuilder(CorpusConfig(n_contacts=n, seed=seed, agent_error_rate=0.1)).build()]

    train, audited = build(2000, 41), build(600, 42)
    qualities = []
    for task, reads in (("reason", Contact.customer_text), ("outcome", Contact.transcript)):
        model = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, max_features=30_000),
            SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=30, random_state=0),
        )
        model.fit([reads(c) for c in train], [getattr(c.labels, task) for c in train])
        classes = list(model.classes_)
        given = np.array([classes.index(getattr(c.agent_labels, task)) for c in audited])
        qualities.append(label_quality_matrix(model.predict_proba([reads(c) for c in audited]), given))
    wrong = np.array([_code(c.labels) != _code(c.agent_labels) for c in audited])
    assert 0.06 < wrong.mean() < 0.12  # the builder's injected mistakes that change the code
    order = ranking(suspicion_scores(qualities))
    shuffled = np.random.default_rng(0).permutation(len(audited))
    # A random sample finds wrong codes at the base rate (precision ~0.09, recall at 20% ~0.2).
    precision, recall = precision_at(order, wrong, 0.05), recall_at(order, wrong, 0.2)
    assert precision >= max(0.5, 5 * wrong.mean()) and precision > precision_at(shuffled, wrong, 0.05)
    assert recall >= 0.7 > 2 * recall_at(shuffled, wrong, 0.2)


def _code(labels: Any) -> tuple[str | None, str | None]:
    return (labels.reason, labels.outcome)


def test_cohen_kappa_hand_computed_case() -> None:
    # 50 items: both yes 20, A yes / B no 5, A no / B yes 10, both no 15.
    a = ["yes"] * 20 + ["yes"] * 5 + ["no"] * 10 + ["no"] * 15
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    result = cohen_kappa(a, b)
    # p_o = 35/50 = 0.7; p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5; kappa = (0.7 - 0.5) / 0.5 = 0.4
    assert (result.observed, result.expected) == (pytest.approx(0.7), pytest.approx(0.5))
    assert result.kappa == pytest.approx(0.4)
    assert cohen_kappa(["x", "y"], ["x", "y"]).kappa == pytest.approx(1.0)
    assert cohen_kappa(["x", "x"], ["x", "x"]).kappa is None  # chance agreement is 1: undefined
    assert cohen_kappa([], []).kappa is None


def test_wilson_interval_and_uniform_sample_prefix() -> None:
    interval = wilson_interval(8, 10)
    assert (interval.low, interval.high) == (pytest.approx(0.4902, abs=1e-4), pytest.approx(0.9433, abs=1e-4))
    assert wilson_interval(0, 20).low == 0.0 and wilson_interval(20, 20).high == 1.0
    assert wilson_interval(0, 0).value is None
    keyed = [(0.9, "d", True), (0.1, "a", True), (0.5, "c", False), (0.3, "b", True)]
    assert sample_prefix(keyed) == ["a", "b"]  # stops at the first unaudited item in key order


# -- the service ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def corpus() -> list[Contact]:
    from training.corpus.builder import CorpusBuilder, CorpusConfig

    return [b.contact for b in CorpusBuilder(CorpusConfig(n_contacts=40, seed=13, agent_error_rate=0.3)).build()]


class Audit:
    """A test client with keys per tenant and role, and the tenant acme's corpus queued."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        state: Any = client.app.state  # type: ignore[attr-defined]
        self.store: Store = state.store
        self.audit_store = AuditStore(self.store.engine)
        self.keys = {
            (tenant, role): self.store.create_key(tenant, role, f"{tenant}-{role}").secret
            for tenant in ("acme", "globex")
            for role in ("agent", "analyst", "admin")
        }
        self.keys[("acme", "analyst2")] = self.store.create_key("acme", "analyst", "acme-analyst-2").secret
        self.predictor: Predictor = state.inference.predictor

    def headers(self, role: str = "analyst", tenant: str = "acme") -> dict[str, str]:
        return {"X-API-Key": self.keys[(tenant, role)]}

    def get(self, path: str, role: str = "analyst", tenant: str = "acme", **params: Any) -> Any:
        return self.client.get(path, params=params, headers=self.headers(role, tenant))

    def decide(self, item_id: str, body: dict[str, Any], role: str = "analyst", tenant: str = "acme") -> Any:
        return self.client.post(f"/v1/audit/items/{item_id}/decisions", json=body, headers=self.headers(role, tenant))

    def queue_corpus(self, contacts: list[Contact], tenant: str = "acme", seed: int = 3) -> None:
        predictions = self.predictor.predict(contacts)
        rng = random.Random(seed)
        rows = []
        for contact, prediction in zip(contacts, predictions, strict=True):
            row = labelled_row(contact, prediction, self.predictor.taxonomy)
            item = item_from_labelled(contact.to_json_dict(), row, rng=rng)
            assert item is not None
            rows.append(item)
        stats = self.audit_store.add_items(tenant, rows)
        assert stats.added == len(contacts)


def make_audit(models_root: Path, url: str) -> Iterator[Audit]:
    settings = Settings.from_env(
        {}, database_url=url, models_dir=str(models_root), backend="torch", rate_limit_burst=100_000,
        batch_dir=str(models_root.parent / f"batches-{uuid.uuid4().hex}"),
    )  # fmt: skip
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        yield Audit(client)


@pytest.fixture(params=["sqlite", "postgresql"])
def audit(request: pytest.FixtureRequest, models_root: Path, tmp_path: Path, corpus: list[Contact]) -> Iterator[Audit]:
    for api in make_audit(models_root, database_url(request.param, tmp_path)):
        api.queue_corpus(corpus)
        yield api


@pytest.fixture
def sqlite_audit(models_root: Path, tmp_path: Path, corpus: list[Contact]) -> Iterator[Audit]:
    for api in make_audit(models_root, database_url("sqlite", tmp_path)):
        api.queue_corpus(corpus)
        yield api


def test_queue_is_ranked_filtered_and_paginated(audit: Audit, corpus: list[Contact]) -> None:
    page = audit.get("/v1/audit/items", limit=10).json()
    assert page["total"] == len(corpus) and len(page["items"]) == 10
    scores = [row["suspicion"] for row in page["items"]]
    assert scores == sorted(scores, reverse=True)
    second = audit.get("/v1/audit/items", limit=10, offset=10).json()["items"]
    assert not {r["id"] for r in page["items"]} & {r["id"] for r in second}
    assert second[0]["suspicion"] <= scores[-1]
    provider = corpus[0].provider
    filtered = audit.get("/v1/audit/items", provider=provider, limit=500).json()
    assert filtered["total"] == sum(c.provider == provider for c in corpus)
    assert all(r["provider"] == provider for r in filtered["items"])
    agent = corpus[0].agent_labels.reason  # type: ignore[union-attr]
    by_reason = audit.get("/v1/audit/items", reason=agent, limit=500).json()
    assert by_reason["total"] and all(r["agent_reason"] == agent for r in by_reason["items"])
    day = min(c.started_at for c in corpus if c.started_at).date()  # type: ignore[type-var]
    first_day = audit.get("/v1/audit/items", date_from=str(day), date_to=str(day), limit=500).json()
    assert 0 < first_day["total"] < len(corpus)
    randomised = [r["id"] for r in audit.get("/v1/audit/items", sort="random", limit=500).json()["items"]]
    assert sorted(randomised) == sorted(r["id"] for r in audit.get("/v1/audit/items", limit=500).json()["items"])
    assert audit.get("/v1/audit/items", sort="sideways").status_code == 422
    # The score is what the model thinks of the agent's code.
    top = page["items"][0]
    assert top["suspicion"] >= 1 - top["agent_reason_probability"] - 1e-6


def test_the_queue_files_and_sorts_contacts_by_the_instant_they_started(
    models_root: Path, tmp_path: Path, corpus: list[Contact]
) -> None:
    """A contact that started at 07:00 in Singapore started on the previous day in UTC, before one that
    started at 02:00 UTC: the queue's dates are UTC and it returns its times with their zone."""
    from datetime import datetime

    east = corpus[0].model_copy(
        update={"contact_id": "TZ-X", "started_at": datetime.fromisoformat("2026-03-01T07:00+08:00")}
    )
    utc = corpus[1].model_copy(update={"contact_id": "TZ-Y", "started_at": datetime.fromisoformat("2026-03-01T02:00Z")})
    for api in make_audit(models_root, database_url("sqlite", tmp_path)):
        api.queue_corpus([east, utc])
        day = api.get("/v1/audit/items", date_from="2026-02-28", date_to="2026-02-28").json()["items"]
        assert [row["contact_id"] for row in day] == ["TZ-X"]
        assert day[0]["started_at"] == "2026-02-28T23:00:00+00:00"
        newest_first = api.get("/v1/audit/items", sort="started_at").json()["items"]
        assert [row["contact_id"] for row in newest_first] == ["TZ-Y", "TZ-X"]


def test_decisions_are_append_only_with_the_previous_value(audit: Audit) -> None:
    item = audit.get("/v1/audit/items", limit=1).json()["items"][0]
    item_id = item["id"]
    confirmed = audit.decide(item_id, {"action": "confirm", "mode": "ranked"})
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.json()["code"] == item["agent_code"] and confirmed.json()["previous"]["source"] == "agent"
    taxonomy = audit.predictor.taxonomy
    other_reason = next(r for r in taxonomy.reason_names if r != item["agent_reason"])
    corrected = audit.decide(
        item_id,
        {"action": "other", "reason": other_reason, "outcome": "escalated", "note": "call jane.doe@example.com"},
    )
    assert corrected.status_code == 201, corrected.text
    body = corrected.json()
    assert body["code"] == taxonomy.render_code(other_reason, "escalated")
    assert body["previous"]["code"] == item["agent_code"] and body["previous"]["source"] == "audit"
    assert "jane.doe@example.com" not in body["note"]  # notes are redacted
    log = audit.get(f"/v1/audit/items/{item_id}/decisions").json()
    assert [d["action"] for d in log] == ["confirm", "other"] and log[0]["analyst_name"] == "acme-analyst"
    # Bad decisions are refused with the field named, and leave the log as it was.
    assert audit.decide(item_id, {"action": "other", "reason": other_reason}).status_code == 422
    assert audit.decide(item_id, {"action": "other", "reason": "teleport", "outcome": "resolved"}).status_code == 422
    assert audit.decide(item_id, {"action": "confirm", "reason": other_reason}).status_code == 422
    assert audit.decide(item_id, {"action": "approve"}).status_code == 422
    assert len(audit.get(f"/v1/audit/items/{item_id}/decisions").json()) == 2
    # No code path edits a decision, and the database refuses it too.
    assert not [name for name in dir(AuditStore) if any(w in name for w in ("update", "delete", "edit", "remove"))]
    for statement in ("UPDATE audit_decisions SET code = 'X'", "DELETE FROM audit_decisions"):
        with pytest.raises(DBAPIError, match="append-only"), audit.store.engine.begin() as connection:
            connection.execute(text(statement))
    assert len(audit.get(f"/v1/audit/items/{item_id}/decisions").json()) == 2
    # The audited value is now the correction; the pending queue no longer has the item.
    detail = audit.get(f"/v1/audit/items/{item_id}").json()
    assert detail["current"]["reason"] == other_reason and detail["explanation"]["turns"]
    assert item_id not in {r["id"] for r in audit.get("/v1/audit/items", limit=500).json()["items"]}


def test_roles_agent_keys_cannot_audit_and_admins_only_read(sqlite_audit: Audit) -> None:
    api = sqlite_audit
    item_id = api.get("/v1/audit/items", limit=1).json()["items"][0]["id"]
    assert api.client.get("/v1/audit/items").status_code == 401
    assert api.get("/v1/audit/items", role="agent").status_code == 403
    assert api.get(f"/v1/audit/items/{item_id}", role="agent").status_code == 403
    assert api.decide(item_id, {"action": "confirm"}, role="agent").status_code == 403
    assert api.get("/v1/audit/items", role="admin").status_code == 200
    assert api.decide(item_id, {"action": "confirm"}, role="admin").status_code == 403
    assert api.get("/v1/audit/items/nope").status_code == 404
    # The UI refuses an agent key at the login.
    response = api.client.post(
        "/ui/login", data={"api_key": api.keys[("acme", "agent")]}, headers={"Origin": "http://testserver"}
    )
    assert response.status_code == 403 and COOKIE not in response.cookies


def test_another_tenants_contacts_never_appear(audit: Audit, corpus: list[Contact]) -> None:
    acme_item = audit.get("/v1/audit/items", limit=1).json()["items"][0]["id"]
    assert audit.get("/v1/audit/items", tenant="globex").json() == {"items": [], "total": 0, "limit": 50, "offset": 0}
    assert audit.get(f"/v1/audit/items/{acme_item}", tenant="globex").status_code == 404
    assert audit.decide(acme_item, {"action": "confirm"}, tenant="globex").status_code == 404
    assert audit.get(f"/v1/audit/items/{acme_item}/decisions", tenant="globex").status_code == 404
    assert audit.get("/v1/audit/next", tenant="globex").json() == {"item_id": None}
    assert audit.get("/v1/audit/sample", tenant="globex", n=10).json()["n"] == 0
    assert audit.get("/v1/audit/accuracy", tenant="globex").json()["population"] == 0
    # globex queues the same contacts: two separate queues.
    audit.queue_corpus(corpus[:5], tenant="globex")
    globex = audit.get("/v1/audit/items", tenant="globex", limit=500).json()
    assert globex["total"] == 5 and acme_item not in {r["id"] for r in globex["items"]}


def test_two_analysts_agreement_and_accuracy_on_the_random_sample(sqlite_audit: Audit) -> None:
    api = sqlite_audit
    taxonomy = api.predictor.taxonomy
    sample = api.get("/v1/audit/sample", n=8).json()["items"]
    assert len(sample) == 8
    for i, item in enumerate(sample):
        api.decide(item["id"], {"action": "confirm", "mode": "random"})
        if i < 6:
            body: dict[str, Any] = {"action": "confirm", "mode": "random"}
            if i >= 4:  # the second analyst disagrees on two contacts
                reason = next(r for r in taxonomy.reason_names if r != item["agent_reason"])
                body = {"action": "other", "reason": reason, "outcome": item["agent_outcome"]}
            api.decide(item["id"], body, role="analyst2")
    agreement = api.get("/v1/audit/agreement").json()
    assert agreement["items"] == 6 and agreement["overall"]["observed"] == pytest.approx(4 / 6)
    assert agreement["pairs"][0]["n"] == 6 and set(agreement["pairs"][0]["analysts"]) == {
        "acme-analyst",
        "acme-analyst-2",
    }
    # Accuracy from the uniform sample: the first 8 items in random order, all audited.
    accuracy = api.get("/v1/audit/accuracy").json()
    assert accuracy["sample_size"] == 8 and accuracy["population"] == 40 and not accuracy["complete"]
    overall = accuracy["rows"][0]["code_accuracy"]
    assert overall["n"] == 8 and overall["successes"] == 6  # the latest decision counts: two corrections
    assert overall["ci_low"] < 0.75 < overall["ci_high"]
    # A ranked-queue audit outside the sample prefix does not enter the estimate.
    last_random = max(r["id"] for r in sample)
    ranked = next(r for r in api.get("/v1/audit/items", limit=500).json()["items"] if r["id"] != last_random)
    api.decide(ranked["id"], {"action": "other", "reason": ranked["reason"] or "complaint", "outcome": "escalated"})
    after = api.get("/v1/audit/accuracy").json()
    assert after["sample_size"] in (8, 9)  # only if that item happens to be next in random order
    by_agent = api.get("/v1/audit/accuracy", group_by="agent").json()
    assert sum(row["code_accuracy"]["n"] for row in by_agent["rows"]) == after["sample_size"]
    assert api.get("/v1/audit/accuracy", group_by="planet").status_code == 422


def test_live_suggestions_with_an_agent_decision_are_queued(sqlite_audit: Audit, corpus: list[Contact]) -> None:
    api = sqlite_audit
    contact = corpus[0].model_copy(update={"contact_id": "live-1", "agent_labels": None})
    agent = {"X-API-Key": api.keys[("acme", "agent")]}
    suggestion = api.client.post("/v1/dispositions", json=contact.to_json_dict(), headers=agent).json()
    undecided = corpus[1].model_copy(update={"contact_id": "live-2"})
    api.client.post("/v1/dispositions", json=undecided.to_json_dict(), headers=agent)
    chosen = next(r for r in api.predictor.taxonomy.reason_names if r != suggestion["reasons"][0]["label"])
    feedback = {"agent_id": "a-1", "accepted": False, "reason": chosen, "outcome": "resolved"}
    assert (
        api.client.post(f"/v1/dispositions/{suggestion['suggestion_id']}/feedback", json=feedback, headers=agent)
    ).status_code == 201
    assert api.client.post("/v1/audit/live", headers=api.headers("agent")).status_code == 403
    stats = api.client.post("/v1/audit/live", headers=api.headers()).json()
    assert stats == {"added": 1, "skipped": 0, "without_code": 0}
    live = api.get("/v1/audit/items", source="live").json()["items"]
    assert len(live) == 1 and live[0]["contact_id"] == "live-1" and live[0]["agent_reason"] == chosen
    assert live[0]["agent_outcome_probability"] is not None and live[0]["suspicion"] > 0
    # The exact probability of the agent's reason, as batch items have it (not a bound from the top-3).
    exact = api.predictor.predict([Redactor().redact_contact(contact)])[0].reason_probabilities[chosen]
    assert live[0]["agent_reason_probability"] == pytest.approx(exact, abs=1e-5)
    assert api.client.post("/v1/audit/live", headers=api.headers()).json()["added"] == 0  # not twice


def test_export_round_trip_audited_labels_win(sqlite_audit: Audit, tmp_path: Path, corpus: list[Contact]) -> None:
    api = sqlite_audit
    items = api.get("/v1/audit/items", limit=3).json()["items"]
    api.decide(items[0]["id"], {"action": "confirm"})
    api.decide(items[1]["id"], {"action": "other", "reason": "complaint", "outcome": "escalated"})
    api.decide(items[2]["id"], {"action": "accept_model"})
    parser = argparse.ArgumentParser()
    register_audit(parser.add_subparsers())
    url = str(api.store.engine.url)
    output = tmp_path / "audited.jsonl"
    table = tmp_path / "audits.parquet"
    command = ["audit", "--database-url", url, "export", "--tenant", "acme", "-o", str(output)]
    args = parser.parse_args([*command, "--audits-table", str(table)])
    assert args.handler(args) == 0
    import pyarrow.parquet as pq

    audits = pq.read_table(table).to_pylist()
    assert {a["contact_id"] for a in audits} == {i["contact_id"] for i in items}
    assert {a["audit_reason"] for a in audits if a["contact_id"] == items[1]["contact_id"]} == {"complaint"}
    # Only audits inside the random order's fully audited prefix are the uniform sample.
    prefix = sample_prefix(
        (i, r["contact_id"], r["audits"] > 0) for i, r in enumerate(api.get("/v1/audit/sample", n=500).json()["items"])
    )
    assert {a["contact_id"] for a in audits if a["in_uniform_sample"]} == set(prefix)
    exported = {c.contact_id: c for c in read_contacts(output)}
    assert set(exported) == {i["contact_id"] for i in items}
    corrected = exported[items[1]["contact_id"]]
    assert corrected.labels is not None and (corrected.labels.reason, corrected.labels.outcome) == (
        "complaint",
        "escalated",
    )
    assert corrected.metadata["audit"]["agent_reason"] == items[1]["agent_reason"]
    original = next(c for c in corpus if c.contact_id == items[1]["contact_id"])
    assert corrected.labels.sentiment == original.labels.sentiment  # type: ignore[union-attr]
    model = exported[items[2]["contact_id"]].labels
    assert model is not None and (model.reason, model.outcome) == (items[2]["reason"], items[2]["outcome"])
    # Merged into training data, audited labels win over the contact's own.
    merged = {c.contact_id: c for c in resolve_labels(corpus, exported.values(), priority=["labels"]).contacts}
    assert len(merged) == len(corpus)
    assert merged[items[1]["contact_id"]].labels.reason == "complaint"  # type: ignore[union-attr]
    write_contacts(list(merged.values()), tmp_path / "train.jsonl")
    assert len(read_contacts(tmp_path / "train.jsonl")) == len(corpus)


def test_a_contact_audited_from_a_batch_and_a_live_session_exports_its_latest_decision(
    sqlite_audit: Audit, tmp_path: Path, corpus: list[Contact]
) -> None:
    api = sqlite_audit
    batch_item = api.get("/v1/audit/items", limit=1).json()["items"][0]
    contact = next(c for c in corpus if c.contact_id == batch_item["contact_id"]).model_copy(
        update={"agent_labels": None}
    )
    agent = {"X-API-Key": api.keys[("acme", "agent")]}
    suggestion = api.client.post("/v1/dispositions", json=contact.to_json_dict(), headers=agent).json()
    feedback = {"agent_id": "a-1", "accepted": False, "reason": "edit_account", "outcome": "resolved"}
    url = f"/v1/dispositions/{suggestion['suggestion_id']}/feedback"
    assert api.client.post(url, json=feedback, headers=agent).status_code == 201
    assert api.client.post("/v1/audit/live", headers=api.headers()).json()["added"] == 1
    live_item = api.get("/v1/audit/items", source="live").json()["items"][0]
    assert live_item["contact_id"] == batch_item["contact_id"]
    first = api.decide(live_item["id"], {"action": "other", "reason": "edit_account", "outcome": "resolved"})
    second = api.decide(batch_item["id"], {"action": "other", "reason": "delete_account", "outcome": "resolved"})
    assert first.status_code == second.status_code == 201
    # every time the audit API gives is in UTC with its zone, whichever database stored it
    decisions = api.get(f"/v1/audit/items/{batch_item['id']}/decisions").json()
    assert decisions and all(d["created_at"].endswith("+00:00") for d in decisions)
    parser = argparse.ArgumentParser()
    register_audit(parser.add_subparsers())
    output = tmp_path / "audited.jsonl"
    args = parser.parse_args(
        ["audit", "--database-url", str(api.store.engine.url), "export", "--tenant", "acme", "-o", str(output)]
    )
    assert args.handler(args) == 0
    exported = [c for c in read_contacts(output) if c.contact_id == batch_item["contact_id"]]
    assert [c.labels.reason for c in exported] == ["delete_account"]  # type: ignore[union-attr]


def test_confirming_a_code_without_a_reason_is_refused_and_an_empty_date_range_too(
    sqlite_audit: Audit, corpus: list[Contact]
) -> None:
    api = sqlite_audit
    contact = corpus[0].model_copy(update={"contact_id": "live-outcome-only", "agent_labels": None})
    agent = {"X-API-Key": api.keys[("acme", "agent")]}
    suggestion = api.client.post("/v1/dispositions", json=contact.to_json_dict(), headers=agent).json()
    feedback = {"agent_id": "a-1", "accepted": False, "outcome": "escalated"}  # the outcome alone
    url = f"/v1/dispositions/{suggestion['suggestion_id']}/feedback"
    assert api.client.post(url, json=feedback, headers=agent).status_code == 201
    api.client.post("/v1/audit/live", headers=api.headers())
    (item,) = [
        i for i in api.get("/v1/audit/items", source="live").json()["items"] if i["contact_id"] == contact.contact_id
    ]
    refused = api.decide(item["id"], {"action": "confirm"})
    assert refused.status_code == 422 and refused.json()["problems"][0]["field"] == "reason"
    assert api.decide(item["id"], {"action": "other", "reason": "complaint", "outcome": "escalated"}).status_code == 201
    assert api.get("/v1/audit/items", date_from="2026-01-15", date_to="2026-01-14").status_code == 422
    assert api.get("/v1/audit/items", date_from="2026-01-15", date_to="2026-01-15").status_code == 200


def test_cli_imports_a_labelled_table_and_lists_the_queue(
    models_root: Path, tmp_path: Path, corpus: list[Contact], capsys: pytest.CaptureFixture[str]
) -> None:
    import pyarrow.parquet as pq

    from dispo.labelled import labelled_table

    predictor = Predictor.load("dispo-default", models_root)
    rows = [labelled_row(c, p, predictor.taxonomy) for c, p in zip(corpus, predictor.predict(corpus), strict=True)]
    pq.write_table(labelled_table(rows), tmp_path / "labelled.parquet")
    write_contacts(corpus, tmp_path / "contacts.jsonl")
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    parser = argparse.ArgumentParser()
    register_audit(parser.add_subparsers())
    common = ["audit", "--database-url", url]
    load = [*common, "import", "--tenant", "acme", "--contacts", str(tmp_path / "contacts.jsonl")]
    args = parser.parse_args([*load, "--labelled", str(tmp_path / "labelled.parquet"), "--seed", "1"])
    assert args.handler(args) == 0
    args = parser.parse_args([*load, "--labelled", str(tmp_path / "labelled.parquet")])
    assert args.handler(args) == 0  # again: every contact is already queued
    store = AuditStore(make_engine(url))
    page = store.queue("acme", QueueQuery(limit=500))
    assert page.total == len(corpus)
    capsys.readouterr()
    args = parser.parse_args([*common, "queue", "--tenant", "acme", "--limit", "5"])
    assert args.handler(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and '"suspicion"' in lines[0]
    args = parser.parse_args([*common, "accuracy", "--tenant", "acme", "--group-by", "provider"])
    assert args.handler(args) == 0
    assert '"population": 40' in capsys.readouterr().out
    assert math.isclose(page.items[0]["suspicion"], max(i["suspicion"] for i in page.items))
    # contacts without an agent code are counted, not dropped silently; a contacts file is not a labelled table
    uncoded = [c.model_copy(update={"contact_id": f"nc-{i}", "agent_labels": None}) for i, c in enumerate(corpus[:3])]
    write_contacts(uncoded, tmp_path / "uncoded.jsonl")
    rows, not_queued = import_rows(str(tmp_path / "uncoded.jsonl"), model="dispo-default", models_dir=models_root)
    assert rows == [] and not_queued == {"without_code": 3, "without_turns": 0}
    for conflicting in (["--labelled", str(tmp_path / "labelled.parquet"), "--model", "dispo-default"], ["--live"]):
        with pytest.raises(ConfigError, match="cannot be used together"):
            args = parser.parse_args([*load, *conflicting])
            args.handler(args)
    write_contacts(corpus, tmp_path / "contacts.parquet")
    with pytest.raises(ConfigError, match=r"not a labelled table .*no column \['model_version', 'reasons'\]"):
        import_rows(str(tmp_path / "contacts.jsonl"), labelled=tmp_path / "contacts.parquet")


def test_the_label_issues_of_a_training_run_feed_the_queue_without_a_model(
    tmp_path: Path, corpus: list[Contact], caplog: pytest.LogCaptureFixture
) -> None:
    """`dispo train --label-noise` writes label_issues.jsonl into the bundle; importing it queues
    the training contacts by how likely their agent code is wrong, flagged ones first."""
    import json

    contacts = [c for c in corpus if c.agent_labels is not None and c.agent_labels.reason][:6]
    write_contacts(contacts, tmp_path / "train.jsonl")
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    rows = []
    for i, contact in enumerate(contacts):
        agent = contact.agent_labels
        assert agent is not None and agent.outcome is not None
        wrong = i == 2  # the pass flags this one: the text says another reason
        rows += [
            {"contact_id": contact.contact_id, "task": "reason", "given": agent.reason,
             "suggested": "cancel_order" if wrong else agent.reason, "self_confidence": 0.03 if wrong else 0.9,
             "issue": wrong},
            {"contact_id": contact.contact_id, "task": "outcome", "given": agent.outcome,
             "suggested": agent.outcome, "self_confidence": 0.8, "issue": False},
        ]  # fmt: skip
    (bundle / "label_issues.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'issues.db'}"
    parser = argparse.ArgumentParser()
    register_audit(parser.add_subparsers())
    args = parser.parse_args(
        ["audit", "--database-url", url, "import", "--tenant", "acme", "--contacts", str(tmp_path / "train.jsonl"),
         "--label-issues", str(bundle / "label_issues.jsonl")]
    )  # fmt: skip
    assert args.handler(args) == 0
    page = AuditStore(make_engine(url)).queue("acme", QueueQuery(limit=50))
    assert page.total == len(contacts)
    with pytest.raises(InvalidInputError, match=r"channel 'phone': expected one of voice, chat"):
        QueueQuery(channel="phone")
    queue = ["audit", "--database-url", url, "queue", "--tenant", "acme", "--reason", "track_ordr"]
    with caplog.at_level("WARNING"):
        assert (found := parser.parse_args(queue)).handler(found) == 0
    assert "no audit item of tenant 'acme' matches {'reason': 'track_ordr', 'status': 'pending'}" in caplog.text
    first = page.items[0]
    assert first["contact_id"] == contacts[2].contact_id and first["disagrees"] is True
    assert first["agent_reason_probability"] == pytest.approx(0.03) and first["reason"] == "cancel_order"
    assert first["suspicion"] == pytest.approx(1 - 0.03 * 0.8)
    # Files of this version carry each code's one-coin chance of being right: it ranks, not self_confidence.
    for row in rows:
        row["estimated_right"] = 0.02 if row["contact_id"] == contacts[4].contact_id else 0.95
    (bundle / "label_issues.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    args.database_url = f"sqlite:///{tmp_path / 'ranked.db'}"
    assert args.handler(args) == 0
    first = AuditStore(make_engine(args.database_url)).queue("acme", QueueQuery(limit=50)).items[0]
    assert first["contact_id"] == contacts[4].contact_id and first["agent_reason_probability"] == pytest.approx(0.02)
    assert first["suspicion"] == pytest.approx(1 - 0.02 * 0.02)
    # A run that judged no outcome (too few codes, or none): the queue keeps the agent's own outcome.
    reasons_only = [r for r in rows if r["task"] == "reason"]
    (bundle / "label_issues.jsonl").write_text("".join(json.dumps(r) + "\n" for r in reasons_only), encoding="utf-8")
    args.database_url = f"sqlite:///{tmp_path / 'reasons.db'}"
    assert args.handler(args) == 0
    items = AuditStore(make_engine(args.database_url)).queue("acme", QueueQuery(limit=50)).items
    coded = {c.contact_id: c.agent_labels.outcome for c in contacts}  # type: ignore[union-attr]
    assert all(item["agent_outcome"] == coded[item["contact_id"]] for item in items)
    rows[0]["estimated_right"] = 1.5
    (bundle / "label_issues.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"label_issues.jsonl:1: .*missing or wrong: estimated_right"):
        args.handler(args)
    (bundle / "label_issues.jsonl").write_text('{"contact_id": "x", "task": "reason"}\n', encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"label_issues.jsonl:1: .*missing or wrong: given, suggested"):
        args.handler(args)
    # another run's file (same ids, other codes): an analyst's confirm would record a code the agent never gave
    rows[0]["estimated_right"] = 0.5
    other = [{**r, "given": "return_item"} if r["task"] == "reason" else r for r in rows]
    (bundle / "label_issues.jsonl").write_text("".join(json.dumps(r) + "\n" for r in other), encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"judged codes are not the codes the contacts carry in the data"):
        args.handler(args)
    # only part of the data judged: queued, and the rest said
    (bundle / "label_issues.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:2]), encoding="utf-8")
    args.database_url = f"sqlite:///{tmp_path / 'part.db'}"
    with caplog.at_level("WARNING"):
        assert args.handler(args) == 0
    assert f"{len(contacts) - 1} contacts of the data with an agent code were not judged" in caplog.text


# -- the web pages -----------------------------------------------------------------------------------
def test_ui_login_queue_contact_decision_and_csrf(sqlite_audit: Audit) -> None:
    client = sqlite_audit.client
    assert client.get("/ui/audit", follow_redirects=False).headers["location"].startswith("/ui/login")
    for page in ("/ui/audit/report", "/ui/audit/next?after=x"):  # every page sends a stranger to the login, and back
        answer = client.get(page, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == f"/ui/login?{urlencode({'next': page})}"
    origin = {"Origin": "http://testserver"}
    login = client.post(
        "/ui/login", data={"api_key": sqlite_audit.keys[("acme", "analyst")], "next": "/ui/audit"}, headers=origin,
        follow_redirects=False,
    )  # fmt: skip
    assert login.status_code == 303 and COOKIE in login.cookies
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    queue = client.get("/ui/audit")
    assert queue.status_code == 200 and "Audit queue" in queue.text
    assert "default-src 'self'" in queue.headers["content-security-policy"]
    first = sqlite_audit.get("/v1/audit/items", limit=3).json()["items"]
    assert first[0]["contact_id"] in queue.text
    empty_form = client.get("/ui/audit?provider=&date_from=&date_to=&status=pending&sort=suspicion")
    assert empty_form.status_code == 200  # an empty field of the filter form is no filter
    # Skipping walks down the queue (it never bounces back to the contact skipped before).
    for current, following in ((first[0], first[1]), (first[1], first[2])):
        skip = client.get(f"/ui/audit/next?after={current['id']}", follow_redirects=False)
        assert skip.headers["location"].startswith(f"/ui/audit/{following['id']}")
    page = client.get(f"/ui/audit/{first[0]['id']}?sort=suspicion")
    assert page.status_code == 200 and "Confirm agent" in page.text and first[0]["agent_code"] in page.text
    # A cookie-authenticated form post must come from this site.
    path = f"/ui/audit/{first[0]['id']}/decide?sort=suspicion"
    assert client.post(path, data={"action": "confirm"}, follow_redirects=False).status_code == 403
    cross = client.post(path, data={"action": "confirm"}, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    assert (
        client.post(
            f"/v1/audit/items/{first[0]['id']}/decisions",
            json={"action": "confirm"},
            headers={"Origin": "https://evil.example"},
        ).status_code
        == 403
    )
    decided = client.post(path, data={"action": "confirm", "note": ""}, headers=origin, follow_redirects=False)
    assert decided.status_code == 303 and decided.headers["location"].startswith(f"/ui/audit/{first[1]['id']}")
    log = sqlite_audit.get(f"/v1/audit/items/{first[0]['id']}/decisions").json()
    assert len(log) == 1 and log[0]["mode"] == "ranked" and log[0]["action"] == "confirm"
    # An invalid choice re-renders the page with the error, and stores nothing.
    bad = client.post(
        f"/ui/audit/{first[1]['id']}/decide", data={"action": "other", "reason": "teleport", "outcome": "resolved"},
        headers=origin,
    )  # fmt: skip
    assert bad.status_code == 422 and "outside the model" in bad.text
    assert client.get("/ui/audit/report").status_code == 200
    assert client.get("/ui/static/audit.css").status_code == 200
    assert client.get("/ui/static/../app.py").status_code == 404
    logout = client.post("/ui/logout", headers=origin, follow_redirects=False)
    assert logout.status_code == 303
    client.cookies.clear()
    assert client.get("/ui/audit", follow_redirects=False).status_code == 303


def test_ui_sessions_are_server_side_revoked_at_logout_and_for_analysts_only(sqlite_audit: Audit) -> None:
    client = sqlite_audit.client
    origin = {"Origin": "http://testserver"}
    key = sqlite_audit.keys[("acme", "analyst")]
    login = client.post("/ui/login", data={"api_key": key}, headers=origin, follow_redirects=False)
    token = login.cookies[COOKIE]
    assert token and key not in token and key not in login.headers["set-cookie"]  # a session id, not the key
    client.cookies.clear()
    replay = {"Cookie": f"{COOKIE}={token}"}
    assert client.get("/ui/audit", headers=replay, follow_redirects=False).status_code == 200
    assert client.get("/v1/audit/items", headers=replay).status_code == 200
    client.post("/ui/logout", headers={**origin, **replay}, follow_redirects=False)
    # The same cookie, kept by an attacker after logout, opens nothing.
    assert client.get("/ui/audit", headers=replay, follow_redirects=False).status_code == 303
    assert client.get("/v1/audit/items", headers=replay).status_code == 401
    admin = client.post("/ui/login", data={"api_key": sqlite_audit.keys[("acme", "admin")]}, headers=origin,
                        follow_redirects=False)  # fmt: skip
    assert admin.status_code == 403 and COOKIE not in admin.cookies


def test_fuzzed_audit_requests_never_get_a_server_error(tmp_path: Path, tiny_bundle: Path) -> None:
    """Every /v1/audit operation, fuzzed over HTTP from the OpenAPI schema with an analyst's key."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error

    from tests.audit_service import start_service

    service = start_service(tmp_path, tiny_bundle, n_contacts=12)
    try:
        schema = schemathesis.openapi.from_url(f"{service.url}/openapi.json")
        operations = [op.ok() for op in schema.get_all_operations() if op.ok().path.startswith("/v1/audit")]
        assert len(operations) >= 9
        seen: dict[str, set[int]] = {}
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def fuzz(case: Any) -> None:
                response = case.call_and_validate(
                    base_url=service.url, headers={"X-API-Key": service.key}, checks=[not_a_server_error]
                )
                seen.setdefault(case.operation.label, set()).add(response.status_code)

            fuzz()
        assert 200 in seen["GET /v1/audit/items"]
    finally:
        service.stop()


def test_explanation_from_shared_segment_vectors_matches_predicting_each_variant(
    models_root: Path, corpus: list[Contact]
) -> None:
    from dispo.audit.explain import ExplainConfig, explain

    predictor = Predictor.load("dispo-default", root=models_root)
    contact = next(c for c in corpus if len(c.turns) > 8)
    agent_reason = "track_order"
    explained = explain(predictor, contact, agent_reason=agent_reason)
    # The reference: every variant predicted from scratch (its own encoder pass).
    base = predictor.predict([contact])[0]
    assert explained["reason"] == base.reason
    assert explained["reason_probability"] == pytest.approx(base.reason_probabilities[base.reason], abs=2e-4)
    assert explained["occluded"] and explained["occluded"] == explained["turns_read"]
    for turn in explained["occluded"]:
        variant = contact.model_copy(update={"turns": [t for j, t in enumerate(contact.turns) if j != turn]})
        alone = predictor.predict([variant])[0]
        entry = explained["turns"][str(turn)]
        expected = base.reason_probabilities[base.reason] - alone.reason_probabilities[base.reason]
        assert entry["reason_delta"] == pytest.approx(expected, abs=2e-4)
        assert entry["upsell_delta"] == pytest.approx(base.upsell_probability - alone.upsell_probability, abs=2e-4)
    customer = [i for i, t in enumerate(contact.turns) if t.speaker == "customer" and t.text.strip()]
    singles = predictor.predict([Contact(contact_id=f"x{i}", turns=[contact.turns[i]]) for i in customer])
    assert {str(i): p.sentiment.label for i, p in zip(customer, singles, strict=True) if p.sentiment} == {
        k: v["label"] for k, v in explained["sentiment"].items()
    }
    few = explain(predictor, contact, config=ExplainConfig(max_occluded=2))
    assert len(few["occluded"]) == 2 and set(few["occluded"]) <= set(explained["occluded"])


def test_the_queue_command_offers_every_sort_the_queue_has() -> None:
    from serve.audit.store import SORTS

    parser = argparse.ArgumentParser()
    register_audit(parser.add_subparsers())
    for sort in SORTS:
        assert parser.parse_args(["audit", "queue", "--tenant", "acme", "--sort", sort]).sort == sort


def test_label_issues_outside_a_bundle_name_the_file_and_take_the_model_s_taxonomy(tmp_path: Path) -> None:
    from dispo.io import write_contacts
    from serve.audit.cli import import_rows
    from tests.conftest import make_contact

    contacts = [make_contact(i, agent_labels={"reason": "where_is_my_parcel", "outcome": "sorted"}) for i in range(2)]
    write_contacts(contacts, tmp_path / "history.jsonl")
    loose = tmp_path / "label_issues.jsonl"  # no taxonomy.yaml beside it
    judged = [
        {"contact_id": c.contact_id, "task": task, "given": given, "suggested": given, "self_confidence": 0.9,
         "estimated_right": 0.9}
        for c in contacts for task, given in (("reason", "where_is_my_parcel"), ("outcome", "sorted"))
    ]  # fmt: skip
    loose.write_text("".join(json.dumps(row) + "\n" for row in judged), encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"label_issues.jsonl: unknown reason 'where_is_my_parcel'.*--taxonomy"):
        import_rows(str(tmp_path / "history.jsonl"), label_issues=loose, seed=1)
    own = tmp_path / "parcels.yaml"
    own.write_text("name: parcels\ncategories:\n  Delivery:\n    reasons: {where_is_my_parcel: {}}\n"
                   "outcomes:\n  sorted: {resolved: true}\n", encoding="utf-8")  # fmt: skip
    rows, _ = import_rows(str(tmp_path / "history.jsonl"), label_issues=loose, taxonomy=own, seed=1)
    assert len(rows) == 2 and rows[0]["agent_reason"] == "where_is_my_parcel"
