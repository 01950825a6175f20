"""The model inside the service: redaction, batched prediction, and live sessions.

All model work runs on one worker thread (torch uses every core inside each call; two calls at
once would only fight over them). Concurrent requests are batched: while a forward pass runs,
new requests queue up, and the next pass takes all of them at once. A lone request therefore
never waits for a batch to fill, and under load the cost per contact falls with the batch size.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import torch

from dispo.contact import Contact, ContactLimits, Turn
from dispo.errors import DispoError, ForbiddenError, TooLargeError, UnavailableError
from dispo.model.bundle import TAXONOMY_FILE, resolve
from dispo.model.live import LiveSession
from dispo.model.predictor import Prediction, Predictor
from dispo.model.runtime import SegmentCache, TorchEncoder
from dispo.redact import Redactor, default_redactor
from dispo.redact.pseudonym import Pseudonymizer
from dispo.taxonomy import Taxonomy
from serve.telemetry import Telemetry

logger = logging.getLogger(__name__)


class TooManySessionsError(UnavailableError):
    """Every live-session slot is taken (a domain error: the live route answers it, never drops)."""

    code = "too_many_live_sessions"


@dataclass
class _Request:
    contacts: list[Contact]
    future: asyncio.Future[list[tuple[Contact, Prediction]]]


@dataclass
class _Live:
    session: LiveSession  # bound to the predictor it started on: a reload does not change it
    redacted: list[Turn]
    touched: float
    owner: str  # the API key that opened it: only that key may continue or close it
    # The contact's query parameters and start, from the connection that opened the session: a
    # reconnect (after a dropped connection) continues the same contact, whatever it sends.
    context: dict[str, str] = field(default_factory=dict)
    started_at: datetime | None = None
    chars: int = 0  # characters of the turns as sent (before redaction), as REST counts them


@dataclass(frozen=True)
class LiveFinal:
    """A live contact as it stands when the desktop closes it: what its final suggestion is stored
    with. The session stays open until :meth:`InferenceService.end_live`."""

    turns: list[Turn]  # redacted
    prediction: Prediction | None
    latency_ms: float  # of the last update
    context: dict[str, str]
    started_at: datetime | None
    session: LiveSession = field(repr=False)  # which session this is (a later one may reuse the id)


class InferenceService:
    def __init__(
        self,
        predictor: Predictor,
        telemetry: Telemetry,
        *,
        redactor: Redactor | None = None,
        max_batch: int = 64,
        max_live_sessions: int = 2_000,
        max_live_sessions_per_tenant: int = 200,
        live_idle_seconds: float = 600.0,
        segment_cache: int = 0,
        pseudonymizer: Pseudonymizer | None = None,
    ) -> None:
        if segment_cache and not isinstance(predictor.backend, SegmentCache):
            # Scripted lines (greetings, verification, hold notices, closings) recur across
            # contacts and live turns: their vectors are kept instead of encoded again.
            predictor.backend = SegmentCache(predictor.backend or TorchEncoder(predictor.model), segment_cache)
        self.predictor = predictor
        self.telemetry = telemetry
        self.redactor = redactor or default_redactor()
        self.pseudonymizer = pseudonymizer
        self.max_batch = max_batch
        self.max_live_sessions = max_live_sessions
        self.max_live_sessions_per_tenant = max_live_sessions_per_tenant
        self.live_idle_seconds = live_idle_seconds
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dispo-model")
        self._queue: asyncio.Queue[_Request] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._live: OrderedDict[tuple[str, str], _Live] = OrderedDict()
        self._live_lock = threading.Lock()
        self._taxonomies: dict[str, Taxonomy] = {}  # of the earlier versions suggestions were made by

    @property
    def taxonomy(self) -> Taxonomy:
        return self.predictor.taxonomy

    @property
    def version(self) -> str:
        return self.predictor.version

    def taxonomy_of(self, version: str) -> Taxonomy:
        """The taxonomy of the model ``version`` that made a suggestion: a suggestion made before a
        model with other labels was promoted keeps its own (read from its bundle beside this one)."""
        if version == self.version or self.predictor.path is None:
            return self.taxonomy
        if version not in self._taxonomies:
            try:
                bundle = resolve(version, self.predictor.path.parent.parent)
                self._taxonomies[version] = Taxonomy.from_yaml(bundle / TAXONOMY_FILE, strict=False)
            except DispoError as exc:  # remembered: the registry is not read again for it
                logger.warning("the taxonomy of %s cannot be read (%s); the served model's is used", version, exc)
                self._taxonomies[version] = self.taxonomy
        return self._taxonomies[version]

    # -- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._run(), name="dispo-batcher")

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        self.executor.shutdown(wait=True, cancel_futures=True)

    def queue_size(self) -> int:
        return self._queue.qsize() if self._queue is not None else 0

    # -- on-demand predictions --------------------------------------------------------------------
    async def predict(self, contacts: Sequence[Contact]) -> list[tuple[Contact, Prediction]]:
        """Redacted contacts and their predictions, in input order."""
        if self._queue is None:
            raise RuntimeError("the inference service is not started")
        future: asyncio.Future[list[tuple[Contact, Prediction]]] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Request(list(contacts), future))
        self.telemetry.queue_depth.set(self._queue.qsize())
        return await future

    async def _run(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            size = len(batch[0].contacts)
            while not self._queue.empty() and size < self.max_batch:
                request = self._queue.get_nowait()
                batch.append(request)
                size += len(request.contacts)
            self.telemetry.queue_depth.set(self._queue.qsize())
            contacts = [c for request in batch for c in request.contacts]
            try:
                results = await loop.run_in_executor(self.executor, self._predict_now, contacts)
            except Exception:  # one bad contact must not fail the other requests of its batch
                logger.warning("a batch of %d contacts failed; predicting its %d requests one by one",
                               len(contacts), len(batch))  # fmt: skip
                await self._one_by_one(batch)
                continue
            self.telemetry.batch_size.observe(len(contacts))
            start = 0
            for request in batch:
                end = start + len(request.contacts)
                if not request.future.done():
                    request.future.set_result(results[start:end])
                start = end

    async def _one_by_one(self, batch: list[_Request]) -> None:
        """Each request of a failed batch on its own: the request that fails gets the error, the
        others their predictions. The error is logged by type only (no contact text in logs)."""
        loop = asyncio.get_running_loop()
        for request in batch:
            try:
                result = await loop.run_in_executor(self.executor, self._predict_now, request.contacts)
            except Exception as exc:
                logger.error("prediction failed for a request of %d contacts: %s", len(request.contacts),
                             type(exc).__name__)  # fmt: skip
                if not request.future.done():
                    request.future.set_exception(exc)
                continue
            if not request.future.done():
                request.future.set_result(result)

    def private(self, contact: Contact) -> Contact:
        """``contact`` as the service may keep it: redacted text (done on the way in), and its
        customer and agent ids pseudonymised when the service has a pseudonym key."""
        return self.pseudonymizer.apply(contact) if self.pseudonymizer is not None else contact

    def pseudonym(self, value: str | None) -> str | None:
        return self.pseudonymizer.pseudonym(value) if self.pseudonymizer is not None else value

    def _predict_now(self, contacts: list[Contact]) -> list[tuple[Contact, Prediction]]:
        redacted = [self.private(self.redactor.redact_contact(c)) for c in contacts]
        predictions = self.predictor.predict(redacted, batch_size=self.max_batch)
        return list(zip(redacted, predictions, strict=True))

    # -- live sessions ----------------------------------------------------------------------------
    async def live_turn(
        self,
        tenant_id: str,
        key_id: str,
        contact_id: str,
        turn: Turn,
        *,
        limits: ContactLimits,
        context: Mapping[str, str] | None = None,
        started_at: datetime | None = None,
    ) -> tuple[Turn, Prediction | None, float]:
        """Add a turn to a live contact opened by ``key_id``: the redacted turn, the updated
        prediction, and the update time in ms. Only the new turn is encoded (see
        :mod:`dispo.model.live`). ``limits``: the same size limits as a whole contact (TooLargeError);
        ``context`` and ``started_at``: the contact's, kept if this turn opens the session."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.executor, self._live_turn_now, tenant_id, key_id, contact_id, turn, limits, context, started_at
        )

    def _live_turn_now(
        self,
        tenant_id: str,
        key_id: str,
        contact_id: str,
        turn: Turn,
        limits: ContactLimits,
        context: Mapping[str, str] | None,
        started_at: datetime | None,
    ) -> tuple[Turn, Prediction | None, float]:
        started = time.perf_counter()
        _check_live_size(limits, len(turn.text), 0, 0)  # before a session is opened for it
        live = self._live_entry(tenant_id, key_id, contact_id, context, started_at)
        # Turns are added on this one worker thread only, so the check and the addition are atomic.
        _check_live_size(limits, len(turn.text), len(live.redacted), live.chars)
        redacted = self.redactor.redact_turn(turn, live.redacted[-1] if live.redacted else None)
        live.redacted.append(redacted)
        live.chars += len(turn.text)
        with torch.inference_mode():
            prediction = live.session.add_turn(redacted)
        elapsed = (time.perf_counter() - started) * 1000
        self.telemetry.live_updates.observe(elapsed / 1000)
        return redacted, prediction, elapsed

    def live_turn_count(self, tenant_id: str, contact_id: str) -> int:
        with self._live_lock:
            live = self._live.get((tenant_id, contact_id))
            return len(live.redacted) if live else 0

    def rejoin_live(self, tenant_id: str, key_id: str, contact_id: str, context: Mapping[str, str]) -> None:
        """A connection for ``contact_id`` opens: if its session is already open (a reconnect), the
        session keeps the first connection's context; parameters it lacks are added, and one sent
        with another value is ignored with a warning (the contact is the one that was opened)."""
        with self._live_lock:
            live = self._live.get((tenant_id, contact_id))
            if live is None or live.owner != key_id:  # another key's session: its turns are refused
                return
            differing = [name for name, value in context.items() if live.context.setdefault(name, value) != value]
        if differing:
            logger.warning(
                "live session %s/%s: a reconnect sent other %s than the connection that opened it; "
                "the first values are kept", tenant_id, contact_id, ", ".join(differing),
            )  # fmt: skip

    async def live_final(self, tenant_id: str, key_id: str, contact_id: str) -> LiveFinal | None:
        """The live contact as it stands, for its final suggestion (None when no session is open).
        The session stays open: :meth:`end_live` removes it once that suggestion is stored, so a
        failed write loses nothing and the close can be sent again. Read on the model's thread,
        after any turn still being added."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self._live_final_now, tenant_id, key_id, contact_id)

    def _live_final_now(self, tenant_id: str, key_id: str, contact_id: str) -> LiveFinal | None:
        with self._live_lock:
            live = self._live.get((tenant_id, contact_id))
            if live is None:
                return None
            _check_owner(live, key_id, contact_id)
            return LiveFinal(
                list(live.redacted), live.session.last_prediction, live.session.stats.last_update_ms,
                dict(live.context), live.started_at, live.session,
            )  # fmt: skip

    def end_live(self, tenant_id: str, contact_id: str, final: LiveFinal) -> None:
        """Close the session ``final`` was read from, unless turns were added to it since (they
        would be lost: it stays open, and its next close stores them)."""
        key = (tenant_id, contact_id)
        with self._live_lock:
            live = self._live.get(key)
            if live is None or live.session is not final.session:
                return
            if len(live.redacted) != len(final.turns):
                logger.info("live session %s/%s got turns while closing; it stays open", tenant_id, contact_id)
                return
            del self._live[key]
            self.telemetry.live_sessions.set(len(self._live))

    def adopt_live(self, previous: InferenceService) -> None:
        """Take over the open live sessions of the service this one replaces (a model reload):
        they go on, and finish, on the model version they started on."""
        with previous._live_lock, self._live_lock:
            self._live.update(previous._live)
            previous._live.clear()
            self.telemetry.live_sessions.set(len(self._live))

    def _live_entry(
        self,
        tenant_id: str,
        key_id: str,
        contact_id: str,
        context: Mapping[str, str] | None = None,
        started_at: datetime | None = None,
    ) -> _Live:
        now = time.monotonic()
        key = (tenant_id, contact_id)
        with self._live_lock:
            self._expire(now)
            live = self._live.get(key)
            if live is None:
                if len(self._live) >= self.max_live_sessions:
                    raise TooManySessionsError(f"all {self.max_live_sessions} live-session slots are in use")
                if sum(1 for tenant, _ in self._live if tenant == tenant_id) >= self.max_live_sessions_per_tenant:
                    raise TooManySessionsError(
                        f"this tenant's {self.max_live_sessions_per_tenant} live-session slots are in use"
                    )
                live = _Live(LiveSession(self.predictor, contact_id), [], now, key_id, dict(context or {}), started_at)
                self._live[key] = live
                self.telemetry.live_sessions.set(len(self._live))
            _check_owner(live, key_id, contact_id)
            live.touched = now
            self._live.move_to_end(key)
            return live

    def _expire(self, now: float) -> None:
        while self._live:
            key, oldest = next(iter(self._live.items()))
            if now - oldest.touched < self.live_idle_seconds:
                break
            del self._live[key]
            logger.info("live session %s/%s expired after %.0f s idle", key[0], key[1], self.live_idle_seconds)


def _check_live_size(limits: ContactLimits, chars: int, turns: int, total: int) -> None:
    """TooLargeError if a turn of ``chars`` characters, added to ``turns`` turns of ``total``
    characters, breaks the limits a whole contact has (``DISPO_MAX_TURNS`` and the others)."""
    if chars > limits.max_turn_chars:
        raise TooLargeError(f"at most {limits.max_turn_chars} characters per turn, got {chars}")
    if turns >= limits.max_turns:
        raise TooLargeError(f"at most {limits.max_turns} turns per contact")
    if total + chars > limits.max_total_chars:
        raise TooLargeError(
            f"at most {limits.max_total_chars} characters in all per contact; this turn would make {total + chars}"
        )


def _check_owner(live: _Live, key_id: str, contact_id: str) -> None:
    if live.owner != key_id:
        raise ForbiddenError(f"live session {contact_id!r} was opened by another API key; only that key may use it")
