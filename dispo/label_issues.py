"""``label_issues.jsonl``: a training run's judgement of each agent code (``dispo train --label-noise``).

Two commands read it against data of their own: ``dispo report --label-issues`` (estimated agent
accuracy) and ``dispo audit import --label-issues`` (the QA queue). Both read it here, so that
both refuse the same files: a row without its fields, a chance outside 0-1, a code judged twice,
and rows whose ``given`` code is not the code the contact carries in the data at hand. That last
one is a file from another run or other data (contact ids repeat across exports and corpora): its
estimates would be applied to codes it never judged, and a confirmed audit would record a code the
agent never gave. The report's table can hold millions of contacts, so it applies
:func:`same_code`'s rule in SQL (``dispo.metrics.source``) rather than through a dict of every contact.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dispo.contact import label_key
from dispo.errors import InvalidInputError

TASKS: tuple[str, ...] = ("reason", "outcome")
REQUIRED: tuple[str, ...] = ("contact_id", "task", "given", "suggested", "self_confidence")
CHANCES: tuple[str, ...] = ("self_confidence", "estimated_right")

#: contact_id -> task -> the row as written (``training.noise.LabelIssue``)
LabelIssues = dict[str, dict[str, dict[str, Any]]]


def read_label_issues(path: str | Path) -> LabelIssues:
    """Every judged code of ``path``, checked line by line (file:line, the field at fault)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"label issues: {path}: no such file")
    issues: LabelIssues = {}
    lines: dict[tuple[str, str], int] = {}
    for number, issue in _records(path):
        missing = [name for name in REQUIRED if not isinstance(issue, dict) or issue.get(name) is None]
        wrong = [name for name in CHANCES if not missing and name in issue and not _chance(issue[name])]
        if not missing and issue["task"] not in TASKS:
            wrong.append("task")
        if missing or wrong:
            raise InvalidInputError(
                f"{path}:{number}: a label issue needs {', '.join(REQUIRED)} (task reason or outcome; "
                f"self_confidence and any estimated_right a number from 0 to 1); missing or wrong: "
                f"{', '.join(missing or wrong)}"
            )
        key = (str(issue["contact_id"]), str(issue["task"]))
        if key in lines:
            raise InvalidInputError(
                f"{path}:{number}: the {key[1]} code of contact {key[0]!r} is judged again (first at line "
                f"{lines[key]}): one run judges each code once; are two files joined?"
            )
        lines[key] = number
        issues.setdefault(key[0], {})[key[1]] = issue
    return issues


@dataclass(frozen=True)
class Coverage:
    """How the judged codes meet the data they are read against."""

    judged: int  # contacts the file judges
    found: int  # of them, contacts in the data
    not_judged: int  # contacts of the data with an agent code that the file does not judge
    tasks: frozenset[str] = frozenset(TASKS)  # the tasks judged for at least one contact in the data

    def describe(self) -> str | None:
        """A note for whoever reads the figures, when the file and the data do not cover each other."""
        parts = []
        if self.judged > self.found:
            parts.append(f"{self.judged - self.found} of the {self.judged} judged contacts are not in the data")
        if self.not_judged:
            parts.append(
                f"{self.not_judged} contacts of the data with an agent code were not judged (audited in training, "
                "too few to judge, or not in the training data) and have no estimate"
            )
        return "; ".join(parts) or None


def check_given_codes(
    issues: LabelIssues, codes: Mapping[str, Mapping[str, str | None]], *, path: str | Path
) -> Coverage:
    """Refuse ``issues`` unless each judged code of a contact in ``codes`` (contact_id -> task -> the
    agent's code in the data) is that code; return how the two cover each other."""
    mismatched: list[str] = []
    found = 0
    for contact_id, judged in issues.items():
        coded = codes.get(contact_id)
        if coded is None:
            continue
        found += 1
        for task, issue in judged.items():
            if not same_code(issue["given"], coded.get(task)):
                mismatched.append(
                    f"contact {contact_id!r}: {task} {issue['given']!r} judged, {coded.get(task)!r} in the data"
                )
    if mismatched:
        raise InvalidInputError(
            f"{path}: {len(mismatched)} judged codes are not the codes the contacts carry in the data (e.g. "
            f"{'; '.join(mismatched[:3])}): the file judged another run's or other data's codes"
        )
    not_judged = sum(1 for contact_id, coded in codes.items() if contact_id not in issues and any(coded.values()))
    tasks = frozenset(task for contact_id, judged in issues.items() if contact_id in codes for task in judged)
    return Coverage(judged=len(issues), found=found, not_judged=not_judged, tasks=tasks)


def _records(path: Path) -> Iterator[tuple[int, Any]]:
    """The file's records with their line (JSONL) or row (Parquet) numbers."""
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            rows = pq.read_table(path).to_pylist()
        except (pa.ArrowInvalid, OSError) as exc:
            raise InvalidInputError(f"{path}: not a readable Parquet file: {exc}") from None
        yield from enumerate(rows, start=1)
        return
    with path.open("rb") as handle:
        for number, data in enumerate(handle, start=1):
            try:
                line = data.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInputError(f"{path}:{number}: not UTF-8 text (label_issues.jsonl is JSON lines)") from None
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except ValueError as exc:
                raise InvalidInputError(f"{path}:{number}: not JSON ({exc})") from None


def same_code(given: Any, coded: str | None) -> bool:
    """Whether a judged code is the data's, spelling aside (training read the contacts with its
    taxonomy, which writes ``Track Order`` as ``track_order``; other readers may not)."""
    return coded is not None and isinstance(given, str) and label_key(given) == label_key(coded)


def _chance(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= value <= 1.0
