"""Reads and writes of the service's record. Every query is scoped to a tenant: a row of one
tenant is never returned to another, whatever id is asked for."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from dispo.contact import in_utc
from dispo.errors import ConflictError, InvalidInputError, NotFoundError
from serve.db import ApiKey, Decision, Suggestion, Tenant, UiSession, utcnow
from serve.roles import ROLES

KEY_PREFIX = "dsp_"
# The columns of the labelled-contact table (dispo.labelled) that the store can fill.
STORE_LABELLED_COLUMNS = (
    "contact_id", "customer_id", "channel", "provider", "agent_id", "queue", "started_at", "ended_at", "n_turns",
    "model_version", "reason", "reason_probability", "outcome", "sentiment", "sentiment_start", "upsell_probability",
    "disposition_code", "agent_reason", "agent_outcome", "agent_code",
)  # fmt: skip
TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the API key, its tenant and its role."""

    key_id: str
    tenant_id: str
    role: str
    name: str


@dataclass(frozen=True)
class NewKey:
    principal: Principal
    secret: str  # shown once, never stored


def hash_key(secret: str, pepper: str) -> str:
    return hmac.new(pepper.encode(), secret.encode(), hashlib.sha256).hexdigest()


class Store:
    def __init__(self, engine: Engine, pepper: str) -> None:
        self.engine = engine
        self.pepper = pepper
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    # -- tenants and keys -------------------------------------------------------------------------
    def ensure_tenant(self, tenant_id: str, name: str | None = None) -> None:
        if not TENANT_ID.match(tenant_id):
            raise InvalidInputError(f"tenant id {tenant_id!r}: expected lowercase letters, digits, '-' or '_' (max 64)")
        with self.sessions.begin() as session:
            if session.get(Tenant, tenant_id) is None:
                session.add(Tenant(id=tenant_id, name=name or tenant_id))

    def create_key(self, tenant_id: str, role: str, name: str) -> NewKey:
        if role not in ROLES:
            raise InvalidInputError(f"role {role!r}: expected one of {', '.join(ROLES)}")
        self.ensure_tenant(tenant_id)
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            role=role,
            name=name,
            prefix=secret[:12],
            key_hash=hash_key(secret, self.pepper),
        )
        with self.sessions.begin() as session:
            session.add(key)
        return NewKey(Principal(key.id, tenant_id, role, name), secret)

    def authenticate(self, secret: str) -> Principal | None:
        if not secret.startswith(KEY_PREFIX) or len(secret) > 200:
            return None
        digest = hash_key(secret, self.pepper)
        with self.sessions() as session:
            key = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
            if key is None or key.revoked_at is not None:
                return None
            return Principal(key.id, key.tenant_id, key.role, key.name)

    # -- browser sessions of the audit UI ---------------------------------------------------------
    def open_ui_session(self, principal: Principal, max_age_s: int) -> str:
        """A new session for ``principal``: the token for the cookie (shown once, stored as an HMAC)."""
        token = secrets.token_urlsafe(32)
        with self.sessions.begin() as session:
            session.add(UiSession(
                token_hash=hash_key(token, self.pepper), tenant_id=principal.tenant_id, api_key_id=principal.key_id,
                expires_at=utcnow() + timedelta(seconds=max_age_s),
            ))  # fmt: skip
        return token

    def ui_session_principal(self, token: str) -> Principal | None:
        """The caller behind a session token, or None when it is unknown, revoked, expired or its key revoked."""
        if not token or len(token) > 200:
            return None
        with self.sessions() as session:
            row = session.get(UiSession, hash_key(token, self.pepper))
            if row is None or row.revoked_at is not None or _aware(row.expires_at) <= utcnow():
                return None
            key = session.get(ApiKey, row.api_key_id)
            if key is None or key.revoked_at is not None:
                return None
            return Principal(key.id, key.tenant_id, key.role, key.name)

    def close_ui_session(self, token: str) -> None:
        with self.sessions.begin() as session:
            row = session.get(UiSession, hash_key(token, self.pepper)) if token and len(token) <= 200 else None
            if row is not None and row.revoked_at is None:
                row.revoked_at = utcnow()

    def revoke_key(self, tenant_id: str, key_id: str) -> None:
        with self.sessions.begin() as session:
            key = session.get(ApiKey, key_id)
            if key is None or key.tenant_id != tenant_id:
                raise NotFoundError(f"no API key {key_id!r}")
            key.revoked_at = utcnow()

    def list_keys(self, tenant_id: str) -> list[dict[str, Any]]:
        with self.sessions() as session:
            rows = session.scalars(select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.created_at))
            return [
                {
                    "id": k.id,
                    "name": k.name,
                    "role": k.role,
                    "prefix": k.prefix,
                    "created_at": in_utc(k.created_at),
                    "revoked_at": in_utc(k.revoked_at),
                }
                for k in rows
            ]

    # -- suggestions and decisions ----------------------------------------------------------------
    def add_suggestions(self, rows: Sequence[dict[str, Any]]) -> list[str]:
        """Insert suggestion rows (columns of :class:`Suggestion` without ``id``); returns their ids."""
        ids = []
        with self.sessions.begin() as session:
            for row in rows:
                suggestion = Suggestion(id=str(uuid.uuid4()), created_at=utcnow(), **row)
                session.add(suggestion)
                ids.append(suggestion.id)
        return ids

    def suggestion(self, tenant_id: str, suggestion_id: str) -> Suggestion:
        with self.sessions() as session:
            row = session.get(Suggestion, suggestion_id)
            if row is None or row.tenant_id != tenant_id:
                raise NotFoundError(f"no suggestion {suggestion_id!r}")
            return row

    def add_decision(
        self,
        principal: Principal,
        suggestion_id: str,
        *,
        agent_id: str,
        accepted: bool,
        reason: str | None,
        outcome: str | None,
        disposition_code: str | None,
        note: str | None,
    ) -> Decision:
        suggestion = self.suggestion(principal.tenant_id, suggestion_id)
        decision = Decision(
            id=str(uuid.uuid4()),
            suggestion_id=suggestion.id,
            tenant_id=principal.tenant_id,
            api_key_id=principal.key_id,
            agent_id=agent_id,
            accepted=accepted,
            reason=reason,
            outcome=outcome,
            disposition_code=disposition_code,
            note=note,
            created_at=utcnow(),
        )
        try:
            with self.sessions.begin() as session:
                session.add(decision)
        except IntegrityError as exc:  # the suggestion vanished meanwhile; never a 500
            raise ConflictError(f"cannot record a decision for suggestion {suggestion_id!r}") from exc
        return decision

    def decisions(self, tenant_id: str, suggestion_id: str) -> list[Decision]:
        self.suggestion(tenant_id, suggestion_id)
        with self.sessions() as session:
            query = (
                select(Decision)
                .where(Decision.tenant_id == tenant_id, Decision.suggestion_id == suggestion_id)
                .order_by(Decision.created_at)
            )
            return list(session.scalars(query))

    def suggestions(
        self, tenant_id: str, *, contact_id: str | None = None, since: datetime | None = None, limit: int = 100
    ) -> list[Suggestion]:
        query = select(Suggestion).where(Suggestion.tenant_id == tenant_id)
        if contact_id is not None:
            query = query.where(Suggestion.contact_id == contact_id)
        if since is not None:
            query = query.where(Suggestion.created_at >= since)
        with self.sessions() as session:
            return list(session.scalars(query.order_by(Suggestion.created_at.desc()).limit(limit)))

    def session(self) -> Session:
        return self.sessions()

    # -- the labelled-contact view for metrics --------------------------------------------------
    def labelled_rows(self, tenant_id: str, since: datetime | None = None) -> list[dict[str, Any]]:
        """One row per contact in the columns of :mod:`dispo.labelled`: the newest suggestion of
        each contact (model labels) with the agent's newest decision on it (agent labels)."""
        latest = (
            select(Suggestion.contact_id, func.max(Suggestion.created_at).label("created_at"))
            .where(Suggestion.tenant_id == tenant_id)
            .group_by(Suggestion.contact_id)
        )
        if since is not None:
            latest = latest.where(Suggestion.created_at >= since)
        newest = latest.subquery()
        query = (
            select(Suggestion)
            .join(
                newest,
                (Suggestion.contact_id == newest.c.contact_id) & (Suggestion.created_at == newest.c.created_at),
            )
            .where(Suggestion.tenant_id == tenant_id)
        )
        rows: dict[str, dict[str, Any]] = {}
        with self.sessions() as session:
            suggestions = list(session.scalars(query))
            ids = [s.id for s in suggestions]
            decisions: dict[str, Decision] = {}
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                for decision in session.scalars(
                    select(Decision)
                    .where(Decision.tenant_id == tenant_id, Decision.suggestion_id.in_(chunk))
                    .order_by(Decision.created_at)
                ):
                    decisions[decision.suggestion_id] = decision  # the newest wins
        for s in suggestions:
            chosen = decisions.get(s.id)
            submitted = (s.contact or {}).get("agent_labels") or {}  # a code sent with the contact
            agent_reason = chosen.reason if chosen else submitted.get("reason")
            agent_outcome = chosen.outcome if chosen else submitted.get("outcome")
            rows[s.contact_id] = {
                "contact_id": s.contact_id,
                "customer_id": s.customer_id,
                "channel": s.channel,
                "provider": s.provider,
                "agent_id": s.agent_id,
                "queue": s.queue,
                "started_at": in_utc(s.started_at),
                "ended_at": in_utc(s.ended_at),
                "n_turns": s.n_turns,
                "model_version": s.model_version,
                "reason": s.reason,
                "reason_probability": s.reason_probability,
                "outcome": s.outcome,
                "sentiment": s.sentiment,
                "sentiment_start": ((s.prediction or {}).get("sentiment_start") or {}).get("label"),
                "upsell_probability": s.upsell_probability,
                "disposition_code": s.disposition_code,
                "agent_reason": agent_reason,
                "agent_outcome": agent_outcome,
                "agent_code": chosen.disposition_code if chosen else None,
            }
        return list(rows.values())


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes for timezone-aware columns: they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
