"""Benchmark: is a routine end event part of the agent's close? Measured, not shipped (session 32).

The end sentiment reads a contact up to the last segment of the customer or the platform
(``ModelConfig.ignore_agent_close``, ``dispo/model/features.py: agent_close_start``): what the agent
says after that is the agent's close and is left out. A platform event stays in the reading
because, in the hand-written sets, a customer who disconnects or leaves the chat is mostly leaving
unhappy. But some events are as routine as the agent's sign-off: "ended by agent", "survey sent",
"wrap-up". ``bench/transcript_robustness.py`` appends one ("Conversation ended by agent. Post-contact
survey sent.") and the end sentiment loses 4.2 dev points.

This script reads the hand-written contacts with three rules for where the agent's close begins, as
they are, under the five closings and under diarizer swaps of ``bench/transcript_robustness.py``:

- ``shipped``: the model's own rule;
- ``agent_ended``: an event that the agent or a routine ends (ended or closed by the agent, the agent
  left, a survey, a wrap-up or disposition notice) is part of the agent's close. An event naming
  the customer as who ended it, or a hand-on (transfer, queue, hold, callback, case, ticket), is not;
- ``agent_ended_or_plain``: also an end event that names no one ("[call ended]", "Chat closed.").

    python bench/close_event_variants.py --model dispo-default --half dev \
        --results bench/results/close_event_variants.json
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from transcript_robustness import PERTURBATIONS, Reading, reading_arguments  # bench/ is on the path of a bench script

import dispo.model.features as features
import dispo.model.predictor as predictor_module
from dispo.cli import configure_logging
from dispo.model.features import Segment

logger = logging.getLogger("bench.close_event_variants")
READINGS = ("as_is", "close_survey", "close_wrap", "close_apology", "close_system", "close_anything_else", "role_swaps")
CLOSINGS = tuple(name for name in READINGS if name.startswith("close_"))

CUSTOMER_ENDED = re.compile(
    r"\b(customer|caller|client|user|visitor|guest|member)\b.{0,25}"
    r"\b(ended|closed|left|disconnected|hung up|hang up|dropped|abandoned|quit)\b"
    r"|\b(ended|closed|disconnected|terminated)\b.{0,15}"
    r"\bby (the )?(customer|caller|client|user|visitor|guest|member)\b"
    r"|\bhung up\b|\babandon|\binactiv|\bno (customer )?reply|\btimed? ?out\b",
    re.IGNORECASE,
)
HAND_ON = re.compile(r"transfer|connecting|queue|escalat|\bhold\b|callback|case\b|ticket", re.IGNORECASE)
AGENT_ENDED = re.compile(
    r"\b(ended|closed|terminated|disconnected|completed|wrapped up|resolved)\b.{0,15}"
    r"\bby (the )?(agent|advisor|adviser|representative|rep|associate|specialist|staff)\b"
    r"|\b(agent|advisor|adviser|representative|associate|specialist)\b[\w\s.-]{0,20}"
    r"\b(ended|closed|left|wrapped up|disconnected)\b"
    r"|\bsurvey\b|\bcsat\b|\bwrap[- ]?up\b|\bafter[- ]call work\b|\bdisposition\b",
    re.IGNORECASE,
)
PLAIN_END = re.compile(
    r"^\W*(the )?(call|chat|conversation|session|interaction|contact|ticket)\s+(has\s+)?"
    r"(ended|closed|completed|finished|disconnected)\W*$|^\W*end of (call|chat|conversation|transcript)\W*$",
    re.IGNORECASE,
)


def routine_end(text: str, *, plain: bool) -> bool:
    """Whether a platform event is as routine as the agent's sign-off."""
    if CUSTOMER_ENDED.search(text) or HAND_ON.search(text):
        return False
    return bool(AGENT_ENDED.search(text) or (plain and PLAIN_END.search(text)))


def close_rule(*, plain: bool) -> Callable[[Sequence[Segment]], int]:
    def agent_close_start(segments: Sequence[Segment]) -> int:
        if not any(s.speaker == "customer" for s in segments):
            return len(segments)
        kept = (
            s.speaker == "customer" or (s.speaker != "agent" and not routine_end(s.text, plain=plain)) for s in segments
        )
        return 1 + max(i for i, keep in enumerate(kept) if keep)

    return agent_close_start


RULES: dict[str, Callable[[Sequence[Segment]], int]] = {
    "shipped": features.agent_close_start,
    "agent_ended": close_rule(plain=False),
    "agent_ended_or_plain": close_rule(plain=True),
}


@contextmanager
def reading_with(rule: Callable[[Sequence[Segment]], int]) -> Iterator[None]:
    """The model's views and its start-sentiment opening read with ``rule``."""
    saved = features.agent_close_start, predictor_module.agent_close_start
    features.agent_close_start = predictor_module.agent_close_start = rule
    try:
        yield
    finally:
        features.agent_close_start, predictor_module.agent_close_start = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    reading_arguments(parser)
    args = parser.parse_args()
    configure_logging("INFO")
    started = time.perf_counter()
    reading = Reading.open(args)
    contacts = reading.contacts
    record: dict[str, Any] = {"model": reading.predictor.version, "half": args.half, "sets": args.sets,
                              "n": len(contacts), "sha256": reading.hashes, "rules": {}}  # fmt: skip
    for name, rule in RULES.items():
        rows: dict[str, dict[str, float]] = {}
        with reading_with(rule):
            for perturbation in READINGS:
                rng = random.Random(0)
                members = (
                    contacts if perturbation == "as_is" else [PERTURBATIONS[perturbation](c, rng) for c in contacts]
                )
                rows[perturbation] = reading.read(members)
        closings = sum(rows[c]["sentiment"] for c in CLOSINGS) / len(CLOSINGS)
        rows["closings_mean_change_points"] = {"sentiment": round(100 * (closings - rows["as_is"]["sentiment"]), 2)}
        record["rules"][name] = rows
        logger.info(
            "%s: end sentiment %s", name, {r: rows[r]["sentiment"] for r in (*READINGS, "closings_mean_change_points")}
        )
    record["seconds"] = round(time.perf_counter() - started, 1)
    if args.results is not None:
        results = json.loads(args.results.read_text(encoding="utf-8")) if args.results.is_file() else {}
        results[f"{reading.predictor.path}:{args.half}:{''.join(args.sets)}"] = record
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
