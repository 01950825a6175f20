"""The QA audit's JSON API: the queue, items, analysts' decisions, and what the audits say
(agent accuracy on a uniform sample, agreement between analysts). Logic is in
:mod:`serve.audit.service` and :mod:`serve.audit.store`; this module validates and delegates."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from dispo.audit.items import current_value, item_summary
from serve.audit.deps import AUDIT_ROLES, AuditDep, ItemId, require_audit
from serve.audit.store import MAX_PAGE, QueueQuery, decision_dict
from serve.bodies import JSONBodyRoute
from serve.deps import InferenceDep
from serve.routes.dispositions import ERRORS
from serve.store import Principal

router = APIRouter(prefix="/v1/audit", tags=["audit"], route_class=JSONBodyRoute)
reader = require_audit(*AUDIT_ROLES)
analyst = require_audit("analyst")
Text = Annotated[str | None, Query(max_length=200)]
# An empty date field of the UI's filter form means "no bound", not an invalid date.
OptionalDate = Annotated[date | None, BeforeValidator(lambda value: value or None)]


def queue_query(
    provider: Text = None,
    agent_id: Text = None,
    queue: Text = None,
    channel: Text = None,
    reason: Annotated[str | None, Query(max_length=200, description="the agent's reason")] = None,
    outcome: Annotated[str | None, Query(max_length=64, description="the agent's outcome")] = None,
    source: Annotated[Literal["batch", "live"] | None, Query()] = None,
    disagrees: Annotated[bool | None, Query(description="model and agent codes differ")] = None,
    date_from: Annotated[OptionalDate, Query(description="contacts started on or after (UTC)")] = None,
    date_to: Annotated[OptionalDate, Query(description="contacts started on or before (UTC)")] = None,
    status: Annotated[Literal["pending", "not_mine", "audited", "all"], Query()] = "pending",
    sort: Annotated[Literal["suspicion", "random", "confidence", "started_at", "agent"], Query()] = "suspicion",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> QueueQuery:
    return QueueQuery(
        provider=provider or None,
        agent_id=agent_id or None,
        queue=queue or None,
        channel=channel or None,
        reason=reason or None,
        outcome=outcome or None,
        source=source,
        disagrees=disagrees,
        date_from=datetime.combine(date_from, time(), UTC) if date_from else None,
        date_to=datetime.combine(date_to + timedelta(days=1), time(), UTC) if date_to else None,
        status=status,
        sort=sort,
        limit=limit,
        offset=offset,
    )


Filters = Annotated[QueueQuery, Depends(queue_query)]


class DecisionIn(BaseModel):
    """An analyst's verdict: ``confirm`` the agent's code, ``accept_model`` (the model's code),
    or ``other`` with the reason and outcome picked from the taxonomy."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["confirm", "accept_model", "other"]
    reason: str | None = Field(default=None, max_length=200)
    outcome: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=2_000)
    mode: Literal["ranked", "random", "direct"] = Field(default="direct", description="the queue it was reached from")


@router.get("/items", responses=ERRORS, summary="The audit queue: filtered, sorted, paginated")
async def items(
    query: Filters,
    caller: Annotated[Principal, Depends(reader)],
    audit: AuditDep,
) -> dict[str, Any]:
    page = await run_in_threadpool(audit.store.queue, caller.tenant_id, query, caller.key_id)
    return {"items": page.items, "total": page.total, "limit": query.limit, "offset": query.offset}


@router.get("/next", responses=ERRORS, summary="The next item of a queue for the caller")
async def next_item(
    query: Filters,
    caller: Annotated[Principal, Depends(reader)],
    audit: AuditDep,
    after: Annotated[str | None, Query(max_length=64, description="skip this item")] = None,
) -> dict[str, Any]:
    item_id = await run_in_threadpool(audit.store.next_item, caller.tenant_id, query, caller.key_id, after)
    return {"item_id": item_id}


@router.get("/items/{item_id}", responses=ERRORS, summary="One item: contact, predictions, explanation, decisions")
async def item(
    item_id: ItemId,
    caller: Annotated[Principal, Depends(reader)],
    audit: AuditDep,
    inference: InferenceDep,
) -> dict[str, Any]:
    row = await run_in_threadpool(audit.store.item, caller.tenant_id, item_id)
    decisions = await run_in_threadpool(audit.store.decisions, caller.tenant_id, item_id)
    explanation = await audit.explanation(row, inference)
    return {
        **item_summary(row, decisions),
        "reasons": row.reasons,
        "contact": row.contact,
        "explanation": explanation,
        "current": current_value(row, decisions).to_dict(),
        "decisions": decisions,
    }


@router.get("/items/{item_id}/decisions", responses=ERRORS, summary="An item's audit log, oldest first")
async def decisions(
    item_id: ItemId,
    caller: Annotated[Principal, Depends(reader)],
    audit: AuditDep,
) -> list[dict[str, Any]]:
    return await run_in_threadpool(audit.store.decisions, caller.tenant_id, item_id)


@router.post("/items/{item_id}/decisions", status_code=201, responses=ERRORS, summary="Record an audit decision")
async def decide(
    item_id: ItemId,
    body: DecisionIn,
    caller: Annotated[Principal, Depends(analyst)],
    audit: AuditDep,
    inference: InferenceDep,
) -> dict[str, Any]:
    decision = await audit.decide(
        caller,
        item_id,
        inference,
        action=body.action,
        reason=body.reason,
        outcome=body.outcome,
        note=body.note,
        mode=body.mode,
    )
    return decision_dict(decision)


@router.get("/sample", responses=ERRORS, summary="A uniform random sample of the filtered items")
async def sample(
    query: Filters,
    caller: Annotated[Principal, Depends(reader)],
    audit: AuditDep,
    n: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    rows = await run_in_threadpool(audit.store.sample, caller.tenant_id, n, query)
    return {"n": len(rows), "audited": sum(1 for r in rows if r["audits"]), "items": rows}


@router.get("/accuracy", responses=ERRORS, summary="Agent-disposition accuracy from the uniform sample")
async def accuracy(
    query: Filters,
    caller: Annotated[Principal, Depends(reader)],
    audit: AuditDep,
    group_by: Annotated[Literal["agent", "provider", "queue", "channel"] | None, Query()] = None,
    confidence: Annotated[float, Query(gt=0.5, lt=1.0)] = 0.95,
) -> dict[str, Any]:
    return await run_in_threadpool(audit.store.accuracy, caller.tenant_id, query, group_by, confidence)


@router.get("/agreement", responses=ERRORS, summary="Agreement between analysts (Cohen's kappa)")
async def agreement(
    query: Filters,
    caller: Annotated[Principal, Depends(reader)],
    audit: AuditDep,
) -> dict[str, Any]:
    return await run_in_threadpool(audit.store.agreement, caller.tenant_id, query)


@router.post("/live", responses=ERRORS, summary="Queue the stored live/API suggestions that have an agent decision")
async def enqueue_live(
    caller: Annotated[Principal, Depends(reader)],
    audit: AuditDep,
) -> dict[str, int]:
    stats = await run_in_threadpool(audit.store.enqueue_live, caller.tenant_id)
    return {"added": stats.added, "skipped": stats.skipped, "without_code": stats.without_code}
