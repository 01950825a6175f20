"""How often each agent's codes are right, estimated without a single audit.

The chance that one agent code is right weighs two readers: the text (out-of-fold probabilities of
the TF-IDF baseline, training/noise.py) and the agent's own record. A one-coin model in the manner
of Dawid and Skene (1979) gives each agent an accuracy ``a`` and says a wrong code is drawn from
the confusions cleanlab's noise matrix finds. Expectation-maximisation then alternates:

    P(code right | text, code, agent) = a·q[code] / (a·q[code] + (1 - a)·Σ_{j≠code} q[j]·M[code | j])
    a = the agent's mean of those posteriors

where ``q`` is the baseline's out-of-fold distribution and ``M[i | j]`` the share of wrong codes
of true class ``j`` that are ``i``. A global prior would pull every agent to the centre; each
agent's own prior lets a good agent's ambiguous contacts count in its favour, and a poor agent's
against it.

Out-of-fold probabilities learnt from noisy codes are under-confident, so the EM alone
overestimates accuracy (by several points on the built dev corpus). The level is therefore confident
learning's: ``q`` is tempered until the whole population's EM estimate equals the share of codes
cleanlab leaves unflagged (a suspect counting half). The EM then decides how that level is shared
between agents.

On the dev corpus of ``bench/label_noise_variants.py`` (seed 21, 10,000 contacts, 20% agent
errors), the largest error over the 5 providers fell from 3.6 to 1.0 points for reasons and from
1.7 to 1.3 for outcomes, against counting the flags alone (docs/quality.md).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from dispo.contact import Contact

if TYPE_CHECKING:
    from training.noise import NoiseReport

logger = logging.getLogger(__name__)

GROUPS: tuple[str, ...] = ("provider", "agent_id", "queue")
#: The tasks a disposition code is made of.
CODE_TASKS: tuple[str, ...] = ("reason", "outcome")
#: Below this many judged codes (of the task with fewest), the estimate comes with a warning: it was
#: measured on 8,000 built contacts (within 2.4 points per provider); on 400 and 1,200 agent-coded
#: contacts a probe read code accuracy 26 and 13 points below the truth.
SMALL_HISTORY = 5_000
#: Temperatures searched for the one at which the population's estimate equals confident learning's.
TEMPERATURE_RANGE = (0.05, 2.0)
EM_ITERATIONS = 100
#: Each agent's accuracy starts from this many codes at the population's level (a Beta prior), so an
#: agent with a handful of codes is not judged perfect or hopeless on them alone. On the dev corpus,
#: agents given 1 to 6 codes: per-code Brier score 0.056 -> 0.045 (reason) and 0.032 -> 0.024
#: (outcome); agents with 150 codes and providers move by under 0.3 points.
PRIOR_CODES = 5.0


@dataclass(frozen=True)
class CodePosteriors:
    """Per judged code, the chance it is right; and what the EM settled on."""

    right: np.ndarray  # P(code right | text, code, agent), one per code
    accuracy: np.ndarray  # the EM's accuracy of each code's agent (its prior), one per code
    temperature: float  # applied to the out-of-fold probabilities
    level: float  # confident learning's share of right codes, which the population's estimate matches


def code_posteriors(
    probabilities: np.ndarray,
    given: np.ndarray,
    agents: Sequence[str],
    *,
    level: float,
    noise_matrix: np.ndarray,
) -> CodePosteriors:
    """The chance that each code in ``given`` (class indices) is right, by the one-coin EM per agent.

    ``probabilities``: out-of-fold, one row per code; ``noise_matrix[i, j]`` = P(code i | true j)
    (cleanlab); ``level``: the share of right codes the population's estimate is tempered to."""
    if probabilities.shape[0] != len(given) or len(agents) != len(given):
        raise ValueError(f"{len(given)} codes, {probabilities.shape[0]} probability rows, {len(agents)} agents")
    confusions = np.array(noise_matrix, dtype=float, copy=True)
    np.fill_diagonal(confusions, 0.0)
    confusions /= np.maximum(confusions.sum(axis=0, keepdims=True), 1e-12)  # M[i | j]: where wrong codes of j go
    groups = np.unique(np.asarray(agents, dtype=object).astype(str), return_inverse=True)[1]

    def posteriors(temperature: float) -> tuple[np.ndarray, np.ndarray]:
        q = _tempered(probabilities, temperature)
        own = q[np.arange(len(given)), given]
        other = (q * confusions[given, :]).sum(axis=1)  # the diagonal of confusions is 0
        return _one_coin_em(own, other, groups)

    low, high = TEMPERATURE_RANGE
    temperature = _root(lambda t: float(posteriors(t)[0].mean()) - level, low, high)
    right, accuracy = posteriors(temperature)
    return CodePosteriors(right, accuracy, temperature, level)


def _tempered(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    logits = np.log(np.clip(probabilities, 1e-9, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    q = np.exp(logits)
    return np.asarray(q / q.sum(axis=1, keepdims=True))


def _one_coin_em(own: np.ndarray, other: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior that each code is right, and its group's accuracy; each group's prior is its mean
    posterior, with :data:`PRIOR_CODES` codes at the population's mean added (EM's fixed point)."""
    counts = np.bincount(groups)
    accuracy = np.full(len(counts), 0.9)
    for _ in range(EM_ITERATIONS):
        prior = accuracy[groups]
        posterior = prior * own / np.maximum(prior * own + (1 - prior) * other, 1e-12)
        sums = np.bincount(groups, weights=posterior, minlength=len(counts))
        accuracy = (sums + PRIOR_CODES * float(posterior.mean())) / (counts + PRIOR_CODES)
    return np.asarray(posterior), np.asarray(accuracy[groups])


def _root(f: Any, low: float, high: float) -> float:
    """Where increasing ``f`` crosses 0 in [low, high]; the nearer bound when it does not."""
    from scipy.optimize import brentq

    f_low, f_high = f(low), f(high)
    if f_low >= 0:
        return low
    if f_high <= 0:
        return high
    return float(brentq(f, low, high, xtol=1e-3))


def agent_key(contact: Contact) -> str:
    """Whose code it is: the agent within its provider, else the provider, else everyone."""
    return "/".join(str(part) for part in (contact.provider, contact.agent_id) if part is not None)


def estimate_agent_accuracy(
    contacts: Sequence[Contact], report: NoiseReport, *, groups: Sequence[str] = GROUPS, confidence: float = 0.95
) -> dict[str, Any]:
    """Per provider, agent and queue: the estimated share of right agent codes, per task and for the
    whole code (right when every judged task is), as the sum of each code's chance of being right
    (:func:`code_posteriors`). Wilson intervals cover the sampling error of the estimate, not its bias;
    audited accuracy, where there is some, is the figure to trust."""
    from dispo.metrics.stats import wilson_interval

    by_contact: dict[str, dict[str, float]] = defaultdict(dict)
    for issue in report.issues:
        by_contact[issue.contact_id][issue.task] = issue.estimated_right
    out: dict[str, Any] = {
        "method": "one-coin EM per agent on out-of-fold TF-IDF probabilities, at confident learning's level",
        "temperature": report.temperatures,
        "confidence": confidence,
        "groups": {},
    }
    fewest = min((n for n in report.judged.values() if n), default=0)
    if fewest < SMALL_HISTORY:
        out["note"] = (
            f"estimated from {fewest} judged codes, under the {SMALL_HISTORY:,} the estimate was measured on: "
            "out-of-fold readers of a small history are weak, confident learning flags many right codes, and the "
            "estimate reads low; audit a random sample (dispo audit) and trust that"
        )
        logger.warning("agent accuracy: %s", out["note"])
    for group in ("overall", *groups):
        tally: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0]))
        for contact in contacts:
            judged = by_contact.get(contact.contact_id)
            if not judged:
                continue
            key = "all" if group == "overall" else getattr(contact, group)
            if key is None:
                continue
            # The whole code is right when its reason and its outcome are: only where both were judged.
            whole = [("code", float(np.prod(list(judged.values()))))] if set(judged) >= set(CODE_TASKS) else []
            for task, right in [*judged.items(), *whole]:
                tally[str(key)][task][0] += right
                tally[str(key)][task][1] += 1
        out["groups"][group] = {
            key: {task: _rate(k, int(n), confidence, wilson_interval) for task, (k, n) in tasks.items()}
            for key, tasks in sorted(tally.items())
        }
    return out


def _rate(k: float, n: int, confidence: float, interval: Any) -> dict[str, Any]:
    low, high = interval(k, n, confidence) or (None, None)
    return {"value": round(k / n, 4), "k": round(k, 2), "n": n, "low": low, "high": high}
