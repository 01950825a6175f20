"""The store's tables (SQLAlchemy 2), the engine, and migrations (Alembic).

Suggestions and agent decisions are append-only: a decision is a new row, never an edit, so the
record of what the model said and what the agent did is complete. Every row carries its tenant.
Transcripts are stored only after PII redaction.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    create_engine,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import StaticPool

from dispo.contact import ID_MAX_CHARS

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))  # shown in listings; the secret is never stored
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class UiSession(Base):
    """A browser session of the QA-audit UI: the cookie holds a random token, this row its HMAC.
    Revoked at logout, expired after its lifetime, and dead with the key that opened it."""

    __tablename__ = "ui_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    api_key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Suggestion(Base):
    """One prediction served to someone: what went in (redacted), what came out, how fast."""

    __tablename__ = "suggestions"
    __table_args__ = (Index("ix_suggestions_tenant_contact", "tenant_id", "contact_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    api_key_id: Mapped[str] = mapped_column(String(36))
    source: Mapped[str] = mapped_column(String(16))  # "api" or "live"
    contact_id: Mapped[str] = mapped_column(String(ID_MAX_CHARS))
    customer_id: Mapped[str | None] = mapped_column(String(ID_MAX_CHARS), nullable=True)
    agent_id: Mapped[str | None] = mapped_column(String(ID_MAX_CHARS), nullable=True)
    provider: Mapped[str | None] = mapped_column(String(ID_MAX_CHARS), nullable=True)
    channel: Mapped[str | None] = mapped_column(String(32), nullable=True)
    queue: Mapped[str | None] = mapped_column(String(ID_MAX_CHARS), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    model_version: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reason_probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sentiment: Mapped[str | None] = mapped_column(String(64), nullable=True)
    upsell_probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    disposition_code: Mapped[str | None] = mapped_column(String(200), nullable=True)
    prediction: Mapped[dict[str, Any]] = mapped_column(JSON)  # the full response body
    contact: Mapped[dict[str, Any]] = mapped_column(JSON)  # the redacted contact
    n_turns: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class Decision(Base):
    """What the agent finally chose for a suggestion. Append-only: the latest row is current."""

    __tablename__ = "decisions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    suggestion_id: Mapped[str] = mapped_column(ForeignKey("suggestions.id"), index=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    api_key_id: Mapped[str] = mapped_column(String(36))
    agent_id: Mapped[str] = mapped_column(String(ID_MAX_CHARS))
    accepted: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(64), nullable=True)
    disposition_code: Mapped[str | None] = mapped_column(String(200), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)  # redacted
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def make_engine(url: str) -> Engine:
    """An engine for ``url``. SQLite gets WAL, foreign keys and a busy timeout; an in-memory
    SQLite database is shared by all connections (tests)."""
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        if not memory:
            path = url.split("///", 1)[-1]
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=StaticPool if memory else None,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _: Any) -> None:
            cursor = dbapi_connection.cursor()
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the migrations up to ``revision`` on ``engine``'s database."""
    quiet = logging.getLogger("alembic")  # ten lines of plugins and dialect on every command; kept under DEBUG
    level = quiet.level
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        quiet.setLevel(max(quiet.getEffectiveLevel(), logging.WARNING))
    try:
        from alembic import command
        from alembic.config import Config
        from alembic.runtime.migration import MigrationContext

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as connection:
            before = MigrationContext.configure(connection).get_current_revision()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            after = MigrationContext.configure(connection).get_current_revision()
    finally:
        quiet.setLevel(level)
    if before != after:
        logger.info("database upgraded from revision %s to %s", before or "(empty)", after)
    else:
        logger.debug("database at revision %s", after)
