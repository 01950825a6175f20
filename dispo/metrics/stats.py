"""Confidence intervals for the aggregated counts.

Rates use the Wilson score interval: unlike the normal approximation it stays inside [0, 1] and
keeps a sensible width for the small groups a scorecard has (an agent with 12 contacts, a provider
in its first week). Means use the normal approximation on the sample variance. Counts per unit of
exposure (contacts per hour) use the exact Poisson interval of the count.
"""

from __future__ import annotations

import math
from statistics import NormalDist


def z_value(confidence: float) -> float:
    """The two-sided standard-normal quantile of a confidence level (1.96 for 0.95)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval of ``k`` successes in ``n`` trials; None when ``n`` is 0."""
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return None
    z = z_value(confidence)
    p = k / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denominator
    # Exact ends at k = 0 and k = n (rounding would otherwise leave 1e-17 instead of 0).
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high


def mean_interval(n: int, total: float, total_sq: float, confidence: float = 0.95) -> tuple[float, float] | None:
    """Normal-approximation interval of a mean from its count, sum and sum of squares; None below 2 values."""
    if n < 2:
        return None
    mean = total / n
    variance = max(0.0, (total_sq - n * mean * mean) / (n - 1))
    half = z_value(confidence) * math.sqrt(variance / n)
    return mean - half, mean + half


def poisson_rate_interval(k: int, exposure: float, confidence: float = 0.95) -> tuple[float, float] | None:
    """Exact (Garwood) interval of a rate of ``k`` events over ``exposure`` units; None without exposure."""
    if k < 0 or exposure < 0:
        raise ValueError(f"need k >= 0 and exposure >= 0, got k={k}, exposure={exposure}")
    if exposure == 0:
        return None
    from scipy.stats import chi2  # only reports with staffing figures need it

    alpha = 1.0 - confidence
    low = 0.0 if k == 0 else float(chi2.ppf(alpha / 2.0, 2 * k)) / 2.0
    high = float(chi2.ppf(1.0 - alpha / 2.0, 2 * k + 2)) / 2.0
    return low / exposure, high / exposure
