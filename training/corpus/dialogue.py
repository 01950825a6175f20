"""Composing one contact's moves: openings, verification, holds, troubleshooting, second topics,
sentiment arcs, upsell moments and outcome endings.

The reason is not always stated first (small talk, verification first, or a vague opening clarified
later). **Primary-reason rule:** the gold reason is the first substantive need the customer raises,
the one the contact was opened for; a second topic raised later ("oh, and while I have you...") never
changes the gold reason, even when it takes more turns. The gold sentiment is the customer's sentiment
at the end of the contact; the gold upsell is true when the customer accepts an agent's offer (however
grudgingly, conditionally or late) or shows genuine buying or upgrading interest on their own, false when
an offer is declined (even with a "yeah" that agrees to something else), ignored, or never made, and when a
product question ends without a purchase.

Customer openings from the phrase bank are hand-written sentences or requests composed by
:mod:`training.corpus.requests` (frames around cores, with typed-text messiness).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

import training.corpus.phrases as ph
from training.corpus.channels import Move
from training.corpus.pii import Person, gen_amount, gen_date, gen_order_number, gen_tracking, mark
from training.corpus.requests import compose_request

OpeningSource = Callable[[str, random.Random], str]
#: Agent lines for a reason (real agent language, see training.corpus.responses), or None.
AgentLineSource = Callable[[str, random.Random], str | None]
_SLOT_RE = re.compile(r"\{(\w+)\}")

DETAIL_LINES = (
    "I ordered it on {date}.",
    "The order number is {order}.",
    "I paid {amount} for it.",
    "You can reach me on {phone} if needed.",
    "My address is {address}.",
    "It was about {amount} in total.",
    "This started around {date}.",
    "My account email is {email}.",
    "Order {order}, placed on {date}.",
    "I've been a customer for years.",
    "The card I paid with was {card}.",
    "Please send the money to {iban}.",
    "I really need this sorted before {date}.",
    "My social is {ssn} if you need to check it's me.",
    "I paid with my card, {card}.",
    "The refund can go to my bank account, {iban}.",
    "Last time they asked for my SSN, it's {ssn}.",
)
#: Which verification items an agent may ask for, with weights; money topics add card, bank and SSN checks.
VERIFY_ITEMS: dict[str, float] = {"name": 5, "email": 4, "order": 4, "phone": 2, "last4": 2, "address": 1.5, "dob": 1}
VERIFY_MONEY_ITEMS: dict[str, float] = {"ssn": 2.2, "card": 1.6, "iban": 1.2}
#: Slots filled with the customer's own detail of the same name (planted for the redaction tests).
PERSON_SLOTS = frozenset({"email", "phone", "address", "card", "iban", "ssn", "last4"})
MONEY_CATEGORIES = frozenset({"PAYMENT", "REFUND", "INVOICE", "CANCELLATION_FEE"})
SOCIAL_DM = (
    "Sorry to hear that! Please DM us your order number and we'll take a look.",
    "Hi, can you send us a private message with your account email?",
    "We're on it. What's the order number?",
)
ESCALATION_DISTRACTORS = (
    "If this doesn't work I can always escalate it to the specialist team.",
    "Worst case I'd transfer you to billing, but let's try this first.",
    "We do have a supervisor callback option, but I don't think we'll need it.",
    "Some of these cases have to go to the escalations team, let me check if yours does.",
)


#: One moment of a contact as lines of (speaker, template).
Scene = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class SceneBank:
    """Hand-written multi-line moments (training.corpus.scenes): endings per outcome and end
    sentiment, upsell moments per mode, and customer mood lines; used for ``share`` of them."""

    endings: dict[str, dict[str, tuple[Scene, ...]]]
    upsell: dict[str, tuple[Scene, ...]]
    mood: dict[str, tuple[str, ...]]
    #: Per reason: what customers say about the topic while it is worked, and what agents do.
    details: dict[str, tuple[str, ...]]
    actions: dict[str, tuple[str, ...]]
    share: float


#: Values of the slots that ending scenes use (training.corpus.scenes).
TEAMS = (
    "billing", "the returns team", "our escalations team", "tier 2 support", "the warehouse team",
    "the fraud team", "accounts", "the payments team", "technical support", "customer relations",
    "the logistics desk", "my supervisor", "a team lead", "the resolutions team", "the carrier liaison team",
)  # fmt: skip
DAYS = ("tomorrow", "tomorrow morning", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
        "later today", "this afternoon", "first thing tomorrow", "on Thursday", "early next week",
        "the 14th", "within 48 hours", "in two working days")  # fmt: skip
TIMES = ("9 am", "10:30", "between 2 and 4", "around noon", "3 pm", "after 5", "4:15", "11 o'clock",
         "between 9 and 11", "quarter past two", "around 6 in the evening", "1 pm")  # fmt: skip


def gen_ticket(rng: random.Random) -> str:
    """A case or ticket reference as agents read them out."""
    r = rng.random()
    if r < 0.4:
        return f"{rng.choice(('CS', 'TK', 'INC', 'CASE', 'ESC', 'REF'))}-{rng.randint(10000, 9999999)}"
    if r < 0.7:
        return str(rng.randint(100000, 99999999))
    return f"{rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}{rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}{rng.randint(1000, 99999)}"


@dataclass(frozen=True)
class DialoguePlan:
    reason: str
    category: str
    outcome: str
    sentiment_start: str
    sentiment_end: str
    upsell_mode: str  # none | accept | decline | ignored | inquiry | customer
    channel: str
    n_blocks: int
    second_reason: str | None
    second_category: str | None
    is_repeat: bool


class SlotFiller:
    """Fills ``{slot}`` templates with values, wrapping PII and decoys in markers."""

    def __init__(self, rng: random.Random, person: Person, company: str, agent: str) -> None:
        self.rng = rng
        self.person = person
        self.company = company
        self.agent = agent
        self.order = gen_order_number(rng)
        self.product = rng.choice(ph.PRODUCTS)
        self.plan = rng.choice(ph.PLANS)

    def value(self, slot: str) -> str:
        rng, person = self.rng, self.person
        if slot == "product":
            return self.product if rng.random() < 0.8 else rng.choice(ph.PRODUCTS)
        if slot == "plan":
            return self.plan
        if slot == "company":
            return self.company
        if slot == "agent":
            return self.agent
        if slot == "order":
            return mark("order_number", self.order if rng.random() < 0.75 else gen_order_number(rng))
        if slot == "amount":
            return mark("amount", gen_amount(rng))
        if slot == "date":
            return mark("date", gen_date(rng))
        if slot == "tracking":
            return mark("tracking", gen_tracking(rng))
        if slot == "name":
            return mark("name", person.full_name if rng.random() < 0.7 else person.first)
        if slot in PERSON_SLOTS:
            return mark(slot, getattr(person, slot))
        if slot == "ticket":
            return gen_ticket(rng)
        if slot == "team":
            return rng.choice(TEAMS)
        if slot == "day":
            return rng.choice(DAYS)
        if slot == "time":
            return rng.choice(TIMES)
        return "{" + slot + "}"

    def fill(self, template: str) -> str:
        return _SLOT_RE.sub(lambda m: self.value(m.group(1)), template)


def bank_openings(reason: str, rng: random.Random) -> str:
    """A customer request for ``reason`` from the phrase bank: a hand-written sentence or a composed one."""
    if rng.random() < 0.55:
        composed = compose_request(reason, rng)
        if composed is not None:
            return composed
    return rng.choice(ph.OPENINGS[reason])


def _mid_sentiment(plan: DialoguePlan, progress: float, rng: random.Random) -> str:
    return plan.sentiment_start if rng.random() > progress else plan.sentiment_end


def wrap_register(text: str, sentiment: str, channel: str, rng: random.Random) -> str:
    """Politeness, anger, colloquial or indirect framing around an opening."""
    text = text.strip()
    r = rng.random()
    if sentiment == "negative" and r < 0.6:
        pre = rng.choice(ph.ANGRY_PREFIX) + " " if rng.random() < 0.7 else ""
        suf = ", " + rng.choice(ph.ANGRY_SUFFIX) if rng.random() < 0.5 else ""
        return f"{pre}{text.rstrip('.?!')}{suf}."
    if sentiment == "positive" and r < 0.6:
        pre = rng.choice(ph.POLITE_PREFIX) + " " if rng.random() < 0.7 else ""
        suf = ", " + rng.choice(ph.POLITE_SUFFIX) if rng.random() < 0.4 else ""
        return f"{pre}{text.rstrip('.?!')}{suf}."
    if r < 0.15 and text[:1].islower():
        return rng.choice(ph.INDIRECT_FRAMES).replace("{x}", text)
    if channel in ("chat", "sms", "social", "mobile_app") and r < 0.35:
        return f"{rng.choice(ph.COLLOQUIAL_PREFIX)} {text}"
    return text[:1].upper() + text[1:] if rng.random() < 0.7 else text


#: How a customer answers an upsell offer they accept or decline (:meth:`Composer.answer_offer`):
#: the cuts between a direct answer, an indirect one and a hesitation with the offer's detail, and
#: the phrases of each.
OFFER_ANSWERS: dict[str, tuple[tuple[float, float, float], tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "accept": ((0.42, 0.7, 0.85), ph.UPSELL_ACCEPT, ph.UPSELL_ACCEPT_IMPLICIT,
               ph.UPSELL_ACCEPT_IMPLICIT + ph.UPSELL_ACCEPT),
    "decline": ((0.42, 0.65, 0.82), ph.UPSELL_DECLINE, ph.UPSELL_DECLINE_AS_ACCEPT,
                ph.UPSELL_DECLINE + ph.UPSELL_DECLINE_AS_ACCEPT),
}  # fmt: skip


class Composer:
    """Composes the moves of one contact from a :class:`DialoguePlan`."""

    def __init__(
        self,
        plan: DialoguePlan,
        filler: SlotFiller,
        rng: random.Random,
        opening: OpeningSource,
        agent_lines: AgentLineSource | None = None,
        scenes: SceneBank | None = None,
        *,
        closes: tuple[float, float] = (0.0, 0.0),
        scripted: tuple[float, float] = (0.0, 0.0),
    ) -> None:
        self.plan = plan
        self.f = filler
        self.rng = rng
        self.opening = opening
        self.agent_lines = agent_lines
        self.scenes = scenes
        #: Shares of negative closes that are a bitter remark then a curt sign-off, and of neutral
        #: closes that are the sign-off alone (CorpusConfig.bitter_close_share, curt_close_share).
        self.bitter_share, self.curt_share = closes
        #: Shares of contacts that end on the agent's scripted sign-off and on the platform's end event
        #: (CorpusConfig.scripted_close_share, system_close_share).
        self.scripted_share, self.system_close_share = scripted
        self.moves: list[Move] = []
        #: Delayed lines of the upsell moment (a late acceptance or decline), said a few turns later.
        self.later: list[tuple[str, str]] = []

    # -- helpers -------------------------------------------------------------------------------
    def say(self, speaker: str, template: str, kind: str = "talk") -> None:
        text = self.f.fill(template)
        if text.strip():
            self.moves.append(Move(speaker, text, kind))

    def pick(self, options: tuple[str, ...]) -> str:
        return self.rng.choice(options)

    def agent_body(self, category: str, reason: str | None = None) -> str:
        """What the agent says while working a topic: a scene-bank action for the reason, a real
        agent line for it (Bitext responses) when a source is given, else the phrase bank's line."""
        topic = reason or self.plan.reason
        if self.scenes is not None and topic in self.scenes.actions and self.use_scene():
            return self.pick(self.scenes.actions[topic])
        if self.agent_lines is not None:
            line = self.agent_lines(reason or self.plan.reason, self.rng)
            if line is not None:
                return line
        return self.pick(ph.AGENT_BODY.get(category, ph.GENERIC_AGENT_BODY))

    def use_scene(self) -> bool:
        """Whether this moment comes from the scene bank (no draw at all without one, so a corpus
        built without scenes is the same as before they existed)."""
        return self.scenes is not None and self.rng.random() < self.scenes.share

    def play(self, scene: Scene) -> None:
        for speaker, template in scene:
            self.say(speaker, template, kind="system" if speaker == "system" else "talk")

    def detail_line(self, reason: str | None = None) -> str:
        """A customer's detail or follow-up on the topic (the scene bank's, per reason)."""
        topic = reason or self.plan.reason
        if self.scenes is not None and topic in self.scenes.details and self.use_scene():
            return self.pick(self.scenes.details[topic])
        return self.pick(DETAIL_LINES)

    def mood_line(self, sentiment: str) -> str:
        """A customer line in ``sentiment`` said while the topic is worked."""
        if self.scenes is not None and self.use_scene():
            return self.pick(self.scenes.mood[sentiment])
        return self.pick(ph.CUSTOMER_MID[sentiment])

    def opening_text(self, reason: str, sentiment: str) -> str:
        return wrap_register(self.opening(reason, self.rng), sentiment, self.plan.channel, self.rng)

    # -- building blocks -----------------------------------------------------------------------
    def customer_opening(self) -> None:
        plan, rng = self.plan, self.rng
        if (plan.is_repeat and rng.random() < 0.6) or (not plan.is_repeat and rng.random() < 0.05):
            self.say("customer", self.pick(ph.PREVIOUS_CONTACT))
        if rng.random() < 0.3:
            vague = ph.VAGUE_OPENINGS.get(plan.category, ph.GENERIC_VAGUE)
            self.say("customer", wrap_register(self.pick(vague), plan.sentiment_start, plan.channel, rng))
            self.say("agent", self.pick(ph.CLARIFY_AGENT))
            lead = self.pick(ph.CLARIFY_LEADS)
            self.say("customer", (lead + " " if lead else "") + self.opening(plan.reason, rng))
        else:
            self.say("customer", self.opening_text(plan.reason, plan.sentiment_start))

    def verification(self, n_items: int) -> None:
        table = dict(VERIFY_ITEMS)
        money = self.plan.category in MONEY_CATEGORIES
        for item, weight in VERIFY_MONEY_ITEMS.items():
            table[item] = weight * (1.0 if money else 0.2)
        items, weights = list(table), list(table.values())
        chosen: list[str] = []
        while len(chosen) < n_items:
            item = self.rng.choices(items, weights=weights)[0]
            if item not in chosen:
                chosen.append(item)
        for item in chosen:
            self.say("agent", self.pick(ph.VERIFY_ASK[item]))
            self.say("customer", self.pick(ph.VERIFY_ANSWER[item]))
            if self.rng.random() < 0.6:
                self.say("agent", self.pick(ph.VERIFY_ACK))
        if self.rng.random() < 0.16:
            self.say("customer", self.pick(ph.OVERSHARE))
            self.say("agent", self.pick(ph.OVERSHARE_AGENT))

    def body_block(self, progress: float, category: str, reason: str | None = None) -> None:
        rng = self.rng
        r = rng.random()
        sentiment = _mid_sentiment(self.plan, progress, rng)
        if r < 0.22:
            self.say("agent", self.pick(ph.HOLDS), kind="hold")
            if rng.random() < 0.6:
                self.say("customer", self.pick(ph.CUSTOMER_WAIT))
            self.say("agent", self.pick(ph.HOLD_RETURN))
        elif r < 0.55:
            self.say("agent", self.agent_body(category, reason))
            if self.scenes is not None and rng.random() < 0.5:
                self.say("customer", self.detail_line(reason))
            else:
                self.say("customer", self.mood_line(sentiment))
        elif r < 0.7:
            ask, answer = rng.choice(ph.TROUBLESHOOT)
            self.say("agent", ask)
            self.say("customer", answer)
        elif r < 0.78:
            self.say("customer", self.mood_line(sentiment) + " " + self.opening(self.plan.reason, rng))
            self.say("agent", self.pick(ph.GENERIC_AGENT_BODY))
        elif r < 0.9:
            if self.scenes is not None:
                self.say("agent", self.agent_body(category, reason))
            else:
                self.say("agent", self.pick(ph.GENERIC_AGENT_BODY))
            if rng.random() < 0.7:
                self.say("customer", self.mood_line(sentiment))
        elif r < 0.95:
            self.say("customer", self.pick(ph.SMALL_TALK_CUSTOMER))
            self.say("agent", self.pick(ph.SMALL_TALK_AGENT))
        else:
            self.say("customer", self.detail_line(reason))
            self.say("agent", self.pick(ph.VERIFY_ACK))

    def second_topic(self) -> None:
        plan = self.plan
        if plan.second_reason is None:
            return
        self.say("customer", self.pick(ph.SECOND_TOPIC_LEADS) + " " + self.opening(plan.second_reason, self.rng))
        self.say("agent", self.pick(ph.SECOND_TOPIC_AGENT))
        for _ in range(self.rng.randint(0, 2)):
            self.body_block(0.8, plan.second_category or plan.category, plan.second_reason)

    def answer_offer(
        self,
        r: float,
        cuts: tuple[float, float, float],
        direct: tuple[str, ...],
        indirect: tuple[str, ...],
        after_detail: tuple[str, ...],
    ) -> bool:
        """The customer's answer to an upsell offer, by where ``r`` falls among ``cuts``: ``direct``,
        ``indirect``, or a hesitation, the offer's detail and an answer from ``after_detail``. Past the
        last cut: a hesitation (perhaps detailed) and False, the answer left for later."""
        if r < cuts[0]:
            self.say("customer", self.pick(direct))
        elif r < cuts[1]:
            self.say("customer", self.pick(indirect))
        elif r < cuts[2]:
            self.say("customer", self.pick(ph.UPSELL_HESITATE))
            self.say("agent", self.pick(ph.UPSELL_OFFER_DETAIL))
            self.say("customer", self.pick(after_detail))
        else:
            self.say("customer", self.pick(ph.UPSELL_HESITATE))
            if self.rng.random() < 0.5:
                self.say("agent", self.pick(ph.UPSELL_OFFER_DETAIL))
            return False
        return True

    def upsell(self) -> None:
        """Say the first part of the upsell moment; a delayed part (a late yes or no) goes to ``self.later``.

        True (accept, customer): explicit, implicit or conditional acceptance, acceptance after a
        hesitation or several turns later, and customer-initiated interest (direct or indirect). False
        (decline, ignored, inquiry): declines (some phrased as agreeing to something else), offers the
        customer talks past, and product questions that end without a purchase.
        """
        mode, rng = self.plan.upsell_mode, self.rng
        if mode != "none" and self.scenes is not None and self.use_scene():
            self.play(self.rng.choice(self.scenes.upsell[mode]))
            return
        r = rng.random()
        if mode in ("accept", "decline", "ignored"):
            self.say("agent", self.pick(ph.UPSELL_OFFER))
        if mode == "accept":
            if not self.answer_offer(r, *OFFER_ANSWERS["accept"]):
                self.later.append(("customer", self.pick(ph.UPSELL_LATE_ACCEPT)))
                if rng.random() < 0.85:
                    self.later.append(("agent", self.pick(ph.UPSELL_CONFIRM)))
                return
            if rng.random() < 0.85:
                self.say("agent", self.pick(ph.UPSELL_CONFIRM))
        elif mode == "decline":
            if not self.answer_offer(r, *OFFER_ANSWERS["decline"]):
                if rng.random() < 0.6:  # otherwise the customer never comes back to it
                    self.later.append(("customer", self.pick(ph.UPSELL_LATE_DECLINE)))
                if rng.random() < 0.4:
                    self.later.append(("agent", self.pick(ph.UPSELL_DECLINE_AGENT)))
                return
            if rng.random() < 0.55:
                self.say("agent", self.pick(ph.UPSELL_DECLINE_AGENT))
        elif mode == "ignored":
            self.say("customer", self.pick(ph.UPSELL_IGNORED))
            if rng.random() < 0.5:
                self.say("agent", self.pick(ph.GENERIC_AGENT_BODY))
        elif mode == "inquiry":
            self.say("customer", self.pick(ph.UPSELL_QUESTIONS))
            self.say("agent", self.pick(ph.UPSELL_QUESTION_ANSWERS))
            if r < 0.7:
                self.say("customer", self.pick(ph.UPSELL_QUESTION_NO_BUY))
            elif r < 0.85:
                self.later.append(("customer", self.pick(ph.UPSELL_LATE_DECLINE)))
            # else: the question is never followed up
            if rng.random() < 0.3:
                self.say("agent", self.pick(ph.UPSELL_DECLINE_AGENT))
        elif mode == "customer":
            if r < 0.45:
                self.say("customer", self.pick(ph.UPSELL_CUSTOMER_INITIATED))
                if rng.random() < 0.5:
                    self.say("agent", self.pick(ph.UPSELL_QUESTION_ANSWERS))
            else:
                self.say("customer", self.pick(ph.UPSELL_QUESTIONS))
                self.say("agent", self.pick(ph.UPSELL_QUESTION_ANSWERS))
                if r < 0.8:
                    self.say("customer", self.pick(ph.UPSELL_QUESTION_BUY))
                else:  # buys later in the contact
                    self.later.append(("customer", self.pick(ph.UPSELL_QUESTION_BUY + ph.UPSELL_LATE_ACCEPT)))
                    if rng.random() < 0.85:
                        self.later.append(("agent", self.pick(ph.UPSELL_CONFIRM)))
                    return
            if rng.random() < 0.85:
                self.say("agent", self.pick(ph.UPSELL_CONFIRM))

    def flush_later(self) -> None:
        """Say the delayed part of the upsell moment (if any)."""
        for speaker, template in self.later:
            self.say(speaker, template)
        self.later.clear()

    def ending(self, live: bool) -> None:
        plan, rng = self.plan, self.rng
        outcome = plan.outcome
        if self.scenes is not None and self.use_scene():
            self.play(self.rng.choice(self.scenes.endings[outcome][plan.sentiment_end]))
            return
        if rng.random() < 0.12:
            self.say("agent", self.pick(ESCALATION_DISTRACTORS))
        if rng.random() < 0.3 and outcome in ph.OUTCOME_DISTRACTORS:
            self.say("agent", self.pick(ph.OUTCOME_DISTRACTORS[outcome]))
        r = rng.random()
        if r < 0.27:  # evidence only in shared, ambiguous phrasing
            group = self.pick(ph.IMPLICIT_GROUPS.get(outcome, ("close",)))
            ask, answer = rng.choice(ph.SHARED_IMPLICIT[group])
            self.say("agent", ask)
            self.say("customer", answer)
        elif r < 0.38 and outcome in ph.OUTCOME_IMPLICIT:
            ask, answer = rng.choice(ph.OUTCOME_IMPLICIT[outcome])
            self.say("agent", ask)
            self.say("customer", answer)
        else:
            self.say("agent", self.pick(ph.OUTCOME_AGENT[outcome]))
            if rng.random() < 0.5 and (plan.sentiment_end != "positive" or outcome == "resolved"):
                self.say("customer", self.pick(ph.OUTCOME_CUSTOMER[outcome]))
            if r > 0.9 and live:  # outcome mid-way: more talk follows the decisive statement
                self.say("agent", self.pick(ph.GENERIC_AGENT_BODY))
                self.say("customer", self.mood_line(plan.sentiment_end))
        self.customer_close(plan.sentiment_end)
        if live and rng.random() < 0.7 and outcome != "transferred":
            self.say("agent", self.pick(ph.CLOSING_AGENT))

    def scripted_close(self) -> None:
        """What follows the customer's last words whatever the labels: the agent's scripted sign-off
        (not after a transfer, where another team takes over) and the platform's end event. Emails
        end on the last message, and a contact that already ends on a platform event keeps it last.
        A share of 0 draws nothing, so a corpus builds as before."""
        channel, rng = self.plan.channel, self.rng
        if channel == "email" or (self.moves and self.moves[-1].speaker == "system"):
            return
        if self.scripted_share > 0 and rng.random() < self.scripted_share and self.plan.outcome != "transferred":
            parts = [self.pick(options) for options in ph.SCRIPTED_CLOSE_PARTS if rng.random() < 0.6]
            self.say("agent", " ".join(parts) or self.pick(ph.SCRIPTED_CLOSE_PARTS[-1]))
        if self.system_close_share > 0 and rng.random() < self.system_close_share:
            self.say("system", self.pick(ph.SYSTEM_CLOSE[channel]))

    def customer_close(self, sentiment: str) -> None:
        """The customer's last words: a line of the end sentiment, or (negative) a bitter remark then a
        curt sign-off, or (neutral) the curt sign-off alone."""
        r = self.rng.random()
        if sentiment == "negative" and r < self.bitter_share:
            self.say("customer", self.pick(ph.CUSTOMER_BITTER))
            if self.plan.channel == "email":  # an email ends with the remark
                return
            if self.rng.random() < 0.4:
                self.say("agent", self.pick(ph.CLOSING_AGENT))
            self.say("customer", self.pick(ph.CUSTOMER_CURT_SIGNOFF))
        elif sentiment == "neutral" and r < self.curt_share and self.plan.channel != "email":
            self.say("customer", self.pick(ph.CUSTOMER_CURT_SIGNOFF))
        elif r < 0.85:
            self.say("customer", self.pick(ph.CUSTOMER_END[sentiment]))

    # -- whole contacts ------------------------------------------------------------------------
    def compose(self) -> list[Move]:
        channel = self.plan.channel
        if channel in ("voice", "chat", "mobile_app"):
            self._live()
        elif channel == "email":
            self._email()
        else:
            self._short()
        self.scripted_close()
        return self.moves

    def _live(self) -> None:
        plan, rng = self.plan, self.rng
        voice = plan.channel == "voice"
        if plan.channel == "chat" and rng.random() < 0.4:
            self.say("system", self.pick(ph.CHAT_SYSTEM))
        if plan.channel == "mobile_app" and rng.random() < 0.6:
            self.say("system", self.pick(ph.MOBILE_SYSTEM))
        if voice or rng.random() < 0.8:
            self.say("agent", self.pick(ph.GREETINGS_AGENT))
            if voice and rng.random() < 0.5:
                self.say("customer", self.pick(ph.GREETINGS_CUSTOMER_REPLY))
        if rng.random() < (0.15 if voice else 0.05):
            self.say("customer", self.pick(ph.SMALL_TALK_CUSTOMER))
            self.say("agent", self.pick(ph.SMALL_TALK_AGENT))
        n_verify = rng.choice((1, 2, 2, 3, 3, 4)) if voice else rng.choice((0, 1, 1, 2))
        verify_first = rng.random() < (0.3 if voice else 0.15)
        if verify_first:
            self.verification(n_verify)
        self.customer_opening()
        if not verify_first:
            self.verification(n_verify)
        upsell_at = rng.randint(0, plan.n_blocks) if rng.random() < 0.6 else -1
        flush_at = -1
        for i in range(plan.n_blocks):
            if i == upsell_at:
                self.upsell()
                flush_at = i + rng.randint(1, 4)
            if i == flush_at:
                self.flush_later()
            self.body_block((i + 1) / (plan.n_blocks + 1), plan.category)
        if upsell_at >= 0 and upsell_at < plan.n_blocks and rng.random() < 0.5:
            self.flush_later()
        self.second_topic()
        if upsell_at < 0 or upsell_at >= plan.n_blocks:
            self.upsell()
            if self.later:
                self.body_block(0.9, plan.category)
        self.flush_later()
        self.ending(live=True)
        if plan.channel == "mobile_app" and rng.random() < 0.3:
            self.say("system", self.pick(ph.MOBILE_SYSTEM))

    def _email(self) -> None:
        plan, rng = self.plan, self.rng
        self.customer_opening()
        for line in rng.sample(DETAIL_LINES, rng.randint(1, 4)):
            self.say("customer", line)
        if rng.random() < 0.3 and plan.sentiment_start != "neutral":
            self.say("customer", self.mood_line(plan.sentiment_start))
        self.say("agent", self.agent_body(plan.category))
        early_upsell = plan.n_blocks > 0 and rng.random() < 0.4
        if early_upsell:
            self.upsell()
        for _ in range(plan.n_blocks):
            self.say("agent", self.agent_body(plan.category))
            if rng.random() < 0.5:
                self.say("customer", self.detail_line())
        self.second_topic()
        if not early_upsell:
            self.upsell()
        self.flush_later()
        self.ending(live=False)

    def _short(self) -> None:
        plan, rng = self.plan, self.rng
        self.customer_opening()
        if plan.channel == "social" and rng.random() < 0.5:
            self.say("agent", self.pick(SOCIAL_DM))
            self.say("customer", self.pick(ph.VERIFY_ANSWER[rng.choice(("order", "email"))]))
        for _ in range(plan.n_blocks):
            self.body_block(0.5, plan.category)
        if rng.random() < 0.5:
            self.second_topic()
        self.upsell()
        if self.later and rng.random() < 0.5:
            self.body_block(0.8, plan.category)
        self.flush_later()
        self.ending(live=False)
