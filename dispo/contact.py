"""The contact contract: one customer interaction, its transcript and its labels.

Canonical form is one JSON object per contact (JSONL files). The models here are the single
definition of that form: readers, the corpus builder, training, serving and metrics all use them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from dispo.errors import ConfigError, FieldProblem, RecordError
from dispo.taxonomy import Taxonomy

Channel = Literal["voice", "chat", "email", "sms", "social", "mobile_app"]
Speaker = Literal["customer", "agent", "system"]
Disconnector = Literal["customer", "agent", "system"]
CHANNELS: tuple[str, ...] = ("voice", "chat", "email", "sms", "social", "mobile_app")
SPEAKERS: tuple[str, ...] = ("customer", "agent", "system")
TASKS: tuple[str, ...] = ("reason", "outcome", "sentiment", "upsell")  # a contact's labels; the model's heads
QUEUE_EVENTS: tuple[str, ...] = ("queued_at", "answered_at", "disconnected_by", "abandoned", "blocked")


#: How deep ``metadata`` may nest (a CRM record is a few levels; hundreds is an attack on the parser).
MAX_METADATA_DEPTH = 16


def valid_unicode(value: str) -> str:
    """``value`` if it can be written as UTF-8; a lone surrogate (valid in a JSON escape, not in
    text) would fail every later write, log or tokenizer call, so it is refused at the door."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"not valid Unicode: a lone surrogate at character {exc.start}") from None
    return value


def check_json_value(value: Any, path: str = "", depth: int = 0) -> None:
    """Raise ``ValueError`` naming the path of the first part of ``value`` that JSON cannot carry
    safely: nesting deeper than :data:`MAX_METADATA_DEPTH`, a non-finite number, invalid text."""
    if depth > MAX_METADATA_DEPTH:
        raise ValueError(f"nested deeper than {MAX_METADATA_DEPTH} levels at {path or 'the top'}")
    if isinstance(value, str):
        try:
            valid_unicode(value)
        except ValueError as exc:
            raise ValueError(f"{path or 'value'}: {exc}") from None
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{path or 'value'}: {value} is not a JSON number")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_json_value(str(key), f"a key under {path or 'the top'}", depth + 1)
            check_json_value(item, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_json_value(item, f"{path}[{index}]", depth + 1)


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    speaker: Speaker
    text: str
    offset_s: float | None = Field(default=None, ge=0, allow_inf_nan=False)  # JSON has no NaN or Infinity

    @field_validator("speaker", mode="before")
    @classmethod
    def _speaker_case(cls, value: Any) -> Any:
        """``Customer`` or ``AGENT`` is the role it names (CSV transcripts read them so too)."""
        return value.strip().lower() if isinstance(value, str) and value.strip().lower() in SPEAKERS else value

    @field_validator("text")
    @classmethod
    def _unicode(cls, value: str) -> str:
        return valid_unicode(value)


class Labels(BaseModel):
    """Any subset of the four tasks; a missing label is ``None``, never a guess."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: str | None = None
    outcome: str | None = None
    sentiment: str | None = None
    upsell: bool | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in TASKS)


#: The longest id a contact may carry (contact, customer, agent, provider, queue): the service stores
#: them in columns of this width, and PostgreSQL refuses longer values.
ID_MAX_CHARS = 200


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_id: str = Field(min_length=1, max_length=ID_MAX_CHARS)
    customer_id: str | None = Field(default=None, max_length=ID_MAX_CHARS)
    channel: Channel | None = None
    provider: str | None = Field(default=None, max_length=ID_MAX_CHARS)
    agent_id: str | None = Field(default=None, max_length=ID_MAX_CHARS)
    queue: str | None = Field(default=None, max_length=ID_MAX_CHARS)
    started_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None
    # Queue events, where the platform records them (service level, abandonment, speed of answer):
    queued_at: AwareDatetime | None = None  # entered the queue
    answered_at: AwareDatetime | None = None  # an agent connected
    disconnected_by: Disconnector | None = None
    abandoned: bool | None = None  # the customer left the queue before an agent answered
    blocked: bool | None = None  # refused at the door (queue full, overflow, busy signal): never queued
    language: str = "en"
    turns: list[Turn] = Field(default_factory=list)  # none only when abandoned or blocked (contact_problems)
    labels: Labels | None = None
    agent_labels: Labels | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("contact_id", "customer_id", "provider", "agent_id", "queue", "language")
    @classmethod
    def _unicode(cls, value: str | None) -> str | None:
        return value if value is None else valid_unicode(value)

    @field_validator("metadata")
    @classmethod
    def _json_safe(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_json_value(value)
        return value

    # -- convenience views --------------------------------------------------------------------
    def customer_text(self) -> str:
        return "\n".join(t.text for t in self.turns if t.speaker == "customer")

    def transcript(self) -> str:
        """``Speaker: text`` lines, the common export format of contact-center platforms."""
        return "\n".join(f"{t.speaker.capitalize()}: {t.text}" for t in self.turns)

    @property
    def never_answered(self) -> bool:
        """Abandoned in the queue or blocked: no agent spoke, so there may be no transcript to classify."""
        return bool(self.abandoned or self.blocked)

    def duration_s(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()

    def to_json_dict(self) -> dict[str, Any]:
        """The canonical JSON form: ISO-8601 times with their zone, no null label blocks."""
        return self.model_dump(mode="json", exclude_none=False)


@dataclass(frozen=True)
class ContactLimits:
    """Size limits that protect training and serving from absurd inputs."""

    max_turns: int = 2_000
    max_turn_chars: int = 20_000
    max_total_chars: int = 200_000
    max_metadata_chars: int = 20_000

    def __post_init__(self) -> None:
        for name in ("max_turns", "max_turn_chars", "max_total_chars", "max_metadata_chars"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"ContactLimits.{name} must be positive, got {getattr(self, name)}")


DEFAULT_LIMITS = ContactLimits()


def in_utc(value: datetime | None) -> datetime | None:
    """A time in UTC; one without a zone (as SQLite hands stored times back) is taken to be UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_contact(
    raw: Any,
    *,
    taxonomy: Taxonomy | None = None,
    limits: ContactLimits = DEFAULT_LIMITS,
    source: str = "<input>",
    line: int | None = None,
) -> Contact:
    """Validate one raw record into a :class:`Contact`, or raise :class:`RecordError` naming every problem."""
    problems = size_problems(raw, limits)
    if problems:
        raise RecordError(source, line, problems)
    try:
        contact = Contact.model_validate(raw)
    except ValidationError as exc:
        raise RecordError(source, line, [_problem_from_pydantic(err) for err in exc.errors()]) from None
    if taxonomy is not None:
        contact = labels_as_spelled(contact, taxonomy)
    problems = contact_problems(contact, taxonomy=taxonomy, limits=limits)
    if problems:
        raise RecordError(source, line, problems)
    return contact


def label_key(value: str) -> str:
    """What two spellings of one label share: case, spaces, hyphens and underscores aside."""
    return re.sub(r"[\s_-]+", "_", value.strip().lower())


def labels_as_spelled(contact: Contact, taxonomy: Taxonomy) -> Contact:
    """The contact with each label written as the taxonomy writes it (``Resolved`` or ``" escalated "``
    is ``resolved``, ``Edit Account`` is ``edit_account``) where exactly one name of the taxonomy
    matches; anything else is left for :func:`contact_problems` to name."""
    names = {
        "reason": taxonomy.reason_names, "outcome": taxonomy.outcome_names, "sentiment": taxonomy.sentiments,
    }  # fmt: skip
    update: dict[str, Labels] = {}
    for block in ("labels", "agent_labels"):
        labels = getattr(contact, block)
        if labels is None:
            continue
        changed = {}
        for task, known in names.items():
            value = getattr(labels, task)
            if isinstance(value, str) and value not in known:
                matches = [name for name in known if label_key(name) == label_key(value)]
                if len(matches) == 1:
                    changed[task] = matches[0]
        if changed:
            update[block] = labels.model_copy(update=changed)
    return contact.model_copy(update=update) if update else contact


def contact_problems(
    contact: Contact, *, taxonomy: Taxonomy | None = None, limits: ContactLimits = DEFAULT_LIMITS
) -> list[FieldProblem]:
    """Problems the schema alone cannot see: empty transcripts, sizes, labels outside the taxonomy."""
    problems: list[FieldProblem] = []
    if contact.started_at is not None and contact.ended_at is not None and contact.ended_at < contact.started_at:
        problems.append(
            FieldProblem(
                "ended_at",
                f"a time at or after started_at ({contact.started_at.isoformat()})",
                contact.ended_at.isoformat(),
            )
        )
    problems.extend(queue_problems(contact))
    if not contact.turns:
        if not contact.never_answered:
            problems.append(FieldProblem("turns", "at least one turn (none only when abandoned or blocked)", []))
    elif not any(t.text.strip() for t in contact.turns):
        problems.append(FieldProblem("turns", "at least one turn with non-blank text", "only blank turns"))
    total = 0
    for i, turn in enumerate(contact.turns):
        total += len(turn.text)
        if len(turn.text) > limits.max_turn_chars:
            problems.append(
                FieldProblem(
                    f"turns[{i}].text", f"at most {limits.max_turn_chars} characters", f"{len(turn.text)}", True
                )
            )
    if total > limits.max_total_chars:
        problems.append(FieldProblem("turns", f"at most {limits.max_total_chars} characters in all", f"{total}", True))
    if contact.metadata and len(repr(contact.metadata)) > limits.max_metadata_chars:
        problems.append(FieldProblem("metadata", f"at most {limits.max_metadata_chars} characters", "larger", True))
    if taxonomy is not None:
        for block in ("labels", "agent_labels"):
            labels = getattr(contact, block)
            if labels is None:
                continue
            for field, expected, found in taxonomy.label_problems(labels.model_dump()):
                problems.append(FieldProblem(f"{block}.{field}", expected, found))
    return problems


def queue_problems(contact: Contact) -> list[FieldProblem]:
    """Queue events that contradict each other (answered before queued, abandoned yet answered)."""
    problems: list[FieldProblem] = []
    queued, answered = contact.queued_at, contact.answered_at
    if queued is not None and answered is not None and answered < queued:
        problems.append(
            FieldProblem("answered_at", f"a time at or after queued_at ({queued.isoformat()})", answered.isoformat())
        )
    if answered is not None and contact.never_answered:
        flag = "abandoned" if contact.abandoned else "blocked"
        problems.append(
            FieldProblem("answered_at", f"no answer time for a contact that is {flag}", answered.isoformat())
        )
    if contact.abandoned and contact.blocked:
        problems.append(
            FieldProblem("blocked", "not both abandoned and blocked (a blocked contact never queued)", True)
        )
    return problems


def size_problems(raw: Any, limits: ContactLimits = DEFAULT_LIMITS) -> list[FieldProblem]:
    """Cheap checks before full validation, so a 10-million-turn record is refused before it is parsed."""
    if not isinstance(raw, dict):
        return [FieldProblem("<record>", "a JSON object", type(raw).__name__)]
    turns = raw.get("turns")
    if isinstance(turns, list) and len(turns) > limits.max_turns:
        return [FieldProblem("turns", f"at most {limits.max_turns} turns", f"{len(turns)} turns", True)]
    metadata = raw.get("metadata")
    if isinstance(metadata, dict) and len(repr(metadata)) > limits.max_metadata_chars:
        return [FieldProblem("metadata", f"at most {limits.max_metadata_chars} characters", "larger", True)]
    return []


_EXPECTED_BY_TYPE = {
    "missing": "a value (required field)",
    "extra_forbidden": "no such field",
    "string_type": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "float_type": "a number",
    "float_parsing": "a number",
    "greater_than_equal": "a number >= 0",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "string_too_short": "a non-empty string",
    "datetime_parsing": "an ISO-8601 date-time with a time zone",
    "datetime_type": "an ISO-8601 date-time with a time zone",
    "datetime_from_date_parsing": "an ISO-8601 date-time with a time zone",
    "timezone_aware": "an ISO-8601 date-time with a time zone (e.g. +00:00 or Z)",
    "finite_number": "a finite number (not NaN or Infinity)",
}


def _problem_from_pydantic(err: Any) -> FieldProblem:
    loc = err.get("loc", ())
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    kind = err.get("type", "")
    if kind == "literal_error":
        expected = "one of " + str(err.get("ctx", {}).get("expected", "")).replace("'", "")
    else:
        expected = _EXPECTED_BY_TYPE.get(kind, str(err.get("msg", kind)))
    found = err.get("input")
    if kind == "missing":
        found = None
    elif isinstance(found, dict | list):
        found = type(found).__name__
    return FieldProblem(path or "<record>", expected, found)
