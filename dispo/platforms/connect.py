"""Amazon's contact-center exports: Contact Lens (Amazon Connect) conversational analytics output
and Amazon Transcribe Call Analytics post-call output. One JSON file is one call.

Contact Lens names speakers by ``ParticipantId`` (roles listed under ``Participants``) and the
contact under ``CustomerMetadata.ContactId``; Transcribe Call Analytics gives each turn its
``ParticipantRole`` and the call its ``JobName``. Both carry per-turn ``Sentiment``, detected
issues and outcomes, ``Categories`` and ``ConversationCharacteristics``: kept in metadata. A chat's
``EVENT`` and ``ATTACHMENT`` items without ``Content`` (a participant joined, a file was sent) say
nothing: they are skipped and counted (``metadata.platform.skipped_items``).

Queue events are in the Amazon Connect contact record, not in the analysis; an export that joins the
record as ``ContactRecord`` gives them: ``Queue.EnqueueTimestamp`` (``queued_at``; ``Queue.Name`` the
queue), ``Agent.ConnectedToAgentTimestamp`` (``answered_at``; ``Agent.Username`` the agent),
``InitiationTimestamp`` and ``DisconnectTimestamp``, and ``DisconnectReason`` (who hung up). A queued
contact that never reached an agent and that the customer disconnected is ``abandoned``, and may come
without a transcript.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dispo.errors import FieldProblem
from dispo.platforms.codes import CodeMap

# Amazon Connect participant roles -> dispo speakers. A bot or the IVR is the system side of the
# conversation; a supervisor who barges in speaks for the contact center.
ROLES = {"AGENT": "agent", "CUSTOMER": "customer", "SYSTEM": "system", "CUSTOM_BOT": "system", "SUPERVISOR": "agent"}
CHANNELS = {"VOICE": "voice", "CHAT": "chat", "EMAIL": "email", "TASK": "chat"}
TURN_ANALYTICS = ("Sentiment", "IssuesDetected", "OutcomesDetected", "ActionItemsDetected", "Redaction")
CALL_ANALYTICS = ("Categories", "ConversationCharacteristics", "LanguageCode", "JobDetails")
WORDLESS = ("EVENT", "ATTACHMENT")  # chat items that may come without Content

RawContact = tuple[int, Any, dict[str, Any] | None, list[FieldProblem]]


def load_object(path: Path, what: str) -> tuple[Any, list[FieldProblem]]:
    """The JSON object of one exported file, or the problems that make it none (``what`` it should be)."""
    doc, problems = load_json(path)
    if doc is not None and not isinstance(doc, dict):
        problems.append(FieldProblem("<file>", f"a JSON object ({what})", type(doc).__name__))
    return doc, problems


def load_object_holding(path: Path, key: str, kind: type, what: str) -> tuple[Any, list[FieldProblem]]:
    """The JSON object of one exported file whose ``key`` holds a ``kind`` (``what`` it should be),
    or the problems that make it none."""
    doc, problems = load_json(path)
    if doc is not None and not (isinstance(doc, dict) and isinstance(doc.get(key), kind)):
        problems.append(FieldProblem(key, what, type(doc).__name__))
    return doc, problems


def check_id(contact_id: Any, field: str, what: str, problems: list[FieldProblem]) -> None:
    """Note the problem of a contact id that is not a non-empty string (``field`` in the export)."""
    if not isinstance(contact_id, str) or not contact_id:
        problems.append(FieldProblem(field, what, contact_id))


def load_json(path: Path) -> tuple[Any, list[FieldProblem]]:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig")), []  # a BOM (PowerShell, Notepad) is read past
    except UnicodeDecodeError as exc:
        return None, [FieldProblem("<file>", "UTF-8 JSON", f"a byte that is not UTF-8 at {exc.start}")]
    except ValueError as exc:  # JSONDecodeError, or a number too long to read
        detail = f"{exc.msg} at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
        return None, [FieldProblem("<file>", "one JSON object", f"invalid JSON ({detail})")]


def spoken_turn(
    speaker: str | None, text: Any, problems: list[FieldProblem], *, unmapped: FieldProblem, text_field: str, what: str
) -> dict[str, Any] | None:
    """The turn of one exported item, or None with its problem noted: ``unmapped`` when the export
    names a speaker dispo cannot map, else ``text_field`` when the text is not a string."""
    if speaker is None:
        problems.append(unmapped)
        return None
    if not isinstance(text, str):
        problems.append(FieldProblem(text_field, what, text))
        return None
    return {"speaker": speaker, "text": text}


#: The contact record's DisconnectReason -> who hung up.
DISCONNECTS = {"CUSTOMER_DISCONNECT": "customer", "AGENT_DISCONNECT": "agent"}


def contact_record_events(record: Any) -> tuple[dict[str, Any], list[FieldProblem]]:
    """Queue events, ids and times of a joined contact record (see the module docstring)."""
    if record is None:
        return {}, []
    if not isinstance(record, dict):
        return {}, [FieldProblem("ContactRecord", "the contact record joined to the analysis (an object)", record)]
    queue: dict[str, Any] = record["Queue"] if isinstance(record.get("Queue"), dict) else {}
    agent: dict[str, Any] = record["Agent"] if isinstance(record.get("Agent"), dict) else {}
    events: dict[str, Any] = {
        "queued_at": queue.get("EnqueueTimestamp"),
        "queue": queue.get("Name"),
        "answered_at": agent.get("ConnectedToAgentTimestamp"),
        "agent_id": agent.get("Username"),
        "started_at": record.get("InitiationTimestamp"),
        "ended_at": record.get("DisconnectTimestamp"),
    }
    reason = record.get("DisconnectReason")
    if isinstance(reason, str) and reason:
        events["disconnected_by"] = DISCONNECTS.get(reason.upper(), "system")
    if events["queued_at"] is not None:
        if events["answered_at"] is not None:
            events["abandoned"] = False
        elif events.get("disconnected_by") == "customer":
            events["abandoned"] = True
        # else: never answered, but not left by the customer (a flow timeout, a transfer out): unknown
    return {k: v for k, v in events.items() if v is not None}, []


def _wordless(item: dict[str, Any]) -> bool:
    """A chat event or attachment without text: skipped, not a turn (see the module docstring)."""
    return item.get("Content") is None and str(item.get("Type", "")).upper() in WORDLESS


def _turns(
    items: Any, speaker_of: Any, problems: list[FieldProblem], *, may_be_empty: bool = False
) -> tuple[list[dict[str, Any]], int]:
    """The turns of a transcript, and how many wordless items were skipped."""
    if may_be_empty and items in (None, []):
        return [], 0
    if not isinstance(items, list) or not items:
        problems.append(FieldProblem("Transcript", "a non-empty list of turns", type(items).__name__))
        return [], 0
    turns = []
    skipped = 0
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(FieldProblem(f"Transcript[{i}]", "an object", type(item).__name__))
            continue
        if _wordless(item):
            skipped += 1
            continue
        who = item.get("ParticipantId", item.get("ParticipantRole"))
        turn = spoken_turn(
            speaker_of(item), item.get("Content"), problems, text_field=f"Transcript[{i}].Content",
            unmapped=FieldProblem(f"Transcript[{i}].ParticipantRole", f"one of {', '.join(ROLES)}", who),
            what="the text of the turn",
        )  # fmt: skip
        if turn is None:
            continue
        begin = item.get("BeginOffsetMillis")
        if isinstance(begin, int | float) and not isinstance(begin, bool) and 0 <= begin < float("inf"):
            turn["offset_s"] = begin / 1000.0
        elif begin is not None:  # present but unreadable: a wrong time is worse than none, so it is not guessed
            problems.append(FieldProblem(f"Transcript[{i}].BeginOffsetMillis", "milliseconds from the start", begin))
            continue
        turns.append(turn)
    if skipped and not turns and not problems and not may_be_empty:
        problems.append(FieldProblem("Transcript", "at least one item with Content", f"{skipped} items without"))
    return turns, skipped


def _turn_analytics(items: Any) -> list[dict[str, Any]]:
    """Per turn (by its index among the turns), what the platform said about it."""
    out = []
    for index, item in enumerate(i for i in items or [] if isinstance(i, dict) and not _wordless(i)):
        analytics = {key: item[key] for key in TURN_ANALYTICS if key in item}
        if analytics:
            out.append({"turn": index, **analytics})
    return out


def _contact(
    contact_id: Any, channel: Any, turns: list[dict[str, Any]], doc: dict[str, Any], codes: CodeMap | None,
    problems: list[FieldProblem], extra: dict[str, Any],
) -> dict[str, Any] | None:  # fmt: skip
    check_id(contact_id, "ContactId", "the contact's id", problems)
    if str(channel).upper() not in CHANNELS:
        problems.append(FieldProblem("Channel", f"one of {', '.join(CHANNELS)}", channel))
    if problems:
        return None
    raw: dict[str, Any] = {"contact_id": contact_id, "channel": CHANNELS[str(channel).upper()], "turns": turns}
    platform = {key: doc[key] for key in CALL_ANALYTICS if key in doc} | extra
    turn_analytics = _turn_analytics(doc.get("Transcript"))
    if turn_analytics:
        platform["turns"] = turn_analytics
    raw["metadata"] = {"platform": platform}  # the platform's analytics: kept, never labels
    if codes is not None:
        problems.extend(codes.apply(raw, platform.get("wrapup_code"), "wrapup_code"))
    return None if problems else raw


def read_contact_lens(path: Path, codes: CodeMap | None, name: str) -> Iterator[RawContact]:
    doc, problems = load_object(path, "one Contact Lens analysis")
    if problems:
        yield 0, doc, None, problems
        return
    events, problems = contact_record_events(doc.get("ContactRecord"))
    participants = doc.get("Participants")
    if not isinstance(participants, list | None):
        problems.append(FieldProblem("Participants", "a list of participants", participants))
    listed = participants if isinstance(participants, list) else []
    roles = {p["ParticipantId"]: ROLES.get(str(p.get("ParticipantRole", "")).upper())
             for p in listed if isinstance(p, dict) and isinstance(p.get("ParticipantId"), str)}  # fmt: skip

    def speaker_of(item: dict[str, Any]) -> str | None:
        who = item.get("ParticipantId")
        role = roles.get(who) if isinstance(who, str) else None
        return role or ROLES.get(str(who or item.get("ParticipantRole", "")).upper())

    abandoned = bool(events.get("abandoned"))
    turns, skipped = _turns(doc.get("Transcript"), speaker_of, problems, may_be_empty=abandoned)
    meta = doc.get("CustomerMetadata") if isinstance(doc.get("CustomerMetadata"), dict) else {}
    extra = {key: doc[key] for key in ("AccountId", "Version") if key in doc}
    extra.update({k: meta[k] for k in ("InstanceId", "InputS3Uri") if k in meta})
    if skipped:
        extra["skipped_items"] = skipped
    if "wrapup_code" in doc:  # an export joined with the contact record's disposition attribute
        extra["wrapup_code"] = doc["wrapup_code"]
    record = doc.get("ContactRecord") if isinstance(doc.get("ContactRecord"), dict) else {}
    contact_id = meta.get("ContactId") or record.get("ContactId")
    raw = _contact(contact_id, doc.get("Channel", "VOICE"), turns, doc, codes, problems, extra)
    yield 0, doc, None if raw is None else {**raw, **events}, problems


def read_transcribe_call_analytics(path: Path, codes: CodeMap | None, name: str) -> Iterator[RawContact]:
    doc, problems = load_object(path, "one Call Analytics result")
    if problems:
        yield 0, doc, None, problems
        return

    def speaker_of(item: dict[str, Any]) -> str | None:
        return ROLES.get(str(item.get("ParticipantRole", "")).upper())

    turns, skipped = _turns(doc.get("Transcript"), speaker_of, problems)
    contact_id = doc.get("JobName") or name
    extra = {"skipped_items": skipped} if skipped else {}
    yield 0, doc, _contact(contact_id, "VOICE", turns, doc, codes, problems, extra), problems
