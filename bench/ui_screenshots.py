"""Screenshots of the audit UI for docs/audit.md: ``docs/audit-queue.png`` and ``docs/audit-contact.png``.

Starts the service on a free port with the trained model (``--model``, default dispo-default),
queues built contacts it was not trained on, signs in as an analyst in Debian's Chromium and
photographs the queue and a suspicious contact with its explanation. Run it after changing the
templates:

    python bench/ui_screenshots.py [--model dispo-default] [--contacts 80]
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

from dispo.audit.items import item_from_labelled
from dispo.cli import configure_logging
from dispo.labelled import labelled_row
from dispo.redact import default_redactor
from serve.app import create_app
from serve.audit.store import AuditStore, QueueQuery
from serve.background import BackgroundServer
from serve.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
logger = logging.getLogger("bench.ui_screenshots")


def serve(settings: Settings) -> tuple[Any, BackgroundServer, str]:
    running = BackgroundServer(create_app(settings))
    return running.app, running, running.url


def main() -> None:
    from playwright.sync_api import sync_playwright

    from training.corpus.builder import CorpusBuilder, CorpusConfig

    sys.path.insert(0, str(ROOT))
    from tests.audit_service import CHROMIUM, CHROMIUM_ARGS  # the browser test's launch

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="dispo-default")
    parser.add_argument("--models-dir", default=None)
    parser.add_argument("--contacts", type=int, default=80)
    parser.add_argument("--seed", type=int, default=202)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--chromium", default=str(CHROMIUM))
    args = parser.parse_args()
    configure_logging("INFO")

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings.from_env(
            {}, database_url=f"sqlite:///{folder}/dispo.db", model=args.model, models_dir=args.models_dir,
            rate_limit_burst=100_000,
        )  # fmt: skip
        app, running, url = serve(settings)
        try:
            store = app.state.store
            key = store.create_key("demo", "analyst", "Dana Whitfield").secret
            predictor = app.state.inference.predictor
            redactor = default_redactor()
            contacts = [
                redactor.redact_contact(b.contact)
                for b in CorpusBuilder(CorpusConfig(n_contacts=args.contacts, seed=args.seed)).build()
            ]
            rng = random.Random(args.seed)
            rows = []
            for contact, prediction in zip(contacts, predictor.predict(contacts), strict=True):
                row = labelled_row(contact, prediction, predictor.taxonomy)
                if prediction.outcome is not None:
                    row["outcome_probabilities"] = prediction.outcome.probabilities
                rows.append(item_from_labelled(contact.to_json_dict(), row, rng=rng))
            audit = AuditStore(store.engine)
            audit.add_items("demo", [r for r in rows if r is not None])
            ranked = audit.queue("demo", QueueQuery(limit=100)).items
            # A typical find, short enough to show whole: a confident model disagreeing on the reason.
            shown = next(
                (
                    r
                    for r in ranked
                    if r["reason"] != r["agent_reason"]
                    and (r["reason_probability"] or 0) >= 0.6
                    and 6 <= r["n_turns"] <= 12
                ),
                ranked[0],
            )
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1440, "height": 900}, device_scale_factor=1)
                page.goto(f"{url}/ui/login")
                page.get_by_label("API key").fill(key)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url("**/ui/audit")
                args.out.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out / "audit-queue.png"))
                page.set_viewport_size({"width": 1440, "height": 1300})
                page.goto(f"{url}/ui/audit/{shown['id']}?sort=suspicion")
                page.wait_for_selector("#decision")
                page.screenshot(path=str(args.out / "audit-contact.png"))
                browser.close()
            logger.info("wrote %s and %s", args.out / "audit-queue.png", args.out / "audit-contact.png")
        finally:
            running.stop()


if __name__ == "__main__":
    main()
