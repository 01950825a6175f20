"""Twilio Voice Intelligence (Conversational Intelligence) transcripts: one JSON file per call,
``{"transcript": <Transcript resource>, "sentences": [<Transcript Sentence>...]}`` as the REST API
returns them (``GET /v2/Transcripts/{Sid}`` and ``GET /v2/Transcripts/{Sid}/Sentences``).

A sentence names its audio channel (``media_channel``), not its speaker; the transcript's
``channel.participants`` say which participant (and role) is on which channel. Without them the
speakers are unknown and the call is a rejection naming that field. Offsets are ``start_time``
(seconds, sent as a string).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dispo.errors import FieldProblem
from dispo.platforms.codes import CodeMap
from dispo.platforms.connect import RawContact, load_object_holding, spoken_turn

ROLES = {"customer": "customer", "caller": "customer", "agent": "agent", "rep": "agent", "bot": "system",
         "ivr": "system", "system": "system"}  # fmt: skip


def read_twilio(path: Path, codes: CodeMap | None) -> Iterator[RawContact]:
    doc, problems = load_object_holding(path, "sentences", list, "a list of Transcript Sentences")
    if problems:
        yield 0, doc, None, problems
        return
    transcript: dict[str, Any] = doc["transcript"] if isinstance(doc.get("transcript"), dict) else {}
    channel: dict[str, Any] = transcript["channel"] if isinstance(transcript.get("channel"), dict) else {}
    speakers: dict[int, str] = {}
    for participant in channel.get("participants") or []:
        if isinstance(participant, dict) and isinstance(participant.get("channel_participant"), int):
            role = ROLES.get(str(participant.get("role", "")).lower())
            if role is not None:
                speakers[participant["channel_participant"]] = role
    turns: list[dict[str, Any]] = []
    ordered = sorted((s for s in doc["sentences"] if isinstance(s, dict)), key=lambda s: s.get("sentence_index", 0))
    for i, sentence in enumerate(ordered):
        speaker = speakers.get(sentence.get("media_channel"))  # type: ignore[arg-type]
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
    contact_id = transcript.get("sid") or transcript.get("customer_key") or path.stem
    if problems:
        yield 0, doc, None, problems
        return
    platform = {k: transcript[k] for k in ("sid", "customer_key", "service_sid", "language_code", "duration",
                                           "date_created") if k in transcript}  # fmt: skip
    raw: dict[str, Any] = {"contact_id": str(contact_id), "channel": "voice", "turns": turns,
                           "metadata": {"platform": platform}}  # fmt: skip
    problems = codes.apply(raw, doc.get("wrapup_code"), "wrapup_code") if codes is not None else []
    yield 0, doc, None if problems else raw, problems
