"""On-demand dispositions and the agent's decision on a suggestion."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path
from starlette.concurrency import run_in_threadpool

from dispo.contact import Contact, contact_problems, in_utc
from dispo.errors import FieldProblem, InvalidInputError, TooLargeError
from dispo.labelled import labelled_row
from dispo.model.predictor import Prediction
from dispo.taxonomy import Taxonomy
from serve.bodies import JSONBodyRoute
from serve.deps import InferenceDep, StoreDep, get_settings, require
from serve.inference import InferenceService
from serve.schemas import Dispositions, FeedbackIn, FeedbackOut, Problem, Suggestion
from serve.settings import Settings
from serve.store import Principal

router = APIRouter(prefix="/v1/dispositions", tags=["dispositions"], route_class=JSONBodyRoute)

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem} for code in (401, 403, 404, 413, 415, 422, 429, 503)
}  # fmt: skip
SUGGESTION_ID = Path(min_length=1, max_length=64, description="the id returned with the suggestion")


def check_contacts(contacts: list[Contact], settings: Settings, inference: InferenceService) -> None:
    if len(contacts) > settings.max_batch_contacts:
        raise TooLargeError(
            f"at most {settings.max_batch_contacts} contacts per request, got {len(contacts)}; "
            "use batch labelling for more",
            [],
        )
    limits = settings.limits
    for index, contact in enumerate(contacts):
        where = f"contacts[{index}]" if len(contacts) > 1 else "contact"
        if len(contact.turns) > limits.max_turns:
            raise TooLargeError(f"{where}: at most {limits.max_turns} turns, got {len(contact.turns)}", [])
        problems = contact_problems(contact, taxonomy=inference.taxonomy, limits=limits)
        if not contact.turns and not problems:  # abandoned or blocked: valid in a file, nothing to classify
            problems = [FieldProblem("turns", "at least one turn to classify", [])]
        if problems:
            message = f"{where} ({contact.contact_id}): " + "; ".join(p.describe() for p in problems)
            error = TooLargeError if any(p.too_large for p in problems) else InvalidInputError
            raise error(message, problems)


#: The columns of the labelled-contact row (:mod:`dispo.labelled`) that a stored suggestion keeps
#: as columns (the rest of the prediction is in its ``prediction`` JSON).
SUGGESTION_COLUMNS = (
    "contact_id", "customer_id", "agent_id", "provider", "channel", "queue", "model_version", "reason",
    "reason_probability", "outcome", "sentiment", "upsell_probability", "disposition_code", "n_turns",
)  # fmt: skip


def suggestion_row(
    principal: Principal, source: str, contact: Contact, prediction: Prediction, latency_ms: float, taxonomy: Taxonomy
) -> dict[str, Any]:
    """A row of the suggestions table for a redacted contact and its prediction: the labelled-contact
    row's columns (one definition for batch, service, metrics and audit) plus who asked and how fast."""
    row = labelled_row(contact, prediction, taxonomy)
    return {
        **{name: row[name] for name in SUGGESTION_COLUMNS},
        "started_at": in_utc(contact.started_at),
        "ended_at": in_utc(contact.ended_at),
        "tenant_id": principal.tenant_id,
        "api_key_id": principal.key_id,
        "source": source,
        "prediction": prediction.to_dict(every_reason=True),
        "contact": contact.to_json_dict(),
        "latency_ms": latency_ms,
    }


@router.post(
    "",
    response_model=Suggestion | Dispositions,
    responses=ERRORS,
    summary="Disposition one contact (an object) or a small batch (an array)",
)
async def create_dispositions(
    body: Annotated[Contact | list[Contact], Body(description="a contact in the contract's JSON form, or an array")],
    caller: Annotated[Principal, Depends(require("agent", "service"))],
    settings: Annotated[Settings, Depends(get_settings)],
    inference: InferenceDep,
    store: StoreDep,
) -> Suggestion | Dispositions:
    started = time.perf_counter()
    contacts = body if isinstance(body, list) else [body]
    check_contacts(contacts, settings, inference)
    results = await inference.predict(contacts)
    latency_ms = (time.perf_counter() - started) * 1000
    rows = [
        suggestion_row(caller, "api", contact, prediction, latency_ms, inference.taxonomy)
        for contact, prediction in results
    ]
    ids = await run_in_threadpool(store.add_suggestions, rows)
    inference.telemetry.suggestions.labels("api").inc(len(ids))
    suggestions = [
        Suggestion.from_prediction(sid, prediction, latency_ms)
        for sid, (_, prediction) in zip(ids, results, strict=True)
    ]
    return Dispositions(dispositions=suggestions) if isinstance(body, list) else suggestions[0]


@router.get("/{suggestion_id}", responses=ERRORS, summary="A stored suggestion with the agent's decisions")
async def get_suggestion(
    suggestion_id: Annotated[str, SUGGESTION_ID],
    caller: Annotated[Principal, Depends(require("agent", "analyst", "admin"))],
    store: StoreDep,
) -> dict[str, Any]:
    row = await run_in_threadpool(store.suggestion, caller.tenant_id, suggestion_id)
    decisions = await run_in_threadpool(store.decisions, caller.tenant_id, suggestion_id)
    return {
        "suggestion_id": row.id,
        "source": row.source,
        "contact_id": row.contact_id,
        "model_version": row.model_version,
        "prediction": row.prediction,
        "contact": row.contact,
        "latency_ms": row.latency_ms,
        "created_at": row.created_at,
        "decisions": [_decision_out(d).model_dump() for d in decisions],
    }


@router.post(
    "/{suggestion_id}/feedback",
    response_model=FeedbackOut,
    status_code=201,
    responses=ERRORS,
    summary="Record what the agent finally chose for a suggestion",
)
async def feedback(
    suggestion_id: Annotated[str, SUGGESTION_ID],
    body: FeedbackIn,
    caller: Annotated[Principal, Depends(require("agent"))],
    inference: InferenceDep,
    store: StoreDep,
) -> FeedbackOut:
    suggestion = await run_in_threadpool(store.suggestion, caller.tenant_id, suggestion_id)
    reason, outcome = body.reason, body.outcome
    if body.accepted:
        reason = reason or suggestion.reason
        outcome = outcome or suggestion.outcome
        if (reason, outcome) != (suggestion.reason, suggestion.outcome):
            raise InvalidInputError("accepted=true means the suggested code: leave reason and outcome out", [])
    elif reason is None and outcome is None:
        raise InvalidInputError("accepted=false needs the reason and/or outcome the agent picked instead", [])
    taxonomy = inference.taxonomy_of(suggestion.model_version)  # the labels of the model that suggested
    problems = taxonomy.label_problems({"reason": reason, "outcome": outcome})
    if problems:
        raise InvalidInputError(
            "labels outside the model's taxonomy", [FieldProblem(f, expected, found) for f, expected, found in problems]
        )
    code = taxonomy.render_code(reason, outcome) if reason and outcome else None
    note = inference.redactor.redact_text(body.note) if body.note else None
    decision = await run_in_threadpool(
        lambda: store.add_decision(
            caller,
            suggestion_id,
            agent_id=inference.pseudonym(body.agent_id) or body.agent_id,
            accepted=body.accepted,
            reason=reason,
            outcome=outcome,
            disposition_code=code,
            note=note,
        )
    )
    return _decision_out(decision)


def _decision_out(decision: Any) -> FeedbackOut:
    return FeedbackOut(
        decision_id=decision.id,
        suggestion_id=decision.suggestion_id,
        agent_id=decision.agent_id,
        accepted=decision.accepted,
        reason=decision.reason,
        outcome=decision.outcome,
        disposition_code=decision.disposition_code,
        created_at=decision.created_at,
    )
