"""Fuzz every HTTP operation from the OpenAPI schema (schemathesis): whatever arrives, the
service answers without a server error and within its documented responses."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
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
