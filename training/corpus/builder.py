"""The corpus builder: configuration, planning each contact, labels, agent labels and timing.

``CorpusBuilder(config).build()`` yields :class:`BuiltContact` records: the validated
:class:`~dispo.contact.Contact` and, beside it (never inside it), the PII and decoys planted in it.
Everything is drawn from one ``random.Random(seed)``, so a seed gives the same corpus every time.
"""

from __future__ import annotations

import logging
import math
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import training.corpus.phrases as ph
from dispo.contact import CHANNELS, Contact, Labels, Turn
from dispo.errors import ConfigError
from dispo.taxonomy import Taxonomy, load_taxonomy
from training.corpus.channels import RenderedTurn, planted_records, render
from training.corpus.dialogue import Composer, DialoguePlan, SceneBank, SlotFiller, bank_openings
from training.corpus.pii import Person, PlantedPII
from training.corpus.population import Agent, Population, make_agents, pick_agent, queue_for
from training.corpus.responses import bitext_rows, load_agent_lines

log = logging.getLogger(__name__)

DEFAULT_CHANNEL_MIX: dict[str, float] = {
    "voice": 0.36,
    "chat": 0.28,
    "email": 0.14,
    "sms": 0.07,
    "social": 0.05,
    "mobile_app": 0.10,
}
REASON_WEIGHTS: dict[str, float] = {
    "track_order": 9,
    "get_refund": 7,
    "payment_issue": 7,
    "track_refund": 5,
    "cancel_order": 5,
    "change_order": 4.5,
    "recover_password": 5,
    "delivery_period": 4,
    "complaint": 4,
    "contact_human_agent": 4,
    "check_invoices": 3,
    "get_invoice": 3,
    "change_shipping_address": 3,
    "place_order": 3,
    "edit_account": 2.5,
    "delete_account": 2.5,
    "create_account": 2.5,
    "registration_problems": 2,
    "check_refund_policy": 3,
    "delivery_options": 2.5,
    "check_payment_methods": 2,
    "check_cancellation_fee": 2,
    "contact_customer_service": 3,
    "review": 1.8,
    "newsletter_subscription": 1.8,
    "switch_account": 1.8,
    "set_up_shipping_address": 1.6,
}
BASE_OUTCOMES: dict[str, float] = {
    "resolved": 0.50,
    "escalated": 0.13,
    "transferred": 0.12,
    "callback_scheduled": 0.11,
    "unresolved": 0.14,
}
REASON_OUTCOME_BIAS: dict[str, dict[str, float]] = {
    "contact_human_agent": {"transferred": 2.5},
    "complaint": {"escalated": 2.2, "resolved": 0.7},
    "payment_issue": {"escalated": 1.4, "callback_scheduled": 1.3},
    "track_refund": {"callback_scheduled": 1.4},
    "check_payment_methods": {"resolved": 1.6},
    "delivery_options": {"resolved": 1.6},
    "contact_customer_service": {"resolved": 1.4, "transferred": 1.6},
    "registration_problems": {"unresolved": 1.6},
}
END_SENTIMENT: dict[str, tuple[float, float, float]] = {  # negative, neutral, positive
    "resolved": (0.12, 0.38, 0.50),
    "escalated": (0.40, 0.45, 0.15),
    "transferred": (0.25, 0.60, 0.15),
    "callback_scheduled": (0.22, 0.50, 0.28),
    "unresolved": (0.65, 0.30, 0.05),
}
CONFUSABLE: dict[str, tuple[str, ...]] = {
    "get_refund": ("track_refund", "check_refund_policy"),
    "track_refund": ("get_refund",),
    "check_refund_policy": ("get_refund",),
    "check_invoices": ("get_invoice",),
    "get_invoice": ("check_invoices",),
    "change_order": ("cancel_order",),
    "cancel_order": ("change_order", "get_refund"),
    "delivery_period": ("track_order",),
    "track_order": ("delivery_period",),
    "contact_customer_service": ("contact_human_agent",),
    "contact_human_agent": ("contact_customer_service",),
    "recover_password": ("registration_problems", "edit_account"),
    "registration_problems": ("create_account", "recover_password"),
    "create_account": ("registration_problems",),
    "edit_account": ("switch_account",),
    "switch_account": ("edit_account",),
    "delete_account": ("edit_account",),
    "change_shipping_address": ("set_up_shipping_address",),
    "set_up_shipping_address": ("change_shipping_address",),
    "payment_issue": ("check_payment_methods",),
    "check_payment_methods": ("payment_issue",),
    "delivery_options": ("delivery_period",),
    "complaint": ("review",),
    "review": ("complaint",),
    "check_cancellation_fee": ("cancel_order",),
    "place_order": ("change_order",),
}
CONFUSABLE_OUTCOMES: dict[str, tuple[str, ...]] = {
    "escalated": ("transferred", "callback_scheduled"),
    "transferred": ("escalated",),
    "callback_scheduled": ("escalated", "resolved"),
    "unresolved": ("resolved", "callback_scheduled"),
    "resolved": ("unresolved",),
}
TIMEZONES: tuple[tuple[str, int], ...] = (("ET", -5), ("CT", -6), ("MT", -7), ("PT", -8), ("UK", 0))
BITEXT_CATEGORY_ALIASES = {"INVOICES": "INVOICE", "REFUNDS": "REFUND", "SHIPPING": "SHIPPING_ADDRESS"}
_PLACEHOLDER_RE = re.compile(r"\{\{\s*([^}]+?)\s*\}\}")


@dataclass
class CorpusConfig:
    """How many contacts, from which seed, with what noise. Validated on construction."""

    n_contacts: int = 10000
    seed: int = 7
    agent_error_rate: float = 0.1
    start_date: str = "2026-01-05"
    days: int = 56
    utterances_path: str | None = None
    #: Share of openings drawn from the utterance file when one is given (the rest from the phrase bank).
    utterance_share: float = 1.0
    #: Bitext customer-support responses (file or folder, see training.corpus.responses): real agent
    #: language for the reason being worked, used for ``response_share`` of the agent's work lines.
    responses_path: str | None = None
    response_share: float = 0.5
    #: Share of endings, upsell moments, mood lines and topic lines taken from the hand-written
    #: scene bank (training.corpus.scenes) rather than the phrase bank; 0 builds as before it existed.
    scene_share: float = 0.5
    #: Share of negative contacts whose customer closes with a bitter remark then a curt sign-off, and of
    #: neutral ones that close with the sign-off alone (so the sign-off cannot give the sentiment
    #: away); both 0 build as before they existed.
    bitter_close_share: float = 0.35
    curt_close_share: float = 0.2
    #: Shares of non-email contacts that end, after the customer's last words, on the agent's scripted
    #: sign-off (not after a transfer) and on the platform's end event, whatever the labels; 0 builds
    #: as before they existed. v11 reads end sentiment 15-27 points worse on the dev halves with a
    #: survey notice or a scripted apology appended; a model retrained with 0.4 and 0.25 moved 3.5 at
    #: most but was not adopted (its upsell fell; docs/quality.md, "What follows the customer's last words").
    scripted_close_share: float = 0.0
    system_close_share: float = 0.0
    channel_mix: dict[str, float] | None = None
    #: Probability that a contact touches a second topic after the primary one.
    second_topic_rate: float = 0.2
    #: Probability that the agent offers an upsell; accepted offers and customer-initiated interest are upsells
    #: (declined offers, offers the customer talks past and product questions without a purchase are not).
    upsell_offer_rate: float = 0.22
    upsell_accept_rate: float = 0.45
    customer_upsell_rate: float = 0.05
    #: Probability that the customer asks about a product (or more of one) without buying: not an upsell.
    upsell_inquiry_rate: float = 0.06
    #: Scales ASR and typing noise (0 = clean text).
    noise: float = 1.0
    #: Share of non-follow-up contacts from an existing (returning) customer.
    returning_customer_rate: float = 0.08

    def __post_init__(self) -> None:
        def need(ok: bool, message: str) -> None:
            if not ok:
                raise ConfigError(f"CorpusConfig: {message}")

        need(
            isinstance(self.n_contacts, int) and not isinstance(self.n_contacts, bool) and self.n_contacts >= 1,
            f"n_contacts must be a positive integer, got {self.n_contacts!r}",
        )
        need(
            isinstance(self.seed, int) and not isinstance(self.seed, bool),
            f"seed must be an integer, got {self.seed!r}",
        )
        need(
            isinstance(self.days, int) and not isinstance(self.days, bool) and self.days >= 1,
            f"days must be a positive integer, got {self.days!r}",
        )
        try:
            date.fromisoformat(self.start_date)
        except (TypeError, ValueError):
            raise ConfigError(
                f"CorpusConfig: start_date must be an ISO date like 2026-01-05, got {self.start_date!r}"
            ) from None
        for name in (
            "agent_error_rate",
            "utterance_share",
            "response_share",
            "scene_share",
            "bitter_close_share",
            "curt_close_share",
            "scripted_close_share",
            "system_close_share",
            "second_topic_rate",
            "upsell_offer_rate",
            "upsell_accept_rate",
            "customer_upsell_rate",
            "upsell_inquiry_rate",
            "returning_customer_rate",
        ):
            value = getattr(self, name)
            need(
                isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= value <= 1.0,
                f"{name} must be a number in [0, 1], got {value!r}",
            )
        need(
            isinstance(self.noise, int | float) and 0.0 <= self.noise <= 3.0,
            f"noise must be a number in [0, 3], got {self.noise!r}",
        )
        if self.utterances_path is not None:
            path = Path(self.utterances_path)
            need(path.exists(), f"utterances_path {str(path)!r} does not exist")
        if self.responses_path is not None:
            need(Path(self.responses_path).exists(), f"responses_path {self.responses_path!r} does not exist")
        if self.channel_mix is not None:
            unknown = sorted(set(self.channel_mix) - set(CHANNELS))
            need(not unknown, f"channel_mix has unknown channels {unknown}; known: {', '.join(CHANNELS)}")
            need(
                all(isinstance(v, int | float) and v >= 0 for v in self.channel_mix.values())
                and sum(self.channel_mix.values()) > 0,
                "channel_mix weights must be >= 0 and not all zero",
            )


@dataclass(frozen=True)
class BuiltContact:
    """A built contact and the ground truth of the PII and decoys planted in it (kept out of the contact)."""

    contact: Contact
    pii: tuple[PlantedPII, ...]


def load_bitext_utterances(path: str | Path, reasons: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Utterances per reason from a Bitext CSV (``flags,utterance,category,intent``), read in file order.
    ``path`` may also be the data set's folder, holding exactly one CSV."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob("*.csv"))
        if len(found) != 1:
            raise ConfigError(f"{path}: expected exactly one Bitext CSV in the folder, found {len(found)}")
        path = found[0]
    by_reason: dict[str, list[str]] = {}
    for row in bitext_rows(path, {"utterance", "intent"}, kind="Bitext CSV", what="utterances"):
        text = (row.get("utterance") or "").strip()
        intent = (row.get("intent") or "").strip()
        if text and intent:
            by_reason.setdefault(intent, []).append(_placeholders_to_slots(text))
    uncovered = [r for r in reasons if not by_reason.get(r)]
    if uncovered:
        raise ConfigError(f"{path}: no utterances for reasons {uncovered}")
    return {r: tuple(by_reason[r]) for r in reasons}


def _placeholders_to_slots(text: str) -> str:
    """``{{Order Number}}`` -> ``{order}`` and so on; other braces are neutralised."""

    def slot(m: re.Match[str]) -> str:
        name = m.group(1).lower()
        for key, target in (
            ("order", "order"),
            ("invoice", "order"),
            ("tracking", "tracking"),
            ("email", "email"),
            ("phone", "phone"),
            ("address", "address"),
            ("name", "name"),
            ("amount", "amount"),
            ("money", "amount"),
            ("refund", "amount"),
            ("date", "date"),
            ("account", "plan"),
            ("card", "card"),
        ):
            if key in name:
                return "{" + target + "}"
        return "{product}"

    text = _PLACEHOLDER_RE.sub(slot, text)
    return re.sub(r"\{(?!(?:order|tracking|email|phone|address|name|amount|date|plan|card|product)\})", "(", text)


class CorpusBuilder:
    """Builds contacts lazily; see :class:`CorpusConfig`."""

    def __init__(self, config: CorpusConfig, taxonomy: Taxonomy | None = None) -> None:
        self.config = config
        self.taxonomy = taxonomy if taxonomy is not None else load_taxonomy()
        t = self.taxonomy
        self.reasons = t.reason_names
        if not self.reasons:
            raise ConfigError(f"taxonomy {t.name!r} has no reasons to build contacts for")
        self.bitext: dict[str, tuple[str, ...]] | None = None
        if config.utterances_path is not None:
            self.bitext = load_bitext_utterances(config.utterances_path, self.reasons)
            if config.utterance_share < 1.0:
                self._require_bank()
        else:
            self._require_bank()
        self.agent_lines: dict[str, tuple[str, ...]] | None = None
        if config.responses_path is not None:
            self.agent_lines = load_agent_lines(config.responses_path, self.reasons)
        unknown_outcomes = [o for o in t.outcome_names if o not in ph.OUTCOME_AGENT]
        if unknown_outcomes or not t.outcome_names:
            raise ConfigError(
                f"taxonomy {t.name!r}: the builder has no endings for outcomes {unknown_outcomes}; "
                f"known: {sorted(ph.OUTCOME_AGENT)}"
            )
        unknown_sent = [s for s in t.sentiments if s not in ph.CUSTOMER_END]
        if unknown_sent:
            raise ConfigError(f"taxonomy {t.name!r}: the builder cannot express sentiments {unknown_sent}")
        self.outcomes = t.outcome_names
        self.sentiments = t.sentiments
        self.scenes: SceneBank | None = None
        if config.scene_share > 0:
            from training.corpus.scenes import scene_bank

            self.scenes = scene_bank(config.scene_share, tuple(self.outcomes), tuple(self.sentiments))
        mix = config.channel_mix or DEFAULT_CHANNEL_MIX
        self.channels = tuple(c for c in CHANNELS if mix.get(c, 0) > 0)
        self.channel_weights = tuple(float(mix[c]) for c in self.channels)
        self.reason_weights = tuple(REASON_WEIGHTS.get(r, 2.5) for r in self.reasons)

    def _require_bank(self) -> None:
        uncovered = [r for r in self.reasons if r not in ph.OPENINGS]
        if uncovered:
            raise ConfigError(
                f"taxonomy {self.taxonomy.name!r} has reasons the phrase bank cannot cover: {uncovered}; "
                "give an utterances_path with utterances for them"
            )

    # -- sampling ------------------------------------------------------------------------------
    def _opening(self, reason: str, rng: random.Random) -> str:
        if self.bitext is not None and rng.random() < self.config.utterance_share:
            return rng.choice(self.bitext[reason])
        return bank_openings(reason, rng)

    def _agent_line(self, reason: str, rng: random.Random) -> str | None:
        if self.agent_lines is None or rng.random() >= self.config.response_share:
            return None
        return rng.choice(self.agent_lines[reason])

    def _sample_outcome(self, rng: random.Random, reason: str, agent: Agent, queue_res: float, repeat: bool) -> str:
        weights: list[float] = []
        for o in self.outcomes:
            w = BASE_OUTCOMES.get(o, 0.1) * REASON_OUTCOME_BIAS.get(reason, {}).get(o, 1.0)
            if self.taxonomy.outcome(o).resolved:
                w *= agent.provider.resolution * agent.skill * queue_res * (0.8 if repeat else 1.0)
            weights.append(w)
        return rng.choices(self.outcomes, weights=weights)[0]

    def _sentiments(self, rng: random.Random, outcome: str, reason: str) -> tuple[str, str]:
        probs = END_SENTIMENT.get(outcome, (0.3, 0.4, 0.3))
        by_name = dict(zip(("negative", "neutral", "positive"), probs, strict=True))
        names = self.sentiments
        end = rng.choices(names, weights=[by_name.get(s, 0.3) for s in names])[0]
        arc = rng.random()
        if reason == "complaint" and "negative" in names:
            start = "negative"
        elif arc < 0.45:
            start = end
        elif arc < 0.7 and "negative" in names:
            start = "negative"  # angry then calm (or angry throughout)
        elif arc < 0.85 and "positive" in names:
            start = "positive"  # polite, then maybe frustrated
        else:
            start = rng.choice(names)
        return start, end

    def _second_reason(self, rng: random.Random, reason: str) -> str | None:
        if len(self.reasons) < 2 or rng.random() >= self.config.second_topic_rate:
            return None
        category = self.taxonomy.category_of(reason)
        same = [r for r in self.reasons if r != reason and self.taxonomy.category_of(r) == category]
        pool = same if same and rng.random() < 0.4 else [r for r in self.reasons if r != reason]
        return rng.choice(pool)

    def _n_blocks(self, rng: random.Random, channel: str, handle: float) -> int:
        if channel == "voice":
            return max(1, min(120, int(rng.lognormvariate(math.log(13.0 * handle), 0.75))))
        if channel in ("chat", "mobile_app"):
            return max(0, min(16, int(rng.lognormvariate(math.log(2.0 * handle), 0.6))))
        if channel == "email":
            return rng.choice((0, 1, 1, 2, 3))
        return rng.choice((0, 0, 0, 1, 2))

    def _agent_labels(self, rng: random.Random, gold: Labels, agent: Agent) -> Labels:
        if rng.random() >= agent.error_rate:
            return gold
        reason, outcome, sentiment, upsell = gold.reason, gold.outcome, gold.sentiment, gold.upsell
        assert reason is not None and outcome is not None
        field_pick = rng.random()
        if field_pick < 0.55:
            if rng.random() < agent.lazy_share and agent.lazy_reason != reason:
                reason = agent.lazy_reason
            else:
                options = [r for r in CONFUSABLE.get(reason, ()) if r in self.reasons and r != reason]
                if not options:
                    cat = self.taxonomy.category_of(reason)
                    options = [r for r in self.reasons if r != reason and self.taxonomy.category_of(r) == cat]
                options = options or [r for r in self.reasons if r != reason]
                reason = rng.choice(options) if options else reason
        elif field_pick < 0.85 or len(self.sentiments) < 2:
            lazy = [o for o in self.outcomes if self.taxonomy.outcome(o).resolved and o != outcome]
            options = [o for o in CONFUSABLE_OUTCOMES.get(outcome, ()) if o in self.outcomes and o != outcome]
            if lazy and rng.random() < agent.lazy_share:
                outcome = lazy[0]
            elif options:
                outcome = rng.choice(options)
            else:
                outcome = rng.choice([o for o in self.outcomes if o != outcome] or [outcome])
        elif field_pick < 0.95:
            sentiment = rng.choice([s for s in self.sentiments if s != sentiment])
        else:
            upsell = not upsell
        if (reason, outcome, sentiment, upsell) == (gold.reason, gold.outcome, gold.sentiment, gold.upsell):
            upsell = not upsell  # a single-label taxonomy: the only mistake left is the upsell flag
        return Labels(reason=reason, outcome=outcome, sentiment=sentiment, upsell=upsell)

    # -- timing --------------------------------------------------------------------------------
    def _offsets(
        self, rng: random.Random, turns: list[RenderedTurn], channel: str, handle: float
    ) -> tuple[list[float | None], float]:
        offsets: list[float | None] = []
        t = rng.uniform(0.0, 3.0) if channel == "voice" else 0.0
        for turn in turns:
            words = len(turn.text.split())
            if channel == "voice":
                offsets.append(round(t, 1))
                t += words / rng.uniform(2.2, 3.0) + rng.uniform(0.3, 1.8)
                if turn.kind == "hold":
                    t += rng.uniform(15, 150) * handle
            elif channel in ("chat", "mobile_app"):
                offsets.append(round(t, 1))
                typing = len(turn.text) / rng.uniform(3.0, 7.0)
                wait = rng.uniform(3, 40) if turn.speaker == "customer" else rng.uniform(5, 60) * handle
                t += typing + wait + (rng.uniform(30, 180) if turn.kind == "hold" else 0)
            else:
                offsets.append(None)
        if channel == "email":
            duration = rng.uniform(1, 30) * 3600 * max(1, len(turns) - 1)
        elif channel in ("sms", "social"):
            duration = rng.uniform(60, 4 * 3600) * max(1, len(turns) - 1) / 2
        else:
            duration = t
        return offsets, duration

    # -- build ---------------------------------------------------------------------------------
    def build(self) -> Iterator[BuiltContact]:
        cfg = self.config
        rng = random.Random(cfg.seed)
        agents = make_agents(rng, cfg.agent_error_rate, self.reasons)
        population = Population(random.Random(rng.getrandbits(64)))
        start = date.fromisoformat(cfg.start_date)
        for i in range(cfg.n_contacts):
            day = i * cfg.days // cfg.n_contacts
            follow = population.due_follow_up(day)
            if follow is not None:
                customer_id, person = follow.customer_id, population.customers[follow.customer_id]
                r = rng.random()
                category = self.taxonomy.category_of(follow.reason)
                same_cat = [x for x in self.reasons if self.taxonomy.category_of(x) == category and x != follow.reason]
                if r < 0.72 or not same_cat:
                    reason = follow.reason
                elif r < 0.88:
                    reason = rng.choice(same_cat)
                else:
                    reason = rng.choices(self.reasons, weights=self.reason_weights)[0]
            else:
                if population.customer_ids and rng.random() < cfg.returning_customer_rate:
                    customer_id, person = population.existing_customer()
                else:
                    customer_id, person = population.new_customer()
                reason = rng.choices(self.reasons, weights=self.reason_weights)[0]
            built, outcome = self._build_one(
                rng, i, day, start, reason, customer_id, person, agents, repeat=follow is not None
            )
            population.maybe_schedule(day, customer_id, reason, outcome)
            yield built

    def _build_one(
        self,
        rng: random.Random,
        i: int,
        day: int,
        start: date,
        reason: str,
        customer_id: str,
        person: Person,
        agents: list[Agent],
        repeat: bool,
    ) -> tuple[BuiltContact, str]:
        cfg = self.config
        category = self.taxonomy.category_of(reason)
        queue = queue_for(category)
        agent = pick_agent(rng, agents)
        channel = rng.choices(self.channels, weights=self.channel_weights)[0]
        outcome = self._sample_outcome(rng, reason, agent, queue.resolution, repeat)
        s_start, s_end = self._sentiments(rng, outcome, reason)
        u = rng.random()
        if u < cfg.customer_upsell_rate:
            upsell_mode = "customer"
        elif u < cfg.customer_upsell_rate + cfg.upsell_offer_rate:
            # Not accepted: declined, or talked past and never taken up.
            declined = "decline" if rng.random() < 0.7 else "ignored"
            upsell_mode = "accept" if rng.random() < cfg.upsell_accept_rate else declined
        elif u < cfg.customer_upsell_rate + cfg.upsell_offer_rate + cfg.upsell_inquiry_rate:
            upsell_mode = "inquiry"  # the customer asks about a product but does not buy
        else:
            upsell_mode = "none"
        second = self._second_reason(rng, reason)
        handle = agent.provider.handle_time * queue.handle_time
        plan = DialoguePlan(
            reason=reason,
            category=category,
            outcome=outcome,
            sentiment_start=s_start,
            sentiment_end=s_end,
            upsell_mode=upsell_mode,
            channel=channel,
            n_blocks=self._n_blocks(rng, channel, handle),
            second_reason=second,
            second_category=self.taxonomy.category_of(second) if second else None,
            is_repeat=repeat,
        )
        company = rng.choice(ph.COMPANIES)
        filler = SlotFiller(rng, person, company, agent.name)
        agent_lines = self._agent_line if self.agent_lines is not None else None
        closes = (self.config.bitter_close_share, self.config.curt_close_share)
        scripted = (self.config.scripted_close_share, self.config.system_close_share)
        moves = Composer(
            plan, filler, rng, self._opening, agent_lines, self.scenes, closes=closes, scripted=scripted
        ).compose()
        ctx = {
            "customer_name": person.full_name,
            "customer_first": person.first,
            "customer_phone": person.phone,
            "company": company,
            "agent": agent.name,
        }
        rendered = render(moves, channel, rng, ctx, noise=cfg.noise)
        offsets, duration = self._offsets(rng, rendered, channel, handle)
        tz_name, tz_hours = (
            TIMEZONES[int(customer_id[-1]) % len(TIMEZONES)] if customer_id[-1].isdigit() else TIMEZONES[0]
        )
        tz = timezone(timedelta(hours=tz_hours), tz_name)
        local_start = datetime(start.year, start.month, start.day, tzinfo=tz) + timedelta(
            days=day, seconds=rng.uniform(8 * 3600, 21 * 3600)
        )
        started = local_start.replace(microsecond=0)
        ended = (started + timedelta(seconds=max(1.0, duration))).replace(microsecond=0)
        gold = Labels(reason=reason, outcome=outcome, sentiment=s_end, upsell=upsell_mode in ("accept", "customer"))
        contact = Contact(
            contact_id=f"C{cfg.seed % 1000:03d}-{i + 1:07d}",
            customer_id=customer_id,
            channel=channel,
            provider=agent.provider.name,
            agent_id=agent.agent_id,
            queue=queue.name,
            started_at=started,
            ended_at=ended,
            turns=[Turn(speaker=t.speaker, text=t.text, offset_s=o) for t, o in zip(rendered, offsets, strict=True)],
            labels=gold,
            agent_labels=self._agent_labels(rng, gold, agent),
            metadata={"source": "dispo-corpus-builder", "synthetic": True},
        )
        return BuiltContact(contact=contact, pii=planted_records(rendered)), outcome


def build_contacts(config: CorpusConfig) -> list[Contact]:
    """All contacts of a corpus as a list (the planted PII is dropped)."""
    contacts = [b.contact for b in CorpusBuilder(config).build()]
    log.info("built %d contacts (seed %d)", len(contacts), config.seed)
    return contacts
