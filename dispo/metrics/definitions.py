"""The metric set: one entry per number dispo reports, with its kind and which direction is good.

The engine computes every metric of :data:`METRICS` for every group; the scorecard, the SLA targets,
the report and the CSV tables read names, titles and directions from here, so a metric is defined
once. The definitions themselves (what is counted over what) are written out in docs/metrics.md
and in :mod:`dispo.metrics.engine`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dispo.errors import ConfigError

#: count: a number of things; rate: k of n (Wilson interval); mean: a mean of per-contact values (normal
#: interval); ratio: a count per unit of exposure, contacts per hour (exact Poisson interval).
MetricKind = Literal["count", "rate", "mean", "ratio"]


@dataclass(frozen=True)
class MetricSpec:
    name: str
    title: str
    kind: MetricKind
    #: True when a higher value is better, False when lower is better, None when neither is.
    higher_is_better: bool | None
    #: "contact" metrics count contacts; "issue" metrics count issues (chains of repeat contacts).
    level: Literal["contact", "issue"]
    unit: str
    description: str
    #: The values a mean can take: its interval is cut to them (a normal interval of handle times can
    #: reach below zero, which no handle time is).
    bounds: tuple[float | None, float | None] = (None, None)


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("contacts", "Contacts", "count", None, "contact", "", "contacts in the group"),
    MetricSpec(
        "resolution_rate",
        "Resolution rate",
        "rate",
        True,
        "contact",
        "%",
        "contacts whose outcome counts as resolved in the taxonomy / contacts with a known outcome",
    ),
    MetricSpec(
        "fcr",
        "First-contact resolution",
        "rate",
        True,
        "issue",
        "%",
        "issues whose first contact is resolved and has no repeat within the window / closed issues with an "
        "outcome (closed: the window has closed, or a repeat has already happened)",
    ),
    MetricSpec("issues", "Issues", "count", None, "issue", "", "issues opened in the group (first contacts)"),
    MetricSpec(
        "issues_closed",
        "Issues closed",
        "count",
        None,
        "issue",
        "",
        "issues whose FCR is known: the repeat window has closed, or a repeat came within it",
    ),
    MetricSpec(
        "issues_pending",
        "Issues pending",
        "count",
        None,
        "issue",
        "",
        "issues with a single contact whose repeat window had not closed by the end of the data (left out of FCR)",
    ),
    MetricSpec(
        "issues_repeat_early",
        "Issues repeated early",
        "count",
        None,
        "issue",
        "",
        "closed issues whose window is still open but that already had a repeat (known not first-contact resolved)",
    ),
    MetricSpec(
        "issues_unknown_outcome",
        "Issues with no outcome",
        "count",
        None,
        "issue",
        "",
        "issues whose first contact has no outcome label in the taxonomy (left out of FCR)",
    ),
    MetricSpec(
        "repeat_rate",
        "Repeat rate",
        "rate",
        False,
        "contact",
        "%",
        "contacts followed by a repeat contact within the window / contacts whose window closed or that were "
        "followed by a repeat (charged to whoever handled the contact that was repeated)",
    ),
    MetricSpec(
        "repeat_share",
        "Repeat share",
        "rate",
        False,
        "contact",
        "%",
        "contacts that are themselves a repeat of an earlier contact / chainable contacts",
    ),
    MetricSpec(
        "escalation_rate",
        "Escalation rate",
        "rate",
        False,
        "contact",
        "%",
        "contacts with an escalation outcome / contacts with a known outcome",
    ),
    MetricSpec(
        "transfer_rate",
        "Transfer rate",
        "rate",
        False,
        "contact",
        "%",
        "contacts with a transfer outcome / contacts with a known outcome",
    ),
    MetricSpec(
        "callback_rate",
        "Callback rate",
        "rate",
        None,
        "contact",
        "%",
        "contacts with a callback outcome / contacts with a known outcome",
    ),
    MetricSpec(
        "aht_s",
        "Average handle time",
        "mean",
        False,
        "contact",
        "s",
        "mean of ended_at - started_at over contacts with both times (ended_at before started_at is left out)",
        bounds=(0.0, None),
    ),
    MetricSpec(
        "sentiment_score",
        "End sentiment score",
        "mean",
        True,
        "contact",
        "score",
        "mean score of the end-of-contact sentiment (negative -1, neutral 0, positive +1 by default)",
    ),
    MetricSpec(
        "sentiment_negative",
        "Negative at end",
        "rate",
        False,
        "contact",
        "%",
        "contacts ending with a sentiment scored below 0 / contacts with a known end sentiment",
    ),
    MetricSpec(
        "sentiment_positive",
        "Positive at end",
        "rate",
        True,
        "contact",
        "%",
        "contacts ending with a sentiment scored above 0 / contacts with a known end sentiment",
    ),
    MetricSpec(
        "sentiment_change",
        "Sentiment change",
        "mean",
        True,
        "contact",
        "score",
        "mean of end score - start score; needs sentiment_start and sentiment_end columns",
    ),
    MetricSpec(
        "upsell_rate",
        "Upsell opportunity rate",
        "rate",
        True,
        "contact",
        "%",
        "contacts whose upsell probability is at least the threshold / contacts with an upsell probability",
    ),
    MetricSpec(
        "agent_model_agreement_reason",
        "Agent-model agreement (reason)",
        "rate",
        True,
        "contact",
        "%",
        "contacts where the agent's reason equals the model's / contacts with both",
    ),
    MetricSpec(
        "agent_model_agreement_outcome",
        "Agent-model agreement (outcome)",
        "rate",
        True,
        "contact",
        "%",
        "contacts where the agent's outcome equals the model's / contacts with both",
    ),
    MetricSpec(
        "agent_accuracy_reason",
        "Agent reason accuracy (audited)",
        "rate",
        True,
        "contact",
        "%",
        "audited contacts where the agent's reason equals the audited one / audited contacts with an agent reason",
    ),
    MetricSpec(
        "agent_accuracy_outcome",
        "Agent outcome accuracy (audited)",
        "rate",
        True,
        "contact",
        "%",
        "audited contacts where the agent's outcome equals the audited one / audited contacts with an agent outcome",
    ),
    MetricSpec(
        "agent_accuracy_estimated_reason",
        "Agent reason accuracy (estimated)",
        "mean",
        True,
        "contact",
        "%",
        "estimated without audits (`dispo train --label-noise`, label_issues.jsonl): the mean chance that each "
        "reason code is right, weighing the text against the agent's record; audited accuracy is the figure to trust",
        bounds=(0.0, 1.0),
    ),
    MetricSpec(
        "agent_accuracy_estimated_outcome",
        "Agent outcome accuracy (estimated)",
        "mean",
        True,
        "contact",
        "%",
        "as the estimated reason accuracy, for the outcome code",
        bounds=(0.0, 1.0),
    ),
    MetricSpec(
        "agent_accuracy_estimated_code",
        "Agent code accuracy (estimated)",
        "mean",
        True,
        "contact",
        "%",
        "as the estimated reason accuracy, for reason and outcome both right (the product of the two)",
        bounds=(0.0, 1.0),
    ),
    MetricSpec(
        "agent_accuracy_code",
        "Agent code accuracy (audited)",
        "rate",
        True,
        "contact",
        "%",
        "audited contacts where the agent's reason and outcome both equal the audited ones / contacts where "
        "both were audited and coded",
    ),
    MetricSpec(
        "model_accuracy_reason",
        "Model reason accuracy (audited)",
        "rate",
        True,
        "contact",
        "%",
        "audited contacts where the model's reason equals the audited one",
    ),
    MetricSpec(
        "model_accuracy_outcome",
        "Model outcome accuracy (audited)",
        "rate",
        True,
        "contact",
        "%",
        "audited contacts where the model's outcome equals the audited one",
    ),
    MetricSpec(
        "model_accuracy_code",
        "Model code accuracy (audited)",
        "rate",
        True,
        "contact",
        "%",
        "audited contacts where the model's reason and outcome both equal the audited ones",
    ),
)
#: The measures outsourcing contracts are managed by (queue events, staffing, cost, surveys).
OUTSOURCING_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "service_level",
        "Service level",
        "rate",
        True,
        "contact",
        "%",
        "contacts answered within the target wait (answered_at - queued_at <= the queue's or channel's target, "
        "so exactly at the target counts) / contacts offered to the queue that were answered or abandoned",
    ),
    MetricSpec(
        "abandonment_rate",
        "Abandonment rate",
        "rate",
        False,
        "contact",
        "%",
        "contacts abandoned in the queue / contacts offered to the queue whose queue outcome is known "
        "(answered or abandoned); blocked contacts never entered the queue and are left out",
    ),
    MetricSpec(
        "blockage_rate",
        "Blockage rate",
        "rate",
        False,
        "contact",
        "%",
        "contacts refused at entry (queue full, overflow, busy) / contacts whose export records blocking",
    ),
    MetricSpec(
        "asa_s",
        "Average speed of answer",
        "mean",
        False,
        "contact",
        "s",
        "mean of answered_at - queued_at over answered contacts with both times",
        bounds=(0.0, None),
    ),
    MetricSpec(
        "cph",
        "Contacts per hour",
        "ratio",
        True,
        "contact",
        "/h",
        "handled contacts / agent logged-in hours when agent hours are given (each agent-day's hours shared "
        "among its handled contacts), else / handled hours (the sum of handle times); the report says which",
    ),
    MetricSpec(
        "cpc",
        "Cost per contact",
        "mean",
        False,
        "contact",
        "cost",
        "mean cost of a handled contact from the provider's rate card (per contact, per handled minute, or per "
        "hour on the CPH basis); providers without a rate card are left out, never counted as free",
        bounds=(0.0, None),
    ),
    MetricSpec(
        "nps",
        "Net promoter score",
        "mean",
        True,
        "contact",
        "points",
        "% promoters (9-10) - % detractors (0-6) over contacts with a 0-10 survey answer (each answer scores "
        "+100, 0 or -100, and the score is their mean)",
        bounds=(-100.0, 100.0),
    ),
    MetricSpec(
        "csat",
        "Customer satisfaction",
        "rate",
        True,
        "contact",
        "%",
        "survey answers of 4 or 5 on the 1-5 scale / contacts with an answer",
    ),
)
METRICS = (*METRICS, *OUTSOURCING_METRICS)
METRIC_INDEX: dict[str, MetricSpec] = {m.name: m for m in METRICS}
METRIC_NAMES: tuple[str, ...] = tuple(m.name for m in METRICS)
#: The counts behind FCR: issues = closed + pending; closed ones include those repeated early.
ISSUE_COUNTS: tuple[str, ...] = (
    "issues",
    "issues_closed",
    "issues_pending",
    "issues_repeat_early",
    "issues_unknown_outcome",
)

#: Metrics of the provider scorecard, in column order (volume and channel mix come first, always).
DEFAULT_SCORECARD_METRICS: tuple[str, ...] = (
    "aht_s",
    "resolution_rate",
    "fcr",
    "repeat_rate",
    "escalation_rate",
    "sentiment_score",
    "sentiment_negative",
    "upsell_rate",
    "agent_accuracy_code",
    "agent_accuracy_estimated_code",
    "agent_model_agreement_reason",
    "service_level",
    "abandonment_rate",
    "asa_s",
    "cph",
    "cpc",
    "csat",
    "nps",
)

#: Dimensions a metric can be sliced by. Periods are cut in the configured time zone.
DIMENSIONS: tuple[str, ...] = ("provider", "channel", "agent", "queue", "reason", "category", "day", "week", "month")
PERIODS: tuple[str, ...] = ("day", "week", "month")


def metric(name: str) -> MetricSpec:
    try:
        return METRIC_INDEX[name]
    except KeyError:
        raise ConfigError(f"unknown metric {name!r}; known: {', '.join(METRIC_NAMES)}") from None
