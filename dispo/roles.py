"""Speaker roles of diarized transcripts: which of ``Speaker 1`` and ``Speaker 2`` is the agent.

Speech recognition with diarization (Amazon Transcribe, Deepgram, AssemblyAI, WhisperX and pyannote)
names the voices it separates by number or letter (``spk_0``, ``Speaker 1``, ``SPEAKER_01``, ``A``),
not by role, and dispo's model reads roles. Each such label is read for what agents say (speaking for
a company, offering help, checking and acting on an account, closing the contact) against what
customers say (first-person needs about *my* order, card or account), with the balance of
"you", "your", "we" and "our" against "my" and "me" in its turns:

- a label whose every turn is an automated prompt (press 1, this call may be recorded) is ``system``;
- the label that reads most like a customer is the ``customer``, every other label an ``agent``
  (a transfer brings a second agent; there is one customer);
- where the reading cannot separate them, the first to speak is the agent, as in inbound calls.

Named roles (``Agent:``, ``Caller:``) are never second-guessed; the assignment, with the lean of
every label and the margin it was decided by, is kept in the contact's metadata
(``speaker_roles``), so that an analyst can see what was inferred and how firmly.
"""

from __future__ import annotations

import re
from collections.abc import MutableSequence, Sequence
from dataclasses import dataclass, field
from typing import Any

from dispo.errors import FieldProblem

#: Where a contact's metadata keeps the inferred roles (:meth:`RoleAssignment.to_dict`).
ROLES_METADATA_KEY = "speaker_roles"
#: The key under which a raw turn carries a speaker label that names no role, until roles are assigned.
LABEL_KEY = "speaker_label"

#: Speaker names of diarization: a word for "speaker" (or none) and a number or a single letter.
GENERIC_SPEAKER = re.compile(
    r"^(?:(?:speaker|spk|spkr|person|participant|party|channel|ch|voice|talker|s)[ _-]?(?:\d{1,2}|[a-z])"
    r"|[a-z]|\d{1,2})$",
    re.IGNORECASE,
)

#: What an agent says with "my": counted as an agent cue, and not as the customer's first person.
_AGENT_MY = (
    r"\bmy (?:apologies|pleasure|colleagues?|supervisor|manager|team ?lead|team|department|system|screen"
    r"|records|end|side|recommendation)\b"
)
_AGENT_CUES = [
    re.compile(pattern)
    for pattern in (
        r"\b(?:thanks?|thank you) for (?:calling|contacting|reaching out|holding|waiting|your patience|choosing)",
        r"\bhow (?:can|may|could) i (?:help|assist)",
        r"\b(?:what|anything) (?:can|could) i (?:do|help)",
        r"\bmy name is\b|\bthis is \w+ (?:from|with|at)\b|\bspeaking\b",
        r"\b(?:let me|i'll|i will|i can|allow me to|i'm going to|i am going to) "
        r"(?:check|look|pull|see|verify|confirm|transfer|escalate|process|issue|send|help|get that)",
        r"\bi (?:can|could) see (?:that|your|the|an?)\b",
        r"\b(?:can|could|may) i (?:have|get|take) your\b",
        r"\b(?:can|could) you (?:confirm|verify|spell|provide|give me)\b",
        r"\bfor (?:security|verification) purposes\b",
        r"\b(?:bear with me|one moment|just a moment|give me (?:a|one) (?:second|moment|sec))\b",
        r"\b(?:put|place) you on (?:a )?(?:brief |short |quick )?hold\b",
        r"\b(?:is there )?anything else (?:i can|i could|we can)\b",
        r"\bhave a (?:great|good|nice|wonderful|lovely) (?:day|evening|night|weekend|one)\b",
        r"\bi (?:apologi[sz]e|understand your|understand how)\b"
        r"|\bsorry (?:for|about) (?:the|any) (?:inconvenience|wait|trouble)",
        r"\bi(?:'ve| have) (?:processed|issued|refunded|escalated|updated|cancell?ed|reset|sent|added|applied"
        r"|credited)\b",
        r"\byour (?:order|account|refund|package|parcel|card|payment|invoice|bill|subscription|ticket|case) "
        r"(?:is|was|has|will|number)\b",
        r"\bour (?:policy|records|system|team|store|website|records show)\b",
        r"^(?:hi|hello|hey|good (?:morning|afternoon|evening))\b.{0,40}?\b[a-z]+ here\b",  # "Hi, Jess here"
        r"\b(?:dm|message|email|call|send) us\b"
        r"|\b(?:we|we'll|we will|we can|let's) (?:help|look|check|take a look|sort)",
        r"\bon (?:our|my) (?:side|end)\b|(?:^|[\s.!,])\^[a-z]{2,}\s*$",  # "^Milo": a social-media signature
        r"\bsorry to hear\b|\bi hear you\b|\bwho am i speaking (?:with|to)\b|\bwelcome to\b",
        _AGENT_MY,
        r"\bhave you (?:tried|checked|received|had a chance)\b|\bare you (?:on|using|able to see)\b",
    )
]
_CUSTOMER_CUES = [
    re.compile(pattern)
    for pattern in (
        r"\bi(?: want| need| would like|'d like| wanna| was hoping| am trying|'m trying| tried| can't| cannot"
        r"| couldn't)\b",
        r"\bi(?:'m| am) (?:calling|ringing|writing|contacting|reaching out) (?:about|because|to|regarding)\b",
        r"\bmy (?:order|account|package|parcel|card|refund|payment|bill|invoice|password|subscription|address"
        r"|delivery|money)\b",
        r"\bi (?:ordered|bought|paid|purchased|received|got charged|was charged|signed up|placed)\b",
        r"\b(?:can|could) you (?:help|tell|check|cancel|send|please)\b",
        r"\b(?:still|never) (?:haven't|hasn't|have not|has not|got|arrived|received|came)\b",
        r"\bwhy (?:was|is|did|am|have|has) (?:i|my)\b",
        r"\b(?:thanks|thank you) (?:so much|for your help|for helping|a lot)\b",
        r"\b(?:tried|trying|try) to\b|\bit keeps (?:saying|telling|asking)\b|\bi was told\b",
        r"^dear (?:sir|madam|customer|support|team|all)\b|\bto whom it may concern\b",
    )
]
_SYSTEM_CUES = re.compile(
    r"\bpress (?:\d|one|two|three|four|five|star|pound)\b|\bthis call (?:may|will) be (?:recorded|monitored)"
    r"|\byour call is important\b|\b(?:please|kindly) (?:hold|stay on the line)\b|\ball (?:of )?our (?:agents|"
    r"representatives|advisors) are\b|\bestimated wait time\b|\bfor quality (?:and|&) training\b"
)
_YOU = re.compile(r"\b(?:you|your|yours|yourself|you're|you've|you'll|you'd|we|our|us|we're|we've|we'll)\b")
_I = re.compile(r"\b(?:my|me|mine|myself)\b")  # not "I": agents say "I'll check" as often as customers "I need"


@dataclass(frozen=True)
class RoleAssignment:
    """The role of each unnamed speaker label, how much each read like an agent (``lean``: positive
    is agent-like), and the margin between the customer and the next most customer-like label
    (0 where turn order decided)."""

    roles: dict[str, str]
    lean: dict[str, float] = field(default_factory=dict)
    margin: float = 0.0
    decided_by: str = "content"  # or "turn order" (no margin), "named roles" (one unnamed label)

    def to_dict(self) -> dict[str, Any]:
        return {"roles": dict(self.roles), "lean": {k: round(v, 3) for k, v in self.lean.items()},
                "margin": round(self.margin, 3), "decided_by": self.decided_by}  # fmt: skip


def is_generic_speaker(name: str) -> bool:
    return bool(GENERIC_SPEAKER.match(" ".join(name.split())))


def turn_lean(text: str) -> tuple[float, float, bool]:
    """What one turn says of its speaker: agent cues minus customer cues, the count of you/your/we/our
    minus my/me, and whether it is an automated prompt."""
    lowered = text.lower().replace("’", "'")
    cues = sum(bool(cue.search(lowered)) for cue in _AGENT_CUES) - sum(
        bool(cue.search(lowered)) for cue in _CUSTOMER_CUES
    )
    pronouns = len(_YOU.findall(lowered)) - len(_I.findall(re.sub(_AGENT_MY, "", lowered)))
    return float(cues), float(pronouns), bool(_SYSTEM_CUES.search(lowered))


def infer_roles(turns: Sequence[tuple[str, str]], *, named: Sequence[str] = ()) -> RoleAssignment:
    """Roles for the unnamed labels of ``turns`` (``(label, text)`` in order); ``named``: the roles the
    other turns of the contact already have. Raises ``ValueError`` where there is nothing to decide
    by: a lone unnamed label and no named agent or customer."""
    order: list[str] = []
    cues: dict[str, float] = {}
    pronouns: dict[str, float] = {}
    automated: dict[str, list[bool]] = {}
    for label, text in turns:
        if label not in cues:
            order.append(label)
            cues[label], pronouns[label], automated[label] = 0.0, 0.0, []
        cue, pronoun, prompt = turn_lean(text)
        cues[label] += cue
        pronouns[label] += pronoun
        automated[label].append(prompt)
    lean = {label: cues[label] + 0.5 * pronouns[label] / (1.0 + len(automated[label])) ** 0.5 for label in order}
    roles = {label: "system" for label in order if all(automated[label])}
    named_people = {"agent", "customer"} & set(named)
    if len(order) - len(roles) + len(named_people) < 2:  # prompts are told from people, never a person alone
        roles = {}
    people = [label for label in order if label not in roles]
    if not people:  # automated prompts beside a named agent and customer
        return RoleAssignment(roles, lean, 0.0, "named roles")
    if "customer" in named:  # the customer is named: every unnamed voice is an agent
        roles.update({label: "agent" for label in people})
        return RoleAssignment(roles, lean, 0.0, "named roles")
    if len(people) == 1:  # one voice: it takes the role the named speakers lack, if they lack one
        if "agent" not in named:
            raise ValueError(f"one unnamed speaker ({people[0]!r}) and no named agent or customer: name the roles")
        roles[people[0]] = "customer"
        return RoleAssignment(roles, lean, 0.0, "named roles")
    ranked = sorted(people, key=lambda label: lean[label])
    margin = lean[ranked[1]] - lean[ranked[0]]
    if margin > 0:
        customer, decided_by = ranked[0], "content"
    else:  # a tie: the first of the tied labels to speak is the agent, the second the customer
        tied = [label for label in people if lean[label] == lean[ranked[0]]]
        customer, decided_by = tied[1], "turn order"
    for label in people:
        roles[label] = "customer" if label == customer else "agent"
    return RoleAssignment(roles, lean, margin, decided_by)


def assign_roles(
    turns: MutableSequence[dict[str, Any]], problems: list[FieldProblem], *, field: str = "turns[].speaker"
) -> RoleAssignment | None:
    """Give the raw turns that carry an unnamed ``speaker_label`` their inferred role, in place;
    ``None`` where every speaker was named. Labels that differ only in case or spacing (``Speaker 1``,
    ``speaker  1``) are one voice, named as first written. A contact that cannot be decided is a
    problem of ``field``, not a guess."""
    spelled: dict[str, str] = {}  # casefolded label -> the label as first written
    for turn in turns:
        if LABEL_KEY in turn:
            label = " ".join(str(turn[LABEL_KEY]).split())
            turn[LABEL_KEY] = spelled.setdefault(label.casefold(), label)
    unnamed = [(turn[LABEL_KEY], str(turn.get("text", ""))) for turn in turns if LABEL_KEY in turn]
    if not unnamed:
        return None
    named = [str(turn["speaker"]) for turn in turns if LABEL_KEY not in turn]
    try:
        assignment = infer_roles(unnamed, named=named)
    except ValueError as exc:
        problems.append(FieldProblem(field, "roles that can be told apart", str(exc)))
        return None
    for turn in turns:
        if LABEL_KEY in turn:
            turn["speaker"] = assignment.roles[turn.pop(LABEL_KEY)]
    return assignment
