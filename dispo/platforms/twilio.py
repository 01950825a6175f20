"""Twilio Voice Intelligence (Conversational Intelligence) transcripts: one JSON file per call,
``{"transcript": <Transcript resource>, "sentences": [<Transcript Sentence>...]}`` as the REST API
returns them (``GET /v2/Transcripts/{Sid}`` and ``GET /v2/Transcripts/{Sid}/Sentences``).

A sentence names its audio channel (``media_channel``), not its speaker; the transcript's
``channel.participants`` say which participant (and role) is on which channel. Without them the
speakers are unknown and the call is a rejection naming that field. Offsets are ``start_time``
(seconds, sent as a string). Sentences are read in the order of their ``sentence_index``; without
one, by ``start_time`` when every sentence has it (channels transcribed apart and concatenated),
else as given.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dispo.errors import FieldProblem
from dispo.platforms.codes import CodeMap
from dispo.platforms.connect import RawContact, load_object_holding, spoken_turn

ROLES = {"customer": "customer", "caller": "customer", "agent": "agent", "rep": "agent", "bot": "system",
         "ivr": "system", "system": "system"}  # fmt: skip


def read_twilio(path: Path, codes: CodeMap | None, name: str) -> Iterator[RawContact]:
    doc, problems = load_object_holding(path, "sentences", list, "a list of Transcript Sentences")
    if problems:
        yield 0, doc, None, problems
        return
    transcript: dict[str, Any] = doc["transcript"] if isinstance(doc.get("transcript"), dict) else {}
    channel: dict[str, Any] = transcript["channel"] if isinstance(transcript.get("channel"), dict) else {}
    speakers: dict[int, str] = {}
    participants = channel.get("participants")
    if not isinstance(participants, list | None):
        problems.append(FieldProblem("transcript.channel.participants", "a list of participants", participants))
    for participant in participants if isinstance(participants, list) else []:
        number = _channel_number(participant.get("channel_participant")) if isinstance(participant, dict) else None
        if number is not None:
            role = ROLES.get(str(participant.get("role", "")).lower())
            if role is not None:
                speakers[number] = role
    turns: list[dict[str, Any]] = []
    for i, sentence in _in_order(doc["sentences"], problems):
        media_channel = _channel_number(sentence.get("media_channel"))
        speaker = speakers.get(media_channel) if media_channel is not None else None
        channel_role = f"a role for media channel {sentence.get('media_channel')!r}"
        turn = spoken_turn(
            speaker, sentence.get("transcript"), problems, text_field=f"sentences[{i}].transcript",
            what="the sentence's text",
            unmapped=FieldProblem("transcript.channel.participants", channel_role, sorted(speakers)),
        )  # fmt: skip
        if turn is None and speaker is None:
            break  # one unmapped channel: said once, not for each of its sentences
        if turn is None:
            continue
        text = turn["text"]
        with contextlib.suppress(KeyError, TypeError, ValueError):  # no time: the turn has no offset
            turn["offset_s"] = float(sentence["start_time"])
        if turns and turns[-1]["speaker"] == speaker:  # sentences of one speaker make one turn
            turns[-1]["text"] += " " + text
        else:
            turns.append(turn)
    contact_id = transcript.get("sid") or transcript.get("customer_key") or name
    if problems:
        yield 0, doc, None, problems
        return
    platform = {k: transcript[k] for k in ("sid", "customer_key", "service_sid", "language_code", "duration",
                                           "date_created") if k in transcript}  # fmt: skip
    raw: dict[str, Any] = {"contact_id": str(contact_id), "channel": "voice", "turns": turns,
                           "metadata": {"platform": platform}}  # fmt: skip
    problems = codes.apply(raw, doc.get("wrapup_code"), "wrapup_code") if codes is not None else []
    yield 0, doc, None if problems else raw, problems


def _channel_number(value: Any) -> int | None:
    """An audio channel's number, written as a number or as its digits (``1`` or ``"1"``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and value.strip().isdigit() else None


def _in_order(sentences: list[Any], problems: list[FieldProblem]) -> list[tuple[int, dict[str, Any]]]:
    """The sentences (with their positions in the file) in spoken order: see the module docstring."""
    found: list[tuple[int, dict[str, Any]]] = []
    for i, sentence in enumerate(sentences):
        index = sentence.get("sentence_index", 0) if isinstance(sentence, dict) else None
        if not isinstance(sentence, dict):
            problems.append(FieldProblem(f"sentences[{i}]", "a Transcript Sentence object", type(sentence).__name__))
        elif not isinstance(index, int) or isinstance(index, bool):
            problems.append(FieldProblem(f"sentences[{i}].sentence_index", "the sentence's position (a number)", index))
        else:
            found.append((i, sentence))
    if all("sentence_index" in sentence for _, sentence in found):
        return sorted(found, key=lambda item: item[1]["sentence_index"])
    starts = [_start(sentence) for _, sentence in found]
    if all(start is not None for start in starts):
        return [item for _, item in sorted(zip(starts, found, strict=True), key=lambda pair: pair[0] or 0.0)]
    return found


def _start(sentence: dict[str, Any]) -> float | None:
    try:
        start = float(sentence["start_time"])
    except (KeyError, TypeError, ValueError):
        return None
    return start if math.isfinite(start) else None
