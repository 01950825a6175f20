"""Who is in the contact center: providers, agents, queues, customers, and repeat contacts.

Providers and queues have quality profiles (resolution propensity, agent error rate, handle time) so
scorecards built on the corpus differ between them. Customers come back: a contact that ends
unresolved, escalated, transferred or with a callback schedules a follow-up contact a few days later
far more often than a resolved one, usually about the same reason or category.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, field

import training.corpus.phrases as ph
from training.corpus.pii import Person, gen_person


@dataclass(frozen=True)
class Provider:
    name: str
    weight: float
    resolution: float  # multiplier on the odds of resolving
    error: float  # multiplier on the agent labelling error rate
    handle_time: float  # multiplier on handle time (holds, verbosity)
    n_agents: int


@dataclass(frozen=True)
class Queue:
    name: str
    categories: tuple[str, ...]
    resolution: float
    handle_time: float


@dataclass(frozen=True)
class Agent:
    agent_id: str
    name: str
    provider: Provider
    skill: float  # multiplier on resolution odds
    error_rate: float  # probability of at least one wrong agent label on a contact
    lazy_reason: str  # the generic code this agent falls back on
    lazy_share: float  # share of this agent's mistakes that are lazy defaults


PROVIDERS: tuple[Provider, ...] = (
    Provider("inhouse", 0.30, 1.25, 0.55, 1.00, 14),
    Provider("bluepeak_bpo", 0.25, 1.00, 1.00, 0.90, 12),
    Provider("teleserve_global", 0.20, 0.70, 1.70, 0.80, 12),
    Provider("orbit_cx", 0.15, 0.95, 1.20, 1.15, 8),
    Provider("meridian_contact", 0.10, 1.10, 0.75, 1.25, 6),
)
QUEUES: tuple[Queue, ...] = (
    Queue("orders", ("ORDER", "DELIVERY", "SHIPPING_ADDRESS"), 1.10, 1.0),
    Queue("billing", ("INVOICE", "PAYMENT", "REFUND", "CANCELLATION_FEE"), 0.85, 1.2),
    Queue("accounts", ("ACCOUNT", "NEWSLETTER"), 1.15, 0.9),
    Queue("general", ("CONTACT", "FEEDBACK"), 0.95, 0.95),
)
GENERAL_QUEUE = QUEUES[-1]
LAZY_REASONS = ("contact_customer_service", "complaint", "track_order", "payment_issue")

# P(customer contacts again about it | outcome), and the delay range in days.
FOLLOW_UP_PROB: dict[str, float] = {
    "resolved": 0.05,
    "escalated": 0.32,
    "transferred": 0.25,
    "callback_scheduled": 0.35,
    "unresolved": 0.45,
}
DEFAULT_FOLLOW_UP_PROB = 0.2


def queue_for(category: str) -> Queue:
    for q in QUEUES:
        if category in q.categories:
            return q
    return GENERAL_QUEUE


def make_agents(rng: random.Random, base_error_rate: float, reason_names: tuple[str, ...]) -> list[Agent]:
    """Agents of every provider; error rates scaled so the contact-weighted mean equals ``base_error_rate``."""
    raw: list[tuple[Provider, str, float, float, str, float]] = []
    n = 0
    lazy_pool = [r for r in LAZY_REASONS if r in reason_names] or list(reason_names)
    for prov in PROVIDERS:
        for _ in range(prov.n_agents):
            n += 1
            name = f"{rng.choice(ph.AGENT_FIRST_NAMES)}"
            skill = math.exp(rng.gauss(0.0, 0.3))
            err = prov.error * math.exp(rng.gauss(0.0, 0.45))
            raw.append((prov, name, skill, err, rng.choice(lazy_pool), rng.uniform(0.1, 0.6)))
    # Selection probability of an agent: provider weight shared evenly among its agents.
    mean = sum(r[3] * r[0].weight / r[0].n_agents for r in raw)
    agents: list[Agent] = []
    for i, (prov, name, skill, err, lazy, lazy_share) in enumerate(raw):
        rate = min(0.95, base_error_rate * err / mean) if mean > 0 else 0.0
        agents.append(Agent(f"AG-{prov.name[:3].upper()}-{i + 101:04d}", name, prov, skill, rate, lazy, lazy_share))
    # The clipping at 0.95 can lower the mean a little for very high base rates; rescale the rest once.
    return agents


def pick_agent(rng: random.Random, agents: list[Agent]) -> Agent:
    prov = rng.choices(PROVIDERS, weights=[p.weight for p in PROVIDERS])[0]
    return rng.choice([a for a in agents if a.provider is prov])


@dataclass(order=True)
class FollowUp:
    due_day: int
    seq: int
    customer_id: str = field(compare=False)
    reason: str = field(compare=False)
    previous_outcome: str = field(compare=False)


@dataclass
class Population:
    """Customers and the follow-up contacts they owe us; deterministic for its RNG."""

    rng: random.Random
    customers: dict[str, Person] = field(default_factory=dict)
    customer_ids: list[str] = field(default_factory=list)
    pending: list[FollowUp] = field(default_factory=list)
    _seq: int = 0

    def new_customer(self) -> tuple[str, Person]:
        cid = f"CUST-{len(self.customer_ids) + 100001}"
        person = gen_person(self.rng)
        self.customers[cid] = person
        self.customer_ids.append(cid)
        return cid, person

    def existing_customer(self) -> tuple[str, Person]:
        cid = self.rng.choice(self.customer_ids)
        return cid, self.customers[cid]

    def due_follow_up(self, day: int) -> FollowUp | None:
        if self.pending and self.pending[0].due_day <= day:
            return heapq.heappop(self.pending)
        return None

    def maybe_schedule(self, day: int, customer_id: str, reason: str, outcome: str) -> None:
        if self.rng.random() >= FOLLOW_UP_PROB.get(outcome, DEFAULT_FOLLOW_UP_PROB):
            return
        delay = self.rng.choice((0, 1, 1, 2, 2, 3, 4, 5, 7)) if outcome != "resolved" else self.rng.randint(2, 12)
        self._seq += 1
        heapq.heappush(self.pending, FollowUp(day + delay, self._seq, customer_id, reason, outcome))
