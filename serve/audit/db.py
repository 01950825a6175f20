"""The QA audit's tables: the items in the audit queue and the analysts' decisions on them.

An item is a contact whose agent code can be audited: its redacted transcript, the agent's code,
the model's prediction and the suspicion score that ranks it. Its explanation (per-turn
occlusion, sentiment per turn) is a cache computed on first view, so later page loads are cheap.

Decisions are append-only, like the agents' decisions in :mod:`serve.db`: a correction is a new
row that records the value it replaces, never an edit. The migration adds database triggers that
refuse UPDATE and DELETE on ``audit_decisions``, so the log stays complete even against a bug.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dispo.contact import ID_MAX_CHARS
from serve.db import Base, utcnow

SOURCES = ("batch", "live")
ACTIONS = ("confirm", "accept_model", "other")
MODES = ("ranked", "random", "direct")


class AuditItem(Base):
    __tablename__ = "audit_items"
    __table_args__ = (
        UniqueConstraint("tenant_id", "contact_id", "source", name="uq_audit_items_tenant_contact_source"),
        Index("ix_audit_items_tenant_suspicion", "tenant_id", "suspicion"),
        Index("ix_audit_items_tenant_random_key", "tenant_id", "random_key"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    contact_id: Mapped[str] = mapped_column(String(ID_MAX_CHARS))
    source: Mapped[str] = mapped_column(String(16))  # "batch" or "live"
    suggestion_id: Mapped[str | None] = mapped_column(String(36), nullable=True)  # live: the stored suggestion
    contact: Mapped[dict[str, Any]] = mapped_column(JSON)  # the redacted contact
    n_turns: Mapped[int] = mapped_column(Integer)
    # context, for filters
    provider: Mapped[str | None] = mapped_column(String(ID_MAX_CHARS), nullable=True)
    agent_id: Mapped[str | None] = mapped_column(String(ID_MAX_CHARS), nullable=True)
    queue: Mapped[str | None] = mapped_column(String(ID_MAX_CHARS), nullable=True)
    channel: Mapped[str | None] = mapped_column(String(32), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # the agent's code
    agent_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    agent_outcome: Mapped[str | None] = mapped_column(String(64), nullable=True)
    agent_code: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # the model
    model_version: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reason_probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(64), nullable=True)
    outcome_probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    model_code: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # top-k [{label, probability}]
    sentiment: Mapped[str | None] = mapped_column(String(64), nullable=True)
    upsell_probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    agent_reason_probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    agent_outcome_probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    # ranking
    disagrees: Mapped[bool | None] = mapped_column(Boolean, nullable=True)  # model code != agent code
    suspicion: Mapped[float] = mapped_column(Float)
    random_key: Mapped[float] = mapped_column(Float)
    explanation: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # cache, see module doc
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditDecision(Base):
    """One analyst's verdict on one item. Append-only (enforced by triggers, see the module doc)."""

    __tablename__ = "audit_decisions"
    __table_args__ = (Index("ix_audit_decisions_tenant_item", "tenant_id", "item_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("audit_items.id"))
    analyst_key_id: Mapped[str] = mapped_column(String(36))
    analyst_name: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(16))  # confirm | accept_model | other
    mode: Mapped[str] = mapped_column(String(16))  # the queue it was reached from: ranked | random | direct
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(64), nullable=True)
    code: Mapped[str | None] = mapped_column(String(200), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)  # redacted
    previous: Mapped[dict[str, Any]] = mapped_column(JSON)  # the audited value this decision replaces
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
