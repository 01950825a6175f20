"""The service's one settings object, read from ``DISPO_*`` environment variables.

Every value is checked when the service starts, and settings that would be unsafe outside a
developer's laptop fail fast instead of being quietly accepted.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from dispo.cli import LOG_LEVELS
from dispo.contact import ContactLimits
from dispo.errors import ConfigError
from dispo.model.runtime import BACKENDS as RUNTIME_BACKENDS

ENV_PREFIX = "DISPO_"
DEV_PEPPER = "dispo-development-pepper"
BACKENDS = ("auto", *RUNTIME_BACKENDS)  # auto: the fastest variant the bundle has


@dataclass(frozen=True)
class Settings:
    # where and what
    host: str = "127.0.0.1"
    port: int = 8000
    model: str = "dispo-default"  # NAME or NAME:VERSION in the registry
    models_dir: str | None = None  # default: DISPO_MODELS_DIR / ./models
    backend: str = "auto"  # encoder backend; "auto" only uses variants recorded as agreeing
    database_url: str = "sqlite:///data/dispo.db"
    # security
    key_pepper: str = DEV_PEPPER  # secret mixed into API-key hashes; required off loopback
    rate_limit_per_minute: int = 1200  # per API key
    rate_limit_burst: int = 200
    # input limits
    max_body_bytes: int = 2_000_000
    max_batch_contacts: int = 32
    max_turns: int = 500
    max_turn_chars: int = 20_000
    max_total_chars: int = 100_000
    max_metadata_chars: int = 20_000  # of a contact's metadata (as written out)
    # batch jobs (POST /v1/batches): uploaded files and results, one folder per tenant
    batch_dir: str = "data/batches"
    batch_worker: bool = True  # run queued jobs in this process
    batch_keep_uploads: bool = False  # keep raw uploads after their job (off: deleted once read)
    max_upload_bytes: int = 2_000_000_000
    # live sessions
    max_live_sessions: int = 2_000  # all tenants together
    max_live_sessions_per_tenant: int = 200
    live_idle_seconds: float = 600.0  # a session left without a turn (or dropped) is closed after this
    # model management: promoting a version changes the model of every tenant, so only admin keys
    # of this tenant (the operator's) may do it through the API; unset, only `dispo models promote`.
    operator_tenant: str | None = None
    # inference
    max_inference_batch: int = 64  # contacts per forward pass when concurrent requests are batched
    # Threads of the model (PyTorch and ONNX Runtime); 0: all cores. One measured best on 2 cores
    # (bench/serve_load.py): live p95 14 ms vs 20-23 ms and 61 vs 51-55 req/s under 16 clients,
    # because the event loop, HTTP parsing and database writes need the other core and a live
    # turn's small tensors gain nothing from intra-op parallelism. Raise it on larger machines.
    torch_threads: int = 1
    segment_cache: int = 20_000  # vectors of repeated (scripted) segments kept, ~1.5 KB each; 0: off
    log_level: str = "INFO"
    # privacy: pseudonymise customer_id and agent_id with this key before anything is stored
    # (suggestions, decisions, batch results); FCR chaining still works (same id, same pseudonym).
    pseudonym_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        positive = (
            "port",
            "rate_limit_per_minute",
            "rate_limit_burst",
            "max_body_bytes",
            "max_upload_bytes",
            "max_batch_contacts",
            "max_turns",
            "max_turn_chars",
            "max_total_chars",
            "max_metadata_chars",
            "max_live_sessions",
            "max_live_sessions_per_tenant",
            "live_idle_seconds",
            "max_inference_batch",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be positive, got {getattr(self, name)!r}")
        for name in ("torch_threads", "segment_cache"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be >= 0, got {getattr(self, name)}")
        if self.log_level.upper() not in LOG_LEVELS:
            raise ConfigError(
                f"{ENV_PREFIX}LOG_LEVEL must be one of {', '.join(LOG_LEVELS)} (any case), got {self.log_level!r}"
            )
        if self.backend not in BACKENDS:
            raise ConfigError(f"{ENV_PREFIX}BACKEND must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if not self.database_url.startswith(("sqlite", "postgresql")):
            raise ConfigError(
                f"{ENV_PREFIX}DATABASE_URL must be a sqlite:// or postgresql:// URL, got {self.database_url!r}"
            )
        if not self.is_loopback and self.key_pepper == DEV_PEPPER:
            raise ConfigError(
                f"refusing to listen on {self.host} with the development key pepper: set {ENV_PREFIX}KEY_PEPPER "
                "to a long random secret (API keys are stored as HMACs under it)"
            )
        if self.pseudonym_key is not None and len(self.pseudonym_key) < 16:
            raise ConfigError(f"{ENV_PREFIX}PSEUDONYM_KEY must be at least 16 characters")
        if len(self.key_pepper) < 16:
            raise ConfigError(f"{ENV_PREFIX}KEY_PEPPER must be at least 16 characters")

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def limits(self) -> ContactLimits:
        return ContactLimits(
            max_turns=self.max_turns, max_turn_chars=self.max_turn_chars, max_total_chars=self.max_total_chars,
            max_metadata_chars=self.max_metadata_chars,
        )  # fmt: skip

    @property
    def models_root(self) -> Path | None:
        return Path(self.models_dir) if self.models_dir else None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``DISPO_<FIELD>`` variables; ``overrides`` win (tests, CLI flags)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"{ENV_PREFIX}{f.name.upper()}")
            if raw is None or raw == "":
                continue
            values[f.name] = _convert(f.name, raw, f.default)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _convert(name: str, raw: str, default: Any) -> Any:
    kind = type(default) if default is not None else str
    try:
        if kind is bool:
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes")
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
    except ValueError:
        raise ConfigError(f"{ENV_PREFIX}{name.upper()}: expected {kind.__name__}, found {raw!r}") from None
    return raw
