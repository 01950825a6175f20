"""How the metrics are computed: label sources, the repeat window, the end of the data, SLA targets.

Every definition of docs/metrics.md has its knob here, checked on construction, and
the whole configuration loads from one YAML file (``dispo report --config metrics.yaml``)::

    label_priority: [audit, agent, model]   # first non-null label wins, per contact and per field
    window_mode: same_category               # or any_reason
    window_days: null                        # one window for every category (default: the taxonomy's)
    category_windows: {DELIVERY: 3}          # per-category override
    window_from: end                         # the window runs from the previous contact's end (or start)
    as_of: "2026-03-01T00:00:00+00:00"       # end of the data (default: the last contact's start)
    timezone: Europe/Berlin                  # periods (day, week, month) are cut in this zone
    targets:
      default: {fcr: 0.75, aht_s: 420, service_level: 0.8}
      providers: {bluepeak_bpo: {fcr: 0.70}}
      answer_within_s: {default: 20, channels: {chat: 60}, queues: {vip: 10}}   # the service level's wait
      rate_cards: {bluepeak_bpo: {per: minute, amount: 0.85, currency: EUR}}    # per contact, minute or hour
"""

from __future__ import annotations

import math
import zoneinfo
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml

from dispo.errors import ConfigError
from dispo.metrics.definitions import DEFAULT_SCORECARD_METRICS, METRIC_INDEX, METRIC_NAMES

LABEL_SOURCES: tuple[str, ...] = ("audit", "agent", "model")
WINDOW_MODES: tuple[str, ...] = ("same_category", "any_reason")
WINDOW_ANCHORS: tuple[str, ...] = ("end", "start")
DEFAULT_SENTIMENT_SCORES: dict[str, float] = {"negative": -1.0, "neutral": 0.0, "positive": 1.0}
DEFAULT_IN_HOUSE: tuple[str, ...] = ("inhouse", "in-house", "in_house")

_TUPLE_FIELDS = (
    "label_priority",
    "escalation_outcomes",
    "transfer_outcomes",
    "callback_outcomes",
    "in_house_providers",
    "scorecard_metrics",
)

WindowMode = Literal["same_category", "any_reason"]
WindowAnchor = Literal["end", "start"]


def _positive_days(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{where}: expected a positive number of days, found {value!r}")
    return float(value)


def _names(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of names, found {value!r}")
    return tuple(value)


RATE_UNITS: tuple[str, ...] = ("contact", "minute", "hour")
DEFAULT_ANSWER_WITHIN_S = 20.0  # the 80/20 convention of voice queues


def _mapping(raw: Any, where: str, keys: Sequence[str], *, expected: str) -> Mapping[str, Any]:
    """``raw`` as a mapping that uses only ``keys``; ``expected`` says what it should have been."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected {expected}, found {raw!r}")
    unknown = sorted(set(raw) - set(keys))
    if unknown:
        raise ConfigError(f"{where}: unknown keys {unknown}; expected {', '.join(keys)}")
    return raw


def _seconds(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"{where}: expected a number of seconds >= 0, found {value!r}")
    return float(value)


@dataclass(frozen=True)
class AnswerTargets:
    """The wait within which a contact counts as answered for the service level: a queue's own target,
    else its channel's, else the default."""

    default: float = DEFAULT_ANSWER_WITHIN_S
    channels: Mapping[str, float] = field(default_factory=dict)
    queues: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "default", _seconds(self.default, "answer_within_s.default"))
        for name in ("channels", "queues"):
            value = getattr(self, name)
            if not isinstance(value, Mapping):
                raise ConfigError(f"answer_within_s.{name}: expected a mapping of name -> seconds, found {value!r}")
            object.__setattr__(
                self, name, {str(k): _seconds(v, f"answer_within_s.{name}.{k}") for k, v in value.items()}
            )

    @classmethod
    def from_dict(cls, raw: Any) -> AnswerTargets:
        if raw is None:
            return cls()
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return cls(default=raw)
        raw = _mapping(raw, "answer_within_s", ("default", "channels", "queues"), expected="seconds or a mapping")
        return cls(
            default=raw.get("default", DEFAULT_ANSWER_WITHIN_S),
            channels=raw.get("channels") or {},
            queues=raw.get("queues") or {},
        )

    def to_dict(self) -> dict[str, Any]:
        return {"default": self.default, "channels": dict(self.channels), "queues": dict(self.queues)}


@dataclass(frozen=True)
class RateCard:
    """What a provider is paid: ``amount`` per handled contact, per handled minute, or per hour (the
    hours CPH is computed on: logged-in hours when given, else handled hours)."""

    per: str
    amount: float
    currency: str = ""

    def __post_init__(self) -> None:
        if self.per not in RATE_UNITS:
            raise ConfigError(f"per: expected one of {', '.join(RATE_UNITS)}, found {self.per!r}")
        if isinstance(self.amount, bool) or not isinstance(self.amount, int | float) or not math.isfinite(self.amount):
            raise ConfigError(f"amount: expected a number, found {self.amount!r}")
        if self.amount < 0:
            raise ConfigError(f"amount: expected a number >= 0, found {self.amount!r}")
        if not isinstance(self.currency, str):
            raise ConfigError(f"currency: expected a currency code such as EUR, found {self.currency!r}")
        object.__setattr__(self, "amount", float(self.amount))

    def to_dict(self) -> dict[str, Any]:
        return {"per": self.per, "amount": self.amount, "currency": self.currency}


def _rate_cards(raw: Any) -> dict[str, RateCard]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"rate_cards: expected a mapping of provider -> rate card, found {raw!r}")
    cards: dict[str, RateCard] = {}
    for provider, card in raw.items():
        where = f"rate_cards.{provider}"
        if isinstance(card, RateCard):
            cards[str(provider)] = card
            continue
        if not isinstance(card, Mapping):
            raise ConfigError(f"{where}: expected {{per, amount, currency}}, found {card!r}")
        unknown = sorted(set(card) - {"per", "amount", "currency"})
        missing = sorted({"per", "amount"} - set(card))
        if unknown or missing:
            raise ConfigError(
                f"{where}: unknown keys {unknown}, missing keys {missing}; expected per, amount, currency"
            )
        try:
            cards[str(provider)] = RateCard(per=card["per"], amount=card["amount"], currency=card.get("currency", ""))
        except ConfigError as exc:
            raise ConfigError(f"{where}.{exc}") from None
    currencies = sorted({c.currency for c in cards.values()})
    if len(currencies) > 1:
        raise ConfigError(f"rate_cards: one currency for every provider, found {currencies} (costs are summed)")
    return cards


@dataclass(frozen=True)
class SlaTargets:
    """Targets per metric (the SLA), with per-provider overrides.

    A target is a number on the metric's own scale (a rate as a fraction, AHT in seconds); whether a
    value must be above or below it follows the metric's direction (FCR at least, AHT at most).
    """

    default: Mapping[str, float] = field(default_factory=dict)
    providers: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    #: The wait within which a contact counts as answered, for the service level.
    answer_within_s: AnswerTargets = field(default_factory=AnswerTargets)
    #: What each provider is paid, for the cost per contact; a provider without one has no CPC.
    rate_cards: Mapping[str, RateCard] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.answer_within_s, AnswerTargets):
            object.__setattr__(self, "answer_within_s", AnswerTargets.from_dict(self.answer_within_s))
        object.__setattr__(self, "rate_cards", _rate_cards(self.rate_cards))
        object.__setattr__(self, "default", self._checked(self.default, "targets.default"))
        if not isinstance(self.providers, Mapping):
            raise ConfigError(f"targets.providers: expected a mapping of provider -> targets, found {self.providers!r}")
        object.__setattr__(
            self,
            "providers",
            {str(p): self._checked(t, f"targets.providers.{p}") for p, t in self.providers.items()},
        )

    @staticmethod
    def _checked(targets: Any, where: str) -> dict[str, float]:
        if not isinstance(targets, Mapping):
            raise ConfigError(f"{where}: expected a mapping of metric -> number, found {targets!r}")
        checked: dict[str, float] = {}
        for name, value in targets.items():
            spec = METRIC_INDEX.get(name)
            if spec is None:
                raise ConfigError(f"{where}.{name}: unknown metric; known: {', '.join(METRIC_NAMES)}")
            if spec.higher_is_better is None:
                raise ConfigError(f"{where}.{name}: {spec.title} has no better direction, so it cannot have a target")
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ConfigError(f"{where}.{name}: expected a number, found {value!r}")
            if spec.kind == "rate" and not 0.0 <= value <= 1.0:
                raise ConfigError(f"{where}.{name}: a rate target is a fraction in [0, 1], found {value!r}")
            checked[str(name)] = float(value)
        return checked

    def target(self, provider: str | None, metric: str) -> float | None:
        """The target of ``metric`` for ``provider``: its own override, else the default, else None."""
        if provider is not None and metric in self.providers.get(provider, {}):
            return self.providers[provider][metric]
        return self.default.get(metric)

    def to_dict(self) -> dict[str, Any]:
        return {
            "default": dict(self.default),
            "providers": {p: dict(t) for p, t in self.providers.items()},
            "answer_within_s": self.answer_within_s.to_dict(),
            "rate_cards": {p: c.to_dict() for p, c in self.rate_cards.items()},
        }

    @classmethod
    def from_dict(cls, raw: Any, source: str = "targets") -> SlaTargets:
        if raw is None:
            return cls()
        keys = ("default", "providers", "answer_within_s", "rate_cards")
        raw = _mapping(raw, source, keys, expected="a mapping with 'default' and 'providers'")
        try:
            return cls(
                default=raw.get("default") or {},
                providers=raw.get("providers") or {},
                answer_within_s=AnswerTargets.from_dict(raw.get("answer_within_s")),
                rate_cards=raw.get("rate_cards") or {},
            )
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> SlaTargets:
        return cls.from_dict(_read_yaml(path), source=str(path))


#: The outcomes of the default taxonomy each rate counts. A taxonomy that names them otherwise sets
#: its own lists; until then a default name the taxonomy lacks is dropped (see ``fitted_to``).
DEFAULT_OUTCOME_LISTS: dict[str, tuple[str, ...]] = {
    "escalation_outcomes": ("escalated",),
    "transfer_outcomes": ("transferred",),
    "callback_outcomes": ("callback_scheduled",),
}


@dataclass(frozen=True)
class MetricsConfig:
    """Every choice behind the numbers. The defaults follow the issue's definitions."""

    #: Which labels feed reason and outcome: the first source with a label wins, per contact and field.
    label_priority: tuple[str, ...] = LABEL_SOURCES
    #: ``same_category``: a repeat is a contact about a reason of the same category; ``any_reason``:
    #: every contact of the customer within the window is a repeat (next-contact avoidance).
    window_mode: WindowMode = "same_category"
    #: One repeat window in days for every category; None keeps the taxonomy's per-category windows
    #: (in ``any_reason`` mode, the taxonomy's default window).
    window_days: float | None = None
    #: Per-category windows in days, over anything else.
    category_windows: Mapping[str, float] = field(default_factory=dict)
    #: The window starts at the end of the previous contact (its start when ended_at is missing), or at its start.
    window_from: WindowAnchor = "end"
    #: End of the data: issues whose window closes after it are pending. None: the last contact's start.
    as_of: datetime | None = None
    #: Time zone the periods (day, week, month) are cut in.
    timezone: str = "UTC"
    #: An upsell opportunity is a contact whose upsell probability is at least this.
    upsell_threshold: float = 0.5
    #: Score of each sentiment; the mean is the sentiment score, below 0 is negative, above 0 positive.
    sentiment_scores: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_SENTIMENT_SCORES))
    escalation_outcomes: tuple[str, ...] = DEFAULT_OUTCOME_LISTS["escalation_outcomes"]
    transfer_outcomes: tuple[str, ...] = DEFAULT_OUTCOME_LISTS["transfer_outcomes"]
    callback_outcomes: tuple[str, ...] = DEFAULT_OUTCOME_LISTS["callback_outcomes"]
    #: Level of the confidence intervals (Wilson for rates, normal for means).
    confidence: float = 0.95
    #: Groups with fewer cases than this in a metric's denominator are flagged ``small``.
    small_group_n: int = 30
    #: Providers that are the company's own staff (marked in the scorecard).
    in_house_providers: tuple[str, ...] = DEFAULT_IN_HOUSE
    #: Name of the scorecard row of contacts with no provider.
    no_provider_label: str = "(no provider)"
    scorecard_metrics: tuple[str, ...] = DEFAULT_SCORECARD_METRICS
    targets: SlaTargets = field(default_factory=SlaTargets)

    def __post_init__(self) -> None:
        object.__setattr__(self, "label_priority", _names(self.label_priority, "label_priority"))
        if not self.label_priority:
            raise ConfigError("label_priority: name at least one label source of audit, agent, model")
        unknown = [s for s in self.label_priority if s not in LABEL_SOURCES]
        if unknown:
            raise ConfigError(f"label_priority: unknown sources {unknown}; known: {', '.join(LABEL_SOURCES)}")
        if len(set(self.label_priority)) != len(self.label_priority):
            raise ConfigError(f"label_priority: a source is listed twice in {list(self.label_priority)}")
        if self.window_mode not in WINDOW_MODES:
            raise ConfigError(f"window_mode: expected one of {', '.join(WINDOW_MODES)}, found {self.window_mode!r}")
        if self.window_from not in WINDOW_ANCHORS:
            raise ConfigError(f"window_from: expected one of {', '.join(WINDOW_ANCHORS)}, found {self.window_from!r}")
        if self.window_days is not None:
            object.__setattr__(self, "window_days", _positive_days(self.window_days, "window_days"))
        if not isinstance(self.category_windows, Mapping):
            raise ConfigError(
                f"category_windows: expected a mapping of category -> days, found {self.category_windows!r}"
            )
        object.__setattr__(
            self,
            "category_windows",
            {str(c): _positive_days(d, f"category_windows.{c}") for c, d in self.category_windows.items()},
        )
        if self.as_of is not None:
            if isinstance(self.as_of, str):
                try:
                    object.__setattr__(self, "as_of", datetime.fromisoformat(self.as_of))
                except ValueError:
                    raise ConfigError(f"as_of: expected an ISO-8601 time with a zone, found {self.as_of!r}") from None
            if not isinstance(self.as_of, datetime) or self.as_of.tzinfo is None:
                raise ConfigError(
                    f"as_of: expected a time with a zone (e.g. 2026-03-01T00:00:00+00:00), found {self.as_of!r}"
                )
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            raise ConfigError(
                f"timezone: unknown time zone {self.timezone!r} (use an IANA name such as Europe/Berlin)"
            ) from None
        for name in ("upsell_threshold", "confidence"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name}: expected a number in [0, 1], found {value!r}")
        if not 0.0 < self.confidence < 1.0:
            raise ConfigError(f"confidence: expected a level strictly between 0 and 1, found {self.confidence!r}")
        if not isinstance(self.sentiment_scores, Mapping) or not self.sentiment_scores:
            raise ConfigError(
                f"sentiment_scores: expected a mapping of sentiment -> score, found {self.sentiment_scores!r}"
            )
        for sentiment, score in self.sentiment_scores.items():
            if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
                raise ConfigError(f"sentiment_scores.{sentiment}: expected a number, found {score!r}")
        object.__setattr__(self, "sentiment_scores", {str(k): float(v) for k, v in self.sentiment_scores.items()})
        for name in ("escalation_outcomes", "transfer_outcomes", "callback_outcomes", "in_house_providers"):
            object.__setattr__(self, name, _names(getattr(self, name), name))
        if isinstance(self.small_group_n, bool) or not isinstance(self.small_group_n, int) or self.small_group_n < 0:
            raise ConfigError(f"small_group_n: expected a non-negative integer, found {self.small_group_n!r}")
        if not isinstance(self.no_provider_label, str) or not self.no_provider_label:
            raise ConfigError(f"no_provider_label: expected a non-empty string, found {self.no_provider_label!r}")
        object.__setattr__(self, "scorecard_metrics", _names(self.scorecard_metrics, "scorecard_metrics"))
        unknown = [m for m in self.scorecard_metrics if m not in METRIC_INDEX]
        if unknown:
            raise ConfigError(f"scorecard_metrics: unknown metrics {unknown}; known: {', '.join(METRIC_NAMES)}")
        if not isinstance(self.targets, SlaTargets):
            raise ConfigError(f"targets: expected SlaTargets, found {type(self.targets).__name__}")

    def with_labels(self, *sources: str) -> MetricsConfig:
        """The same configuration with another label priority (e.g. agent codes only)."""
        return replace(self, label_priority=tuple(sources))

    def fitted_to(self, outcome_names: Collection[str]) -> MetricsConfig:
        """This configuration for a taxonomy with ``outcome_names``: an outcome list left at its default
        keeps only the names the taxonomy has (a list set on purpose is checked, not changed)."""
        fitted: dict[str, Any] = {
            key: tuple(o for o in default if o in outcome_names)
            for key, default in DEFAULT_OUTCOME_LISTS.items()
            if getattr(self, key) == default
        }
        return replace(self, **fitted) if any(fitted[k] != getattr(self, k) for k in fitted) else self

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, SlaTargets):
                value = value.to_dict()
            elif isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, raw: Any, source: str = "metrics config") -> MetricsConfig:
        if raw is None:
            return cls()
        values = dict(_mapping(raw, source, sorted(f.name for f in fields(cls)), expected="a mapping at the top level"))
        if "targets" in values:
            values["targets"] = SlaTargets.from_dict(values["targets"], source=f"{source}: targets")
        for key in _TUPLE_FIELDS:
            if isinstance(values.get(key), list):
                values[key] = tuple(values[key])
        if values.get("category_windows") is None:
            values.pop("category_windows", None)
        try:
            return cls(**values)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> MetricsConfig:
        return cls.from_dict(_read_yaml(path), source=str(path))


def _read_yaml(path: str | Path) -> Any:
    path = Path(path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
