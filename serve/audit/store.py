"""Reads and writes of the QA audit: items, decisions, and what is computed from them (next item,
agreement, agent accuracy). Every query is scoped to a tenant, like :mod:`serve.store`.

Decisions are only ever inserted: there is no update or delete path here, and the migration's
triggers refuse both in the database.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, and_, exists, func, not_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from dispo.audit.agreement import analyst_agreement
from dispo.audit.items import current_value, item_from_suggestion, item_summary
from dispo.audit.ranking import RankingConfig
from dispo.audit.sampling import GROUPS, accuracy_by_group
from dispo.contact import CHANNELS, in_utc
from dispo.errors import ConflictError, InvalidInputError, NotFoundError
from serve.audit.db import ACTIONS, MODES, SOURCES, AuditDecision, AuditItem
from serve.db import Decision, Suggestion, Tenant, utcnow
from serve.store import Principal

logger = logging.getLogger(__name__)

SORTS = ("suspicion", "random", "confidence", "started_at", "agent")
STATUSES = ("pending", "not_mine", "audited", "all")
MAX_PAGE = 500
NEXT_WINDOW = 5_000  # queue positions searched for the item after the current one


@dataclass(frozen=True)
class QueueQuery:
    """What part of the queue to list, in which order. ``status``: ``pending`` (no decision yet),
    ``not_mine`` (not decided by the caller: a second opinion), ``audited``, ``all``.
    ``sort``: ``suspicion`` (most likely wrong first), ``random`` (the uniform sample order),
    ``confidence`` (least confident model first), ``started_at`` (newest first), ``agent``."""

    provider: str | None = None
    agent_id: str | None = None
    queue: str | None = None
    channel: str | None = None
    reason: str | None = None  # the agent's reason
    outcome: str | None = None  # the agent's outcome
    source: str | None = None
    disagrees: bool | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    status: str = "pending"
    sort: str = "suspicion"
    limit: int = 50
    offset: int = 0

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise InvalidInputError(f"status {self.status!r}: expected one of {', '.join(STATUSES)}")
        if self.sort not in SORTS:
            raise InvalidInputError(f"sort {self.sort!r}: expected one of {', '.join(SORTS)}")
        if self.source is not None and self.source not in SOURCES:
            raise InvalidInputError(f"source {self.source!r}: expected one of {', '.join(SOURCES)}")
        if self.channel is not None and self.channel not in CHANNELS:
            raise InvalidInputError(f"channel {self.channel!r}: expected one of {', '.join(CHANNELS)}")
        if not 1 <= self.limit <= MAX_PAGE:
            raise InvalidInputError(f"limit {self.limit}: expected 1 to {MAX_PAGE}")
        if self.offset < 0:
            raise InvalidInputError(f"offset {self.offset}: expected >= 0")
        if self.date_from and self.date_to and self.date_to <= self.date_from:  # date_to is exclusive
            raise InvalidInputError("date_to is before date_from")

    @property
    def mode(self) -> str:
        """How a decision reached from this queue is recorded."""
        return {"suspicion": "ranked", "random": "random"}.get(self.sort, "direct")


@dataclass(frozen=True)
class ImportStats:
    added: int
    skipped: int  # already in the queue (same tenant, contact and source)
    without_code: int = 0  # no agent code: nothing to audit


@dataclass
class QueuePage:
    items: list[dict[str, Any]]
    total: int
    query: QueueQuery


class AuditStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    # -- items ------------------------------------------------------------------------------------
    def add_items(self, tenant_id: str, rows: Iterable[dict[str, Any]], chunk: int = 1_000) -> ImportStats:
        """Insert items (columns of :class:`AuditItem` without id/tenant); existing ones are skipped."""
        rows = list(rows)
        added = skipped = 0
        with self.sessions() as session:
            if session.get(Tenant, tenant_id) is None:
                raise NotFoundError(f"no tenant {tenant_id!r}: create it first (`dispo keys create --tenant ...`)")
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            with self.sessions.begin() as session:
                found = session.execute(
                    select(AuditItem.contact_id, AuditItem.source).where(
                        AuditItem.tenant_id == tenant_id, AuditItem.contact_id.in_({r["contact_id"] for r in part})
                    )
                )
                existing = {(contact_id, source) for contact_id, source in found}
                for row in part:
                    key = (row["contact_id"], row["source"])
                    if key in existing:
                        skipped += 1
                        continue
                    existing.add(key)
                    session.add(AuditItem(id=str(uuid.uuid4()), tenant_id=tenant_id, created_at=utcnow(), **row))
                    added += 1
        return ImportStats(added, skipped)

    def item(self, tenant_id: str, item_id: str) -> AuditItem:
        with self.sessions() as session:
            row = session.get(AuditItem, item_id)
            if row is None or row.tenant_id != tenant_id:
                raise NotFoundError(f"no audit item {item_id!r}")
            return row

    def set_explanation(self, tenant_id: str, item_id: str, explanation: dict[str, Any]) -> None:
        """Cache an item's explanation (items are not the log: only decisions are append-only)."""
        with self.sessions.begin() as session:
            row = session.get(AuditItem, item_id)
            if row is None or row.tenant_id != tenant_id:
                raise NotFoundError(f"no audit item {item_id!r}")
            row.explanation = explanation

    def queue(self, tenant_id: str, query: QueueQuery, analyst_key_id: str | None = None) -> QueuePage:
        base = self._filtered(tenant_id, query, analyst_key_id)
        with self.sessions() as session:
            total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
            rows = list(session.scalars(self._ordered(base, query).limit(query.limit).offset(query.offset)))
            decided = self._decisions_by_item(session, tenant_id, [r.id for r in rows])
        return QueuePage([item_summary(r, decided.get(r.id, [])) for r in rows], total, query)

    def next_item(
        self, tenant_id: str, query: QueueQuery, analyst_key_id: str | None, after: str | None = None
    ) -> str | None:
        """The id of the item that follows ``after`` in the queue (the first one when ``after``
        is no longer in it, e.g. just decided), or None at the end of the queue."""
        filtered = self._filtered(tenant_id, query, analyst_key_id)
        statement = self._ordered(filtered, query).with_only_columns(AuditItem.id)
        with self.sessions() as session:
            # The common case, a decision that takes the item out of the queue, needs no scan.
            still_queued = after is not None and session.scalar(
                filtered.where(AuditItem.id == after).with_only_columns(AuditItem.id)
            )
            if not still_queued:
                return session.scalars(statement.limit(1)).first()
            ids = list(session.scalars(statement.limit(NEXT_WINDOW)))
        if after in ids:
            position = ids.index(after)
            return ids[position + 1] if position + 1 < len(ids) else None
        return ids[0] if ids else None

    def next_items(self, tenant_id: str, query: QueueQuery, analyst_key_id: str | None, n: int) -> list[str]:
        statement = self._ordered(self._filtered(tenant_id, query, analyst_key_id), query).limit(n)
        with self.sessions() as session:
            return [r.id for r in session.scalars(statement)]

    def _filtered(self, tenant_id: str, query: QueueQuery, analyst_key_id: str | None) -> Select[AuditItem]:
        statement = select(AuditItem).where(AuditItem.tenant_id == tenant_id)
        for column, value in (
            (AuditItem.provider, query.provider),
            (AuditItem.agent_id, query.agent_id),
            (AuditItem.queue, query.queue),
            (AuditItem.channel, query.channel),
            (AuditItem.agent_reason, query.reason),
            (AuditItem.agent_outcome, query.outcome),
            (AuditItem.source, query.source),
            (AuditItem.disagrees, query.disagrees),
        ):
            if value is not None:
                statement = statement.where(column == value)
        if query.date_from is not None:
            statement = statement.where(AuditItem.started_at >= query.date_from)
        if query.date_to is not None:
            statement = statement.where(AuditItem.started_at < query.date_to)
        decided = exists().where(AuditDecision.item_id == AuditItem.id, AuditDecision.tenant_id == tenant_id)
        if query.status == "pending":
            statement = statement.where(not_(decided))
        elif query.status == "audited":
            statement = statement.where(decided)
        elif query.status == "not_mine":
            mine = exists().where(
                AuditDecision.item_id == AuditItem.id,
                AuditDecision.tenant_id == tenant_id,
                AuditDecision.analyst_key_id == (analyst_key_id or ""),
            )
            statement = statement.where(not_(mine))
        return statement

    @staticmethod
    def _ordered(statement: Select[AuditItem], query: QueueQuery) -> Select[AuditItem]:
        order = {
            "suspicion": (AuditItem.suspicion.desc(), AuditItem.reason_probability.asc(), AuditItem.random_key),
            "random": (AuditItem.random_key.asc(),),
            "confidence": (AuditItem.reason_probability.asc(), AuditItem.suspicion.desc()),
            "started_at": (AuditItem.started_at.desc(), AuditItem.random_key),
            "agent": (AuditItem.agent_id.asc(), AuditItem.suspicion.desc()),
        }[query.sort]
        return statement.order_by(*order, AuditItem.id)

    def choices(self, tenant_id: str) -> dict[str, list[str]]:
        """The distinct providers, agents, queues and channels of the tenant's items (filter menus)."""
        out: dict[str, list[str]] = {}
        with self.sessions() as session:
            for name, column in (
                ("provider", AuditItem.provider),
                ("agent_id", AuditItem.agent_id),
                ("queue", AuditItem.queue),
                ("channel", AuditItem.channel),
            ):
                values = session.scalars(
                    select(column).where(AuditItem.tenant_id == tenant_id, column.is_not(None)).distinct().limit(2_000)
                )
                out[name] = sorted(v for v in values if v)
        return out

    def summary(self, tenant_id: str, query: QueueQuery) -> dict[str, int]:
        """How many items the filters select, and how many of them are audited."""
        counts = {}
        with self.sessions() as session:
            for status in ("all", "audited"):
                filters = QueueQuery(**{**query.__dict__, "status": status, "limit": 1, "offset": 0})
                statement = select(func.count()).select_from(self._filtered(tenant_id, filters, None).subquery())
                counts[status] = session.scalar(statement) or 0
        return {"total": counts["all"], "audited": counts["audited"], "pending": counts["all"] - counts["audited"]}

    # -- decisions --------------------------------------------------------------------------------
    def add_decision(
        self,
        principal: Principal,
        item_id: str,
        *,
        action: str,
        reason: str | None,
        outcome: str | None,
        code: str | None,
        note: str | None,
        mode: str = "direct",
    ) -> AuditDecision:
        """Append one decision; ``previous`` records the audited value it replaces."""
        if action not in ACTIONS:
            raise InvalidInputError(f"action {action!r}: expected one of {', '.join(ACTIONS)}")
        if mode not in MODES:
            raise InvalidInputError(f"mode {mode!r}: expected one of {', '.join(MODES)}")
        item = self.item(principal.tenant_id, item_id)
        with self.sessions() as session:
            history = self._decisions_by_item(session, principal.tenant_id, [item.id]).get(item.id, [])
        previous = current_value(item, history)
        decision = AuditDecision(
            id=str(uuid.uuid4()),
            tenant_id=principal.tenant_id,
            item_id=item.id,
            analyst_key_id=principal.key_id,
            analyst_name=principal.name,
            action=action,
            mode=mode,
            reason=reason,
            outcome=outcome,
            code=code,
            note=note,
            previous=previous.to_dict(),
            created_at=utcnow(),
        )
        try:
            with self.sessions.begin() as session:
                session.add(decision)
        except IntegrityError as exc:
            raise ConflictError(f"cannot record a decision for audit item {item_id!r}") from exc
        return decision

    def decisions(self, tenant_id: str, item_id: str) -> list[dict[str, Any]]:
        self.item(tenant_id, item_id)
        with self.sessions() as session:
            return self._decisions_by_item(session, tenant_id, [item_id]).get(item_id, [])

    @staticmethod
    def _decisions_by_item(session: Any, tenant_id: str, item_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        if not item_ids:
            return {}
        rows = session.scalars(
            select(AuditDecision)
            .where(AuditDecision.tenant_id == tenant_id, AuditDecision.item_id.in_(list(item_ids)))
            .order_by(AuditDecision.created_at, AuditDecision.id)
        )
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for d in rows:
            out[d.item_id].append(decision_dict(d))
        return dict(out)

    def audited(self, tenant_id: str, query: QueueQuery | None = None) -> list[tuple[AuditItem, list[dict[str, Any]]]]:
        """Every audited item (matching ``query``'s filters) with its decisions, oldest first."""
        query = query or QueueQuery()
        filters = QueueQuery(**{**query.__dict__, "status": "audited", "limit": 1, "offset": 0})
        statement = self._filtered(tenant_id, filters, None).order_by(AuditItem.created_at, AuditItem.id)
        with self.sessions() as session:
            items = list(session.scalars(statement))
            decided: dict[str, list[dict[str, Any]]] = {}
            for start in range(0, len(items), 500):
                chunk = [i.id for i in items[start : start + 500]]
                decided.update(self._decisions_by_item(session, tenant_id, chunk))
        return [(item, decided.get(item.id, [])) for item in items]

    # -- what the audits say ----------------------------------------------------------------------
    def agreement(self, tenant_id: str, query: QueueQuery | None = None) -> dict[str, Any]:
        """Cohen's kappa between the analysts who audited the same items (see
        :func:`dispo.audit.agreement.analyst_agreement`)."""
        return analyst_agreement(decisions for _, decisions in self.audited(tenant_id, query))

    def accuracy(
        self, tenant_id: str, query: QueueQuery | None = None, group_by: str | None = None, confidence: float = 0.95
    ) -> dict[str, Any]:
        """Agent-disposition accuracy estimated on the uniform sample: the items in random-key order
        before the first one not yet audited (see :func:`dispo.audit.sampling.sample_prefix`)."""
        if group_by is not None and group_by not in GROUPS:
            raise InvalidInputError(f"group_by {group_by!r}: expected one of {', '.join(GROUPS)}")
        query = query or QueueQuery()
        filters = QueueQuery(**{**query.__dict__, "status": "all", "sort": "random", "limit": 1, "offset": 0})
        base = self._filtered(tenant_id, filters, None).where(AuditItem.agent_reason.is_not(None))
        decided = exists().where(AuditDecision.item_id == AuditItem.id, AuditDecision.tenant_id == tenant_id)
        with self.sessions() as session:
            frontier = session.scalar(base.where(not_(decided)).with_only_columns(func.min(AuditItem.random_key)))
            statement = base.where(decided)
            if frontier is not None:
                statement = statement.where(AuditItem.random_key < frontier)
            population = session.scalar(select(func.count()).select_from(base.subquery())) or 0
            items = list(session.scalars(self._ordered(statement, filters)))
            decided_rows: dict[str, list[dict[str, Any]]] = {}
            for start in range(0, len(items), 500):
                chunk = [i.id for i in items[start : start + 500]]
                decided_rows.update(self._decisions_by_item(session, tenant_id, chunk))
        judged = []
        for item in items:
            value = current_value(item, decided_rows.get(item.id, []))
            group = None if group_by is None else getattr(item, {"agent": "agent_id"}.get(group_by, group_by))
            agent = (item.agent_reason, item.agent_outcome)
            judged.append((group, (value.reason, value.outcome) == agent, value.reason == item.agent_reason))
        rows = accuracy_by_group(judged, confidence=confidence)
        return {
            "group_by": group_by,
            "population": population,
            "sample_size": len(items),
            "complete": frontier is None,
            "method": "uniform random sample (random-key order), Wilson score interval",
            "rows": rows,
        }

    def uniform_sample_ids(self, tenant_id: str) -> set[str]:
        """The ids of the audited uniform sample (all of the tenant's items with an agent code,
        in random-key order, before the first one not yet audited)."""
        base = self._filtered(tenant_id, QueueQuery(status="all"), None).where(AuditItem.agent_reason.is_not(None))
        decided = exists().where(AuditDecision.item_id == AuditItem.id, AuditDecision.tenant_id == tenant_id)
        with self.sessions() as session:
            frontier = session.scalar(base.where(not_(decided)).with_only_columns(func.min(AuditItem.random_key)))
            statement = base.where(decided).with_only_columns(AuditItem.id)
            if frontier is not None:
                statement = statement.where(AuditItem.random_key < frontier)
            return set(session.scalars(statement))

    def sample(self, tenant_id: str, n: int, query: QueueQuery | None = None) -> list[dict[str, Any]]:
        """The first ``n`` items of the uniform random order within ``query``'s filters."""
        query = query or QueueQuery()
        filters = QueueQuery(**{**query.__dict__, "status": "all", "sort": "random", "limit": 1, "offset": 0})
        statement = self._ordered(self._filtered(tenant_id, filters, None), filters).limit(n)
        with self.sessions() as session:
            rows = list(session.scalars(statement))
            decided = self._decisions_by_item(session, tenant_id, [r.id for r in rows])
        return [item_summary(r, decided.get(r.id, [])) for r in rows]

    # -- live suggestions -------------------------------------------------------------------------
    def enqueue_live(self, tenant_id: str, config: RankingConfig | None = None, limit: int = 10_000) -> ImportStats:
        """Queue the service's stored suggestions that have an agent decision (the agent's code),
        newest suggestion per contact; contacts already queued from live are skipped."""
        queued = select(AuditItem.contact_id).where(AuditItem.tenant_id == tenant_id, AuditItem.source == "live")
        latest = (
            select(Decision.suggestion_id, func.max(Decision.created_at).label("at"))
            .where(Decision.tenant_id == tenant_id)
            .group_by(Decision.suggestion_id)
            .subquery()
        )
        statement = (
            select(Suggestion, Decision)
            .join(latest, latest.c.suggestion_id == Suggestion.id)
            .join(Decision, and_(Decision.suggestion_id == Suggestion.id, Decision.created_at == latest.c.at))
            .where(Suggestion.tenant_id == tenant_id, Suggestion.contact_id.not_in(queued))
            .order_by(Suggestion.created_at.desc())
            .limit(limit)
        )
        rows: dict[str, dict[str, Any]] = {}
        without = 0
        with self.sessions() as session:
            for suggestion, decision in session.execute(statement).all():
                if suggestion.contact_id in rows:
                    continue  # an older suggestion for a contact already taken
                row = item_from_suggestion(suggestion, decision, config)
                if row is None:
                    without += 1
                    continue
                rows[suggestion.contact_id] = row
        stats = self.add_items(tenant_id, rows.values())
        return ImportStats(stats.added, stats.skipped, without)


# -- rows ------------------------------------------------------------------------------------------
def decision_dict(d: AuditDecision) -> dict[str, Any]:
    return {
        "id": d.id,
        "item_id": d.item_id,
        "analyst_key_id": d.analyst_key_id,
        "analyst_name": d.analyst_name,
        "action": d.action,
        "mode": d.mode,
        "reason": d.reason,
        "outcome": d.outcome,
        "code": d.code,
        "note": d.note,
        "previous": d.previous,
        "created_at": in_utc(d.created_at).isoformat() if d.created_at else None,  # type: ignore[union-attr]
    }


def _decided_at(decision: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(decision["created_at"])


def audited_training_contacts(
    store: AuditStore, tenant_id: str, query: QueueQuery | None = None
) -> list[tuple[AuditItem, dict[str, Any], Any]]:
    """Each audited contact with its latest decision and the contact as training data (audited
    labels, see :func:`dispo.audit.export.audited_contact`). A contact audited in two items (queued
    from a batch and from a live session) appears once, with the latest decision of either, as the
    metrics read it; oldest decision first."""
    from dispo.audit.export import audited_contact

    latest: dict[str, tuple[AuditItem, list[dict[str, Any]]]] = {}
    incomplete = 0
    for item, decisions in store.audited(tenant_id, query):
        last = decisions[-1]
        if not last["reason"] or not last["outcome"]:
            incomplete += 1
            continue
        kept = latest.get(item.contact_id)
        if kept is None or _decided_at(last) >= _decided_at(kept[1][-1]):
            latest[item.contact_id] = (item, decisions)
    if incomplete:
        logger.warning("%d audited items left out: their latest decision has no whole code (reason and outcome)",
                       incomplete)  # fmt: skip
    out = []
    for item, decisions in sorted(latest.values(), key=lambda pair: _decided_at(pair[1][-1])):
        last = decisions[-1]
        audit = {
            "decision_id": last["id"],
            "analyst": last["analyst_name"],
            "at": last["created_at"],
            "action": last["action"],
            "decisions": len(decisions),
            "agent_reason": item.agent_reason,
            "agent_outcome": item.agent_outcome,
            "model_version": item.model_version,
            "source": item.source,
        }
        out.append((item, last, audited_contact(item.contact, last["reason"], last["outcome"], audit)))
    return out
