"""The audit UI in a real browser: Playwright drives Debian's Chromium (``/usr/bin/chromium``,
installed by the project's setup) against the service on a free port, through a full audit:
sign in, open the queue, decide three contacts with the mouse and the keyboard, and check that
every decision is stored. Screenshots go to the test's tmp dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.audit_service import CHROMIUM, CHROMIUM_ARGS, Service, start_service

playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the browser is Debian's)")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="apt-get install chromium")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, tiny_bundle: Path) -> Iterator[Service]:
    running = start_service(tmp_path_factory.mktemp("browser"), tiny_bundle)
    try:
        yield running
    finally:
        running.stop()


def test_an_analyst_audits_three_contacts_in_chromium(service: Service, tmp_path: Path) -> None:
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{service.url}/ui/audit")
            assert "/ui/login" in page.url  # no session yet
            page.get_by_label("API key").fill(service.key)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url("**/ui/audit")
            assert page.get_by_role("heading", name="Audit queue").is_visible()
            rows = page.locator("table.queue tbody tr")
            assert rows.count() == 30
            scores = [float(s) for s in page.locator("td.score span").all_inner_texts()]
            assert scores == sorted(scores, reverse=True)
            page.screenshot(path=str(tmp_path / "queue.png"), full_page=True)

            # 1: the mouse, confirming the agent's code.
            page.get_by_role("link", name="Start auditing").click()
            page.wait_for_selector("#decision")
            first = page.url
            assert page.get_by_label("Reason").is_visible() and page.get_by_label("Outcome").is_visible()
            page.screenshot(path=str(tmp_path / "contact.png"), full_page=True)
            page.get_by_role("button", name="Confirm agent's code").click()
            page.wait_for_url(lambda url: url != first and "/ui/audit/" in url)

            # 2: the keyboard, picking another code with a note.
            second = page.url
            page.keyboard.press("o")
            assert page.evaluate("document.activeElement.id") == "reason"
            page.get_by_label("Reason").select_option("complaint")
            page.get_by_label("Outcome").select_option("escalated")
            page.keyboard.press("Escape")  # leave the field (letters there pick options), then N: the note
            page.keyboard.press("n")
            assert page.evaluate("document.activeElement.id") == "note"
            page.keyboard.type("customer was clearly complaining")
            page.get_by_role("button", name="Save this code").click()
            page.wait_for_url(lambda url: url != second and "/ui/audit/" in url)

            # 3: the keyboard shortcut alone: M accepts the model's code.
            third = page.url
            page.locator("body").click(position={"x": 5, "y": 300})
            page.keyboard.press("m")
            page.wait_for_url(lambda url: url != third)
            assert not errors, errors
        finally:
            browser.close()

    item_ids = [url.split("/ui/audit/")[1].split("?")[0] for url in (first, second, third)]
    store = service.audit
    logs = [store.decisions("acme", item_id) for item_id in item_ids]
    assert [[d["action"] for d in log] for log in logs] == [["confirm"], ["other"], ["accept_model"]]
    assert logs[1][0]["reason"] == "complaint" and logs[1][0]["outcome"] == "escalated"
    assert logs[1][0]["note"] == "customer was clearly complaining" and logs[0][0]["analyst_name"] == "Dana (QA)"
    assert all(log[0]["mode"] == "ranked" for log in logs)
    assert (tmp_path / "queue.png").stat().st_size > 10_000 and (tmp_path / "contact.png").stat().st_size > 10_000
