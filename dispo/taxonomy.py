"""The disposition taxonomy: reasons grouped in categories, outcomes, sentiments.

A taxonomy is a YAML file, validated on load. Nothing in dispo hard-wires the default
one: every component takes a :class:`Taxonomy` and reads its label sets from it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from dispo.errors import TaxonomyError

logger = logging.getLogger(__name__)

DEFAULT_TAXONOMY = "retail"
DEFAULT_SENTIMENTS = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class Reason:
    name: str
    category: str
    code: str
    description: str = ""


@dataclass(frozen=True)
class Outcome:
    name: str
    code: str
    resolved: bool
    description: str = ""


@dataclass(frozen=True)
class Category:
    name: str
    code: str
    repeat_window_days: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Taxonomy:
    """An ordered, validated label space. Order is stable: it defines model label ids."""

    name: str
    version: int
    categories: tuple[Category, ...]
    reasons: tuple[Reason, ...]
    outcomes: tuple[Outcome, ...]
    sentiments: tuple[str, ...] = DEFAULT_SENTIMENTS
    code_template: str = "{category}-{reason}-{outcome}"
    default_repeat_window_days: float = 7.0
    _reason_index: dict[str, Reason] = field(init=False, repr=False, compare=False)
    _outcome_index: dict[str, Outcome] = field(init=False, repr=False, compare=False)
    _category_index: dict[str, Category] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        problems: list[str] = []
        _check_unique("category", [c.name for c in self.categories], problems)
        _check_unique("reason", [r.name for r in self.reasons], problems)
        _check_unique("outcome", [o.name for o in self.outcomes], problems)
        _check_unique("sentiment", list(self.sentiments), problems)
        category_names = {c.name for c in self.categories}
        for reason in self.reasons:
            if reason.category not in category_names:
                problems.append(f"reason {reason.name!r} is in unknown category {reason.category!r}")
        if self.outcomes and not any(o.resolved for o in self.outcomes):
            problems.append("no outcome is marked `resolved: true`, so resolution rate is undefined")
        if not self.sentiments:
            problems.append("a taxonomy needs at least one sentiment")
        try:
            self.code_template.format(category="C", reason="R", outcome="O")
        except (KeyError, IndexError, ValueError) as exc:
            problems.append(
                f"code_template {self.code_template!r} may only use {{category}}, {{reason}}, {{outcome}}: {exc!r}"
            )
        if problems:
            raise TaxonomyError(f"taxonomy {self.name!r} is invalid: " + "; ".join(problems))
        object.__setattr__(self, "_reason_index", {r.name: r for r in self.reasons})
        object.__setattr__(self, "_outcome_index", {o.name: o for o in self.outcomes})
        object.__setattr__(self, "_category_index", {c.name: c for c in self.categories})

    # -- label spaces ----------------------------------------------------------------------
    @property
    def reason_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.reasons)

    @property
    def outcome_names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.outcomes)

    @property
    def resolved_outcomes(self) -> frozenset[str]:
        return frozenset(o.name for o in self.outcomes if o.resolved)

    def reason(self, name: str) -> Reason:
        try:
            return self._reason_index[name]
        except KeyError:
            raise TaxonomyError(f"unknown reason {name!r} in taxonomy {self.name!r}") from None

    def outcome(self, name: str) -> Outcome:
        try:
            return self._outcome_index[name]
        except KeyError:
            raise TaxonomyError(f"unknown outcome {name!r} in taxonomy {self.name!r}") from None

    def category_of(self, reason: str) -> str:
        return self.reason(reason).category

    def repeat_window_days(self, category: str) -> float:
        try:
            return self._category_index[category].repeat_window_days
        except KeyError:
            raise TaxonomyError(f"unknown category {category!r} in taxonomy {self.name!r}") from None

    def has_reason(self, name: str) -> bool:
        return name in self._reason_index

    def has_outcome(self, name: str) -> bool:
        return name in self._outcome_index

    def render_code(self, reason: str, outcome: str) -> str:
        """The disposition code a CRM would store for the pair (reason, outcome)."""
        r = self.reason(reason)
        category = self._category_index[r.category]
        return self.code_template.format(category=category.code, reason=r.code, outcome=self.outcome(outcome).code)

    def label_problems(self, labels: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
        """(field, expected, found) for every label value outside this taxonomy."""
        problems: list[tuple[str, str, Any]] = []
        reason = labels.get("reason")
        if reason is not None and reason not in self._reason_index:
            problems.append(("reason", f"a reason of taxonomy {self.name!r}", reason))
        outcome = labels.get("outcome")
        if outcome is not None and outcome not in self._outcome_index:
            problems.append(("outcome", f"one of {', '.join(self.outcome_names)}", outcome))
        sentiment = labels.get("sentiment")
        if sentiment is not None and sentiment not in self.sentiments:
            problems.append(("sentiment", f"one of {', '.join(self.sentiments)}", sentiment))
        return problems

    # -- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        categories: dict[str, Any] = {}
        for category in self.categories:
            entry: dict[str, Any] = {"code": category.code}
            if category.repeat_window_days != self.default_repeat_window_days:
                entry["repeat_window_days"] = category.repeat_window_days
            entry["reasons"] = {
                name: _compact({"code": self.reason(name).code, "description": self.reason(name).description})
                for name in category.reasons
            }
            categories[category.name] = entry
        return {
            "name": self.name,
            "version": self.version,
            "code_template": self.code_template,
            "default_repeat_window_days": self.default_repeat_window_days,
            "categories": categories,
            "outcomes": {
                o.name: _compact({"code": o.code, "resolved": o.resolved, "description": o.description})
                for o in self.outcomes
            },
            "sentiments": list(self.sentiments),
        }

    def to_yaml(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True), encoding="utf-8")
        return path

    def fingerprint(self) -> str:
        """A short hash of the label spaces and codes, stored with models trained on it."""
        payload = json.dumps(self.to_dict(), sort_keys=True).encode("utf-8")
        return hashlib.sha256(payload).hexdigest()[:16]

    @classmethod
    def from_dict(cls, raw: Any, source: str = "<dict>", *, strict: bool = True) -> Taxonomy:
        """A taxonomy from its file's contents. ``strict`` (a file a user gives): two dispositions that
        render one CRM code are an error; otherwise (a trained bundle's copy, which served before this
        rule) a warning."""
        taxonomy = cls._from_dict(raw, source)
        clashes = _code_clashes(taxonomy)
        if clashes and strict:
            raise TaxonomyError(f"{source}: disposition codes must be unique: " + "; ".join(clashes))
        if clashes:
            logger.warning("%s: disposition codes are not unique: %s", source, "; ".join(clashes))
        return taxonomy

    @classmethod
    def _from_dict(cls, raw: Any, source: str) -> Taxonomy:
        if not isinstance(raw, Mapping):
            raise TaxonomyError(f"{source}: expected a mapping at the top level, found {type(raw).__name__}")
        for key in ("name", "categories"):
            if key not in raw:
                raise TaxonomyError(f"{source}: missing required key {key!r}")
        _check_keys(raw, TOP_KEYS, source)
        default_window = _number(raw.get("default_repeat_window_days", 7), f"{source}: default_repeat_window_days")
        categories: list[Category] = []
        reasons: list[Reason] = []
        raw_categories = raw["categories"]
        # A taxonomy may have no reasons at all: a sentiment-only data set has none.
        if not isinstance(raw_categories, Mapping):
            raise TaxonomyError(f"{source}: 'categories' must be a mapping of category -> reasons")
        for cat_name, cat in raw_categories.items():
            where = f"{source}: categories.{cat_name}"
            _check_name(cat_name, where)
            if not isinstance(cat, Mapping) or not isinstance(cat.get("reasons"), Mapping) or not cat["reasons"]:
                found = type(cat.get("reasons") if isinstance(cat, Mapping) else cat).__name__
                raise TaxonomyError(f"{where}: expected a mapping with a non-empty 'reasons' mapping, found {found}")
            _check_keys(cat, CATEGORY_KEYS, where)
            window = _number(cat.get("repeat_window_days", default_window), f"{where}.repeat_window_days")
            names = []
            for reason_name, spec in cat["reasons"].items():
                spec = spec or {}
                _check_name(reason_name, f"{where}.reasons.{reason_name}")
                first = next((r.category for r in reasons if r.name == reason_name), None)
                if first is not None:
                    raise TaxonomyError(f"{where}.reasons.{reason_name}: duplicate reason, already in category {first}")
                if not isinstance(spec, Mapping):
                    raise TaxonomyError(f"{where}.reasons.{reason_name}: expected a mapping, found {spec!r}")
                _check_keys(spec, REASON_KEYS, f"{where}.reasons.{reason_name}")
                reasons.append(
                    Reason(
                        name=str(reason_name),
                        category=str(cat_name),
                        code=str(spec.get("code", reason_name)).upper(),
                        description=str(spec.get("description", "")),
                    )
                )
                names.append(str(reason_name))
            categories.append(
                Category(
                    name=str(cat_name),
                    code=str(cat.get("code", cat_name)).upper(),
                    repeat_window_days=window,
                    reasons=tuple(names),
                )
            )
        outcomes: list[Outcome] = []
        raw_outcomes = raw.get("outcomes") or {}
        if not isinstance(raw_outcomes, Mapping):
            raise TaxonomyError(f"{source}: 'outcomes' must be a mapping of outcome -> {{resolved: bool}}")
        for out_name, spec in raw_outcomes.items():
            _check_name(out_name, f"{source}: outcomes.{out_name}")
            if not isinstance(spec, Mapping) or not isinstance(spec.get("resolved"), bool):
                raise TaxonomyError(
                    f"{source}: outcomes.{out_name}: expected a mapping with a boolean 'resolved' flag, found {spec!r}"
                )
            _check_keys(spec, OUTCOME_KEYS, f"{source}: outcomes.{out_name}")
            outcomes.append(
                Outcome(
                    name=str(out_name),
                    code=str(spec.get("code", out_name)).upper(),
                    resolved=spec["resolved"],
                    description=str(spec.get("description", "")),
                )
            )
        sentiments = raw.get("sentiments", list(DEFAULT_SENTIMENTS))
        if not isinstance(sentiments, list) or not all(isinstance(s, str) for s in sentiments):
            raise TaxonomyError(f"{source}: 'sentiments' must be a list of strings, found {sentiments!r}")
        version = raw.get("version", 1)
        if isinstance(version, bool) or not isinstance(version, int):
            raise TaxonomyError(f"{source}: 'version' must be an integer, found {version!r}")
        try:
            return cls(
                name=str(raw["name"]),
                version=version,
                categories=tuple(categories),
                reasons=tuple(reasons),
                outcomes=tuple(outcomes),
                sentiments=tuple(sentiments),
                code_template=str(raw.get("code_template", "{category}-{reason}-{outcome}")),
                default_repeat_window_days=default_window,
            )
        except TaxonomyError as exc:
            raise TaxonomyError(f"{source}: {exc}") from None

    @classmethod
    def from_yaml(cls, path: str | Path, *, strict: bool = True) -> Taxonomy:
        path = Path(path)
        try:
            raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # a safe loader
        except FileNotFoundError:
            raise TaxonomyError(f"taxonomy file not found: {path}") from None
        except yaml.YAMLError as exc:
            raise TaxonomyError(f"{path}: not valid YAML: {exc}") from None
        return cls.from_dict(raw, source=str(path), strict=strict)

    @classmethod
    def from_reasons(
        cls,
        name: str,
        reasons_by_category: Mapping[str, list[str]],
        outcomes: tuple[Outcome, ...] | None = None,
        sentiments: tuple[str, ...] = DEFAULT_SENTIMENTS,
    ) -> Taxonomy:
        """Build a taxonomy from a source's own label set, with the default outcomes."""
        default = load_taxonomy()
        categories = tuple(
            Category(
                name=cat, code=cat.upper(), repeat_window_days=default.default_repeat_window_days, reasons=tuple(names)
            )
            for cat, names in reasons_by_category.items()
        )
        reasons = tuple(
            Reason(name=r, category=cat, code=r.upper()) for cat, names in reasons_by_category.items() for r in names
        )
        return cls(
            name=name,
            version=1,
            categories=categories,
            reasons=reasons,
            outcomes=default.outcomes if outcomes is None else outcomes,
            sentiments=sentiments,
        )


def load_taxonomy(name_or_path: str | Path | None = None) -> Taxonomy:
    """Load a taxonomy by file path, or a built-in one by name (default: ``retail``)."""
    if name_or_path is None:
        name_or_path = DEFAULT_TAXONOMY
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        return Taxonomy.from_yaml(path)
    builtin = resources.files("dispo") / "taxonomies" / f"{name_or_path}.yaml"
    if not builtin.is_file():
        raise TaxonomyError(f"no taxonomy file {str(name_or_path)!r} and no built-in taxonomy of that name")
    raw = yaml.safe_load(builtin.read_text(encoding="utf-8"))
    return Taxonomy.from_dict(raw, source=f"built-in:{name_or_path}")


def _check_unique(kind: str, names: list[str], problems: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            problems.append(f"duplicate {kind} {name!r}")
        seen.add(name)


#: The keys each level of a taxonomy file may have: any other is a typo that would change it silently.
TOP_KEYS = frozenset({"name", "version", "description", "code_template", "default_repeat_window_days", "categories",
                      "outcomes", "sentiments"})  # fmt: skip
CATEGORY_KEYS = frozenset({"code", "description", "repeat_window_days", "reasons"})
REASON_KEYS = frozenset({"code", "description"})
OUTCOME_KEYS = frozenset({"code", "description", "resolved"})


def _check_keys(raw: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(str(k) for k in raw if k not in allowed)
    if unknown:
        raise TaxonomyError(f"{where}: unknown keys {unknown}; expected some of {sorted(allowed)}")


def _check_name(name: Any, where: str) -> None:
    """A label name is text: YAML reads ``yes``, ``no``, ``on`` or ``1.5`` unquoted as other types."""
    if not isinstance(name, str):
        raise TaxonomyError(f"{where}: a name must be text, found {type(name).__name__} {name!r} (quote it in YAML)")


def _code_clashes(taxonomy: Taxonomy) -> list[str]:
    """Pairs of dispositions that render the same CRM code (the first three)."""
    categories = {c.name: c.code for c in taxonomy.categories}
    seen: dict[str, tuple[str, str]] = {}
    clashes: list[str] = []
    for reason in taxonomy.reasons:
        for outcome in taxonomy.outcomes:
            code = taxonomy.code_template.format(
                category=categories.get(reason.category, ""), reason=reason.code, outcome=outcome.code
            )
            first = seen.setdefault(code, (reason.name, outcome.name))
            if first != (reason.name, outcome.name) and len(clashes) < 3:
                clashes.append(f"{first} and {(reason.name, outcome.name)} both render {code!r}")
    return clashes


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, but a key given twice in one mapping is an error (naming its line), not
    silently the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # <<: *anchor, whose keys the mapping may override
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                again = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: the safe loader refuses it below, naming it
                continue
            if again:
                raise yaml.constructor.ConstructorError(
                    None, None, f"{key!r} is given twice in the same mapping", key_node.start_mark
                )
        return super().construct_mapping(node, deep=deep)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise TaxonomyError(f"{where}: expected a positive number of days, found {value!r}")
    return float(value)


def _compact(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if v not in ("", None)}
