"""The outsourcing scorecard (issue 17): service level, abandonment, blockage, speed of answer, contacts
per hour, cost per contact, NPS and CSAT, each equal to a hand computation on a hand-built fixture.

tests/fixtures/outsourcing/contacts.jsonl, 2 March 2026 (UTC), targets.yaml: answer within 20 s (chat 60 s).

=====  ========  =======  ======  ===========  ==========  ======  =====================  ==============
id     provider  channel  wait s  abandoned    blocked     handle  survey (nps, csat)     agent (login h)
=====  ========  =======  ======  ===========  ==========  ======  =====================  ==============
A1     acme_bpo  voice    10      false        (absent)    600 s   10, 5                  a1 (8 h)
A2     acme_bpo  voice    20      false        (absent)    300 s   7, 3                   a1
A3     acme_bpo  voice    --      true         (absent)    45 s    (none)                 --
A4     acme_bpo  chat     50      false        (absent)    900 s   3, --                  a2 (4 h)
B1     bluepeak  voice    40      false        false       480 s   9, 4                   b1 (2 h + 2 h)
B2     bluepeak  voice    --      (absent)     true        --      (none)                 --
B3     bluepeak  voice    5       false        false       240 s   (missing survey)       b1
=====  ========  =======  ======  ===========  ==========  ======  =====================  ==============

Agent a3 was logged in 2 h and handled nothing. acme_bpo is paid 1.00 EUR per handled minute;
bluepeak has no rate card.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

import pytest

from dispo.contact import parse_contact
from dispo.errors import ConfigError, RecordError
from dispo.metrics.cli import register_report
from dispo.metrics.config import MetricsConfig, SlaTargets
from dispo.metrics.source import MetricsInputError

FIXTURE = Path(__file__).parent / "fixtures" / "outsourcing"


def report(tmp_path: Path, *extra: str, data: Path = FIXTURE / "contacts.jsonl") -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    register_report(parser.add_subparsers(dest="command"))
    out = tmp_path / "report"
    args = parser.parse_args(
        [
            "report",
            "--data",
            str(data),
            "--labels",
            "agent",
            "-o",
            str(out),
            "--no-charts",
            *extra,
        ]
    )
    assert args.handler(args) == 0
    return json.loads((out / "metrics.json").read_text(encoding="utf-8"))


def by_provider(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["key"]["provider"]: g["metrics"] for g in data["slices"]["provider"]}


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return report(
        tmp_path_factory.mktemp("outsourcing"),
        *("--targets", str(FIXTURE / "targets.yaml"), "--surveys", str(FIXTURE / "surveys.csv")),
        *("--agent-hours", str(FIXTURE / "agent_hours.csv")),
    )


def test_service_level_counts_an_answer_exactly_at_the_target_and_every_abandon(full: dict[str, Any]) -> None:
    acme, blue = by_provider(full)["acme_bpo"], by_provider(full)["bluepeak"]
    # acme: A1 (10 s), A2 (20 s: exactly the target) and A4 (50 s, chat target 60 s) of A1-A4 (A3 abandoned)
    assert (acme["service_level"]["k"], acme["service_level"]["n"]) == (3, 4)
    # bluepeak: B3 (5 s) of B1 and B3; B2 was blocked and never queued
    assert (blue["service_level"]["k"], blue["service_level"]["n"]) == (1, 2)
    assert full["overall"]["service_level"]["value"] == pytest.approx(4 / 6)


def test_abandonment_blockage_and_speed_of_answer(full: dict[str, Any]) -> None:
    acme, blue = by_provider(full)["acme_bpo"], by_provider(full)["bluepeak"]
    assert (acme["abandonment_rate"]["k"], acme["abandonment_rate"]["n"]) == (1, 4)
    assert (blue["abandonment_rate"]["k"], blue["abandonment_rate"]["n"]) == (0, 2)
    # blockage only where the export records it: acme's contacts say nothing of blocking
    assert acme["blockage_rate"]["value"] is None and acme["blockage_rate"]["n"] == 0
    assert (blue["blockage_rate"]["k"], blue["blockage_rate"]["n"]) == (1, 3)
    assert acme["asa_s"]["value"] == pytest.approx((10 + 20 + 50) / 3)
    assert blue["asa_s"]["value"] == pytest.approx((40 + 5) / 2)
    # the abandoned A3 is not handled: handle time is of handled contacts only
    assert acme["aht_s"]["value"] == pytest.approx((600 + 300 + 900) / 3)


def test_contacts_per_logged_in_hour_and_cost_per_contact(full: dict[str, Any]) -> None:
    acme, blue = by_provider(full)["acme_bpo"], by_provider(full)["bluepeak"]
    assert acme["cph"]["value"] == pytest.approx(3 / (8 + 4)) and acme["cph"]["hours"] == pytest.approx(12.0)
    assert blue["cph"]["value"] == pytest.approx(2 / 4)
    assert full["meta"]["cph_basis"] == "agent logged-in hours"
    assert any("2.0 of 18.0 logged-in hours" in note for note in full["meta"]["notes"])
    assert acme["cpc"]["value"] == pytest.approx((10.0 + 5.0 + 15.0) / 3)
    # no rate card: absent, never free
    assert blue["cpc"]["value"] is None and blue["cpc"]["n"] == 0
    assert full["overall"]["cpc"]["n"] == 3


def test_nps_and_csat_from_the_survey_file_skip_a_missing_survey(full: dict[str, Any]) -> None:
    acme, blue = by_provider(full)["acme_bpo"], by_provider(full)["bluepeak"]
    assert acme["nps"]["value"] == pytest.approx((100 + 0 - 100) / 3)
    assert blue["nps"]["value"] == pytest.approx(100.0) and blue["nps"]["n"] == 1  # B3 has no survey
    assert (acme["csat"]["k"], acme["csat"]["n"]) == (1, 2)
    assert full["overall"]["nps"]["value"] == pytest.approx(25.0)


def test_scorecard_puts_each_measure_against_its_sla_target(full: dict[str, Any]) -> None:
    rows = {r["provider"]: r["metrics"] for r in full["scorecard"]["rows"]}
    assert rows["acme_bpo"]["service_level"]["target"] == 0.8
    assert rows["acme_bpo"]["service_level"]["meets_target"] is False
    assert rows["bluepeak"]["service_level"]["target"] == 0.5
    assert rows["bluepeak"]["service_level"]["meets_target"] is True
    assert rows["bluepeak"]["abandonment_rate"]["meets_target"] is True
    assert rows["bluepeak"]["cpc"]["value"] is None and rows["bluepeak"]["cpc"]["meets_target"] is None


def test_absent_inputs_give_absent_measures_never_zero(tmp_path: Path) -> None:
    data = report(tmp_path)
    overall = data["overall"]
    for name in ("nps", "csat", "cpc"):
        assert overall[name]["value"] is None and overall[name]["unavailable"], name
    assert data["meta"]["cph_basis"] == "handled hours (no agent hours given)"
    acme = by_provider(data)["acme_bpo"]
    assert acme["cph"]["value"] == pytest.approx(3 / ((600 + 300 + 900) / 3600))
    with (tmp_path / "report" / "scorecard.csv").open(encoding="utf-8") as handle:
        card = {row["provider"]: row for row in csv.DictReader(handle)}
    # without the targets every channel answers within 20 s: A1 and A2 of A1-A4
    assert (card["acme_bpo"]["service_level_k"], card["acme_bpo"]["service_level_n"]) == ("2", "4")
    assert "cph_k" not in card["acme_bpo"]  # a mean has no count of successes
    html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert "Outsourcing measures by provider and week" in html and "Service level" in html


def contact(contact_id: str, provider: str, hour: int, **fields: Any) -> dict[str, Any]:
    start = f"2026-03-02T{hour:02d}:00:10Z"
    return {"contact_id": contact_id, "customer_id": f"K-{contact_id}", "channel": "voice", "provider": provider,
            "queue": "q", "started_at": start, "ended_at": f"2026-03-02T{hour:02d}:05:00Z",
            "queued_at": f"2026-03-02T{hour:02d}:00:00Z", "abandoned": False,
            "turns": [{"speaker": "customer", "text": "where is my parcel"}, {"speaker": "agent", "text": "today"}],
            "agent_labels": {"reason": "track_order", "outcome": "resolved"}, **fields}  # fmt: skip


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_a_provider_whose_export_records_no_answer_times_has_no_service_level(tmp_path: Path) -> None:
    # acme records when each contact was answered; beta does not, so its abandoned contact cannot be
    # set against its answered ones (the service level would read 0 of 1)
    rows = [
        contact("S1", "acme", 10, answered_at="2026-03-02T10:00:10Z"),
        contact("S2", "acme", 11, answered_at="2026-03-02T11:00:10Z"),
        contact("S3", "beta", 10),
        contact("S4", "beta", 11),
        {**contact("S5", "beta", 12, abandoned=True, turns=[]), "agent_labels": None, "ended_at": None},
    ]
    data = report(tmp_path, data=write_jsonl(tmp_path / "contacts.jsonl", rows))
    acme, beta = by_provider(data)["acme"], by_provider(data)["beta"]
    assert (acme["service_level"]["k"], acme["service_level"]["n"]) == (2, 2)
    assert beta["service_level"]["value"] is None and beta["service_level"]["n"] == 0
    assert (beta["abandonment_rate"]["k"], beta["abandonment_rate"]["n"]) == (1, 3)
    assert data["overall"]["service_level"]["value"] == 1.0
    # answer times without queue times measure no wait either
    no_queue = [{**r, "queued_at": None} if r["provider"] == "beta" else r for r in rows]
    no_queue[2]["answered_at"] = no_queue[3]["answered_at"] = "2026-03-02T10:00:10Z"
    data = report(tmp_path, data=write_jsonl(tmp_path / "no_queue.jsonl", no_queue))
    assert by_provider(data)["beta"]["service_level"]["n"] == 0 and data["overall"]["service_level"]["value"] == 1.0


def test_an_abandoned_contact_is_not_in_the_outcome_rates(tmp_path: Path) -> None:
    # a chat abandoned in the queue after the customer's first message: nobody handled it, whatever
    # code it carries; the customer's mood still counts
    rows = [
        contact("A1", "acme", 10, labels={"sentiment": "positive"}),
        contact("A2", "acme", 11, abandoned=True, turns=[{"speaker": "customer", "text": "cancel my order please"}],
                agent_labels={"reason": "cancel_order", "outcome": "unresolved"}, labels={"sentiment": "negative"}),
    ]  # fmt: skip
    overall = report(tmp_path, data=write_jsonl(tmp_path / "contacts.jsonl", rows))["overall"]
    assert (overall["resolution_rate"]["k"], overall["resolution_rate"]["n"]) == (1, 1)
    assert overall["escalation_rate"]["n"] == 1
    assert (overall["sentiment_negative"]["k"], overall["sentiment_negative"]["n"]) == (1, 2)


def test_a_folder_of_contact_files_and_a_json_file_are_contact_files(tmp_path: Path) -> None:
    rows = [contact(f"F{i}", "acme", 10 + i, answered_at=f"2026-03-02T{10 + i:02d}:00:10Z") for i in range(3)]
    folder = tmp_path / "exports"
    (folder / "day2").mkdir(parents=True)
    write_jsonl(folder / "day1.jsonl", rows[:2])
    (folder / "day2" / "late.json").write_text(json.dumps(rows[2], indent=2), encoding="utf-8")  # pretty-printed
    data = report(tmp_path, data=folder)
    assert data["overall"]["contacts"]["value"] == 3
    assert report(tmp_path, data=folder / "day2" / "late.json")["overall"]["contacts"]["value"] == 1
    from dispo.io import read_contacts, write_contacts

    write_contacts(read_contacts(folder / "day1.jsonl"), tmp_path / "day1.parquet")  # contact Parquet, by glob
    assert report(tmp_path, data=tmp_path / "*.parquet")["overall"]["contacts"]["value"] == 2


def test_a_contact_never_answered_may_have_no_transcript_and_queue_events_must_agree() -> None:
    base = {"contact_id": "x", "queued_at": "2026-03-02T09:00:00Z"}
    assert parse_contact({**base, "abandoned": True, "turns": []}).never_answered
    with pytest.raises(RecordError, match="turns"):
        parse_contact({**base, "answered_at": "2026-03-02T09:00:05Z", "turns": []})
    with pytest.raises(RecordError, match="answered_at"):
        parse_contact({**base, "answered_at": "2026-03-02T08:59:00Z", "turns": [{"speaker": "agent", "text": "hi"}]})
    with pytest.raises(RecordError, match="abandoned"):
        parse_contact({**base, "answered_at": "2026-03-02T09:00:05Z", "abandoned": True, "turns": []})
    with pytest.raises(RecordError, match="disconnected_by"):
        parse_contact({**base, "disconnected_by": "robot", "turns": [{"speaker": "agent", "text": "hi"}]})


def test_bad_rate_cards_surveys_and_agent_hours_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"rate_cards\.acme\.per"):
        SlaTargets.from_dict({"rate_cards": {"acme": {"per": "week", "amount": 1}}})
    with pytest.raises(ConfigError, match="one currency"):
        SlaTargets.from_dict({"rate_cards": {"a": {"per": "contact", "amount": 1, "currency": "EUR"},
                                             "b": {"per": "contact", "amount": 1, "currency": "USD"}}})  # fmt: skip
    with pytest.raises(ConfigError, match=r"answer_within_s\.channels\.chat"):
        MetricsConfig.from_dict({"targets": {"answer_within_s": {"channels": {"chat": -5}}}})
    surveys = tmp_path / "surveys.csv"
    surveys.write_text("contact_id,nps\nA1,11\n", encoding="utf-8")
    with pytest.raises(MetricsInputError, match=r"'nps'.*0 to 10.*contact A1"):
        report(tmp_path, "--surveys", str(surveys))
    hours = tmp_path / "hours.csv"
    hours.write_text("agent_id,logged_in_at,logged_out_at\na1,2026-03-02T10:00:00Z,2026-03-02T09:00:00Z\n")
    with pytest.raises(MetricsInputError, match=r"end before they start, e\.g\. agent a1"):
        report(tmp_path, "--agent-hours", str(hours))
