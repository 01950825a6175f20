"""The audit's pure logic: queue items from live suggestions, analyst agreement, accuracy by group."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from dispo.audit.agreement import analyst_agreement
from dispo.audit.items import item_from_labelled, item_from_suggestion
from dispo.audit.sampling import accuracy_by_group
from dispo.labelled import labelled_row
from dispo.model.predictor import Prediction, TaskPrediction
from dispo.taxonomy import Taxonomy
from tests.conftest import make_contact


def _suggestion(every_reason: dict[str, float] | None) -> SimpleNamespace:
    prediction = {
        "reasons": [{"label": "track_order", "probability": 0.7}, {"label": "cancel_order", "probability": 0.2}],
        "outcome": {"label": "resolved", "probability": 0.9, "probabilities": {"resolved": 0.9, "escalated": 0.1}},
        "sentiment": {"label": "neutral", "probability": 0.8},
    }
    if every_reason is not None:
        prediction["reason_probabilities"] = every_reason
    contact = {"contact_id": "C-1", "turns": [{"speaker": "customer", "text": "hi"}], "started_at": None}
    return SimpleNamespace(
        id="s-1", prediction=prediction, contact=contact, model_version="v3", disposition_code="ORD-TRK-RES",
        upsell_probability=0.1,
    )  # fmt: skip


def test_a_live_item_gets_the_exact_probability_of_the_agents_reason() -> None:
    decision = SimpleNamespace(reason="change_order", outcome="resolved", disposition_code="ORD-CHG-RES")
    every = {"track_order": 0.7, "cancel_order": 0.2, "change_order": 0.04, "place_order": 0.06}
    exact = item_from_suggestion(_suggestion(every), decision)
    assert exact is not None and exact["agent_reason_probability"] == pytest.approx(0.04)
    # A suggestion stored before every reason was kept: the bound (what the top-k leave over).
    bounded = item_from_suggestion(_suggestion(None), decision)
    assert bounded is not None and bounded["agent_reason_probability"] == pytest.approx(0.1)
    assert exact["suspicion"] > bounded["suspicion"]


def _prediction(reasons: dict[str, float], outcomes: dict[str, float]) -> Prediction:
    ranked = sorted(reasons.items(), key=lambda kv: -kv[1])
    best = max(outcomes, key=outcomes.__getitem__)
    outcome = TaskPrediction(best, outcomes[best], outcomes)
    return Prediction("c-0000", ranked[:3], outcome, None, None, None, reason_probabilities=reasons)


PASSWORD = {"recover_password": 0.9994, "create_account": 0.0004, "delete_account": 0.0002}


@pytest.mark.parametrize(
    ("agent", "reasons", "outcomes", "agrees", "wrong"),
    [
        # ACC-PWD-XFER against the model's ACC-PWD-ESC: the reason agrees, the outcome does not.
        ({"reason": "recover_password", "outcome": "transferred"}, PASSWORD,
         {"escalated": 0.9, "transferred": 0.069, "resolved": 0.031}, False, 1 - 0.9994 * 0.069),
        # A lone customer message coded resolved: settled as unresolved, so the code is certainly wrong.
        ({"reason": "recover_password", "outcome": "resolved"}, PASSWORD,
         {"unresolved": 1.0, "resolved": 0.0, "escalated": 0.0}, False, 1.0),
        ({"reason": "recover_password", "outcome": "escalated"}, PASSWORD,
         {"escalated": 0.9, "transferred": 0.1}, True, 1 - 0.9994 * 0.9),
        ({"reason": None, "outcome": "transferred"}, PASSWORD, {"escalated": 0.8, "transferred": 0.2}, False, 0.8),
        ({"reason": "create_account", "outcome": None}, PASSWORD, {"escalated": 1.0}, False, 1 - 0.0004),
        (None, PASSWORD, {"escalated": 1.0}, None, None),
    ],
)  # fmt: skip
def test_the_labelled_tables_agent_columns_judge_the_whole_code_as_the_audit_does(
    taxonomy: Taxonomy,
    agent: dict[str, str | None] | None,
    reasons: dict[str, float],
    outcomes: dict[str, float],
    agrees: bool | None,
    wrong: float | None,
) -> None:
    contact = make_contact(0, agent_labels=agent)
    row = labelled_row(contact, _prediction(reasons, outcomes), taxonomy)
    assert row["agent_agrees"] is agrees
    if wrong is None:
        assert row["agent_wrong_probability"] is None
        return
    assert row["agent_wrong_probability"] == pytest.approx(wrong, abs=1e-6)
    item = item_from_labelled(contact.to_json_dict(), row)  # the audit queue, from the same row
    assert item is not None and item["suspicion"] == pytest.approx(row["agent_wrong_probability"], abs=1e-6)
    assert item["disagrees"] is not agrees


def _decision(analyst: str, reason: str, outcome: str = "resolved") -> dict[str, str]:
    return {"analyst_key_id": analyst, "analyst_name": analyst.upper(), "reason": reason, "outcome": outcome}


def test_agreement_takes_each_analysts_last_decision_and_the_first_two_analysts() -> None:
    items = [
        [_decision("a", "x"), _decision("b", "x")],
        [_decision("a", "x"), _decision("b", "y"), _decision("b", "x")],  # b changed their mind: agrees
        [_decision("b", "y"), _decision("a", "x"), _decision("c", "y")],  # first two: b and a
        [_decision("a", "y")],  # one analyst: not counted
    ]
    result = analyst_agreement(items)
    assert result["items"] == 3
    assert result["overall"]["observed"] == pytest.approx(2 / 3)
    pairs = {tuple(p["analyst_key_ids"]): p for p in result["pairs"]}
    assert set(pairs) == {("a", "b"), ("a", "c"), ("b", "c")}
    assert pairs[("a", "b")]["n"] == 3 and pairs[("b", "c")]["observed"] == 1.0


def test_accuracy_by_group_counts_code_and_reason_separately_with_intervals() -> None:
    judged = [("p1", True, True), ("p1", False, True), ("p2", False, False), (None, True, True)]
    rows = accuracy_by_group(judged, confidence=0.9)
    assert [r["group"] for r in rows] == ["p1", "p2", None]
    p1 = rows[0]
    assert p1["code_accuracy"]["value"] == 0.5 and p1["reason_accuracy"]["value"] == 1.0
    assert p1["code_accuracy"]["ci_low"] < 0.5 < p1["code_accuracy"]["ci_high"]
    assert p1["reason_accuracy"]["ci_high"] == 1.0
