"""Genesys Cloud speech and text analytics transcripts: one JSON file per communication, as the
transcript URL (``GET /api/v2/speechandtextanalytics/conversations/{id}/communications/{id}/transcripturl``)
serves it: ``conversationId``, ``mediaType``, and ``transcripts[].phrases[]`` with each phrase's
``participantPurpose``, ``text`` and ``startTimeMs``.

Genesys separates speakers into the external participant (the customer) and internal ones (agent,
IVR, ACD, conference, voicemail): ``external`` is the customer, ``internal`` and ``agent`` the
agent, ``ivr``, ``acd`` and bots the system side. Sentiment and topic events of the transcript's
``analytics`` are metadata; a wrap-up code (``wrapUpCode``, joined from the conversation details)
is the agent's code through the code map.

Queue events come from the conversation's analytics details (``GET /api/v2/analytics/conversations/
{id}/details``) when the export joins them as ``participants`` (each with its ``purpose`` and
``sessions[].segments[]``): the ACD participant's first segment starts the wait (``queued_at``, and its
``queueId`` is the queue), the agent's first ``interact`` segment answers it (``answered_at``, and the
agent's ``userId`` is the agent), an ACD session with a ``tAbandon`` metric or none answered while the
customer hung up is ``abandoned``, and the customer's last segment's ``disconnectType`` says who hung up
(``endpoint`` or ``client``: the customer; ``peer``: the agent, or the system when no agent answered;
``system``, ``timeout``, ``error`` and the like: the system). Details of an abandoned conversation with no
transcript make a contact without turns.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from dispo.errors import FieldProblem
from dispo.platforms.codes import CodeMap
from dispo.platforms.connect import RawContact, check_id, load_object, spoken_turn

PURPOSES = {"external": "customer", "customer": "customer", "internal": "agent", "agent": "agent", "user": "agent",
            "ivr": "system", "acd": "system", "bot": "system", "voicemail": "system", "workflow": "system"}  # fmt: skip
MEDIA = {"call": "voice", "voice": "voice", "chat": "chat", "message": "chat", "email": "email", "callback": "voice"}


def read_genesys(path: Path, codes: CodeMap | None, name: str) -> Iterator[RawContact]:
    doc, problems = load_object(path, "one Genesys Cloud communication transcript")
    if problems:
        yield 0, doc, None, problems
        return
    events, problems = queue_events(doc.get("participants"))
    transcripts = doc.get("transcripts")
    if transcripts is None and events.get("abandoned"):
        transcripts = []  # abandoned in the queue: no one spoke
    elif not isinstance(transcripts, list) or not transcripts:
        yield 0, doc, None, [FieldProblem("transcripts", "a non-empty list of transcripts", type(transcripts).__name__)]
        return
    started = doc.get("conversationStartTime") or doc.get("startTime")
    turns: list[dict[str, Any]] = []
    starts: list[Any] = []  # each turn's phrase startTimeMs, as exported
    analytics: list[Any] = []
    for t, transcript in enumerate(transcripts):
        phrases = transcript.get("phrases") if isinstance(transcript, dict) else None
        if not isinstance(phrases, list):
            problems.append(FieldProblem(f"transcripts[{t}].phrases", "a list of phrases", type(phrases).__name__))
            continue
        if isinstance(transcript.get("analytics"), dict):
            analytics.append(transcript["analytics"])
        for p, phrase in enumerate(phrases):
            where = f"transcripts[{t}].phrases[{p}]"
            purpose = str(phrase.get("participantPurpose", "")).lower() if isinstance(phrase, dict) else ""
            found = phrase.get("participantPurpose") if isinstance(phrase, dict) else phrase
            turn = spoken_turn(
                PURPOSES.get(purpose), phrase.get("text") if isinstance(phrase, dict) else None, problems,
                unmapped=FieldProblem(f"{where}.participantPurpose", "external, internal, ivr or acd", found),
                text_field=f"{where}.text", what="the phrase's text",
            )  # fmt: skip
            if turn is None:
                continue
            offset = _offset_s(phrase.get("startTimeMs"), started)
            if offset is not None:
                turn["offset_s"] = offset
            turns.append(turn)
            starts.append(phrase.get("startTimeMs"))
    if all(isinstance(start, int | float) and not isinstance(start, bool) for start in starts):
        # Each transcript is one channel or one leg of the call: the phrases of all, in the order said.
        turns = [turn for _, turn in sorted(zip(starts, turns, strict=True), key=lambda pair: pair[0])]
    contact_id = doc.get("conversationId")
    check_id(contact_id, "conversationId", "the conversation's id", problems)
    if problems:
        yield 0, doc, None, problems
        return
    raw: dict[str, Any] = {"contact_id": contact_id, "channel": MEDIA.get(str(doc.get("mediaType", "call")), "voice"),
                           "turns": turns, **events}  # fmt: skip
    for field, key in (("started_at", "conversationStart"), ("ended_at", "conversationEnd")):
        if isinstance(doc.get(key), str):
            raw[field] = doc[key]
    platform: dict[str, Any] = {k: doc[k] for k in ("communicationId", "recordingId", "organizationId", "mediaType")
                                if k in doc}  # fmt: skip
    if analytics:
        platform["analytics"] = analytics
    raw["metadata"] = {"platform": platform}
    problems = codes.apply(raw, doc.get("wrapUpCode"), "wrapUpCode") if codes is not None else []
    yield 0, doc, None if problems else raw, problems


#: Disconnect types of the customer's last segment that are the system's doing.
_SYSTEM_DISCONNECTS = ("system", "timeout", "error", "transport.failure", "spam", "uncallable", "other")


def queue_events(participants: Any) -> tuple[dict[str, Any], list[FieldProblem]]:
    """Queue events of a conversation's analytics details (see the module docstring); empty without them."""
    if participants is None:
        return {}, []
    if not isinstance(participants, list):
        return {}, [FieldProblem("participants", "a list of participants (conversation details)", participants)]
    events: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    customer_last: dict[str, Any] | None = None
    abandoned = False
    answers: list[tuple[str, Any]] = []  # (segment start, user id) of every agent interact segment
    for i, participant in enumerate(participants):
        if not isinstance(participant, dict) or not isinstance(participant.get("sessions") or [], list):
            problems.append(FieldProblem(f"participants[{i}]", "a participant with a list of sessions", participant))
            continue
        purpose = str(participant.get("purpose", "")).lower()
        role = PURPOSES.get(purpose)  # dialer, station, api and the like say nothing of the queue
        for j, session in enumerate(participant.get("sessions") or []):
            segments = session.get("segments") if isinstance(session, dict) else None
            if not isinstance(segments, list) or not all(isinstance(s, dict) for s in segments):
                problems.append(
                    FieldProblem(f"participants[{i}].sessions[{j}].segments", "a list of segments", segments)
                )
                continue
            segments = sorted(segments, key=lambda s: str(s.get("segmentStart", "")))
            listed = session.get("metrics")
            if not isinstance(listed, list | None):
                problems.append(FieldProblem(f"participants[{i}].sessions[{j}].metrics", "a list of metrics", listed))
                continue
            metrics = {m["name"] for m in listed or [] if isinstance(m, dict) and isinstance(m.get("name"), str)}
            if purpose == "acd" and segments:
                events.setdefault("queued_at", segments[0].get("segmentStart"))
                if isinstance(segments[0].get("queueId"), str):
                    events.setdefault("queue", segments[0]["queueId"])
                abandoned = abandoned or "tAbandon" in metrics
            elif role == "agent" and purpose != "internal":
                answers += [(str(s.get("segmentStart", "")), participant.get("userId"))
                            for s in segments if s.get("segmentType") == "interact"]  # fmt: skip
            elif role == "customer" and segments:
                customer_last = segments[-1]
    # The answer is the first agent interact at or after the queue entry (an agent may have spoken
    # before the queue: an outbound call, a transfer into a queue).
    queued = _when(events.get("queued_at"))
    # by start only: two legs starting at once must not compare their user ids (one may be missing)
    after = sorted((a for a in answers if queued is None or (_when(a[0]) or queued) >= queued), key=lambda a: a[0])
    if after:
        events["answered_at"] = after[0][0]
        if isinstance(after[0][1], str):
            events["agent_id"] = after[0][1]
    answered = "answered_at" in events
    if customer_last is not None:
        kind = str(customer_last.get("disconnectType", "")).lower()
        if kind in ("endpoint", "client"):
            events["disconnected_by"] = "customer"
        elif kind == "peer":
            events["disconnected_by"] = "agent" if answered else "system"
        elif kind in _SYSTEM_DISCONNECTS or kind.startswith("transfer"):
            events["disconnected_by"] = "system"
    if "queued_at" in events:
        if answered:
            events["abandoned"] = False
        elif abandoned or events.get("disconnected_by") == "customer":
            events["abandoned"] = True
        # else: never answered, but not left by the customer (a timeout, an overflow): unknown
    return {k: v for k, v in events.items() if v is not None}, problems


def _when(value: Any) -> datetime | None:
    """An ISO time with its zone (Genesys writes UTC with Z); None for anything else."""
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return when if when is not None and when.tzinfo is not None else None


def _offset_s(start_ms: Any, started: Any) -> float | None:
    """A phrase's offset in seconds: ``startTimeMs`` is epoch time, taken against the conversation's
    start; a small value (an export that already made it relative) is taken as it is."""
    if not isinstance(start_ms, int | float) or isinstance(start_ms, bool):
        return None
    if start_ms > 10**11:  # epoch milliseconds
        return max(0.0, (start_ms - started) / 1000.0) if isinstance(started, int | float) else None
    return start_ms / 1000.0
