"""Wrap-up codes of a platform, mapped to dispo's labels by a file the contact center writes.

A platform's disposition (Genesys wrap-up code, Amazon Connect contact attribute, Zendesk field) is
the agent's code in the platform's words; dispo needs it as ``agent_labels`` (reason and outcome of
its taxonomy). The mapping is explicit, never guessed::

    # wrapup-codes.yaml
    codes:
      "Refund - Done": {reason: get_refund, outcome: resolved}
      "Where is my order": {reason: track_order}          # the outcome stays unknown
      "Transfer to billing": {outcome: transferred}
    unmapped: keep      # keep (default: the code goes to metadata only) or reject

Loaded with a taxonomy, a map's reasons and outcomes must be the taxonomy's.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from dispo.contact import label_key
from dispo.errors import ConfigError, FieldProblem

if TYPE_CHECKING:
    from dispo.taxonomy import Taxonomy

UNMAPPED = ("keep", "reject")


@dataclass(frozen=True)
class CodeMap:
    codes: dict[str, dict[str, str]] = field(default_factory=dict)  # platform code -> {reason, outcome}
    unmapped: str = "keep"
    source: str = field(default="code map", compare=False)  # what errors name: the map's file

    def __post_init__(self) -> None:
        if self.unmapped not in UNMAPPED:
            raise ConfigError(f"{self.source}: unmapped must be one of {', '.join(UNMAPPED)}, got {self.unmapped!r}")
        for code, labels in self.codes.items():
            if (
                not isinstance(labels, dict)
                or not labels
                or set(labels) - {"reason", "outcome"}
                or not all(isinstance(label, str) for label in labels.values())
            ):
                raise ConfigError(f"{self.source}: {code!r} must map to reason and/or outcome, got {labels!r}")

    @classmethod
    def from_yaml(cls, path: str | Path, *, taxonomy: Taxonomy | None = None) -> CodeMap:
        """The map in ``path``; with a ``taxonomy``, checked against it (:meth:`check`)."""
        try:
            raw: Any = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read the code map: {exc}") from None
        if not isinstance(raw, dict) or set(raw) - {"codes", "unmapped"}:
            raise ConfigError(f"{path}: a code map has 'codes' and optionally 'unmapped'")
        codes = cls({str(k): v for k, v in (raw.get("codes") or {}).items()}, raw.get("unmapped", "keep"), str(path))
        if taxonomy is not None:
            codes.check(taxonomy)
        return codes

    def check(self, taxonomy: Taxonomy) -> None:
        """Refuse a reason or outcome outside ``taxonomy``: else every record with that code would be
        rejected, each blamed on the export rather than on the map."""
        problems: list[str] = []
        for code, labels in self.codes.items():
            for task, expected, found in taxonomy.label_problems(labels):
                names = taxonomy.reason_names if task == "reason" else taxonomy.outcome_names
                if isinstance(found, str) and sum(label_key(n) == label_key(found) for n in names) == 1:
                    continue  # another spelling of one label ("Track Order"): contacts take the taxonomy's
                close = difflib.get_close_matches(found, names, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.append(f"code {code!r}: " + FieldProblem(task, expected, found).describe() + hint)
        if problems:
            raise ConfigError(f"{self.source}: " + "; ".join(problems))

    def apply(self, raw: dict[str, Any], code: Any, field: str) -> list[FieldProblem]:
        """Record the platform's wrap-up ``code`` (found at ``field`` of the export) in the raw
        contact: kept in ``metadata.platform.wrapup_code``, and as ``agent_labels`` where the map has
        it. A code the map lacks is a problem when the map says ``unmapped: reject``."""
        if code is None:
            return []
        raw.setdefault("metadata", {}).setdefault("platform", {})["wrapup_code"] = code
        labels = self.agent_labels(str(code))
        if labels is None:
            return [FieldProblem(field, "a code of the code map", code)] if self.unmapped == "reject" else []
        raw["agent_labels"] = labels
        return []

    def agent_labels(self, code: str | None) -> dict[str, str] | None:
        """The agent's labels for a platform code (None when there is no code or no mapping)."""
        if code is None:
            return None
        return dict(self.codes[code]) if code in self.codes else None
