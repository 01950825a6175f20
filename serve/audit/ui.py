"""The QA audit's web pages (server-rendered Jinja2, a little JavaScript, no CDN): login, the
queue, one contact, and the report. Reads and decisions go through the same service as the JSON
API (:mod:`serve.audit.service`); this module only renders, redirects and delegates.

Pages authenticate with the session cookie set by the login page (see :mod:`serve.audit.deps`):
without a valid one they redirect to the login page. Forms post to this site only: a
cookie-authenticated POST must carry an Origin (or Referer) naming this host.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from dispo.audit.explain import OCCLUSION_METHOD, SENTIMENT_METHOD
from dispo.audit.items import current_value
from dispo.errors import ForbiddenError, InvalidInputError, UnauthorizedError
from serve.audit.deps import COOKIE, COOKIE_MAX_AGE, UI_ROLE, AuditDep, ItemId, same_origin, session_principal
from serve.audit.routes import Filters
from serve.audit.service import AuditService
from serve.audit.store import QueueQuery
from serve.bodies import JSONBodyRoute
from serve.deps import InferenceDep, StoreDep, authenticate, get_limiter
from serve.errors import status_for
from serve.inference import InferenceService
from serve.ratelimit import RateLimiter
from serve.store import Principal

router = APIRouter(prefix="/ui", include_in_schema=False, route_class=JSONBodyRoute)
HERE = FilePath(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
STATIC = {"audit.css": "text/css", "audit.js": "text/javascript"}
QUERY_FIELDS = (
    "provider",
    "agent_id",
    "queue",
    "channel",
    "reason",
    "outcome",
    "source",
    "disagrees",
    "status",
    "sort",
)
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def page_principal(
    request: Request,
    store: StoreDep,
    limiter: Annotated[RateLimiter, Depends(get_limiter)],
) -> Principal | None:
    """The analyst behind the session cookie, or None (the page then redirects to the login)."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    if request.method not in ("GET", "HEAD") and not same_origin(request):
        raise ForbiddenError("cross-site request refused: a cookie-authenticated change must come from this site")
    try:
        caller = session_principal(token, store, limiter)
    except UnauthorizedError:
        return None
    return caller if caller.role == UI_ROLE else None


class LoginRequiredError(Exception):
    """A page asked for without an analyst session: the answer is the login page (:func:`to_login`)."""


def signed_in(caller: Annotated[Principal | None, Depends(page_principal)]) -> Principal:
    if caller is None:
        raise LoginRequiredError
    return caller


Caller = Annotated[Principal, Depends(signed_in)]


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


async def to_login(request: Request, exc: Exception) -> RedirectResponse:
    """The login page, which comes back to the page asked for (the handler of :class:`LoginRequiredError`)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/ui/login?{urlencode({'next': target})}", status_code=303)


def query_string(query: QueueQuery, **changes: Any) -> str:
    """The queue's parameters as a query string (what links and forms carry between pages)."""
    values = {name: getattr(query, name) for name in QUERY_FIELDS}
    for name, value in (("date_from", query.date_from), ("date_to", query.date_to)):
        if value is not None:
            shown = value if name == "date_from" else value - timedelta(days=1)  # stored as an exclusive end
            values[name] = shown.date().isoformat()
    values.update(changes)
    clean = {
        k: ("true" if v is True else "false" if v is False else v) for k, v in values.items() if v not in (None, "")
    }
    return urlencode(clean)


# -- login -------------------------------------------------------------------------------------------
@router.get("/login")
async def login_page(request: Request, next: str = "/ui/audit") -> HTMLResponse:
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login")
async def login(
    request: Request,
    store: StoreDep,
    limiter: Annotated[RateLimiter, Depends(get_limiter)],
    api_key: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=500)] = "/ui/audit",
) -> Response:
    target = _safe_next(next)
    if not same_origin(request):
        return render(request, "login.html", {"next": target, "error": "Sign in from this site's own page."}, 403)
    try:
        caller = authenticate(api_key.strip(), store, limiter)
    except UnauthorizedError:
        return render(request, "login.html", {"next": target, "error": "Unknown or revoked API key."}, 401)
    if caller.role != UI_ROLE:
        message = f"A {caller.role} key cannot sign in to the QA audit: use an analyst key."
        return render(request, "login.html", {"next": target, "error": message}, 403)
    token = await run_in_threadpool(store.open_ui_session, caller, COOKIE_MAX_AGE)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
async def logout(request: Request, store: StoreDep) -> Response:
    response = RedirectResponse("/ui/login", status_code=303)
    if same_origin(request):
        token = request.cookies.get(COOKIE)
        if token:
            await run_in_threadpool(store.close_ui_session, token)  # the cookie is dead even if kept
        response.delete_cookie(COOKIE, path="/")
    return response


def _safe_next(target: str) -> str:
    """Only paths of this UI: never an absolute URL (an open redirect)."""
    return target if target.startswith("/ui/") and not target.startswith("//") else "/ui/audit"


# -- pages -------------------------------------------------------------------------------------------
@router.get("")
async def home() -> RedirectResponse:
    return RedirectResponse("/ui/audit", status_code=303)


@router.get("/static/{name}")
async def static(name: str) -> Response:
    if name not in STATIC:
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(HERE / "static" / name, media_type=STATIC[name], headers={"Cache-Control": "max-age=3600"})


@router.get("/audit")
async def queue_page(
    request: Request,
    query: Filters,
    caller: Caller,
    audit: AuditDep,
    inference: InferenceDep,
    done: bool = False,
) -> Response:
    page = await run_in_threadpool(audit.store.queue, caller.tenant_id, query, caller.key_id)
    choices = await run_in_threadpool(audit.store.choices, caller.tenant_id)
    summary = await run_in_threadpool(audit.store.summary, caller.tenant_id, query)
    taxonomy = inference.taxonomy
    context = {
        "caller": caller,
        "page": page,
        "query": query,
        "qs": lambda **changes: query_string(query, **changes),
        "choices": choices,
        "reasons": taxonomy.reason_names,
        "outcomes": taxonomy.outcome_names,
        "summary": summary,
        "done": done,
        "date_to_shown": (query.date_to - timedelta(days=1)).date().isoformat() if query.date_to else "",
    }
    return render(request, "queue.html", context)


@router.get("/audit/next")
async def next_page(
    query: Filters,
    caller: Caller,
    audit: AuditDep,
    after: str | None = None,
) -> Response:
    item_id = await run_in_threadpool(audit.store.next_item, caller.tenant_id, query, caller.key_id, after)
    if item_id is None:
        return RedirectResponse(f"/ui/audit?{query_string(query, done='true')}", status_code=303)
    return RedirectResponse(f"/ui/audit/{item_id}?{query_string(query)}", status_code=303)


@router.get("/audit/report")
async def report_page(
    request: Request,
    query: Filters,
    caller: Caller,
    audit: AuditDep,
) -> Response:
    by_provider = await run_in_threadpool(audit.store.accuracy, caller.tenant_id, query, "provider")
    by_agent = await run_in_threadpool(audit.store.accuracy, caller.tenant_id, query, "agent")
    overall = await run_in_threadpool(audit.store.accuracy, caller.tenant_id, query, None)
    agreement = await run_in_threadpool(audit.store.agreement, caller.tenant_id, query)
    context = {
        "caller": caller,
        "query": query,
        "qs": lambda **changes: query_string(query, **changes),
        "overall": overall,
        "by_provider": by_provider,
        "by_agent": by_agent,
        "agreement": agreement,
    }
    return render(request, "report.html", context)


@dataclass(frozen=True)
class ItemView:
    """What an item page is drawn from: the item, the queue the analyst came from, and the services."""

    request: Request
    item_id: str
    query: QueueQuery
    caller: Principal
    audit: AuditService
    inference: InferenceService


async def item_view(
    request: Request, item_id: ItemId, query: Filters, caller: Caller, audit: AuditDep, inference: InferenceDep
) -> ItemView:
    return ItemView(request, item_id, query, caller, audit, inference)


Item = Annotated[ItemView, Depends(item_view)]


@router.get("/audit/{item_id}")
async def item_page(view: Item) -> Response:
    return await _item_response(view)


async def _item_response(
    view: ItemView, error: str | None = None, status_code: int = 200, form: dict[str, str] | None = None
) -> HTMLResponse:
    request, item_id, query, caller, audit, inference = (
        view.request, view.item_id, view.query, view.caller, view.audit, view.inference
    )  # fmt: skip
    item = await run_in_threadpool(audit.store.item, caller.tenant_id, item_id)
    decisions = await run_in_threadpool(audit.store.decisions, caller.tenant_id, item_id)
    explanation = await audit.explanation(item, inference)
    audit.prefetch(caller.tenant_id, query, caller.key_id, inference)
    taxonomy = inference.taxonomy
    context = {
        "caller": caller,
        "item": item,
        "decisions": decisions,
        "current": current_value(item, decisions),
        "mine": any(d["analyst_key_id"] == caller.key_id for d in decisions),
        "explanation": explanation,
        "turns": turn_views(item.contact, explanation),
        "query": query,
        "qs": lambda **changes: query_string(query, **changes),
        "reasons": taxonomy.reason_names,
        "outcomes": taxonomy.outcome_names,
        "render_code": lambda r, o: taxonomy.render_code(r, o) if r and o else "-",
        "can_decide": caller.role == "analyst",
        "error": error,
        "form": form or {},
        "sentiment_method": SENTIMENT_METHOD,
        "occlusion_method": OCCLUSION_METHOD,
    }
    return render(request, "item.html", context, status_code)


@router.post("/audit/{item_id}/decide")
async def decide(
    view: Item,
    action: Annotated[str, Form(max_length=16)],
    reason: Annotated[str | None, Form(max_length=200)] = None,
    outcome: Annotated[str | None, Form(max_length=64)] = None,
    note: Annotated[str | None, Form(max_length=2_000)] = None,
) -> Response:
    item_id, query, caller, audit = view.item_id, view.query, view.caller, view.audit
    if caller.role != "analyst":
        raise ForbiddenError(f"a {caller.role!r} key may not record audit decisions; it needs an analyst key")
    if action != "other":
        reason = outcome = None  # the other fields of the form belong to the "other code" choice
    try:
        await audit.decide(
            caller, item_id, view.inference, action=action, reason=reason, outcome=outcome, note=note, mode=query.mode
        )
    except InvalidInputError as exc:
        status, _ = status_for(exc)
        form = {"reason": reason or "", "outcome": outcome or "", "note": note or ""}
        return await _item_response(view, str(exc), status, form)
    next_id = await run_in_threadpool(audit.store.next_item, caller.tenant_id, query, caller.key_id, item_id)
    if next_id is None:
        return RedirectResponse(f"/ui/audit?{query_string(query, done='true')}", status_code=303)
    return RedirectResponse(f"/ui/audit/{next_id}?{query_string(query)}", status_code=303)


def turn_views(contact: dict[str, Any], explanation: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Per turn: speaker, text, and what the explanation says about it (occlusion deltas,
    sentiment, whether it drives the prediction or is upsell evidence)."""
    explanation = explanation or {}
    scored = explanation.get("turns") or {}
    sentiment = explanation.get("sentiment") or {}
    read = set(explanation.get("turns_read") or [])
    # Upsell evidence only where the model sees an upsell: the turns its upsell head attends to
    # most, or whose removal lowers the upsell probability by 0.1 or more.
    upsell_likely = (explanation.get("upsell_probability") or 0.0) >= 0.5
    upsell_attention = {int(i) for i, w in (explanation.get("evidence") or {}).get("upsell", []) if w >= 0.2}
    deltas = sorted(((v.get("reason_delta", 0.0), int(k)) for k, v in scored.items()), reverse=True)
    drivers = {i for delta, i in deltas[:3] if delta >= 0.02}
    outcome_deltas = sorted(((v.get("outcome_delta", 0.0), int(k)) for k, v in scored.items()), reverse=True)
    outcome_drivers = {i for delta, i in outcome_deltas[:2] if delta >= 0.05}
    views = []
    for i, turn in enumerate(contact.get("turns") or []):
        entry = scored.get(str(i), {})
        delta = entry.get("reason_delta")
        upsell_delta = entry.get("upsell_delta")
        # Background colour for the turns that drove the prediction (the top 3 by occlusion), a
        # tag only for the others: a weak model spreads small deltas over every turn.
        level = 0
        if i in drivers and delta is not None:
            level = 3 if delta >= 0.2 else 2
        elif delta is not None and delta <= -0.05:
            level = -1
        views.append(
            {
                "index": i,
                "speaker": turn.get("speaker", ""),
                "text": turn.get("text", ""),
                "offset_s": turn.get("offset_s"),
                "delta": delta,
                "agent_delta": entry.get("agent_reason_delta"),
                "upsell_delta": upsell_delta,
                "level": level,
                "driver": i in drivers,
                "read": i in read if explanation else None,
                "sentiment": sentiment.get(str(i)),
                "outcome_delta": entry.get("outcome_delta"),
                "outcome_driver": i in outcome_drivers,
                "upsell": upsell_likely and (i in upsell_attention or (upsell_delta or 0.0) >= 0.1),
            }
        )
    return views
