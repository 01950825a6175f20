"""Benchmark: how much a model's reading moves when a transcript is delivered differently.

Real transcripts reach dispo in forms the hand-written sets rarely show: the agent's scripted
sign-off or a survey notice after the customer's last words, an IVR preamble, a vendor's PII mask,
ASR tags, every channel without punctuation, a diarizer that gives a turn to the wrong speaker,
long turns cut in two, timestamps inside the text. None of these changes what the contact was
about, what was done, or how the customer left it, so none should change the labels.

The script scores the hand-written contacts (``--sets``, one ``--half``) as they are and under each
perturbation, and writes, per perturbation, reason accuracy, outcome and end-sentiment macro-F1,
upsell F1 and the change against the contacts as they are (points). The closing lines are written
here and nowhere else: the corpus builder's closings (``training/corpus/phrases.py``) must not
repeat them, so that a model trained on varied closings is judged on closings it never read.

    python bench/transcript_robustness.py --model dispo-default --half dev
    python bench/transcript_robustness.py --model dispo-default --half test \
        --results bench/results/transcript_robustness.json
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dispo.cli import configure_logging
from dispo.contact import Contact, Turn
from dispo.model.bundle import DATA_FILE
from dispo.model.predictor import Predictor
from dispo.redact import Redactor, default_redactor
from training.evalset import SET_DIRS, read_pooled_half
from training.report import HEADLINE_METRIC, headline, score

logger = logging.getLogger("bench.transcript_robustness")
TASKS = ("reason", "outcome", "sentiment", "upsell")

# Said after the customer's last words whatever the contact was: scripted, so they tell nothing.
CLOSINGS: dict[str, list[tuple[str, str]]] = {
    "close_survey": [
        (
            "agent",
            "Thank you for choosing us today. You may receive a brief survey about this call; your "
            "feedback means a lot to us. Have a wonderful rest of your day!",
        )
    ],
    "close_wrap": [
        ("agent", "Alright, I'm going to go ahead and close out this interaction now. Thanks again and take care."),
    ],
    "close_apology": [
        (
            "agent",
            "Once again, I apologize for any inconvenience this may have caused. Thank you for your patience "
            "and understanding.",
        )
    ],
    "close_system": [("system", "Conversation ended by agent. Post-contact survey sent.")],
    "close_anything_else": [
        ("agent", "Is there anything else I can assist you with today?"),
        ("system", "Customer disconnected."),
    ],
}
IVR_PREAMBLE = (
    "Thank you for calling. This call may be monitored or recorded for quality and training purposes.",
    "Your call is important to us. Please stay on the line and the next available representative will be with "
    "you shortly.",
    "For orders, press 1. For billing, press 2. For everything else, press 3.",
)
ASR_TAGS = ("[inaudible]", "[crosstalk]", "[noise]", "<unk>", "[laughter]")


def with_turns(contact: Contact, turns: Sequence[Turn]) -> Contact:
    return contact.model_copy(update={"turns": list(turns)})


def map_text(contact: Contact, fn: Callable[[str], str]) -> Contact:
    return with_turns(contact, [t.model_copy(update={"text": fn(t.text)}) for t in contact.turns])


def append_closing(lines: list[tuple[str, str]]) -> Callable[[Contact, random.Random], Contact]:
    def perturb(contact: Contact, rng: random.Random) -> Contact:
        return with_turns(contact, [*contact.turns, *(Turn(speaker=s, text=t) for s, t in lines)])

    return perturb


def ivr_preamble(contact: Contact, rng: random.Random) -> Contact:
    if contact.channel != "voice":
        return contact
    return with_turns(contact, [*(Turn(speaker="system", text=t) for t in IVR_PREAMBLE), *contact.turns])


def masked(placeholder: str) -> Callable[[Contact, random.Random], Contact]:
    redactor = Redactor(placeholder=placeholder)
    return lambda contact, rng: map_text(contact, redactor.redact_text)


def unpunctuated(contact: Contact, rng: random.Random) -> Contact:
    """Every channel as a speech recogniser or a hurried typist leaves it: lower case, no punctuation
    but apostrophes (a turn of punctuation alone stays as it is)."""
    return map_text(contact, lambda text: re.sub(r"\s+", " ", re.sub(r"[^\w\s']", " ", text.lower())).strip() or text)


def asr_tags(contact: Contact, rng: random.Random) -> Contact:
    def tag(text: str) -> str:
        words = text.split()
        if len(words) > 6 and rng.random() < 0.5:
            words.insert(rng.randrange(len(words) + 1), rng.choice(ASR_TAGS))
        return " ".join(words) or text

    return map_text(contact, tag)


def role_swaps(contact: Contact, rng: random.Random) -> Contact:
    """A diarizer's mistakes: one customer or agent turn in five given to the other speaker."""
    swap = {"agent": "customer", "customer": "agent"}
    return with_turns(
        contact,
        [
            t.model_copy(update={"speaker": swap[t.speaker]}) if t.speaker in swap and rng.random() < 0.2 else t
            for t in contact.turns
        ],
    )


def split_turns(contact: Contact, rng: random.Random) -> Contact:
    """Long turns cut in two, as a recogniser's pause detection or a chat's line breaks do."""
    turns: list[Turn] = []
    for turn in contact.turns:
        words = turn.text.split()
        if len(words) > 12:
            half = len(words) // 2
            turns += [turn.model_copy(update={"text": " ".join(part)}) for part in (words[:half], words[half:])]
        else:
            turns.append(turn)
    return with_turns(contact, turns)


def timestamps(contact: Contact, rng: random.Random) -> Contact:
    """``[hh:mm:ss]`` at the start of every turn's text (a text export pasted into JSON)."""
    seconds, turns = 0, []
    for turn in contact.turns:
        seconds += rng.randint(3, 40)
        stamp = f"[{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}]"
        turns.append(turn.model_copy(update={"text": f"{stamp} {turn.text}"}))
    return with_turns(contact, turns)


PERTURBATIONS: dict[str, Callable[[Contact, random.Random], Contact]] = {
    **{name: append_closing(lines) for name, lines in CLOSINGS.items()},
    "ivr_preamble": ivr_preamble,
    "mask_pii": masked("[PII]"),
    "mask_stars": masked("*****"),
    "unpunctuated": unpunctuated,
    "asr_tags": asr_tags,
    "role_swaps": role_swaps,
    "split_turns": split_turns,
    "timestamps": timestamps,
}


def figures(predictor: Predictor, contacts: list[Contact]) -> dict[str, float]:
    scored, _ = score(predictor, contacts, None, 32)
    metrics = headline(scored, "model")
    return {task: round(float(metrics[task][HEADLINE_METRIC[task]]), 4) for task in TASKS if task in metrics}


def reading_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a script that reads the pooled hand-written halves with a model."""
    parser.add_argument("--model", required=True, help="NAME[:VERSION] or a bundle folder")
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--half", choices=("dev", "test"), default="dev")
    parser.add_argument("--sets", nargs="+", choices=sorted(SET_DIRS), default=sorted(SET_DIRS), help="pooled")
    parser.add_argument("--results", type=Path, default=None, help="a JSON file; the run is stored under its key")


@dataclass(frozen=True)
class Reading:
    """A model and the pooled half it reads, redacted as the model was trained when it was."""

    predictor: Predictor
    contacts: list[Contact]
    hashes: dict[str, str]
    redactor: Redactor | None

    @classmethod
    def open(cls, args: argparse.Namespace) -> Reading:
        predictor = Predictor.load(args.model, args.models_dir)
        assert predictor.path is not None
        contacts, hashes = read_pooled_half(args.half, args.sets)
        data_info = json.loads((predictor.path / DATA_FILE).read_text(encoding="utf-8"))
        return cls(predictor, contacts, hashes, default_redactor() if data_info.get("redacted") else None)

    def read(self, members: list[Contact]) -> dict[str, float]:
        """The headline figures of ``members``."""
        return figures(self.predictor, [self.redactor.redact_contact(c) for c in members] if self.redactor else members)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    reading_arguments(parser)
    parser.add_argument("--only", nargs="+", choices=sorted(PERTURBATIONS), default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    configure_logging("INFO")
    started = time.perf_counter()
    reading = Reading.open(args)
    predictor, contacts, hashes, redactor, read = (
        reading.predictor, reading.contacts, reading.hashes, reading.redactor, reading.read
    )  # fmt: skip

    as_is = read(contacts)
    logger.info("as they are: %s", as_is)
    rows: dict[str, Any] = {"as_is": as_is}
    for name in args.only or PERTURBATIONS:
        rng = random.Random(args.seed)
        values = read([PERTURBATIONS[name](c, rng) for c in contacts])
        change = {task: round(100 * (values[task] - as_is[task]), 1) for task in values}
        rows[name] = {**values, "change_points": change}
        logger.info("%s: %s (points: %s)", name, values, change)
    record = {
        "model": predictor.version,
        "bundle": str(predictor.path),
        "half": args.half,
        "sets": args.sets,
        "n": len(contacts),
        "sha256": hashes,
        "redacted": redactor is not None,
        "seed": args.seed,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(time.perf_counter() - started, 1),
        "perturbations": rows,
    }
    if args.results is not None:
        results = json.loads(args.results.read_text(encoding="utf-8")) if args.results.is_file() else {}
        results[f"{predictor.path}:{args.half}:{''.join(args.sets)}"] = record  # work registries reuse names
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        logger.info("wrote %s", args.results)


if __name__ == "__main__":
    main()
