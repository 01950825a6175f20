"""Metrics on a built corpus (issue 7): DuckDB against a plain-Python reference implementation, and
`dispo report` end to end (HTML, CSV, JSON; agent codes, gold labels, audits and estimates)."""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dispo.errors import ConfigError
from dispo.labelled import LABELLED_SCHEMA
from dispo.metrics import (
    MetricsConfig,
    MetricsInputError,
    compare_label_sources,
    compute_metrics,
    contact_issues,
    open_source,
    provider_scorecard,
)
from dispo.metrics.cli import register_report
from dispo.metrics.report import flatten_metrics, format_value
from dispo.taxonomy import Taxonomy, load_taxonomy
from tests.metrics_rows import LATE, T0, at, kn, overall, row, table


# ---------------------------------------------------------------------------------------------
# The built corpus: DuckDB against a plain-Python reference implementation
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built_rows() -> list[dict[str, Any]]:
    from training.corpus.builder import CorpusBuilder, CorpusConfig

    rows = []
    for built in CorpusBuilder(CorpusConfig(n_contacts=1200, seed=11, days=21)).build():
        c = built.contact
        assert c.labels is not None and c.agent_labels is not None
        gold, agent = c.labels, c.agent_labels
        rows.append(
            row(
                c.contact_id,
                c.customer_id,
                c.started_at,
                ended_at=c.ended_at,
                reason=gold.reason,
                outcome=gold.outcome,
                provider=c.provider,
                channel=c.channel,
                agent_id=c.agent_id,
                queue=c.queue,
                sentiment=gold.sentiment,
                upsell_probability=1.0 if gold.upsell else 0.0,
                agent_reason=agent.reason,
                agent_outcome=agent.outcome,
            )
        )
    return rows


def reference_chaining(
    rows: Sequence[dict[str, Any]], taxonomy: Taxonomy, config: MetricsConfig, as_of: datetime
) -> dict[str, dict[str, Any]]:
    """Issue chaining written the plain way: group, sort, walk."""
    columns = {"model": ("reason", "outcome"), "agent": ("agent_reason", "agent_outcome")}
    contacts = []
    for r in rows:
        reason = next((r[columns[s][0]] for s in config.label_priority if r[columns[s][0]] is not None), None)
        outcome = next((r[columns[s][1]] for s in config.label_priority if r[columns[s][1]] is not None), None)
        category = taxonomy.category_of(reason) if reason is not None and taxonomy.has_reason(reason) else None
        if config.window_mode == "any_reason":
            window, key = taxonomy.default_repeat_window_days, ""
        else:
            window = taxonomy.repeat_window_days(category) if category else taxonomy.default_repeat_window_days
            key = category
        start, end = r["started_at"], r["ended_at"]
        anchor = end if config.window_from == "end" and end is not None and end >= start else start
        resolved = taxonomy.outcome(outcome).resolved if outcome is not None else None
        chainable = r["customer_id"] is not None and (key is not None)
        contacts.append(
            dict(
                id=r["contact_id"],
                customer=r["customer_id"],
                key=key,
                start=start,
                anchor=anchor,
                window=timedelta(days=window),
                resolved=resolved,
                chainable=chainable,
            )
        )
    chains: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    for c in contacts:
        if c["chainable"]:
            chains.setdefault((c["customer"], c["key"]), []).append(c)
    out: dict[str, dict[str, Any]] = {
        c["id"]: {
            "issue_id": None,
            "is_repeat": False,
            "followed": False,
            "closed": False,
            "seen": False,
            "fcr_state": None,
            "resolved": c["resolved"],
        }
        for c in contacts
    }
    for chain in chains.values():
        chain.sort(key=lambda c: (c["start"], c["id"]))
        issue = None
        for i, c in enumerate(chain):
            repeat = i > 0 and c["start"] - chain[i - 1]["anchor"] <= chain[i - 1]["window"]
            followed = i + 1 < len(chain) and chain[i + 1]["start"] - c["anchor"] <= c["window"]
            seen = followed and chain[i + 1]["start"] <= as_of  # the repeat has happened by the end of the data
            closed = c["anchor"] + c["window"] <= as_of
            issue = issue if repeat else c["id"]
            state = None
            if not repeat:
                if not closed and not seen:
                    state = "pending"
                elif c["resolved"] is None:
                    state = "unknown"
                else:
                    state = "fcr" if c["resolved"] and not followed else "not_fcr"
            out[c["id"]] = {
                "issue_id": issue,
                "is_repeat": repeat,
                "followed": followed,
                "closed": closed,
                "seen": seen,
                "fcr_state": state,
                "resolved": c["resolved"],
            }
    return out


@pytest.mark.parametrize(
    ("labels", "mode", "anchor"),
    [(("model",), "same_category", "end"), (("agent",), "same_category", "start"), (("model",), "any_reason", "end")],
)
def test_built_corpus_duckdb_agrees_with_the_reference(
    built_rows: list[dict[str, Any]], taxonomy: Taxonomy, labels: tuple[str, ...], mode: str, anchor: str
) -> None:
    config = MetricsConfig(label_priority=labels, window_mode=mode, window_from=anchor)
    with open_source(table(built_rows)) as source:
        result = compute_metrics(source, config, slice_by="provider")
        got = {r["contact_id"]: r for r in contact_issues(source, config).to_pylist()}
    as_of = max(r["started_at"] for r in built_rows)
    assert datetime.fromisoformat(result["meta"]["as_of"]) == as_of
    want = reference_chaining(built_rows, taxonomy, config, as_of)
    for contact_id, expected in want.items():
        assert got[contact_id]["issue_id"] == expected["issue_id"], contact_id
        assert got[contact_id]["is_repeat"] == expected["is_repeat"], contact_id
        assert got[contact_id]["fcr_state"] == expected["fcr_state"], contact_id

    states = [w["fcr_state"] for w in want.values()]
    repeats = sum(w["is_repeat"] for w in want.values())
    assert repeats > 100 and states.count("pending") > 10  # the corpus exercises both, or this test proves little
    metrics = result["overall"]
    assert kn(metrics["fcr"]) == (states.count("fcr"), states.count("fcr") + states.count("not_fcr"))
    assert metrics["issues"]["value"] == sum(s is not None for s in states)
    assert metrics["issues_pending"]["value"] == states.count("pending")
    early = sum(w["fcr_state"] is not None and w["seen"] and not w["closed"] for w in want.values())
    assert metrics["issues_repeat_early"]["value"] == early > 0
    assert metrics["issues_closed"]["value"] == metrics["issues"]["value"] - states.count("pending")
    decided = [w for w in want.values() if w["fcr_state"] is not None or w["is_repeat"]]
    repeated = [w for w in decided if w["seen"] or w["closed"]]
    assert kn(metrics["repeat_rate"]) == (sum(w["seen"] for w in repeated), len(repeated))
    resolved = [w["resolved"] for w in want.values() if w["resolved"] is not None]
    assert kn(metrics["resolution_rate"]) == (sum(resolved), len(resolved))
    handle = [(r["ended_at"] - r["started_at"]).total_seconds() for r in built_rows]
    assert metrics["aht_s"]["value"] == pytest.approx(sum(handle) / len(handle))
    # FCR by provider belongs to the provider of the issue's first contact.
    provider_of = {r["contact_id"]: r["provider"] for r in built_rows}
    for group in result["groups"]:
        mine = [w for cid, w in want.items() if provider_of[cid] == group["key"]["provider"]]
        fcr = sum(w["fcr_state"] == "fcr" for w in mine)
        decided_issues = sum(w["fcr_state"] in ("fcr", "not_fcr") for w in mine)
        assert kn(group["metrics"]["fcr"]) == (fcr, decided_issues)


def test_agent_codes_and_gold_labels_give_different_numbers_on_the_built_corpus(
    built_rows: list[dict[str, Any]],
) -> None:
    with open_source(table(built_rows)) as source:
        both = compare_label_sources(source, MetricsConfig(), ("agent", "model"))["sources"]
        agreement = compute_metrics(source)["overall"]["agent_model_agreement_reason"]
    assert 0.8 < agreement["value"] < 0.99  # the builder's agents make mistakes
    agent, model = both["agent"]["overall"], both["model"]["overall"]
    # Wrong agent codes split or merge issues and misreport outcomes: the counts move.
    assert agent["issues"]["value"] != model["issues"]["value"]
    assert agent["resolution_rate"]["k"] != model["resolution_rate"]["k"]
    assert agent["fcr"]["n"] != model["fcr"]["n"]


# ---------------------------------------------------------------------------------------------
# The report and the command
# ---------------------------------------------------------------------------------------------
def test_dispo_report_writes_html_csv_and_json(built_rows: list[dict[str, Any]], tmp_path: Path) -> None:
    data = tmp_path / "labelled.parquet"
    pq.write_table(table(built_rows), data)
    audits = tmp_path / "audits.parquet"
    sample = built_rows[::25]
    pq.write_table(
        pa.table(
            {
                "contact_id": [r["contact_id"] for r in sample],
                "audit_reason": [r["reason"] for r in sample],
                "audit_outcome": [r["outcome"] for r in sample],
            }
        ),
        audits,
    )
    targets = tmp_path / "sla.yaml"
    targets.write_text("default: {fcr: 0.5, aht_s: 3600}\nproviders: {inhouse: {fcr: 0.6}}\n", encoding="utf-8")
    parser = argparse.ArgumentParser()
    register_report(parser.add_subparsers(dest="command", required=True))
    out = tmp_path / "report"
    args = parser.parse_args(
        [
            "report",
            "--data",
            str(data),
            "--audits",
            str(audits),
            "-o",
            str(out),
            "--targets",
            str(targets),
            "--timezone",
            "Europe/Berlin",
            "--threads",
            "1",
        ]
    )
    assert args.handler(args) == 0

    html = (out / "report.html").read_text(encoding="utf-8")
    for heading in ("Headline", "Agent codes beside model labels", "Provider scorecard", "FCR trend", "Reason mix"):
        assert heading in html
    assert html.count("data:image/png;base64,") == 3
    assert "Europe/Berlin" in html
    summary = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    with open_source(data, audits=audits) as source:
        direct = compute_metrics(source, MetricsConfig(timezone="Europe/Berlin"))
    assert summary["overall"]["fcr"] == direct["overall"]["fcr"]
    assert summary["overall"]["agent_accuracy_code"]["n"] == len(sample)
    assert {r["provider"] for r in summary["scorecard"]["rows"]} == {r["provider"] for r in built_rows}
    inhouse = next(r for r in summary["scorecard"]["rows"] if r["provider"] == "inhouse")
    assert inhouse["in_house"] and inhouse["metrics"]["fcr"]["target"] == 0.6
    for name in (
        "overall",
        "scorecard",
        "label_sources",
        "reason_mix",
        "provider_week",
        *(f"by_{d}" for d in ("provider", "agent", "week")),
    ):
        with (out / f"{name}.csv").open(encoding="utf-8") as handle:
            assert len(list(csv.DictReader(handle))) >= 1, name
    with (out / "by_provider.csv").open(encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert header[:2] == ["provider", "contacts"] and "fcr_ci_low" in header


def test_report_formatting_helpers() -> None:
    assert format_value("fcr", 0.4567) == "45.7%"
    assert format_value("aht_s", 422.4) == "7:02"
    assert format_value("aht_s", 3725) == "1:02:05"
    assert format_value("sentiment_score", 0.25) == "+0.25"
    assert format_value("fcr", None) == "–"
    flat = flatten_metrics(overall([row("A", "k1", at(T0))], LATE), ["contacts", "fcr", "aht_s"])
    assert flat == {
        "contacts": 1,
        "fcr": 1.0,
        "fcr_k": 1,
        "fcr_n": 1,
        "fcr_ci_low": pytest.approx(0.2065, abs=1e-4),
        "fcr_ci_high": 1.0,
        "aht_s": 600.0,
        "aht_s_n": 1,
        "aht_s_ci_low": None,
        "aht_s_ci_high": None,
    }


def test_the_benchmark_generator_makes_repeat_contacts_and_audits() -> None:
    spec = importlib.util.spec_from_file_location(
        "metrics_scale", Path(__file__).parents[1] / "bench" / "metrics_scale.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    contacts, audits = module.synthetic_labelled(5_000, 3, load_taxonomy())
    assert contacts.num_rows == 5_000 and contacts.schema.equals(LABELLED_SCHEMA)
    with open_source(contacts, audits=audits) as source:
        metrics = compute_metrics(source)["overall"]
    assert metrics["repeat_share"]["value"] > 0.05 and metrics["issues_pending"]["value"] > 0
    assert metrics["agent_accuracy_code"]["n"] > 50


def test_estimated_agent_accuracy_from_label_issues_per_provider(tmp_path: Path) -> None:
    coded = {"agent_reason": "track_order", "agent_outcome": "resolved"}
    rows = [row(c, f"k{c}", at(T0), provider=p, **(coded if c != "D" else {}))  # type: ignore[arg-type]
            for c, p in (("A", "acme"), ("B", "acme"), ("C", "bpo"), ("D", "bpo"))]  # fmt: skip
    issues_file = tmp_path / "label_issues.jsonl"

    def issue(contact_id: str, task: str, right: float, given: str | None = None) -> dict[str, Any]:
        given = given or coded[f"agent_{task}"]
        return {"contact_id": contact_id, "task": task, "given": given, "suggested": given,
                "self_confidence": 0.5, "estimated_right": right}  # fmt: skip

    records = [  # A: reason flagged; B: outcome suspect; C: both right; D: not judged (no agent code)
        issue("A", "reason", 0.0), issue("A", "outcome", 1.0), issue("B", "reason", 1.0),
        issue("B", "outcome", 0.5), issue("C", "reason", 1.0), issue("C", "outcome", 1.0),
    ]  # fmt: skip

    def write(records: list[dict[str, Any]]) -> Path:
        issues_file.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        return issues_file

    with open_source(table(rows), label_issues=write(records)) as source:
        result = compute_metrics(source, LATE, slice_by="provider")
        card = provider_scorecard(source, LATE)
    everyone = result["overall"]
    assert everyone["agent_accuracy_estimated_reason"]["value"] == pytest.approx(2 / 3)
    assert everyone["agent_accuracy_estimated_outcome"]["value"] == pytest.approx(2.5 / 3)
    assert everyone["agent_accuracy_estimated_code"]["value"] == pytest.approx(1.5 / 3)
    assert not [n for n in result["meta"]["notes"] if n.startswith("label issues")]  # they cover each other
    groups = {g["key"]["provider"]: g["metrics"] for g in result["groups"]}
    assert groups["acme"]["agent_accuracy_estimated_code"]["value"] == pytest.approx(0.25)
    assert groups["bpo"]["agent_accuracy_estimated_code"]["value"] == pytest.approx(1.0)
    assert groups["bpo"]["agent_accuracy_estimated_code"]["n"] == 1  # D was not judged: left out, not counted right
    assert "agent_accuracy_estimated_code" in card["metrics"]
    without = overall(rows, LATE)
    assert without["agent_accuracy_estimated_code"]["value"] is None
    assert "label_issues.jsonl" in without["agent_accuracy_estimated_code"]["unavailable"]
    # a file of another run or other data: the codes it judged are not the table's
    with pytest.raises(MetricsInputError, match=r"1 judged codes are not the codes the contacts carry.*A: reason "
                       r"cancel_order judged, track_order in the data"):  # fmt: skip
        open_source(table(rows), label_issues=write([*records[1:], issue("A", "reason", 0.0, "cancel_order")]))
    with pytest.raises(
        MetricsInputError, match=r"label_issues.jsonl:7: the reason code of contact 'A' is judged again"
    ):
        open_source(table(rows), label_issues=write([*records, records[0]]))
    with pytest.raises(MetricsInputError, match=r"label_issues.jsonl:1: .*missing or wrong: estimated_right"):
        open_source(table(rows), label_issues=write([{**records[0], "estimated_right": 1.7}]))
    with pytest.raises(MetricsInputError, match=r"missing or wrong: given, suggested, self_confidence"):
        open_source(table(rows), label_issues=write([{"contact_id": "A", "task": "reason"}]))
    # partly or not at all about this data: said, and never a silent null or a silent subset
    with open_source(table(rows[:2]), label_issues=write(records)) as source:
        notes = compute_metrics(source, LATE)["meta"]["notes"]
    assert "label issues: 1 of the 3 judged contacts are not in the data" in notes
    with open_source(table([row("Z", "kZ", at(T0), **coded)]), label_issues=write(records)) as source:  # type: ignore[arg-type]
        missed = compute_metrics(source, LATE)
    assert missed["overall"]["agent_accuracy_estimated_code"]["unavailable"] == (
        "the label issues given judge none of the contacts in the data"
    )
    assert any("1 contacts of the data with an agent code were not judged" in n for n in missed["meta"]["notes"])
    with open_source(table(rows), label_issues=write([issue("A", "reason", 0.0, "Track Order"), *records[1:]])):
        pass  # the same code spelt otherwise is the same code (dispo.label_issues.same_code)
    pq.write_table(pa.Table.from_pylist(records), tmp_path / "label_issues.parquet")  # the same, as Parquet
    with open_source(table(rows), label_issues=tmp_path / "label_issues.parquet") as source:
        assert compute_metrics(source, LATE)["overall"]["agent_accuracy_estimated_code"]["value"] == pytest.approx(0.5)
    reasons_only = [r for r in records if r["task"] == "reason"]  # a run that could not judge the outcomes
    with open_source(table(rows), label_issues=write(reasons_only)) as source:
        judged_reasons = compute_metrics(source, LATE)["overall"]
    assert judged_reasons["agent_accuracy_estimated_reason"]["value"] == pytest.approx(2 / 3)
    for name in ("agent_accuracy_estimated_outcome", "agent_accuracy_estimated_code"):
        assert judged_reasons[name]["value"] is None
        assert (
            judged_reasons[name]["unavailable"]
            == "the label issues given judge no outcome code of the contacts in the data"
        )


def test_report_straight_from_a_contact_file_with_agent_codes(taxonomy: Taxonomy, tmp_path: Path) -> None:
    from dispo.io import write_contacts
    from training.corpus.builder import CorpusBuilder, CorpusConfig

    contacts = [b.contact for b in CorpusBuilder(CorpusConfig(n_contacts=400, seed=13, days=21)).build()]
    write_contacts(contacts, tmp_path / "crm.jsonl")
    as_of = max(c.started_at for c in contacts if c.started_at) - timedelta(days=3)  # type: ignore[operator]
    parser = argparse.ArgumentParser()
    register_report(parser.add_subparsers(dest="command", required=True))

    def report(labels: str, out: str) -> dict[str, Any]:
        args = parser.parse_args(
            ["report", "--data", str(tmp_path / "crm.jsonl"), "--labels", labels, "--window-days", "7",
             "--as-of", as_of.isoformat(), "-o", str(tmp_path / out), "--no-charts", "--threads", "1"]
        )  # fmt: skip
        assert args.handler(args) == 0
        return json.loads((tmp_path / out / "metrics.json").read_text(encoding="utf-8"))

    agent = report("agent", "agent")
    rows = [
        {"contact_id": c.contact_id, "customer_id": c.customer_id, "started_at": c.started_at, "ended_at": c.ended_at,
         "agent_reason": c.agent_labels.reason, "agent_outcome": c.agent_labels.outcome}  # type: ignore[union-attr]
        for c in contacts
    ]  # fmt: skip
    config = MetricsConfig(label_priority=("agent",), window_days=7, as_of=as_of)

    class SevenDays:  # the reference reads the taxonomy's windows; --window-days 7 sets every one
        default_repeat_window_days = 7.0

        def __getattr__(self, name: str) -> Any:
            return getattr(taxonomy, name)

        def repeat_window_days(self, category: str) -> float:
            return 7.0

    want = reference_chaining(rows, SevenDays(), config, as_of)  # type: ignore[arg-type]
    states = [w["fcr_state"] for w in want.values()]
    assert kn(agent["overall"]["fcr"]) == (states.count("fcr"), states.count("fcr") + states.count("not_fcr"))
    assert agent["overall"]["issues"]["value"] == sum(s is not None for s in states)
    assert agent["overall"]["issues_pending"]["value"] == states.count("pending") > 0
    resolved = [taxonomy.outcome(c.agent_labels.outcome).resolved for c in contacts]  # type: ignore[union-attr]
    assert kn(agent["overall"]["resolution_rate"]) == (sum(resolved), len(contacts))
    assert agent["meta"]["label_priority"] == ["agent"]
    # The priority chooses reason and outcome; sentiment and upsell still come from the file.
    assert agent["overall"]["sentiment_negative"]["n"] == len(contacts)
    assert agent["overall"]["upsell_rate"]["n"] == len(contacts)
    agreement = agent["overall"]["agent_model_agreement_reason"]
    assert agreement["value"] is None and agreement["unavailable"] == "the table has no model outcome / reason labels"
    # The file's own labels stand where a model's would; the two sources give different figures.
    gold = report("labels", "labels")
    assert gold["overall"]["resolution_rate"]["k"] == sum(
        taxonomy.outcome(c.labels.outcome).resolved  # type: ignore[union-attr]
        for c in contacts
    )
    assert gold["overall"]["sentiment_negative"]["n"] == len(contacts)
    # ... and the report calls them the file's labels, never a model's
    assert gold["meta"]["label_priority"] == gold["config"]["label_priority"] == ["file"]
    assert gold["meta"]["model_labels"] == "file" and list(gold["label_sources"]["sources"]) == ["agent", "file"]
    assert gold["meta"]["data_quality"]["reason_label_source"] == {"file": len(contacts)}
    default = report("audit,agent,labels", "default")  # the comparison names the whole priority
    assert list(default["label_sources"]["sources"]) == ["agent", "file", "audit>agent>file"]
    named = json.dumps([default["label_sources"], default["scorecard"]["meta"]])
    assert '"model"' not in named and ">model" not in named  # as a source: metric names say model_accuracy
    assert gold["reason_mix"]["totals"]["file"] == len(contacts) and "model" not in gold["reason_mix"]["totals"]
    assert {"file", "file_share"} <= set(gold["reason_mix"]["reasons"][0]) and "model" not in gold["reason_mix"][
        "reasons"
    ][0]
    html = (tmp_path / "labels" / "report.html").read_text(encoding="utf-8")
    assert "labels file" in html and "Agent codes beside file labels" in html and "model labels" not in html
    assert report("agent,file", "file")["meta"]["label_priority"] == ["agent", "file"]  # the report's own name
    with pytest.raises(ConfigError, match="has no model labels"):
        report("agent,model", "model")
    with pytest.raises(ConfigError, match=r"unknown sources \['agnet'\]; a contact file's sources are audit, agent"):
        report("agnet", "typo")


def test_report_csv_cells_never_become_spreadsheet_formulas(tmp_path: Path) -> None:
    from dispo.metrics.report import write_csv

    rows = [{"provider": "=HYPERLINK(\"http://x\")", "agent": "@SUM(A1)", "queue": "+1", "note": "-2+3",
             "score": -0.25, "name": "plain", "empty": None}]  # fmt: skip
    with write_csv(tmp_path / "cells.csv", rows).open(encoding="utf-8") as handle:
        (got,) = list(csv.DictReader(handle))
    assert got == {"provider": "'=HYPERLINK(\"http://x\")", "agent": "'@SUM(A1)", "queue": "'+1", "note": "'-2+3",
                   "score": "-0.25", "name": "plain", "empty": ""}  # fmt: skip
