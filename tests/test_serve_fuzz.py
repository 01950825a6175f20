"""Fuzz every HTTP operation from the OpenAPI schema (schemathesis): whatever arrives, the
service answers without a server error and within its documented responses."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from serve.app import create_app
from serve.background import BackgroundServer
from serve.settings import Settings
from tests.factories import install_bundle

KEYS: dict[str, str] = {}
STATUSES: dict[str, set[int]] = {}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory, tiny_bundle: Path) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("fuzz")
    install_bundle(tiny_bundle, root / "models", name="dispo-default")
    app_settings = Settings.from_env(
        {}, database_url=f"sqlite:///{root / 'dispo.db'}", models_dir=str(root / "models"), backend="torch",
        rate_limit_burst=100_000, batch_dir=str(root / "batches"),
    )  # fmt: skip
    app = create_app(app_settings)
    # A real server on a free port: every fuzzed request goes over HTTP like a client's would.
    running = BackgroundServer(app)
    store = app.state.store
    for role in ("agent", "admin", "analyst", "service"):
        KEYS[role] = store.create_key("fuzz", role, f"fuzz-{role}").secret
    KEYS["base_url"] = running.url
    try:
        yield schemathesis.openapi.from_url(f"{KEYS['base_url']}/openapi.json")
    finally:
        running.stop()


def test_no_operation_answers_with_a_server_error(api_schema: Any) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:
        fuzz_operation(operation)
    # The fuzzer got past validation too, not only into 4xx answers.
    assert 200 in STATUSES["POST /v1/dispositions"]
    logging.getLogger(__name__).info("statuses seen: %s", STATUSES)


def role_for(path: str) -> str:
    """The role that may call ``path``, so the fuzzer gets past authorisation."""
    if path.startswith(("/v1/keys", "/v1/models")):
        return "admin"
    if path.startswith(("/v1/metrics", "/v1/audit", "/ui")):
        return "analyst"
    if path.startswith("/v1/batches"):
        return "service"
    return "agent"


def fuzz_operation(operation: Any) -> None:
    role = role_for(operation.path)

    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def fuzz(case: Any) -> None:
        response = case.call_and_validate(
            base_url=KEYS["base_url"], headers={"X-API-Key": KEYS[role]}, checks=[not_a_server_error]
        )
        STATUSES.setdefault(operation.label, set()).add(response.status_code)

    fuzz()


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"k": value}
    return value


@st.composite
def hostile_contacts(draw: Any) -> str:
    """A contact body with what validation must catch before the model: any code point (lone
    surrogates included, as JSON escapes), non-finite numbers, and metadata nested deeply."""
    text = draw(st.text(alphabet=st.characters(codec=None, exclude_categories=()), min_size=1, max_size=60))
    offset = draw(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 10**6)))
    depth = draw(st.sampled_from([0, 1, 15, 16, 17, 200, 800]))
    speaker = draw(st.sampled_from(["customer", "agent", "system", "bot", "\ud800"]))
    body = {
        "contact_id": draw(st.text(min_size=1, max_size=20)),
        "channel": "chat",
        "turns": [{"speaker": speaker, "text": text, "offset_s": offset}],
        "metadata": {"m": _nested(depth), "n": draw(st.floats())},
    }
    return json.dumps(body, ensure_ascii=True, allow_nan=True)


def test_hostile_values_get_a_named_4xx_never_a_server_error(api_schema: Any) -> None:
    @given(body=hostile_contacts())
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def send(body: str) -> None:
        response = httpx.post(
            f"{KEYS['base_url']}/v1/dispositions", content=body,
            headers={"X-API-Key": KEYS["agent"], "Content-Type": "application/json"}, timeout=30,
        )  # fmt: skip
        assert response.status_code < 500, response.text
        if response.status_code == 422:
            assert response.json()["problems"], response.text  # the field is named

    send()
