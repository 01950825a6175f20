from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dispo.errors import TaxonomyError
from dispo.taxonomy import Taxonomy, load_taxonomy

EXPECTED_REASONS = {
    "ACCOUNT": [
        "create_account", "delete_account", "edit_account", "switch_account", "recover_password",
        "registration_problems",
    ],
    "CANCELLATION_FEE": ["check_cancellation_fee"],
    "CONTACT": ["contact_customer_service", "contact_human_agent"],
    "DELIVERY": ["delivery_options", "delivery_period"],
    "FEEDBACK": ["complaint", "review"],
    "INVOICE": ["check_invoices", "get_invoice"],
    "NEWSLETTER": ["newsletter_subscription"],
    "ORDER": ["cancel_order", "change_order", "place_order", "track_order"],
    "PAYMENT": ["check_payment_methods", "payment_issue"],
    "REFUND": ["check_refund_policy", "get_refund", "track_refund"],
    "SHIPPING_ADDRESS": ["change_shipping_address", "set_up_shipping_address"],
}  # fmt: skip


def test_default_taxonomy_has_the_agreed_label_spaces(taxonomy: Taxonomy) -> None:
    assert {c.name: list(c.reasons) for c in taxonomy.categories} == EXPECTED_REASONS
    assert len(taxonomy.reasons) == 27
    assert taxonomy.outcome_names == ("resolved", "escalated", "transferred", "callback_scheduled", "unresolved")
    assert taxonomy.resolved_outcomes == frozenset({"resolved"})
    assert taxonomy.sentiments == ("negative", "neutral", "positive")
    assert taxonomy.category_of("track_refund") == "REFUND"
    assert taxonomy.repeat_window_days("REFUND") == 14
    assert taxonomy.repeat_window_days("ORDER") == 7


def test_render_code(taxonomy: Taxonomy) -> None:
    assert taxonomy.render_code("recover_password", "resolved") == "ACC-PWD-RES"
    assert taxonomy.render_code("track_order", "callback_scheduled") == "ORD-TRACK-CB"
    with pytest.raises(TaxonomyError, match="unknown reason 'nope'"):
        taxonomy.render_code("nope", "resolved")


def test_yaml_round_trip_keeps_order_and_fingerprint(taxonomy: Taxonomy, tmp_path: Path) -> None:
    path = taxonomy.to_yaml(tmp_path / "t.yaml")
    again = Taxonomy.from_yaml(path)
    assert again.reason_names == taxonomy.reason_names
    assert again.outcome_names == taxonomy.outcome_names
    assert again.fingerprint() == taxonomy.fingerprint()
    assert again.render_code("get_refund", "escalated") == taxonomy.render_code("get_refund", "escalated")


def _write(tmp_path: Path, raw: object) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _base() -> dict:
    return {
        "name": "t",
        "categories": {"A": {"reasons": {"x": {}, "y": {}}}, "B": {"reasons": {"z": {}}}},
        "outcomes": {"resolved": {"resolved": True}, "unresolved": {"resolved": False}},
    }


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda r: r["categories"]["B"]["reasons"].update({"x": {}}),
            "reasons.x: duplicate reason, already in category A",
        ),
        (lambda r: r["outcomes"]["resolved"].pop("resolved"), "boolean 'resolved' flag"),
        (lambda r: r["outcomes"].update({"resolved": {"resolved": False}}), "no outcome is marked"),
        (lambda r: r["categories"].update({"C": {"reasons": {}}}), "non-empty 'reasons'"),
        (lambda r: r.update({"sentiments": ["neg", "neg"]}), "duplicate sentiment"),
        (lambda r: r.update({"code_template": "{category}-{agent}"}), "code_template"),
        (lambda r: r["categories"]["A"].update({"repeat_window_days": -1}), "positive number of days"),
        (lambda r: r.pop("name"), "missing required key 'name'"),
        (lambda r: r["categories"]["A"].update({"repeat_window_days": float("nan")}), "positive number of days"),
        (lambda r: r["categories"]["A"].update({"repeat_window_days": float("inf")}), "positive number of days"),
        # a typo changes the taxonomy silently: outcome for outcomes would leave it with none
        (lambda r: r.update({"outcome": r.pop("outcomes")}), r"unknown keys \['outcome'\]"),
        (
            lambda r: r["categories"]["A"].update({"repeat_window": 3}),
            r"categories.A: unknown keys \['repeat_window'\]",
        ),
        (lambda r: r["outcomes"]["resolved"].update({"resolve": True}), r"outcomes.resolved: unknown keys"),
        (lambda r: r["categories"]["A"]["reasons"].update({"x": {"desc": "?"}}), r"reasons.x: unknown keys"),
        (lambda r: r.update({"version": 1.9}), "'version' must be an integer"),
        # two dispositions that render one CRM code
        (lambda r: r["categories"]["A"]["reasons"].update({"y": {"code": "X"}}), "codes must be unique"),
        (lambda r: r["outcomes"]["unresolved"].update({"code": "RESOLVED"}), "codes must be unique"),
    ],
)
def test_invalid_taxonomies_are_refused_with_the_reason(tmp_path: Path, mutate, message: str) -> None:
    raw = _base()
    mutate(raw)
    with pytest.raises(TaxonomyError, match=message):
        Taxonomy.from_yaml(_write(tmp_path, raw))


def test_valid_custom_taxonomy_and_sentiment_only_taxonomy(tmp_path: Path) -> None:
    custom = Taxonomy.from_yaml(_write(tmp_path, _base()))
    assert custom.reason_names == ("x", "y", "z")
    assert custom.render_code("z", "unresolved") == "B-Z-UNRESOLVED"
    raw = _base()
    raw["categories"] = {}
    assert Taxonomy.from_yaml(_write(tmp_path, raw)).reason_names == ()


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError, match="not found"):
        load_taxonomy(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed")
    with pytest.raises(TaxonomyError, match="not valid YAML"):
        load_taxonomy(bad)
    with pytest.raises(TaxonomyError, match="no built-in taxonomy"):
        load_taxonomy("no-such-taxonomy")


def test_label_problems(taxonomy: Taxonomy) -> None:
    assert taxonomy.label_problems({"reason": "track_order", "outcome": "resolved", "sentiment": "positive"}) == []
    fields = [p[0] for p in taxonomy.label_problems({"reason": "r", "outcome": "o", "sentiment": "s"})]
    assert fields == ["reason", "outcome", "sentiment"]


def test_a_key_given_twice_and_an_unquoted_yes_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "name: t\ncategories:\n  A:\n    reasons: {x: {}}\n  A:\n    reasons: {y: {}}\n"
        "outcomes:\n  resolved: {resolved: true}\n",
        encoding="utf-8",
    )
    with pytest.raises(TaxonomyError, match=r"(?s)'A' is given twice in the same mapping.*line 5"):
        Taxonomy.from_yaml(path)
    path.write_text(
        "name: t\ncategories:\n  A:\n    reasons: {x: {}}\noutcomes:\n  yes: {resolved: true}\n", encoding="utf-8"
    )
    with pytest.raises(TaxonomyError, match="a name must be text, found bool True"):
        Taxonomy.from_yaml(path)


def test_a_bundle_written_before_the_code_rule_still_loads_and_yaml_merge_keys_work(tmp_path: Path) -> None:
    raw = _base()
    raw["categories"]["A"]["reasons"]["y"] = {"code": "X"}  # x and y render one code
    path = _write(tmp_path, raw)
    with pytest.raises(TaxonomyError, match="codes must be unique"):
        Taxonomy.from_yaml(path)
    assert Taxonomy.from_yaml(path, strict=False).reason_names == ("x", "y", "z")  # a trained bundle's copy
    merged = tmp_path / "merged.yaml"
    merged.write_text(
        "name: t\ncategories:\n  A:\n    reasons: {x: {}}\noutcomes:\n"
        "  resolved: &o {resolved: true, code: R}\n  solved: {<<: *o, code: S}\n",
        encoding="utf-8",
    )
    assert [(o.code, o.resolved) for o in Taxonomy.from_yaml(merged).outcomes] == [("R", True), ("S", True)]
