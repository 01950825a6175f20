"""Shared fixtures: small hand-made contacts covering the corners of the contract."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see dispo/cli.py: before torch is imported
from collections.abc import Iterator
from pathlib import Path

import pytest

from dispo.contact import Contact
from dispo.taxonomy import Taxonomy, load_taxonomy

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def shared_data(name: str) -> Path:
    """A public data set in ../shared/data, or a skip when it is not beside the project."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"real data not present: {path}")
    return path


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny random-encoder bundle, trained once per test session (see
    :func:`tests.factories.make_tiny_bundle`). Tests copy it into their own registry with
    :func:`tests.factories.install_bundle` rather than change it."""
    from tests.factories import make_tiny_bundle

    return make_tiny_bundle(tmp_path_factory.mktemp("tiny-bundle"))


@pytest.fixture(scope="module")
def models_root(tmp_path_factory: pytest.TempPathFactory, tiny_bundle: Path) -> Path:
    """A registry per test module holding a copy of :func:`tiny_bundle` as ``dispo-default``."""
    from tests.factories import install_bundle

    root = tmp_path_factory.mktemp("models")
    install_bundle(tiny_bundle, root, name="dispo-default")
    return root


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """One torch thread: on a small shared machine, 2 spinning threads per process slow tests down."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


def make_contact(i: int = 0, **overrides: object) -> Contact:
    raw: dict[str, object] = {
        "contact_id": f"c-{i:04d}",
        "customer_id": f"cust-{i % 3}",
        "channel": ["voice", "chat", "email"][i % 3],
        "provider": "acme-bpo",
        "agent_id": f"a-{i % 2}",
        "queue": "orders",
        "started_at": "2026-03-01T09:00:00+01:00",
        "ended_at": "2026-03-01T09:07:30+01:00",
        "language": "en",
        "turns": [
            {"speaker": "agent", "text": "Thanks for calling, how can I help?", "offset_s": 0.0},
            {"speaker": "customer", "text": f"Where is my order {1000 + i}?\nIt was due Monday.", "offset_s": 3.25},
            {"speaker": "system", "text": "Customer: placed on hold", "offset_s": 20.5},
            {"speaker": "agent", "text": "  It ships tomorrow: sorry for the wait.", "offset_s": 61.0},
        ],
        "labels": {"reason": "track_order", "outcome": "resolved", "sentiment": "neutral", "upsell": False},
        "agent_labels": {"reason": "delivery_period", "outcome": "resolved"},
        "metadata": {"crm": {"case": i, "tags": ["a", "b"]}, "note": "ünïcode ✓"},
    }
    raw.update(overrides)
    return Contact.model_validate(raw)


@pytest.fixture
def contacts() -> list[Contact]:
    sparse = make_contact(
        3,
        customer_id=None,
        channel=None,
        provider=None,
        agent_id=None,
        queue=None,
        started_at=None,
        ended_at=None,
        labels={"sentiment": "negative"},
        agent_labels=None,
        metadata={},
        turns=[{"speaker": "customer", "text": "card declined again!!"}],
    )
    return [make_contact(0), make_contact(1), make_contact(2), sparse]
