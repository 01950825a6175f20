"""Metrics (issue 7): hand-computed cases for every definition and edge. The built corpus's metrics
against a reference implementation, and `dispo report`, are in test_metrics_built.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from dispo.errors import ConfigError
from dispo.labelled import LABELLED_SCHEMA
from dispo.metrics import (
    MetricsConfig,
    MetricsInputError,
    SlaTargets,
    compare_label_sources,
    compute_metrics,
    contact_issues,
    open_source,
    provider_scorecard,
    reason_mix,
)
from dispo.metrics.definitions import ISSUE_COUNTS
from dispo.metrics.stats import mean_interval, wilson_interval
from tests.metrics_rows import LATE, T0, at, issues, kn, overall, row, table


# ---------------------------------------------------------------------------------------------
# Issue chaining: window boundaries, categories, modes
# ---------------------------------------------------------------------------------------------
def test_a_repeat_exactly_seven_days_after_the_previous_contact_ends_is_a_repeat() -> None:
    first = row("A", "k1", at(T0), minutes=10)
    exact = row("B", "k1", at(T0, days=7, minutes=10))
    got = issues([first, exact], LATE)
    assert got["B"]["is_repeat"] and got["B"]["issue_id"] == "A"
    assert got["A"]["followed_by_repeat"] and got["A"]["fcr_state"] == "not_fcr"

    one_second_later = row("B", "k1", at(T0, days=7, minutes=10, seconds=1))
    got = issues([first, one_second_later], LATE)
    assert not got["B"]["is_repeat"] and got["B"]["issue_id"] == "B"
    assert got["A"]["fcr_state"] == "fcr" and got["B"]["fcr_state"] == "fcr"


def test_the_window_can_run_from_the_previous_contacts_start() -> None:
    rows = [row("A", "k1", at(T0), minutes=10), row("B", "k1", at(T0, days=7, minutes=5))]
    assert issues(rows, LATE)["B"]["is_repeat"]  # 6 days 23h55 after A ended
    assert not issues(rows, replace(LATE, window_from="start"))["B"]["is_repeat"]  # 7 days 5 min after A started


def test_same_category_other_reason_chains_but_another_category_does_not() -> None:
    rows = [
        row("A", "k1", at(T0), reason="track_order", outcome="unresolved"),
        row("C", "k1", at(T0, days=1), reason="get_refund"),  # REFUND: another category
        row("B", "k1", at(T0, days=2), reason="cancel_order"),  # ORDER, like track_order
    ]
    got = issues(rows, LATE)
    assert got["B"]["is_repeat"] and got["B"]["issue_id"] == "A"
    assert not got["C"]["is_repeat"] and got["C"]["issue_id"] == "C"
    result = overall(rows, LATE)
    assert result["issues"]["value"] == 2
    assert kn(result["fcr"]) == (1, 2)  # C resolved alone; A unresolved and repeated

    any_reason = issues(rows, replace(LATE, window_mode="any_reason"))
    assert any_reason["C"]["is_repeat"] and any_reason["B"]["is_repeat"]
    assert {r["issue_id"] for r in any_reason.values()} == {"A"}
    assert kn(overall(rows, replace(LATE, window_mode="any_reason"))["fcr"]) == (0, 1)


def test_windows_come_from_the_taxonomy_per_category_and_can_be_overridden() -> None:
    # DELIVERY has a 5-day window in the default taxonomy, ORDER the 7-day default.
    delivery = [
        row("A", "k1", at(T0), reason="delivery_period"),
        row("B", "k1", at(T0, days=6), reason="delivery_options"),
    ]
    order = [row("A", "k1", at(T0), reason="track_order"), row("B", "k1", at(T0, days=6), reason="change_order")]
    assert not issues(delivery, LATE)["B"]["is_repeat"]
    assert issues(order, LATE)["B"]["is_repeat"]
    assert issues(delivery, replace(LATE, category_windows={"DELIVERY": 7}))["B"]["is_repeat"]
    assert not issues(order, replace(LATE, window_days=3))["B"]["is_repeat"]
    with open_source(table(order)) as source, pytest.raises(ConfigError, match="NOT_A_CATEGORY"):
        compute_metrics(source, replace(LATE, category_windows={"NOT_A_CATEGORY": 3}))


def test_issue_chains_run_from_contact_to_contact() -> None:
    # Each contact within 7 days of the previous one: one issue 12 days long.
    rows = [row("A", "k1", at(T0)), row("B", "k1", at(T0, days=6)), row("C", "k1", at(T0, days=12))]
    got = issues(rows, LATE)
    assert [got[c]["issue_id"] for c in "ABC"] == ["A", "A", "A"]
    assert kn(overall(rows, LATE)["repeat_share"]) == (2, 3)


def test_a_customer_with_one_contact() -> None:
    result = overall([row("A", "k1", at(T0))], LATE)
    assert kn(result["fcr"]) == (1, 1)
    assert kn(result["repeat_rate"]) == (0, 1)
    assert kn(result["resolution_rate"]) == (1, 1)
    assert result["issues"]["value"] == 1 and result["issues_pending"]["value"] == 0


def test_an_unresolved_first_contact_followed_by_a_resolved_one() -> None:
    rows = [row("A", "k1", at(T0), outcome="unresolved"), row("B", "k1", at(T0, days=2), outcome="resolved")]
    result = overall(rows, LATE)
    assert result["issues"]["value"] == 1
    assert kn(result["fcr"]) == (0, 1)
    assert kn(result["resolution_rate"]) == (1, 2)
    assert kn(result["repeat_rate"]) == (1, 2)  # A was repeated; B's window closed without a repeat
    assert kn(result["repeat_share"]) == (1, 2)


def test_a_resolved_first_contact_that_is_repeated_is_not_fcr() -> None:
    rows = [row("A", "k1", at(T0), outcome="resolved"), row("B", "k1", at(T0, days=1), outcome="resolved")]
    assert kn(overall(rows, LATE)["fcr"]) == (0, 1)


def test_issues_whose_window_is_open_at_the_end_of_the_data_are_pending() -> None:
    rows = [
        row("A", "k1", at(T0), minutes=10),  # window closes at T0 + 7d 10min
        row("B", "k2", at(T0, days=3), outcome="unresolved"),  # window still open
        row("C", "k3", at(T0, days=4)),  # its window is still open, but a repeat already came: not FCR
        row("D", "k3", at(T0, days=5)),
    ]
    as_of = replace(LATE, as_of=at(T0, days=7, minutes=10))
    got = issues(rows, as_of)
    assert got["A"]["fcr_state"] == "fcr"
    assert got["B"]["fcr_state"] == "pending" and got["C"]["fcr_state"] == "not_fcr"
    assert got["D"]["fcr_state"] is None  # a repeat, not an issue
    result = overall(rows, as_of)
    assert kn(result["fcr"]) == (1, 2)
    counts = {name: result[name]["value"] for name in ISSUE_COUNTS}
    assert counts == {"issues": 3, "issues_closed": 2, "issues_pending": 1, "issues_repeat_early": 1,
                      "issues_unknown_outcome": 0}  # fmt: skip
    assert kn(result["repeat_rate"]) == (1, 2)  # A closed without a repeat, C repeated; B and D undecided
    one_second_earlier = replace(LATE, as_of=at(T0, days=7, minutes=10, seconds=-1))
    assert issues(rows, one_second_earlier)["A"]["fcr_state"] == "pending"


def test_a_repeat_counts_from_the_moment_it_happens_and_not_before() -> None:
    rows = [row("A", "k1", at(T0), minutes=10), row("B", "k1", at(T0, days=3))]
    at_the_repeat = replace(LATE, as_of=at(T0, days=3))
    assert issues(rows, at_the_repeat)["A"]["fcr_state"] == "not_fcr"
    assert overall(rows, at_the_repeat)["issues_repeat_early"]["value"] == 1
    before_the_repeat = replace(LATE, as_of=at(T0, days=3, seconds=-1))  # B is in the file, not yet in time
    assert issues(rows, before_the_repeat)["A"]["fcr_state"] == "pending"
    assert overall(rows, before_the_repeat)["issues_closed"]["value"] == 0


def test_chains_at_the_edge_of_the_window() -> None:
    # A's window (7 days from its end) closes at T0 + 7d 10min; B comes exactly then (a repeat:
    # windows are inclusive); C one second after B's window closes (a new issue).
    rows = [
        row("A", "k1", at(T0), minutes=10),
        row("B", "k1", at(T0, days=7, minutes=10), minutes=0),
        row("C", "k1", at(T0, days=14, minutes=10, seconds=1)),
    ]
    as_of = replace(LATE, as_of=at(T0, days=7, minutes=10))  # the end of the data is B's start
    got = issues(rows, as_of)
    assert got["A"]["fcr_state"] == "not_fcr" and got["B"]["fcr_state"] is None
    assert got["C"]["issue_id"] == "C" and got["C"]["fcr_state"] == "pending"
    late = issues(rows, LATE)
    assert late["A"]["fcr_state"] == "not_fcr" and late["C"]["fcr_state"] == "fcr"
    assert kn(overall(rows, LATE)["fcr"]) == (1, 2)


def test_results_are_cached_per_configuration_and_the_cache_can_be_dropped() -> None:
    rows = [row("A", "k1", at(T0), outcome="unresolved"), row("B", "k1", at(T0, days=1))]
    with open_source(table(rows)) as source:
        first = compute_metrics(source, LATE)
        assert compute_metrics(source, LATE) == first
        assert kn(compute_metrics(source, LATE.with_labels("model"))["overall"]["fcr"]) == (0, 1)
        assert len(source.temporary) == 6  # two chainings: base, links, view each
        source.clear_cache()
        assert not source.temporary and not source.cache
        assert compute_metrics(source, LATE) == first


def test_the_end_of_the_data_defaults_to_the_last_contact_start() -> None:
    rows = [row("A", "k1", at(T0)), row("B", "k2", at(T0, days=10))]
    with open_source(table(rows)) as source:
        result = compute_metrics(source)
    assert result["meta"]["as_of"] == at(T0, days=10).isoformat()
    assert kn(result["overall"]["fcr"]) == (1, 1)
    assert result["overall"]["issues_pending"]["value"] == 1


def test_missing_ended_at_anchors_the_window_at_the_start_and_leaves_aht_out() -> None:
    rows = [
        row("A", "k1", at(T0), minutes=None),
        row("B", "k1", at(T0, days=7, seconds=30), minutes=4),
    ]
    got = issues(rows, LATE)
    assert not got["B"]["is_repeat"]  # 7 days 30 s after A's start; A has no end
    with_end = [row("A", "k1", at(T0), minutes=1), rows[1]]
    assert issues(with_end, LATE)["B"]["is_repeat"]  # 6 days 23:59:30 after A's end
    result = overall(rows, LATE)
    assert result["aht_s"]["n"] == 1 and result["aht_s"]["value"] == pytest.approx(240.0)
    with open_source(table(rows)) as source:
        assert compute_metrics(source, LATE)["meta"]["data_quality"]["no_ended_at"] == 1


def test_time_zones_chain_on_the_instant_and_cut_periods_in_the_configured_zone() -> None:
    # A ends at 00:00 New York time (05:00 UTC on 2026-03-02); B starts exactly 7 days later, written in Paris time.
    rows = [
        row("A", "k1", datetime.fromisoformat("2026-03-01T23:50:00-05:00"), minutes=10),
        row("B", "k1", datetime.fromisoformat("2026-03-09T06:00:00+01:00")),
    ]
    assert issues(rows, LATE)["B"]["is_repeat"]
    with open_source(table(rows)) as source:
        utc = compute_metrics(source, LATE, slice_by="day")["groups"]
        new_york = compute_metrics(source, replace(LATE, timezone="America/New_York"), slice_by="day")["groups"]
        weeks = compute_metrics(source, replace(LATE, timezone="America/New_York"), slice_by="week")["groups"]
    assert [g["key"]["day"] for g in utc] == ["2026-03-02", "2026-03-09"]
    assert [g["key"]["day"] for g in new_york] == ["2026-03-01", "2026-03-09"]
    # 2026-03-01 is a Sunday: in New York A falls in the week of Monday 2026-02-23.
    assert [g["key"]["week"] for g in weeks] == ["2026-02-23", "2026-03-09"]


def test_contacts_without_customer_or_reason_are_not_chained_but_still_counted() -> None:
    rows = [
        row("A", None, at(T0)),
        row("B", "k1", at(T0), reason=None),
        row("C", "k1", at(T0, days=1), reason="not_a_reason"),
        row("D", "k1", at(T0, days=2)),
    ]
    result = overall(rows, LATE)
    assert result["contacts"]["value"] == 4
    assert kn(result["resolution_rate"]) == (4, 4)
    assert result["issues"]["value"] == 1 and kn(result["repeat_share"]) == (0, 1)
    with open_source(table(rows)) as source:
        quality = compute_metrics(source, LATE)["meta"]["data_quality"]
    assert quality["not_chainable"] == 3 and quality["reason_outside_taxonomy"] == 1 and quality["no_customer_id"] == 1
    # In any-reason mode the reason is not needed: B, C and D chain into one issue.
    assert overall(rows, replace(LATE, window_mode="any_reason"))["issues"]["value"] == 1


def test_a_contact_with_no_outcome_label_opens_an_issue_left_out_of_fcr() -> None:
    rows = [row("A", "k1", at(T0), outcome=None), row("B", "k2", at(T0))]
    result = overall(rows, LATE)
    assert result["issues_unknown_outcome"]["value"] == 1
    assert kn(result["fcr"]) == (1, 1)
    assert kn(result["resolution_rate"]) == (1, 1)


# ---------------------------------------------------------------------------------------------
# Label sources and audits
# ---------------------------------------------------------------------------------------------
def _disagreeing() -> list[dict[str, Any]]:
    # The agent codes everything resolved; the model says A was not, and B is about another category.
    return [
        row("A", "k1", at(T0), outcome="unresolved", agent_reason="track_order", agent_outcome="resolved"),
        row("B", "k1", at(T0, days=1), reason="get_refund", agent_reason="track_order", agent_outcome="resolved"),
        row("C", "k2", at(T0), agent_reason="track_order", agent_outcome="resolved"),
    ]


def test_the_label_priority_decides_which_codes_feed_the_numbers() -> None:
    rows = _disagreeing()
    assert kn(overall(rows, LATE.with_labels("agent"))["fcr"]) == (1, 2)  # A repeated by B
    assert kn(overall(rows, LATE.with_labels("model"))["fcr"]) == (2, 3)  # B is its own issue, A unresolved
    assert kn(overall(rows, LATE.with_labels("model"))["resolution_rate"]) == (2, 3)
    assert kn(overall(rows, LATE)["resolution_rate"]) == (3, 3)  # default: audit > agent > model
    with open_source(table(rows)) as source:
        both = compare_label_sources(source, LATE, ("agent", "model"), slice_by="provider")
    assert set(both["sources"]) == {"agent", "model"}
    assert both["sources"]["agent"]["overall"]["fcr"]["value"] == pytest.approx(0.5)
    assert both["sources"]["model"]["groups"][0]["metrics"]["fcr"]["value"] == pytest.approx(2 / 3)


def test_agent_codes_fill_in_where_the_model_has_no_label_and_the_source_is_counted() -> None:
    rows = [row("A", "k1", at(T0), reason=None, agent_reason="get_refund"), row("B", "k2", at(T0))]
    got = issues(rows, LATE.with_labels("model", "agent"))
    assert got["A"]["reason"] == "get_refund" and got["A"]["reason_source"] == "agent"
    assert got["B"]["reason_source"] == "model"


def test_audits_override_agent_codes_and_the_latest_decision_wins() -> None:
    rows = _disagreeing()
    audits = pa.table(
        {
            "contact_id": ["A", "A", "C"],
            "audit_reason": ["track_order", "track_order", "track_order"],
            "audit_outcome": ["resolved", "unresolved", "resolved"],
            "decided_at": pa.array([at(T0, days=3), at(T0, days=4), at(T0, days=3)], pa.timestamp("us", tz="UTC")),
        }
    )
    with open_source(table(rows), audits=audits) as source:
        result = compute_metrics(source, LATE)
        chained = {r["contact_id"]: r for r in contact_issues(source, LATE).to_pylist()}
    assert chained["A"]["outcome"] == "unresolved" and chained["A"]["outcome_source"] == "audit"
    assert chained["B"]["outcome_source"] == "agent"
    metrics = result["overall"]
    assert kn(metrics["resolution_rate"]) == (2, 3)
    assert kn(metrics["agent_accuracy_reason"]) == (2, 2)
    assert kn(metrics["agent_accuracy_outcome"]) == (1, 2)  # A: the agent said resolved, the audit did not
    assert kn(metrics["agent_accuracy_code"]) == (1, 2)
    assert kn(metrics["model_accuracy_code"]) == (2, 2)
    assert kn(metrics["agent_model_agreement_reason"]) == (2, 3)
    assert result["meta"]["data_quality"]["outcome_label_source"] == {"audit": 2, "agent": 1, "model": 0}


def test_audits_without_a_decision_time_must_be_one_per_contact() -> None:
    audits = pa.table({"contact_id": ["A", "A"], "audit_reason": ["track_order", "get_refund"]})
    with pytest.raises(MetricsInputError, match="audited more than once"):
        open_source(table(_disagreeing()), audits=audits)
    single = pa.table({"contact_id": ["A"], "audit_outcome": ["escalated"]})
    with open_source(table(_disagreeing()), audits=single) as source:
        assert kn(compute_metrics(source, LATE)["overall"]["escalation_rate"]) == (1, 3)


def test_audited_labels_are_read_as_the_taxonomy_spells_them_and_checked(caplog: pytest.LogCaptureFixture) -> None:
    """An analyst's "Track Order" is track_order; a label the taxonomy lacks is refused, as in a
    contact's labels; an audit of a contact the table does not hold is left out, and said so."""
    audits = pa.table({"contact_id": ["A", "NOPE"], "audit_reason": ["Track Order", "track_order"],
                       "audit_outcome": [" Unresolved", None]})  # fmt: skip
    with (
        caplog.at_level("WARNING", logger="dispo.metrics.source"),
        open_source(table(_disagreeing()), audits=audits) as source,
    ):
        chained = {r["contact_id"]: r for r in contact_issues(source, LATE).to_pylist()}
    assert (chained["A"]["outcome"], chained["A"]["outcome_source"]) == ("unresolved", "audit")
    assert "1 audited contacts are not in the labelled table (e.g. NOPE)" in caplog.text
    wrong = pa.table({"contact_id": ["A"], "audit_reason": ["teleport_parcel"]})
    with pytest.raises(MetricsInputError, match=r"audit_reason holds labels outside the taxonomy.*teleport_parcel"):
        open_source(table(_disagreeing()), audits=wrong)


def test_without_audits_the_accuracy_metrics_say_why_they_are_empty() -> None:
    result = overall(_disagreeing(), LATE)
    assert result["agent_accuracy_code"]["value"] is None
    assert "no audits" in result["agent_accuracy_code"]["unavailable"]


def test_agent_accuracy_uses_only_the_uniform_sample_when_the_audits_say_which_it_is() -> None:
    rows = _disagreeing()
    audits = pa.table(
        {
            "contact_id": ["A", "C"],
            "audit_reason": ["track_order", "track_order"],
            "audit_outcome": ["unresolved", "resolved"],
            "in_uniform_sample": [False, True],  # A came from the ranked queue: it wins the labels, not the estimate
        }
    )
    with open_source(table(rows), audits=audits) as source:
        result = compute_metrics(source, LATE)
        chained = {r["contact_id"]: r for r in contact_issues(source, LATE).to_pylist()}
    assert chained["A"]["outcome"] == "unresolved" and chained["A"]["outcome_source"] == "audit"
    assert kn(result["overall"]["agent_accuracy_outcome"]) == (1, 1)  # C only


# ---------------------------------------------------------------------------------------------
# The other contact metrics
# ---------------------------------------------------------------------------------------------
def test_outcome_rates_handle_time_sentiment_and_upsell() -> None:
    rows = [
        row("A", "k1", at(T0), outcome="escalated", minutes=5, sentiment="negative", upsell_probability=0.9),
        row("B", "k2", at(T0), outcome="transferred", minutes=15, sentiment="neutral", upsell_probability=0.5),
        row("C", "k3", at(T0), outcome="callback_scheduled", minutes=10, sentiment="positive", upsell_probability=0.2),
        row("D", "k4", at(T0), outcome="resolved", minutes=30, sentiment="positive", upsell_probability=None),
    ]
    result = overall(rows, LATE)
    assert kn(result["escalation_rate"]) == (1, 4)
    assert kn(result["transfer_rate"]) == (1, 4)
    assert kn(result["callback_rate"]) == (1, 4)
    assert result["aht_s"]["value"] == pytest.approx(15 * 60) and result["aht_s"]["n"] == 4
    assert result["sentiment_score"]["value"] == pytest.approx(0.25)
    assert kn(result["sentiment_negative"]) == (1, 4) and kn(result["sentiment_positive"]) == (2, 4)
    assert kn(result["upsell_rate"]) == (2, 3)  # threshold 0.5 inclusive; D has no probability
    assert kn(overall(rows, replace(LATE, upsell_threshold=0.95))["upsell_rate"]) == (0, 3)
    assert result["sentiment_change"]["value"] is None
    assert "sentiment_start" in result["sentiment_change"]["unavailable"]


def test_sentiment_change_when_the_table_has_start_and_end_sentiment() -> None:
    base = table([row("A", "k1", at(T0), sentiment=None), row("B", "k2", at(T0), sentiment=None)])
    start = base.schema.get_field_index("sentiment_start")
    with_arc = base.set_column(start, "sentiment_start", pa.array(["negative", "neutral"])).append_column(
        "sentiment_end", pa.array(["positive", "neutral"])
    )
    with open_source(with_arc) as source:
        result = compute_metrics(source, LATE)
    assert result["overall"]["sentiment_change"]["value"] == pytest.approx(1.0)  # (+2 + 0) / 2
    assert result["overall"]["sentiment_score"]["value"] == pytest.approx(0.5)
    assert result["meta"]["sentiment_from"] == "sentiment_end"
    assert "unavailable" not in result["overall"]["sentiment_change"]


def test_rates_carry_counts_wilson_intervals_and_a_small_group_flag() -> None:
    rows = [row(f"C{i}", f"k{i}", at(T0), outcome="resolved" if i < 3 else "unresolved") for i in range(10)]
    entry = overall(rows, LATE)["resolution_rate"]
    assert kn(entry) == (3, 10) and entry["small"]
    low, high = wilson_interval(3, 10)
    assert (entry["ci_low"], entry["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    assert not overall(rows, replace(LATE, small_group_n=10))["resolution_rate"]["small"]


def test_wilson_and_mean_intervals_against_hand_computed_values() -> None:
    assert wilson_interval(0, 0) is None
    low, high = wilson_interval(5, 10)
    assert (low, high) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(10, 10)[1] == 1.0
    with pytest.raises(ValueError, match="k <= n"):
        wilson_interval(3, 2)
    # values 1, 2, 3: mean 2, sample sd 1, half width 1.96 / sqrt(3)
    low, high = mean_interval(3, 6.0, 14.0)
    assert (low, high) == (pytest.approx(2 - 1.95996 / 3**0.5, abs=1e-4), pytest.approx(2 + 1.95996 / 3**0.5, abs=1e-4))
    assert mean_interval(1, 5.0, 25.0) is None


def test_a_mean_s_interval_stays_within_the_values_it_can_take() -> None:
    """Two handle times of 10 s and 4,000 s: the normal interval reaches far below zero."""
    from dispo.metrics.definitions import METRIC_INDEX
    from dispo.metrics.engine import finish_metric

    config = MetricsConfig()
    aht = finish_metric(METRIC_INDEX["aht_s"], (2, 4010.0, 10.0**2 + 4000.0**2), config)
    assert aht["ci_low"] == 0.0 and aht["ci_high"] > 4000
    nps = finish_metric(METRIC_INDEX["nps"], (3, 100.0, 3 * 100.0**2), config)  # two promoters and a detractor
    assert nps["ci_low"] > -100.0 and nps["ci_high"] == 100.0
    sentiment = finish_metric(METRIC_INDEX["sentiment_score"], (2, 0.0, 2.0), config)  # scores are configurable
    assert sentiment["ci_low"] < -1.0


# ---------------------------------------------------------------------------------------------
# Slices and the scorecard
# ---------------------------------------------------------------------------------------------
def _two_providers() -> list[dict[str, Any]]:
    rows = []
    for i in range(4):  # acme: 4 voice contacts, 3 resolved, 10 min each
        rows.append(row(f"A{i}", f"a{i}", at(T0), provider="acme", outcome="resolved" if i else "unresolved"))
    for i in range(6):  # bpo: 2 voice + 4 chat, 2 resolved, 20 min each
        channel = "voice" if i < 2 else "chat"
        rows.append(
            row(
                f"B{i}",
                f"b{i}",
                at(T0),
                provider="bpo",
                channel=channel,
                minutes=20,
                outcome="resolved" if i < 2 else "escalated",
            )
        )
    rows.append(row("N0", "n0", at(T0), provider=None, channel="chat"))
    return rows


def test_metrics_by_slice_and_by_two_dimensions() -> None:
    with open_source(table(_two_providers())) as source:
        by_provider = compute_metrics(source, LATE, slice_by="provider")
        cross = compute_metrics(source, LATE, slice_by=("provider", "channel"))
        with pytest.raises(ConfigError, match="unknown slice dimension 'colour'"):
            compute_metrics(source, LATE, slice_by="colour")
    groups = {g["key"]["provider"]: g["metrics"] for g in by_provider["groups"]}
    assert set(groups) == {"acme", "bpo", None}
    assert kn(groups["acme"]["resolution_rate"]) == (3, 4)
    assert kn(groups["bpo"]["escalation_rate"]) == (4, 6)
    assert kn(by_provider["overall"]["resolution_rate"]) == (6, 11)
    keys = [(g["key"]["provider"], g["key"]["channel"]) for g in cross["groups"]]
    assert keys == [("acme", "voice"), ("bpo", "chat"), ("bpo", "voice"), (None, "chat")]


def test_the_provider_scorecard_against_targets_and_the_other_providers() -> None:
    targets = SlaTargets(default={"resolution_rate": 0.5, "aht_s": 900}, providers={"bpo": {"resolution_rate": 0.3}})
    config = replace(LATE, targets=targets, in_house_providers=("acme",), no_provider_label="(none)")
    with open_source(table(_two_providers())) as source:
        card = provider_scorecard(source, config)
    rows = {r["provider"]: r for r in card["rows"]}
    assert set(rows) == {"acme", "bpo", "(none)"}
    acme, bpo = rows["acme"], rows["bpo"]
    assert acme["in_house"] and not bpo["in_house"]
    assert acme["contacts"] == 4 and acme["volume_share"] == pytest.approx(4 / 11)
    assert acme["channel_share"] == {"chat": 0.0, "voice": pytest.approx(4 / 6)}
    assert bpo["channel_share"]["chat"] == pytest.approx(4 / 5)
    assert bpo["channel_mix"] == {"chat": pytest.approx(4 / 6), "voice": pytest.approx(2 / 6)}
    resolution = acme["metrics"]["resolution_rate"]
    assert resolution["value"] == pytest.approx(0.75) and resolution["meets_target"]
    assert resolution["others"] == pytest.approx(3 / 7)  # bpo 2 of 6 and the unassigned one, pooled
    assert resolution["rank"] == 2  # the single unassigned contact is resolved: 100%
    assert bpo["metrics"]["resolution_rate"]["target"] == 0.3 and bpo["metrics"]["resolution_rate"]["meets_target"]
    assert acme["metrics"]["aht_s"]["meets_target"] and not bpo["metrics"]["aht_s"]["meets_target"]
    assert acme["metrics"]["aht_s"]["vs_others"] == "better"  # all 600 s against the others' 1,114 s
    assert card["overall"]["contacts"] == 11


def test_targets_and_config_are_checked_and_load_from_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown metric"):
        SlaTargets(default={"happiness": 0.5})
    with pytest.raises(ConfigError, match="fraction"):
        SlaTargets(default={"fcr": 75})
    with pytest.raises(ConfigError, match="label_priority"):
        MetricsConfig(label_priority=("agent", "crystal_ball"))
    with pytest.raises(ConfigError, match="window_mode"):
        MetricsConfig(window_mode="sometimes")
    with pytest.raises(ConfigError, match="window_days"):
        MetricsConfig(window_days=0)
    with pytest.raises(ConfigError, match="timezone"):
        MetricsConfig(timezone="Mars/Olympus")
    with pytest.raises(ConfigError, match="as_of"):
        MetricsConfig(as_of=datetime(2026, 3, 1))
    path = tmp_path / "metrics.yaml"
    path.write_text(
        "label_priority: [model]\nwindow_mode: any_reason\nwindow_days: 3\nas_of: '2026-03-01T00:00:00+00:00'\n"
        "targets:\n  default: {fcr: 0.7, aht_s: 400}\n  providers: {acme: {fcr: 0.8}}\n",
        encoding="utf-8",
    )
    config = MetricsConfig.from_yaml(path)
    assert config.label_priority == ("model",) and config.window_mode == "any_reason" and config.window_days == 3
    assert config.targets.target("acme", "fcr") == 0.8 and config.targets.target("bpo", "fcr") == 0.7
    assert config.targets.target("bpo", "repeat_rate") is None
    assert MetricsConfig.from_dict(config.to_dict()) == config
    path.write_text("colour: blue\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"metrics.yaml: unknown keys \['colour'\]"):
        MetricsConfig.from_yaml(path)
    with open_source(table(_disagreeing())) as source, pytest.raises(ConfigError, match="escalation_outcomes"):
        compute_metrics(source, replace(LATE, escalation_outcomes=("kaboom",)))


def test_input_tables_are_checked(tmp_path: Path) -> None:
    with pytest.raises(MetricsInputError, match="no such file"):
        open_source(tmp_path / "missing.parquet")
    with pytest.raises(MetricsInputError, match=r"missing required columns \['started_at'\]"):
        open_source(pa.table({"contact_id": ["A"]}))
    with pytest.raises(MetricsInputError, match="must be a timestamp"):
        open_source(pa.table({"contact_id": ["A"], "started_at": ["2026-03-01"]}))
    with pytest.raises(MetricsInputError, match=r"not unique, e\.g\. A"):
        open_source(table([row("A", "k1", at(T0)), row("A", "k2", at(T0))]))
    # A minimal table works; what it lacks is reported, not invented.
    minimal = pa.table({"contact_id": ["A"], "started_at": pa.array([at(T0)], pa.timestamp("us", tz="UTC"))})
    with open_source(minimal) as source:
        result = compute_metrics(source, LATE)
    assert result["overall"]["contacts"]["value"] == 1
    assert "customer_id" in result["overall"]["fcr"]["unavailable"]
    assert result["overall"]["aht_s"]["unavailable"]


def test_an_empty_table_gives_empty_metrics_not_errors() -> None:
    with open_source(LABELLED_SCHEMA.empty_table()) as source:
        result = compute_metrics(source, slice_by="provider")
        card = provider_scorecard(source)
    assert result["overall"]["contacts"]["value"] == 0 and result["overall"]["fcr"]["value"] is None
    assert result["groups"] == [] and result["meta"]["as_of"] is None and card["rows"] == []


def test_reason_mix_counts_each_label_source() -> None:
    with open_source(table(_disagreeing())) as source:
        mix = reason_mix(source, LATE)
    by_reason = {r["reason"]: r for r in mix["reasons"]}
    assert by_reason["track_order"]["agent"] == 3 and by_reason["track_order"]["model"] == 2
    assert by_reason["get_refund"]["model"] == 1 and by_reason["get_refund"]["agent"] == 0
    assert by_reason["track_order"]["agent_share"] == 1.0


def test_an_upsell_probability_that_is_not_a_probability_is_refused() -> None:
    # DuckDB orders NaN above every number, so a NaN would count as an upsell opportunity
    for bad in (float("nan"), 1.5, -0.1):
        rows = [row("A", "k1", at(T0)), row("B", "k2", at(T0), upsell_probability=bad)]
        with pytest.raises(MetricsInputError, match=r"upsell_probability.*1 rows are not.*contact B"):
            overall(rows, LATE)


def test_a_sentiment_outside_the_scores_is_counted_in_data_quality() -> None:
    rows = [row("A", "k1", at(T0), sentiment="Positive"), row("B", "k2", at(T0), sentiment="negative")]
    with open_source(table(rows)) as source:
        result = compute_metrics(source, LATE)
    assert result["meta"]["data_quality"]["sentiment_outside_scores"] == 1
    assert kn(result["overall"]["sentiment_negative"]) == (1, 1)


def test_contacts_after_as_of_and_an_as_of_in_the_future_are_noted() -> None:
    rows = [row("A", "k1", at(T0)), row("B", "k1", at(T0, days=3)), row("C", "k2", at(T0, days=1))]
    with open_source(table(rows)) as source:
        result = compute_metrics(source, MetricsConfig(as_of=at(T0, days=2)))
    assert result["meta"]["data_quality"]["started_after_as_of"] == 1
    assert any("1 contacts start after as_of" in note for note in result["meta"]["notes"])
    typo = [*rows, row("D", "k3", at("2099-01-01T00:00:00+00:00"))]
    with open_source(table(typo)) as source:
        notes = compute_metrics(source, MetricsConfig())["meta"]["notes"]
    assert any("is in the future" in note for note in notes)


def test_a_taxonomy_without_the_default_outcome_names_still_reports() -> None:
    # a bank's own outcomes: the default escalation/transfer/callback names are not among them
    from dispo.taxonomy import Taxonomy

    bank = Taxonomy.from_dict(
        {"name": "bank", "categories": {"CARDS": {"reasons": {"track_order": {}}}},
         "outcomes": {"resolved": {"resolved": True}, "escalated_to_fraud": {"resolved": False},
                      "transferred": {"resolved": False}}}
    )  # fmt: skip
    rows = [row("A", "k1", at(T0)), row("B", "k2", at(T0), outcome="transferred")]
    with open_source(table(rows), taxonomy=bank) as source:
        result = compute_metrics(source, LATE)["overall"]
    assert kn(result["transfer_rate"]) == (1, 2)
    assert result["escalation_rate"]["value"] is None
    assert "no outcome named escalated: set escalation_outcomes" in result["escalation_rate"]["unavailable"]
    with open_source(table(rows), taxonomy=bank) as source:
        card = provider_scorecard(source, replace(LATE, scorecard_metrics=("escalation_rate", "transfer_rate")))
    assert card["overall"]["metrics"]["escalation_rate"]["value"] is None
    assert card["overall"]["metrics"]["transfer_rate"]["value"] == 0.5
    custom = replace(LATE, escalation_outcomes=("escalated_to_fraud",))
    with open_source(table(rows), taxonomy=bank) as source:
        assert kn(compute_metrics(source, custom)["overall"]["escalation_rate"]) == (0, 2)
    with open_source(table(rows), taxonomy=bank) as source, pytest.raises(ConfigError, match="not in taxonomy"):
        compute_metrics(source, replace(LATE, escalation_outcomes=("escalated", "nope")))


def test_report_refuses_a_table_labelled_by_a_model_with_another_taxonomy(tmp_path: Path) -> None:
    import argparse

    import pyarrow.parquet as pq

    from dispo.metrics.cli import register_report

    pq.write_table(table([row("A", "k1", at(T0), reason="lost_card"), row("B", "k2", at(T0))]), tmp_path / "t.parquet")
    parser = argparse.ArgumentParser()
    register_report(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["report", "--data", str(tmp_path / "t.parquet"), "-o", str(tmp_path / "r"), "--no-charts"]
    )
    with pytest.raises(
        ConfigError, match=r"1 of 2 model reason labels are not in taxonomy 'retail-default' \(e.g. 'lost_card'\)"
    ):
        args.handler(args)
