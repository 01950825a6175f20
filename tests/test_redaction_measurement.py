"""Redaction targets measured on the synthetic corpus with planted PII and decoys.

Runs once ``training.corpus.builder`` exists: 1,500 contacts at a fixed seed, recall per PII kind
and false positives per decoy kind, against the targets the ingestion pipeline promises, plus
the redactor's throughput on those contacts. ``bench/redaction.py`` runs the same measurement on
larger corpora over several seeds.
"""

from __future__ import annotations

import logging

import pytest

from dispo.redact import Redactor
from training.redaction_eval import measure_redaction

builder = pytest.importorskip("training.corpus.builder", reason="the corpus builder has not landed yet")

log = logging.getLogger(__name__)


def test_redaction_targets_on_built_corpus() -> None:
    built = builder.CorpusBuilder(builder.CorpusConfig(n_contacts=1_500, seed=13)).build()
    report = measure_redaction(((b.contact, b.pii) for b in built), Redactor())
    log.info("redaction measurement\n%s", report.to_markdown())
    for kind in ("card", "email", "ssn", "iban"):
        c = report.recall[kind]
        assert c.total > 0 and c.rate == 1.0, (kind, c.rate, c.examples)
    for kind in ("phone", "address"):
        c = report.recall[kind]
        assert c.total > 0 and c.rate >= 0.98, (kind, c.rate, c.examples)
    names = report.recall["name"]  # introductions, answers to a name question, salutations, signatures
    assert names.total > 0 and names.rate >= 0.85, (names.rate, names.examples)
    for kind in ("order_number", "amount", "date"):
        c = report.false_positive[kind]
        assert c.total > 0 and c.rate < 0.01, (kind, c.rate, c.examples)
    assert report.turns > 10_000  # its speed is measured by bench/redaction.py, not asserted here
