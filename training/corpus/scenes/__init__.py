"""Hand-written moments of a contact, far more varied than the phrase bank's single lines.

* ``endings_handoff`` / ``endings_close``: how contacts end, per outcome and the customer's end
  sentiment, as short scenes of agent, customer and system lines (transfers shown by platform
  events, escalations with a case reference, callbacks with a day and time, customers who give up);
* ``moments``: upsell moments per mode (accepted, declined, ignored, asked about, bought on the
  customer's own initiative) and customer mood lines per sentiment;
* ``topics``: per reason, what customers say about the topic while it is worked and what agents
  check and do.

They were written for the builder without sight of the realistic evaluation set
(``data/eval/realistic``). :func:`scene_bank` assembles them, checked, for the composer.
"""

from __future__ import annotations

import re
from functools import cache

from dispo.errors import ConfigError
from training.corpus.dialogue import Scene, SceneBank
from training.corpus.scenes.endings_close import ENDINGS_CLOSE
from training.corpus.scenes.endings_handoff import ENDINGS_HANDOFF
from training.corpus.scenes.moments import MOOD, UPSELL
from training.corpus.scenes.topics import AGENT_ACTIONS, CUSTOMER_DETAILS

SLOTS = frozenset({"agent", "company", "order", "amount", "date", "product", "plan", "ticket", "team", "day", "time",
                   "name", "tracking"})  # fmt: skip
SPEAKERS = frozenset({"agent", "customer", "system"})
UPSELL_MODES = ("accept", "decline", "ignored", "inquiry", "customer")
_SLOT = re.compile(r"\{(\w*)\}")


def _check_text(where: str, text: str) -> None:
    unknown = {m for m in _SLOT.findall(text) if m not in SLOTS}
    if unknown or text.count("{") != text.count("}") or not text.strip():
        raise ConfigError(f"scene bank {where}: bad text {text!r} (unknown slots {sorted(unknown)})")


def _check_scene(where: str, scene: Scene) -> None:
    if not scene:
        raise ConfigError(f"scene bank {where}: an empty scene")
    for speaker, text in scene:
        if speaker not in SPEAKERS:
            raise ConfigError(f"scene bank {where}: speaker {speaker!r}, expected one of {sorted(SPEAKERS)}")
        _check_text(where, text)


@cache
def scene_bank(share: float, outcomes: tuple[str, ...], sentiments: tuple[str, ...]) -> SceneBank:
    """The bank for a taxonomy's outcomes and sentiments; an uncovered one is a ConfigError."""
    endings = {**ENDINGS_HANDOFF, **ENDINGS_CLOSE}
    for outcome in outcomes:
        for sentiment in sentiments:
            scenes = endings.get(outcome, {}).get(sentiment, ())
            if not scenes:
                raise ConfigError(f"scene bank: no ending scenes for outcome {outcome!r} and sentiment {sentiment!r}")
            for scene in scenes:
                _check_scene(f"endings[{outcome}][{sentiment}]", scene)
    for mode in UPSELL_MODES:
        if not UPSELL.get(mode):
            raise ConfigError(f"scene bank: no upsell scenes for mode {mode!r}")
        for scene in UPSELL[mode]:
            _check_scene(f"upsell[{mode}]", scene)
    for sentiment in sentiments:
        if not MOOD.get(sentiment):
            raise ConfigError(f"scene bank: no mood lines for sentiment {sentiment!r}")
    for name, table in (("mood", MOOD), ("details", CUSTOMER_DETAILS), ("actions", AGENT_ACTIONS)):
        for key, lines in table.items():
            for line in lines:
                _check_text(f"{name}[{key}]", line)
    return SceneBank(
        endings={o: dict(endings[o]) for o in outcomes},
        upsell=dict(UPSELL),
        mood=dict(MOOD),
        details=dict(CUSTOMER_DETAILS),
        actions=dict(AGENT_ACTIONS),
        share=share,
    )
