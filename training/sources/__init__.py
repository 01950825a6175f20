"""Converters for the public data sets: each reads a source from a path into train/test contacts.

``convert(source, path, out_dir)`` writes ``train.jsonl``, ``test.jsonl``, ``taxonomy.yaml`` (the
source's own label set) and ``summary.json`` into ``out_dir`` and returns a
:class:`ConversionSummary`. Labels the source does not have stay ``None``; every mapping decision is
documented in the source's module and repeated in the summary's notes. Nothing is written when the
input has an invalid record: the error names file, line and field.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dispo.errors import ConfigError
from training.sources import banking77, bitext, bitext_responses, clinc150, dstc11, goemotions, nlupp, tweeteval, uss
from training.sources.common import ConversionSummary, Converted, write_converted, write_summary

logger = logging.getLogger(__name__)

_LOADERS: dict[str, Callable[..., Converted]] = {
    "banking77": banking77.load,
    "bitext": bitext.load,
    "nlupp": nlupp.load,
    "uss": uss.load,
    "dstc11": dstc11.load,
    "goemotions": goemotions.load,
    "tweeteval": tweeteval.load,
    "clinc150": clinc150.load,
    "bitext_responses": bitext_responses.load,
}
SOURCES: tuple[str, ...] = tuple(_LOADERS)
# Source-specific options accepted by ``convert`` (CLI: ``--option key=value`` or dedicated flags).
OPTIONS: dict[str, tuple[str, ...]] = {
    "nlupp": ("domain",),
    "uss": ("corpora",),
    "bitext_responses": ("placeholders",),
}

__all__ = ["OPTIONS", "SOURCES", "ConversionSummary", "convert"]


def convert(
    source: str, path: Path, out_dir: Path, seed: int = 13, test_size: float = 0.2, **options: Any
) -> ConversionSummary:
    """Convert ``source`` read from ``path`` into ``out_dir``; see the module docstrings for mappings."""
    if source not in _LOADERS:
        raise ConfigError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    unknown = sorted(set(options) - set(OPTIONS.get(source, ())))
    if unknown:
        allowed = ", ".join(OPTIONS.get(source, ())) or "none"
        raise ConfigError(f"source {source!r} takes no option {', '.join(unknown)} (options: {allowed})")
    started = time.perf_counter()
    path, out_dir = Path(path), Path(out_dir)
    converted = _LOADERS[source](path, seed=seed, test_size=test_size, **options)
    summary = write_converted(source, path, out_dir, converted, seed, test_size)
    summary.seconds = time.perf_counter() - started
    write_summary(summary)
    logger.info(
        "converted %s from %s: train %d, test %d contacts in %.1f s -> %s",
        source,
        path,
        summary.counts["train"],
        summary.counts["test"],
        summary.seconds,
        out_dir,
    )
    return summary
