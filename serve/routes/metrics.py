"""Contact-center metrics over the tenant's record (role analyst): the same numbers as `dispo report`.

The labelled view of the store (newest suggestion per contact, the agent's newest decision, and
audits where the audit store has them) goes into DuckDB once per request; the definitions live in
:mod:`dispo.metrics`, nothing is computed here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import pyarrow as pa
from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from dispo.errors import ConfigError, InvalidInputError
from dispo.labelled import LABELLED_SCHEMA
from dispo.metrics import (
    DIMENSIONS,
    MetricsConfig,
    MetricsSource,
    compare_label_sources,
    compute_metrics,
    open_source,
    provider_scorecard,
    reason_mix,
    report_data,
)
from dispo.metrics.report import fcr_trend_png, heatmap_png, reason_mix_png, render_html
from serve.audit.store import AuditStore
from serve.bodies import JSONBodyRoute
from serve.deps import InferenceDep, StoreDep, require
from serve.inference import InferenceService
from serve.routes.dispositions import ERRORS
from serve.store import STORE_LABELLED_COLUMNS, Principal, Store

router = APIRouter(prefix="/v1/metrics", tags=["metrics"], route_class=JSONBodyRoute)
analyst = require("analyst", "admin")

LABELS = Query(
    pattern=r"^(audit|agent|model)(,(audit|agent|model)){0,2}$",
    description="label priority: the first source with a label wins, per contact",
)
SINCE = Query(description="only contacts suggested at or after this time (ISO-8601)")


def metrics_config(labels: str, window_mode: str, window_days: float | None) -> MetricsConfig:
    try:
        return MetricsConfig(
            label_priority=tuple(labels.split(",")),
            window_mode=window_mode,  # type: ignore[arg-type]
            window_days=window_days,
        )
    except ConfigError as exc:  # it names the bad value
        raise InvalidInputError(str(exc), []) from exc


def tenant_source(store: Store, inference: InferenceService, tenant_id: str, since: datetime | None) -> MetricsSource:
    rows = store.labelled_rows(tenant_id, since)
    schema = pa.schema([f for f in LABELLED_SCHEMA if f.name in STORE_LABELLED_COLUMNS])
    table = pa.Table.from_pylist(rows, schema=schema)
    audits = audit_table(store, tenant_id)
    return open_source(table, audits=audits, taxonomy=inference.taxonomy, threads=2)


def audit_table(store: Store, tenant_id: str) -> pa.Table | None:
    """The tenant's latest audit verdict per contact, marked when it is in the uniform sample
    (only those estimate agent accuracy without bias)."""
    audits = AuditStore(store.engine)
    audited = audits.audited(tenant_id)
    if not audited:
        return None
    uniform = audits.uniform_sample_ids(tenant_id)
    rows = [
        {
            "contact_id": item.contact_id,
            "audit_reason": decisions[-1]["reason"],
            "audit_outcome": decisions[-1]["outcome"],
            "in_uniform_sample": item.id in uniform,
            "decided_at": decisions[-1]["created_at"],  # ISO-8601; a contact queued twice: the latest wins
        }
        for item, decisions in audited
        if decisions
    ]
    return pa.Table.from_pylist(rows) if rows else None


async def _compute(
    store: Store, inference: InferenceService, caller: Principal, since: datetime | None, work: Any
) -> Any:
    def run() -> Any:
        source = tenant_source(store, inference, caller.tenant_id, since)
        try:
            return work(source)
        finally:
            source.close()

    return await run_in_threadpool(run)


Common = tuple[Principal, Store, InferenceService]


def common(
    caller: Annotated[Principal, Depends(analyst)],
    store: StoreDep,
    inference: InferenceDep,
) -> Common:
    return caller, store, inference


@router.get("", responses=ERRORS, summary="Every metric, overall and optionally by slices")
async def metrics(
    deps: Annotated[Common, Depends(common)],
    labels: Annotated[str, LABELS] = "audit,agent,model",
    by: Annotated[str | None, Query(description=f"comma-separated slices of: {', '.join(DIMENSIONS)}")] = None,
    window_mode: Annotated[Literal["same_category", "any_reason"], Query()] = "same_category",
    window_days: Annotated[float | None, Query(gt=0, le=365)] = None,
    since: Annotated[datetime | None, SINCE] = None,
) -> dict[str, Any]:
    caller, store, inference = deps
    config = metrics_config(labels, window_mode, window_days)
    slices = tuple(by.split(",")) if by else None
    unknown = [s for s in slices or () if s not in DIMENSIONS]
    if unknown:
        raise InvalidInputError(f"unknown slice {unknown}; expected some of {', '.join(DIMENSIONS)}", [])
    result: dict[str, Any] = await _compute(
        store, inference, caller, since, lambda s: compute_metrics(s, config, slices)
    )
    return result


@router.get("/scorecard", responses=ERRORS, summary="The provider scorecard")
async def scorecard(
    deps: Annotated[Common, Depends(common)],
    labels: Annotated[str, LABELS] = "audit,agent,model",
    since: Annotated[datetime | None, SINCE] = None,
) -> dict[str, Any]:
    caller, store, inference = deps
    config = metrics_config(labels, "same_category", None)
    result: dict[str, Any] = await _compute(store, inference, caller, since, lambda s: provider_scorecard(s, config))
    return result


@router.get("/labels", responses=ERRORS, summary="The same metrics from agent codes beside model codes")
async def label_sources(
    deps: Annotated[Common, Depends(common)],
    by: Annotated[Literal["provider", "channel", "agent", "queue"] | None, Query()] = None,
    since: Annotated[datetime | None, SINCE] = None,
) -> dict[str, Any]:
    caller, store, inference = deps
    result: dict[str, Any] = await _compute(
        store, inference, caller, since, lambda s: compare_label_sources(s, MetricsConfig(), ("agent", "model"), by)
    )
    return result


@router.get("/reasons", responses=ERRORS, summary="Contacts per reason, by label source")
async def reasons(
    deps: Annotated[Common, Depends(common)], since: Annotated[datetime | None, SINCE] = None
) -> dict[str, Any]:
    caller, store, inference = deps
    result: dict[str, Any] = await _compute(store, inference, caller, since, lambda s: reason_mix(s, MetricsConfig()))
    return result


@router.get("/dashboard", response_class=HTMLResponse, responses=ERRORS, summary="The metrics report as a page")
async def dashboard(
    deps: Annotated[Common, Depends(common)],
    labels: Annotated[str, LABELS] = "audit,agent,model",
    since: Annotated[datetime | None, SINCE] = None,
) -> HTMLResponse:
    caller, store, inference = deps
    config = metrics_config(labels, "same_category", None)

    def page(source: MetricsSource) -> str:
        data = report_data(source, config)
        images = {
            "trend": fcr_trend_png(data["slices"]["week"], data["provider_week"], max(1, config.small_group_n)),
            "heatmap": heatmap_png(data["scorecard"]),
            "reasons": reason_mix_png(data["reason_mix"]),
        }
        return render_html(data, images, [], max(1, config.small_group_n))

    html: str = await _compute(store, inference, caller, since, page)
    return HTMLResponse(html)
