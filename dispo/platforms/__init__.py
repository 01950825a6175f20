"""Contacts as contact-center platforms export them, read into dispo's contract.

Each format has a reader (one module per platform) that turns one exported record into a raw
contact (``dict``) that :func:`dispo.contact.parse_contact` checks like any other input, so a bad
record gets the same ``file:record: field`` error, and the same rejects accounting, as JSONL or CSV.
Speakers come from the platform's roles; offsets from its timestamps; contact, agent and queue ids
where the export has them. The platform's own analytics (sentiment, categories, detected issues,
conversation characteristics) are kept in ``metadata``, never used as labels; a wrap-up code
becomes ``agent_labels`` only through a mapping file (:class:`CodeMap`). Where an export carries no
contact id, the reader names the contact after its file: the path relative to the input folder
without its suffix (``day1/call``), so files of one name in two folders stay two contacts.

    dispo data import contact_lens exports/ -o contacts.jsonl --codes wrapup-codes.yaml
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dispo.contact import DEFAULT_LIMITS, ContactLimits, parse_contact
from dispo.errors import FieldProblem, RecordError
from dispo.io import TRANSCRIPT_SUFFIXES, IdLedger, InputFormatError, Record, Rejected, expand_inputs
from dispo.platforms.ccai import read_ccai
from dispo.platforms.codes import CodeMap
from dispo.platforms.connect import load_json, read_contact_lens, read_transcribe_call_analytics
from dispo.platforms.diarized import read_diarized_json, read_transcribe
from dispo.platforms.genesys import read_genesys
from dispo.platforms.text import read_speaker_text
from dispo.platforms.twilio import read_twilio
from dispo.platforms.zendesk import read_zendesk
from dispo.taxonomy import Taxonomy

logger = logging.getLogger(__name__)

#: A platform reader: the raw contacts of one exported file (its path, the code map, and the name a
#: contact without an id of its own takes from the file), each with its position, the record as
#: found, and either the raw contact or the problems that keep it from being one.
PlatformReader = Callable[
    [Path, CodeMap | None, str], Iterator[tuple[int, Any, dict[str, Any] | None, list[FieldProblem]]]
]

#: What a reader raises on a structure it does not expect (a list where it reads an object...): one
#: file's rejection, never the end of the job.
_UNEXPECTED = (TypeError, KeyError, AttributeError, ValueError, IndexError, OverflowError)


@dataclass(frozen=True)
class Platform:
    reader: PlatformReader
    suffixes: tuple[str, ...]  # of the files a folder of exports is read for
    what: str


FORMATS: dict[str, Platform] = {
    "contact_lens": Platform(
        read_contact_lens, (".json",), "Amazon Connect Contact Lens conversational analytics output (one call)"
    ),
    "transcribe_call_analytics": Platform(
        read_transcribe_call_analytics, (".json",), "Amazon Transcribe Call Analytics post-call output (one call)"
    ),
    "twilio": Platform(read_twilio, (".json",), "Twilio Voice Intelligence transcript with its sentences (one call)"),
    "zendesk": Platform(read_zendesk, (".json",), "a Zendesk ticket with its comments (one ticket)"),
    "genesys": Platform(read_genesys, (".json",), "a Genesys Cloud communication transcript (transcript URL JSON)"),
    "ccai": Platform(read_ccai, (".json",), "a Google CCAI Insights Conversation resource (one conversation)"),
    "transcribe": Platform(
        read_transcribe, (".json",), "an Amazon Transcribe job result with speaker or channel identification (one call)"
    ),
    "diarized_json": Platform(
        read_diarized_json, (".json",), "diarized segments (WhisperX, pyannote, speech APIs): speaker, text, start"
    ),
    "speaker_text": Platform(
        read_speaker_text, TRANSCRIPT_SUFFIXES, "a 'Speaker: text' transcript, SRT or WebVTT (one contact a file)"
    ),
}

__all__ = ["FORMATS", "CodeMap", "Platform", "iter_platform_records", "names_root"]


def iter_platform_records(
    fmt: str,
    inputs: str | Path,
    *,
    taxonomy: Taxonomy | None = None,
    limits: ContactLimits = DEFAULT_LIMITS,
    codes: CodeMap | None = None,
    root: str | Path | None = None,
    ids: IdLedger | None = None,
) -> Iterator[Record]:
    """Every record of a platform export (a file, folder or glob), like :func:`dispo.io.iter_records`:
    a contact or a rejection naming the format, the file, the record and the field. ``root``: the
    folder names taken from files are relative to (default: ``inputs`` when it is a folder, else the
    folder its files share, so a single file is named by its stem). With ``ids``, a contact whose id
    an earlier record had (the same call in two overlapping exports) is rejected."""
    platform = FORMATS.get(fmt)
    if platform is None:
        raise InputFormatError(f"unknown platform format {fmt!r}; known: {', '.join(sorted(FORMATS))}")
    paths = expand_inputs(inputs, suffixes=platform.suffixes)
    base = names_root(inputs, paths) if root is None else Path(root)
    for path in paths:
        source = f"{path} ({fmt})"
        try:
            found = list(platform.reader(path, codes, _name(path, base)))
        except _UNEXPECTED as exc:  # a gap in the reader: this file is rejected, the others are read
            logger.warning("%s: unexpected structure, file rejected (%s: %s)", source, type(exc).__name__, exc)
            problem = FieldProblem("<file>", platform.what, f"a structure the reader does not expect ({exc!r})")
            yield Record(path, 0, Rejected(RecordError(source, 1, [problem]), load_json(path)[0]))
            continue
        for position, original, raw, problems in found:
            if problems or raw is None:
                yield Record(path, position, Rejected(RecordError(source, position + 1, problems), original))
                continue
            try:
                contact = parse_contact(raw, taxonomy=taxonomy, limits=limits, source=source, line=position + 1)
                repeated = ids.repeated(contact.contact_id, f"{path}:{position + 1}") if ids is not None else None
                if repeated is not None:
                    raise RecordError(source, position + 1, [repeated])
            except RecordError as error:
                yield Record(path, position, Rejected(error, original))
                continue
            yield Record(path, position, contact)


def names_root(inputs: str | Path, paths: list[Path]) -> Path:
    """The folder file names are taken relative to: the input folder, else the one its files share."""
    if Path(inputs).is_dir():
        return Path(inputs)
    try:
        return Path(os.path.commonpath([p.parent for p in paths]))
    except ValueError:  # no common folder (files on two drives): each is named by its stem
        return paths[0].parent


def _name(path: Path, root: Path) -> str:
    """The name a contact takes from its file: the path relative to ``root`` without the suffix."""
    try:
        return path.relative_to(root).with_suffix("").as_posix()
    except ValueError:
        return path.stem
