"""The contact contract: one customer interaction, its transcript and its labels.

Canonical form is one JSON object per contact (JSONL files). The models here are the single
definition of that form: readers, the corpus builder, training, serving and metrics all use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from dispo.errors import ConfigError, FieldProblem, RecordError
from dispo.taxonomy import Taxonomy

Channel = Literal["voice", "chat", "email", "sms", "social", "mobile_app"]
Speaker = Literal["customer", "agent", "system"]
CHANNELS: tuple[str, ...] = ("voice", "chat", "email", "sms", "social", "mobile_app")
SPEAKERS: tuple[str, ...] = ("customer", "agent", "system")
LABEL_FIELDS: tuple[str, ...] = ("reason", "outcome", "sentiment", "upsell")


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    speaker: Speaker
    text: str
    offset_s: float | None = Field(default=None, ge=0)


class Labels(BaseModel):
    """Any subset of the four tasks; a missing label is ``None``, never a guess."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: str | None = None
    outcome: str | None = None
    sentiment: str | None = None
    upsell: bool | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in LABEL_FIELDS)


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_id: str = Field(min_length=1)
    customer_id: str | None = None
    channel: Channel | None = None
    provider: str | None = None
    agent_id: str | None = None
    queue: str | None = None
    started_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None
    language: str = "en"
    turns: list[Turn]
    labels: Labels | None = None
    agent_labels: Labels | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    # -- convenience views --------------------------------------------------------------------
    def customer_text(self) -> str:
        return "\n".join(t.text for t in self.turns if t.speaker == "customer")

    def transcript(self) -> str:
        """``Speaker: text`` lines, the common export format of contact-center platforms."""
        return "\n".join(f"{t.speaker.capitalize()}: {t.text}" for t in self.turns)

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
    problems = contact_problems(contact, taxonomy=taxonomy, limits=limits)
    if problems:
        raise RecordError(source, line, problems)
    return contact


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
    if not contact.turns:
        problems.append(FieldProblem("turns", "at least one turn", []))
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
    if taxonomy is not None:
        for block in ("labels", "agent_labels"):
            labels = getattr(contact, block)
            if labels is None:
                continue
            for field, expected, found in taxonomy.label_problems(labels.model_dump()):
                problems.append(FieldProblem(f"{block}.{field}", expected, found))
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
