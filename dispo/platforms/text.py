"""Transcripts as plain text: ``Speaker: text`` lines (with an optional ``[hh:mm:ss]`` offset),
SubRip (``.srt``) and WebVTT (``.vtt``) subtitles. One file is one contact, named by the file
(its path relative to the input folder, without the suffix).

Speakers are recognised by the same aliases as the CSV reader (Caller, Rep, Advisor, IVR, Bot...);
in subtitles a cue names its speaker as ``Agent: ...`` or, in WebVTT, ``<v Agent>...``; the cue's
start time is the turn's offset. Diarization labels (``Speaker 1``, ``spk_0``, ``SPEAKER_01``) get
their roles from what each says (:mod:`dispo.roles`), and such a file is a voice contact. A header
above the first blank line (``Call ID: 88231``, ``Date: ...``) is kept in ``metadata.platform.header``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dispo.errors import FieldProblem
from dispo.io import names_as_voices, parse_transcript, transcript_turn
from dispo.platforms.codes import CodeMap
from dispo.roles import ROLES_METADATA_KEY, assign_roles, is_generic_speaker

_TIMING = re.compile(r"^(?P<h>\d{1,2}:)?(?P<m>\d{2}):(?P<s>\d{2})[.,](?P<ms>\d{3})\s+-->\s+\S+")
_VOICE = re.compile(r"^<v(?:\.[\w.-]+)?\s+(?P<speaker>[^>]+)>(?P<text>.*?)(?:</v>)?$")
_NAMED = re.compile(r"^(?P<speaker>[A-Za-z][A-Za-z0-9 _-]{0,30}?)\s*:\s?(?P<text>.*)$")

RawContact = tuple[int, Any, dict[str, Any] | None, list[FieldProblem]]


def read_speaker_text(path: Path, codes: CodeMap | None, name: str) -> Iterator[RawContact]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        yield 0, None, None, [FieldProblem("<file>", "UTF-8 text", f"a byte that is not UTF-8 at {exc.start}")]
        return
    problems: list[FieldProblem] = []
    suffix = path.suffix.lower()
    header: dict[str, str] = {}
    if suffix == ".txt":
        header, text = split_header(text)
    turns = _cues(text, problems) if suffix in (".srt", ".vtt") else parse_transcript(text, problems)
    roles = assign_roles(turns, problems) if not problems else None
    if problems:
        yield 0, text[:2000], None, problems
        return
    metadata: dict[str, Any] = {"platform": {"file": name + path.suffix}}  # relative to the input folder
    if header:
        metadata["platform"]["header"] = header
    if roles is not None:
        metadata[ROLES_METADATA_KEY] = roles.to_dict()
    diarized = roles is not None and any(is_generic_speaker(label) for label in roles.roles)  # speech recognised
    channel = "voice" if suffix != ".txt" or diarized else "chat"
    yield 0, text[:2000], {"contact_id": name, "channel": channel, "turns": turns, "metadata": metadata}, []


_HEADER_LINE = re.compile(r"^(?P<key>[A-Za-z][A-Za-z /#._-]{0,40}?)\s*:\s*(?P<value>.*)$")
#: Words of the fields a transcript tool writes above the conversation ("Call ID:", "Date:", "Duration:").
_HEADER_WORDS = frozenset(
    {"id", "no", "number", "ref", "reference", "date", "time", "started", "ended", "start", "end", "duration",
     "length", "queue", "channel", "direction", "subject", "title", "language", "recording", "file", "call",
     "contact", "conversation", "interaction", "ticket", "case", "session"}
)  # fmt: skip


def split_header(text: str) -> tuple[dict[str, str], str]:
    """A transcript file's header (``Call ID: 88231``, ``Date: ...`` lines above the first blank line,
    every key made of header words such as id, date, duration or queue, none of them a speaker) and the
    rest; no header and the text as it is otherwise."""
    head, blank, rest = text.lstrip("\n").partition("\n\n")
    if not blank or not rest.strip():
        return {}, text
    header: dict[str, str] = {}
    for line in head.splitlines():
        found = _HEADER_LINE.match(line.strip())
        if found is None:
            return {}, text
        words = set(re.split(r"[\s/#._-]+", found["key"].lower())) - {""}
        if not words or not words <= _HEADER_WORDS:
            return {}, text
        header[found["key"].strip()] = found["value"].strip()
    return header, rest


def _cues(text: str, problems: list[FieldProblem]) -> list[dict[str, Any]]:
    """The turns of SRT or WebVTT cues: a timing line, then the cue's text lines."""
    turns: list[dict[str, Any]] = []
    named: list[tuple[dict[str, Any], FieldProblem]] = []  # cues of speakers named by a person's name
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
    number = 0  # the cue's number, as a subtitle editor shows it (WebVTT's header and notes are no cues)
    for block in blocks:
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        timing_at = next((i for i, line in enumerate(lines) if _TIMING.match(line)), None)
        if timing_at is None and lines and lines[0].startswith(("WEBVTT", "NOTE", "STYLE", "REGION")):
            continue
        number += 1
        if timing_at is None:
            problems.append(FieldProblem(f"cue {number}", "a timing line 'start --> end'", lines[0] if lines else ""))
            continue
        timing = _TIMING.match(lines[timing_at])
        assert timing is not None
        offset = (
            int((timing["h"] or "0:")[:-1]) * 3600 + int(timing["m"]) * 60 + int(timing["s"]) + int(timing["ms"]) / 1000
        )
        body = " ".join(lines[timing_at + 1 :])
        voice = _VOICE.match(body) or _NAMED.match(body)
        if voice is None:
            problems.append(FieldProblem(f"cue {number}", "a speaker (e.g. 'Agent: ...' or '<v Agent>')", body[:40]))
            continue
        text = re.sub(r"</?[^>]+>", "", voice["text"]).strip()
        problem = FieldProblem(f"cue {number}", "a speaker (e.g. 'Agent: ...' or '<v Agent>')", voice["speaker"])
        turn = transcript_turn(voice["speaker"], text, problem, named=named, problems=problems)
        if turn is None:
            continue
        turn["offset_s"] = offset
        turns.append(turn)
    return names_as_voices(turns, named, problems)
