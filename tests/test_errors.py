"""Every domain error belongs to one category, and the categories map once to HTTP and WebSocket."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import dispo
import serve
import training
from dispo.errors import CATEGORIES, DispoError, FieldProblem, RateLimitedError, RecordError, TaxonomyError
from serve.errors import STATUS, close_code_for, status_for

# Errors that report a bug in dispo itself, not a caller's or operator's mistake: a 500.
INTERNAL = {"AccountingError"}


def _all_subclasses(kind: type) -> set[type]:
    found = set(kind.__subclasses__())
    for sub in list(found):
        found |= _all_subclasses(sub)
    return found


def _import_everything() -> None:
    for package in (dispo, serve, training):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not info.name.endswith("__main__"):
                importlib.import_module(info.name)


def test_every_domain_error_derives_from_a_category() -> None:
    _import_everything()
    errors = {e for e in _all_subclasses(DispoError) if e.__module__.split(".")[0] in {"dispo", "serve", "training"}}
    assert len(errors) > 20
    loose = sorted(e.__qualname__ for e in errors - set(CATEGORIES) if not issubclass(e, CATEGORIES))
    assert loose == sorted(INTERNAL)


def test_categories_map_to_one_status_and_close_code_each() -> None:
    mapped = {kind for kind, _, _ in STATUS}
    assert mapped == set(CATEGORIES)
    assert status_for(TaxonomyError("no label 'x'")) == (422, "invalid_label")
    assert status_for(RecordError("f.jsonl", 3, [FieldProblem("turns", "a list", None)])) == (422, "invalid_input")
    assert status_for(RateLimitedError(1.0)) == (429, "rate_limited")
    assert status_for(ValueError("a bug")) == (500, "internal")
    assert close_code_for(RateLimitedError(1.0)) == 4429
    assert close_code_for(ValueError("a bug")) == 1011


@pytest.mark.parametrize("category", CATEGORIES)
def test_a_category_is_matched_before_its_parent(category: type[DispoError]) -> None:
    kinds = [kind for kind, _, _ in STATUS]
    first_match = next(kind for kind in kinds if issubclass(category, kind))
    assert first_match is category


def test_a_body_of_one_shape_is_not_also_told_it_is_not_the_other_shape() -> None:
    from serve.errors import _branch_errors

    union = [{"loc": ("body", "Contact", "channel"), "type": "literal_error"},
             {"loc": ("body", "list[Contact]"), "type": "list_type"}]  # fmt: skip
    assert _branch_errors(union) == union[:1]
    fields = [{"loc": ("body", "items"), "type": "list_type"}, {"loc": ("body", "name"), "type": "string_type"}]
    assert _branch_errors(fields) == fields  # a field of the wrong kind is a problem of its own
