"""Tiny random models built from a config (no real weights) for fast tests."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from transformers import BertConfig, BertModel, BertTokenizerFast

from serve.app import create_app
from serve.settings import Settings
from serve.store import Store

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def make_tiny_base_model(folder: Path, texts: Iterable[str], hidden: int = 32, layers: int = 2) -> Path:
    """Write a random 2-layer BERT and a word-level vocabulary from ``texts`` into ``folder``:
    a stand-in for a pretrained encoder that loads by path like the real one."""
    words = sorted({w for text in texts for w in re.findall(r"\w+|[^\w\s]", text.lower())})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(SPECIAL_TOKENS + words) + "\n", encoding="utf-8")
    # transformers 5 takes the vocabulary as ``vocab`` (``vocab_file`` is silently ignored, which
    # would map every word to [UNK]).
    vocab = {token: index for index, token in enumerate(SPECIAL_TOKENS + words)}
    tokenizer = BertTokenizerFast(vocab=vocab, do_lower_case=True)
    if tokenizer.convert_tokens_to_ids(words[:1]) == [tokenizer.unk_token_id]:
        raise RuntimeError("the tiny tokenizer did not take its vocabulary")
    tokenizer.save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(SPECIAL_TOKENS) + len(words),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(folder)
    return folder


def make_tiny_bundle(
    root: Path,
    name: str = "tiny",
    n_contacts: int = 60,
    seed: int = 5,
    *,
    compact: bool = False,
    weights_dtype: str = "float32",
    freeze_encoder_layers: int = 0,
    model: dict[str, Any] | None = None,
) -> Path:
    """Train a tiny random-encoder model for one epoch on a generated corpus and commit it as
    ``root/name/v1``: a real bundle (weights, labels, taxonomy, calibration) in a few seconds.
    ``compact``: store only the weights that differ from the tiny base encoder; ``weights_dtype``:
    the precision they are stored in; ``freeze_encoder_layers``: lower layers left as the base's;
    ``model``: other model settings."""
    from dispo.io import write_contacts
    from training.config import RunConfig
    from training.corpus.builder import CorpusBuilder, CorpusConfig
    from training.pipeline import train_model

    work = root / f".{name}-work"
    contacts = [b.contact for b in CorpusBuilder(CorpusConfig(n_contacts=n_contacts, seed=seed)).build()]
    write_contacts(contacts, work / "train.jsonl")
    base = make_tiny_base_model(work / "base", [t.text for c in contacts for t in c.turns])
    run = RunConfig.from_sections(
        {
            "data": {"train": [str(work / "train.jsonl")]},
            "model": {
                "base_model": str(base),
                "max_turn_tokens": 24,
                "token_budget": 96,
                "max_turns": 6,
                "freeze_encoder_layers": freeze_encoder_layers,
                **(model or {}),
            },
            "training": {
                "epochs": 1,
                "batch_size": 16,
                "baseline": False,
                "compact_weights": compact,
                "weights_dtype": weights_dtype,
            },
        }
    )
    return train_model(run, name, root=root).path


def install_bundle(bundle: Path, root: Path, name: str = "tiny") -> Path:
    """A copy of ``bundle`` registered as ``root/name/v1`` (its manifest renamed): a registry of
    the test's own, from the session's one trained bundle."""
    target = root / name / "v1"
    shutil.copytree(bundle, target)
    manifest = json.loads((target / "bundle.json").read_text(encoding="utf-8"))
    (target / "bundle.json").write_text(json.dumps({**manifest, "name": name}, indent=2), encoding="utf-8")
    return target


POSTGRES_URL = os.environ.get("DISPO_TEST_POSTGRES_URL")


def database_url(kind: str, tmp_path: Path) -> str:
    """A store URL for a test: a fresh SQLite file, or the PostgreSQL server of
    ``DISPO_TEST_POSTGRES_URL`` with its schema emptied (CI must have one; elsewhere it skips)."""
    import pytest
    from sqlalchemy import text

    from serve.db import make_engine

    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'dispo.db'}"
    if POSTGRES_URL is None:
        if os.environ.get("CI"):
            pytest.fail("CI must test against PostgreSQL: .ci/run sets DISPO_TEST_POSTGRES_URL")
        pytest.skip("no PostgreSQL server (set DISPO_TEST_POSTGRES_URL)")
    engine = make_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    return POSTGRES_URL


class Api:
    """A test client with one key per role in two tenants."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        store: Store = client.app.state.store  # type: ignore[attr-defined]
        self.keys = {
            (tenant, role): store.create_key(tenant, role, f"{tenant}-{role}").secret
            for tenant in ("acme", "globex")
            for role in ("agent", "analyst", "admin", "service")
        }

    def headers(self, role: str = "agent", tenant: str = "acme") -> dict[str, str]:
        return {"X-API-Key": self.keys[(tenant, role)]}

    def post(self, path: str, body: Any, role: str = "agent", tenant: str = "acme") -> Any:
        return self.client.post(path, json=body, headers=self.headers(role, tenant))


def make_api(models_root: Path, url: str, **overrides: Any) -> Iterator[Api]:
    overrides.setdefault("batch_dir", tempfile.mkdtemp(prefix="dispo-batches-"))
    settings = Settings.from_env(
        {}, database_url=url, models_dir=str(models_root), backend="torch", max_batch_contacts=4, **overrides
    )
    with TestClient(create_app(settings)) as client:
        yield Api(client)


def two_version_registry(models_root: Path, target: Path) -> Path:
    """A copy of ``models_root`` whose dispo-default has a v2 (the same weights) beside v1."""
    shutil.copytree(models_root, target)
    shutil.copytree(target / "dispo-default" / "v1", target / "dispo-default" / "v2")
    manifest = target / "dispo-default" / "v2" / "bundle.json"
    manifest.write_text(manifest.read_text().replace('"version": "v1"', '"version": "v2"'))
    return target


def live_prediction(predictor: Any, contact: Any) -> Any:
    """What a live session says after the last of ``contact``'s turns, fed one at a time."""
    from dispo.model.live import LiveSession

    session = LiveSession(predictor, contact.contact_id)
    prediction = None
    for turn in contact.turns:
        prediction = session.add_turn(turn)
    assert prediction is not None
    return prediction


def assert_reads_alike_but_sentiment(one: Any, other: Any) -> None:
    """Two predictions of one contact that agree on every task but sentiment (reasons, code, upsell)."""
    import pytest

    assert [r for r, _ in one.reasons] == [
        r for r, _ in other.reasons
    ] and one.disposition_code == other.disposition_code
    assert [p for _, p in one.reasons] == pytest.approx([p for _, p in other.reasons], abs=1e-5)
    assert one.upsell_probability == pytest.approx(other.upsell_probability, abs=1e-5)


def same_sentiment(one: Any, other: Any) -> bool:
    """Whether two predictions give the same sentiment probabilities (within 1e-5)."""
    import pytest

    assert one.sentiment is not None and other.sentiment is not None
    return bool(one.sentiment.probabilities == pytest.approx(other.sentiment.probabilities, abs=1e-5))
