"""The QA audit's logic between the HTTP layer and the store: resolving a decision into a code,
redacting notes, and the cached per-item explanations (computed on the model's worker thread).

An explanation costs a few predictions (see :mod:`dispo.audit.explain`), too slow for a page load
under 300 ms on CPU with a real model. So it is cached on the item, and whenever an analyst opens
an item the next items of their queue are explained in the background: by the time the analyst
decides, the next page is usually ready.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.concurrency import run_in_threadpool

from dispo.audit.explain import ExplainConfig, explain
from dispo.contact import Contact
from dispo.errors import FieldProblem, InvalidInputError
from serve.audit.db import AuditDecision, AuditItem
from serve.audit.store import AuditStore, QueueQuery
from serve.inference import InferenceService
from serve.store import Principal

logger = logging.getLogger(__name__)

PREFETCH = 2  # items explained ahead of the analyst


class AuditService:
    def __init__(self, store: AuditStore, explain_config: ExplainConfig | None = None) -> None:
        self.store = store
        self.explain_config = explain_config or ExplainConfig()
        self._pending: dict[str, asyncio.Task[Any]] = {}

    # -- decisions --------------------------------------------------------------------------------
    async def decide(
        self,
        caller: Principal,
        item_id: str,
        inference: InferenceService,
        *,
        action: str,
        reason: str | None = None,
        outcome: str | None = None,
        note: str | None = None,
        mode: str = "direct",
    ) -> AuditDecision:
        item = await run_in_threadpool(self.store.item, caller.tenant_id, item_id)
        reason, outcome, code = self.resolve(item, inference, action, reason, outcome)
        clean_note = inference.redactor.redact_text(note.strip()) if note and note.strip() else None
        return await run_in_threadpool(
            lambda: self.store.add_decision(
                caller, item_id, action=action, reason=reason, outcome=outcome, code=code, note=clean_note, mode=mode
            )
        )

    @staticmethod
    def resolve(
        item: AuditItem, inference: InferenceService, action: str, reason: str | None, outcome: str | None
    ) -> tuple[str | None, str | None, str | None]:
        """The (reason, outcome, code) an action stands for, checked against the taxonomy."""
        taxonomy = inference.taxonomy
        if action in ("confirm", "accept_model"):
            source = "agent's" if action == "confirm" else "model's"
            wanted = (item.agent_reason, item.agent_outcome) if action == "confirm" else (item.reason, item.outcome)
            for name, given, expected in (("reason", reason, wanted[0]), ("outcome", outcome, wanted[1])):
                if given is not None and given != expected:
                    raise InvalidInputError(
                        f"action {action!r} means the {source} code: {name} {given!r} is not {expected!r}; "
                        "use action 'other' to pick another code",
                        [FieldProblem(name, f"{expected!r} or nothing", given)],
                    )
            missing = [name for name, value in (("reason", wanted[0]), ("outcome", wanted[1])) if not value]
            if missing:  # a decision without a whole code could not train a model or measure accuracy
                raise InvalidInputError(
                    f"action {action!r} means the {source} code, which has no {' and no '.join(missing)}; "
                    "use action 'other' to give the whole code",
                    [FieldProblem(name, "a label from the taxonomy", None) for name in missing],
                )
            reason, outcome = wanted
        elif action == "other":
            missing = [name for name, value in (("reason", reason), ("outcome", outcome)) if not value]
            if missing:
                raise InvalidInputError(
                    "action 'other' needs the reason and the outcome of the code the analyst picked",
                    [FieldProblem(name, "a label from the taxonomy", None) for name in missing],
                )
        else:
            raise InvalidInputError(
                f"action {action!r}: expected confirm, accept_model or other",
                [FieldProblem("action", "confirm, accept_model or other", action)],
            )
        problems = taxonomy.label_problems({"reason": reason, "outcome": outcome})
        if problems:
            raise InvalidInputError(
                "labels outside the model's taxonomy",
                [FieldProblem(f, expected, found) for f, expected, found in problems],
            )
        code = taxonomy.render_code(reason, outcome) if reason and outcome else None
        return reason, outcome, code

    # -- explanations -----------------------------------------------------------------------------
    async def explanation(self, item: AuditItem, inference: InferenceService) -> dict[str, Any] | None:
        """The item's explanation: the cached one if the served model made it, else computed now
        (None if that fails: the page is still usable without it)."""
        if item.explanation and item.explanation.get("model_version") == inference.version:
            return item.explanation
        task = self._pending.get(item.id)
        if task is None:
            task = self._start(item, inference)
        try:
            result: dict[str, Any] = await asyncio.shield(task)
        except Exception as exc:
            logger.warning("no explanation for audit item %s: %s", item.id, exc)
            return None
        return result

    def prefetch(self, tenant_id: str, query: QueueQuery, analyst_key_id: str, inference: InferenceService) -> None:
        """Explain the next items of the analyst's queue in the background."""

        async def run() -> None:
            ids = await run_in_threadpool(self.store.next_items, tenant_id, query, analyst_key_id, PREFETCH + 1)
            for item_id in ids:
                item = await run_in_threadpool(self.store.item, tenant_id, item_id)
                if item.explanation and item.explanation.get("model_version") == inference.version:
                    continue
                if item.id not in self._pending:
                    await asyncio.shield(self._start(item, inference))

        key = f"prefetch:{tenant_id}:{analyst_key_id}"
        if key in self._pending:
            return  # one prefetch per analyst at a time
        background = asyncio.create_task(run(), name="dispo-audit-prefetch")
        self._pending[key] = background

        def finished(task: asyncio.Task[Any]) -> None:
            self._pending.pop(key, None)
            _log_failure(task)

        background.add_done_callback(finished)

    def _start(self, item: AuditItem, inference: InferenceService) -> asyncio.Task[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        contact = Contact.model_validate(item.contact)

        async def compute() -> dict[str, Any]:
            try:
                result = await loop.run_in_executor(
                    inference.executor, explain, inference.predictor, contact, item.agent_reason, self.explain_config
                )
                await run_in_threadpool(self.store.set_explanation, item.tenant_id, item.id, result)
                return result
            finally:
                self._pending.pop(item.id, None)

        task = asyncio.create_task(compute(), name=f"dispo-audit-explain-{item.id}")
        task.add_done_callback(_log_failure)
        self._pending[item.id] = task
        return task


def _log_failure(task: asyncio.Task[Any]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        logger.warning("audit explanation failed: %s", error)
