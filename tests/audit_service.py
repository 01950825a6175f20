"""A running service for the audit's browser and fuzz tests: uvicorn on a free port in a thread,
a tiny model, and built contacts queued for audit (not a test module)."""

from __future__ import annotations

import random
from pathlib import Path

from dispo.audit.items import item_from_labelled
from dispo.labelled import labelled_row
from serve.app import create_app
from serve.audit.store import AuditStore
from serve.background import BackgroundServer
from serve.settings import Settings
from tests.factories import install_bundle

# Debian's Chromium, as Playwright launches it for the browser test and the docs' screenshots.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class Service:
    def __init__(self, running: BackgroundServer, key: str) -> None:
        self.running, self.app, self.url, self.key = running, running.app, running.url, key

    @property
    def audit(self) -> AuditStore:
        return AuditStore(self.app.state.store.engine)

    def stop(self) -> None:
        self.running.stop()


def start_service(root: Path, bundle: Path, n_contacts: int = 30) -> Service:
    """The service on a free port with a copy of the tiny ``bundle`` and ``n_contacts`` built
    contacts queued."""
    from training.corpus.builder import CorpusBuilder, CorpusConfig

    install_bundle(bundle, root / "models", name="dispo-default")
    settings = Settings.from_env(
        {}, database_url=f"sqlite:///{root / 'dispo.db'}", models_dir=str(root / "models"), backend="torch",
        rate_limit_burst=100_000, batch_dir=str(root / "batches"),
    )  # fmt: skip
    running = BackgroundServer(create_app(settings))
    app = running.app
    store = app.state.store
    key = store.create_key("acme", "analyst", "Dana (QA)").secret
    predictor = app.state.inference.predictor
    contacts = [b.contact for b in CorpusBuilder(CorpusConfig(n_contacts=n_contacts, seed=17)).build()]
    rng = random.Random(5)
    rows = [
        item_from_labelled(c.to_json_dict(), labelled_row(c, p, predictor.taxonomy), rng=rng)
        for c, p in zip(contacts, predictor.predict(contacts), strict=True)
    ]
    AuditStore(store.engine).add_items("acme", [r for r in rows if r is not None])
    return Service(running, key)
