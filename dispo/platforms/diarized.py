"""Speech recognition output with diarization: voices named by number or letter, roles inferred.

- ``transcribe``: an Amazon Transcribe batch job's result (``results.items``, each word with its
  ``speaker_label`` such as ``spk_0``, or with ``channel_label`` under channel identification;
  punctuation follows its word). One file is one call, named by ``jobName``.
- ``diarized_json``: segments as WhisperX, pyannote pipelines and most speech APIs write them: a
  JSON list, or an object whose ``segments`` or ``utterances`` hold it (under ``results`` for
  Deepgram), each segment with ``text`` (or ``transcript``), ``speaker`` (or ``speaker_label``,
  ``speaker_id``; a number is a voice too) and ``start`` in seconds (milliseconds in an AssemblyAI
  transcript: see :func:`in_milliseconds`). Segments are read in the order of their ``start`` when
  every one has it (channels transcribed apart and concatenated, shuffled output), else as given.
  A segment diarization left without a speaker continues the turn before it (counted in metadata).

Consecutive words or segments of one voice make one turn; the roles come from what each voice says
(:mod:`dispo.roles`) and are kept in the contact's metadata with how firmly they were decided.
Named speakers (``Agent``, ``Caller``) are read as the other readers read them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dispo.errors import FieldProblem
from dispo.io import speaker_turn
from dispo.platforms.codes import CodeMap
from dispo.platforms.connect import load_json
from dispo.roles import ROLES_METADATA_KEY, assign_roles

RawContact = tuple[int, Any, dict[str, Any] | None, list[FieldProblem]]
SPEAKER_KEYS = ("speaker", "speaker_label", "speaker_id")


def read_transcribe(path: Path, codes: CodeMap | None, name: str) -> Iterator[RawContact]:
    doc, problems = load_json(path)
    results = doc.get("results") if isinstance(doc, dict) else None
    if not problems and not (isinstance(results, dict) and isinstance(results.get("items"), list)):
        problems.append(FieldProblem("results.items", "an Amazon Transcribe job result", type(doc).__name__))
    if problems:
        yield 0, doc, None, problems
        return
    assert isinstance(results, dict)
    words: list[tuple[str | None, str, float | None, bool]] = []  # (voice, text, start, punctuation)
    for i, item in enumerate(results["items"]):
        alternatives = item.get("alternatives") if isinstance(item, dict) else None
        content = alternatives[0].get("content") if isinstance(alternatives, list) and alternatives and isinstance(
            alternatives[0], dict) else None  # fmt: skip
        if not isinstance(item, dict) or not isinstance(content, str):
            problems.append(FieldProblem(f"results.items[{i}]", "a word: alternatives[0].content", item))
            continue
        voice = next((item[key] for key in ("speaker_label", "channel_label") if item.get(key) not in (None, "")), None)
        start = seconds(item, ("start_time",), f"results.items[{i}].start_time", problems)
        words.append((None if voice is None else str(voice), content, start, item.get("type") == "punctuation"))
    if problems:
        yield 0, doc, None, problems
        return
    segments: list[tuple[str | None, str, float | None]] = []
    for voice, text, start, punctuation in words:
        if punctuation and segments:  # punctuation carries no voice: it ends the word before it
            segments[-1] = (segments[-1][0], segments[-1][1] + text, segments[-1][2])
        elif punctuation:
            continue
        else:
            segments.append((voice, text, start))
    if any(voice is None for voice, _, _ in segments):
        problems.append(
            FieldProblem(
                "results.items[].speaker_label",
                "a speaker_label or channel_label on every word (a job run with speaker or channel identification)",
                "a word without one",
            )
        )
        yield 0, doc, None, problems
        return
    contact_id = str(doc.get("jobName") or name)
    yield 0, doc, _contact(contact_id, segments, problems, {"jobName": doc.get("jobName")}, doc, codes), problems


def read_diarized_json(path: Path, codes: CodeMap | None, name: str) -> Iterator[RawContact]:
    doc, problems = load_json(path)
    holder = doc.get("results") if isinstance(doc, dict) and isinstance(doc.get("results"), dict) else doc  # Deepgram
    found = doc if isinstance(doc, list) else next(
        (holder[key] for key in ("segments", "utterances") if isinstance(holder, dict)
         and isinstance(holder.get(key), list)), None,
    )  # fmt: skip
    scale = 0.001 if in_milliseconds(doc) else 1.0
    if not problems and found is None:
        problems.append(FieldProblem("segments", "a list of segments (or an object holding one)", type(doc).__name__))
    if problems:
        yield 0, doc, None, problems
        return
    assert found is not None
    read: list[tuple[int, Any, str, float | None]] = []  # (position, voice or None, text, start)
    for i, segment in enumerate(found):
        if not isinstance(segment, dict):
            problems.append(FieldProblem(f"segments[{i}]", "an object", type(segment).__name__))
            continue
        text = segment.get("text", segment.get("transcript"))
        if not isinstance(text, str):
            problems.append(FieldProblem(f"segments[{i}].text", "the segment's text", text))
            continue
        voice = next((segment[key] for key in SPEAKER_KEYS if segment.get(key) not in (None, "")), None)
        start = seconds(segment, ("start", "start_time"), f"segments[{i}].start", problems, scale=scale)
        read.append((i, voice, text.strip(), start))
    if all(start is not None for *_, start in read):
        read.sort(key=lambda item: item[3] or 0.0)  # stable: segments starting together keep their order
    segments: list[tuple[str | None, str, float | None]] = []
    unattributed = 0
    for i, voice, text, start in read:
        if voice is None:
            if not segments:
                problems.append(FieldProblem(f"segments[{i}].speaker", "a speaker on the first segment", None))
                continue
            unattributed += 1
            voice = segments[-1][0]
        segments.append((str(voice), text, start))
    contact_id = str(doc.get("id") or name) if isinstance(doc, dict) else name
    extra = {"unattributed_segments": unattributed} if unattributed else {}
    yield 0, doc, _contact(contact_id, segments, problems, extra, doc, codes), problems


def in_milliseconds(doc: Any) -> bool:
    """Whether a diarized export times its segments in milliseconds, as AssemblyAI's transcript does:
    top-level ``utterances`` (Deepgram's are under ``results``) beside its ``audio_duration``; or,
    without it, utterances whose ``start`` and ``end`` are all whole numbers and that carry AssemblyAI's
    ``confidence`` or ``words``, or of which one would last over 120 s if read as seconds (no one
    speaks that long at once)."""
    utterances = doc.get("utterances") if isinstance(doc, dict) else None
    if not isinstance(utterances, list) or not utterances:
        return False
    if "audio_duration" in doc:
        return True
    if not all(isinstance(u, dict) and _whole(u.get("start")) and _whole(u.get("end")) for u in utterances):
        return False
    return any("confidence" in u or "words" in u or u["end"] - u["start"] > 120 for u in utterances)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def seconds(
    item: dict[str, Any], keys: tuple[str, ...], field: str, problems: list[FieldProblem], *, scale: float = 1.0
) -> float | None:
    """The time under the first of ``keys`` present, in seconds; ``None`` when there is none, and a
    problem of ``field`` when it is not a finite number of seconds from the start."""
    key = next((key for key in keys if item.get(key) is not None), None)
    if key is None:
        return None
    try:
        value = float(item[key]) * scale
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value < 0:
        problems.append(FieldProblem(field, "seconds from the start of the call (a number, 0 or more)", item[key]))
        return None
    return value


def _contact(
    contact_id: str, segments: list[tuple[str | None, str, float | None]], problems: list[FieldProblem],
    platform: dict[str, Any], doc: Any, codes: CodeMap | None,
) -> dict[str, Any] | None:  # fmt: skip
    """The raw contact of a diarized call: one turn per run of one voice, roles assigned."""
    turns: list[dict[str, Any]] = []
    voices: list[str | None] = []
    for voice, text, start in segments:
        if turns and voices[-1] == voice:
            turns[-1]["text"] += " " + text
            continue
        turn = speaker_turn(str(voice), text)
        if turn is None:
            problems.append(
                FieldProblem("segments[].speaker", "a role (Agent, Customer, ...) or a diarization label", voice)
            )
            return None
        if start is not None:
            turn["offset_s"] = start
        turns.append(turn)
        voices.append(voice)
    roles = assign_roles(turns, problems)
    if problems:
        return None
    metadata: dict[str, Any] = {"platform": {k: v for k, v in platform.items() if v is not None}}
    if roles is not None:
        metadata[ROLES_METADATA_KEY] = roles.to_dict()
    raw: dict[str, Any] = {"contact_id": contact_id, "channel": "voice", "turns": turns, "metadata": metadata}
    if codes is not None and isinstance(doc, dict):
        problems.extend(codes.apply(raw, doc.get("wrapup_code"), "wrapup_code"))
    return None if problems else raw
