"""Genesys Cloud speech and text analytics transcripts: one JSON file per communication, as the
transcript URL (``GET /api/v2/speechandtextanalytics/conversations/{id}/communications/{id}/transcripturl``)
serves it: ``conversationId``, ``mediaType``, and ``transcripts[].phrases[]`` with each phrase's
``participantPurpose``, ``text`` and ``startTimeMs``.

Genesys separates speakers into the external participant (the customer) and internal ones (agent,
IVR, ACD, conference, voicemail): ``external`` is the customer, ``internal`` and ``agent`` the
agent, ``ivr``, ``acd`` and bots the system side. Sentiment and topic events of the transcript's
``analytics`` are metadata; a wrap-up code (``wrapUpCode``, joined from the conversation details)
is the agent's code through the code map.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dispo.errors import FieldProblem
from dispo.platforms.codes import CodeMap
from dispo.platforms.connect import RawContact, load_object

PURPOSES = {"external": "customer", "customer": "customer", "internal": "agent", "agent": "agent", "user": "agent",
            "ivr": "system", "acd": "system", "bot": "system", "voicemail": "system", "workflow": "system"}  # fmt: skip
MEDIA = {"call": "voice", "voice": "voice", "chat": "chat", "message": "chat", "email": "email", "callback": "voice"}


def read_genesys(path: Path, codes: CodeMap | None) -> Iterator[RawContact]:
    doc, problems = load_object(path, "one Genesys Cloud communication transcript")
    if problems:
        yield 0, doc, None, problems
        return
    transcripts = doc.get("transcripts")
    if not isinstance(transcripts, list) or not transcripts:
        yield 0, doc, None, [FieldProblem("transcripts", "a non-empty list of transcripts", type(transcripts).__name__)]
        return
    started = doc.get("conversationStartTime") or doc.get("startTime")
    turns: list[dict[str, Any]] = []
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
            speaker = PURPOSES.get(purpose)
            if speaker is None:
                found = phrase.get("participantPurpose") if isinstance(phrase, dict) else phrase
                problems.append(FieldProblem(f"{where}.participantPurpose", "external, internal, ivr or acd", found))
                continue
            text = phrase.get("text")
            if not isinstance(text, str):
                problems.append(FieldProblem(f"{where}.text", "the phrase's text", text))
                continue
            turn: dict[str, Any] = {"speaker": speaker, "text": text}
            offset = _offset_s(phrase.get("startTimeMs"), started)
            if offset is not None:
                turn["offset_s"] = offset
            turns.append(turn)
    contact_id = doc.get("conversationId")
    if not isinstance(contact_id, str) or not contact_id:
        problems.append(FieldProblem("conversationId", "the conversation's id", contact_id))
    if problems:
        yield 0, doc, None, problems
        return
    raw: dict[str, Any] = {"contact_id": contact_id, "channel": MEDIA.get(str(doc.get("mediaType", "call")), "voice"),
                           "turns": turns}  # fmt: skip
    platform: dict[str, Any] = {k: doc[k] for k in ("communicationId", "recordingId", "organizationId", "mediaType")
                                if k in doc}  # fmt: skip
    if analytics:
        platform["analytics"] = analytics
    raw["metadata"] = {"platform": platform}
    problems = codes.apply(raw, doc.get("wrapUpCode"), "wrapUpCode") if codes is not None else []
    yield 0, doc, None if problems else raw, problems


def _offset_s(start_ms: Any, started: Any) -> float | None:
    """A phrase's offset in seconds: ``startTimeMs`` is epoch time, taken against the conversation's
    start; a small value (an export that already made it relative) is taken as it is."""
    if not isinstance(start_ms, int | float) or isinstance(start_ms, bool):
        return None
    if start_ms > 10**11:  # epoch milliseconds
        return max(0.0, (start_ms - started) / 1000.0) if isinstance(started, int | float) else None
    return start_ms / 1000.0
