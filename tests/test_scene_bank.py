"""The hand-written scene bank: complete for the default taxonomy, well-formed, and used by the builder."""

from __future__ import annotations

import re

import pytest

from dispo.errors import ConfigError
from training.corpus.builder import CorpusBuilder, CorpusConfig
from training.corpus.scenes import SLOTS, UPSELL_MODES, scene_bank


def test_the_bank_covers_every_outcome_sentiment_mode_and_reason(taxonomy):
    bank = scene_bank(0.5, tuple(taxonomy.outcome_names), tuple(taxonomy.sentiments))
    for outcome in taxonomy.outcome_names:
        for sentiment in taxonomy.sentiments:
            assert len(bank.endings[outcome][sentiment]) >= 20, (outcome, sentiment)
    assert all(len(bank.upsell[mode]) >= 20 for mode in UPSELL_MODES)
    assert all(len(bank.mood[s]) >= 50 for s in taxonomy.sentiments)
    assert set(bank.details) == set(bank.actions) == set(taxonomy.reason_names)
    lines = [text for o in bank.endings.values() for scenes in o.values() for scene in scenes for _, text in scene]
    said = [text for o in bank.endings.values() for scenes in o.values() for scene in scenes
            for speaker, text in scene if speaker != "system" and len(text.split()) >= 5]  # fmt: skip
    assert len(set(said)) == len(said), "no spoken sentence repeats (platform events and 'Noted.' may)"
    assert {s for line in lines for s in re.findall(r"\{(\w+)\}", line)} <= SLOTS


def test_an_outcome_without_scenes_is_an_error():
    with pytest.raises(ConfigError, match="no ending scenes for outcome 'refunded'"):
        scene_bank(0.5, ("resolved", "refunded"), ("negative", "neutral", "positive"))


def test_built_contacts_end_with_scenes(taxonomy):
    bank = scene_bank(1.0, tuple(taxonomy.outcome_names), tuple(taxonomy.sentiments))
    endings = {text for o in bank.endings.values() for scenes in o.values() for scene in scenes for _, text in scene}
    contacts = [b.contact for b in CorpusBuilder(CorpusConfig(n_contacts=40, seed=4, scene_share=1.0)).build()]
    chat = [c for c in contacts if c.channel in ("chat", "sms", "social", "mobile_app")]
    assert chat, "the seed builds typed contacts"
    # Typed channels keep the scene's words (voice is rewritten as speech recognition output).
    unfilled = [re.sub(r"\{\w+\}", "", e).strip() for e in endings]
    assert any(any(t.text.strip() in unfilled or t.text.strip() in endings for t in c.turns) for c in chat)
    again = [
        b.contact.model_dump() for b in CorpusBuilder(CorpusConfig(n_contacts=40, seed=4, scene_share=1.0)).build()
    ]
    assert again == [c.model_dump() for c in contacts]
