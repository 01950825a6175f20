"""PolyAI NLU++: banking and hotel utterances with multi-label intents and slots.

``PATH`` is the NLU++ folder (holding ``data/``), its ``data/`` folder (``ontology.json`` and one
folder per domain with ``fold*.json``), or one domain folder (that domain only). The option
``domain`` (``banking``, ``hotels`` or ``all``, default ``all``) selects domains too.

NLU++ intents are modules: generic ones (``affirm``, ``how``, ``change``, ``request_info``,
``make_open_apply_setup_get_activate``, ``handoff``, ...) combine with domain ones that name what
the utterance is about (``card``, ``loan``, ``booking``, ``spa``, ...). For dispo:

* reasons are the ontology's domain (non-``general``) intents of the selected domains, named
  ``<domain>.<intent>`` (``refund`` belongs to both domains), in categories ``BANKING`` / ``HOTELS``;
* ``reason`` is set only when the utterance has exactly one domain intent, after folding
  ``account`` into a more specific account type present with it (``savings``, ``current``,
  ``business``: the ontology describes those as accounts). Otherwise (none, or several topics)
  ``reason`` is ``None``;
* ``upsell`` is derived for banking only: ``True`` when the intents contain
  ``make_open_apply_setup_get_activate`` together with a product that is sold (``account``,
  ``savings``, ``current``, ``business``, ``credit``, ``loan``, ``mortgage``, ``overdraft``) and no
  money-movement intent (``transfer_payment_deposit``, ``withdrawal``, ``refund``: there
  "make" means making a payment); ``False`` when the utterance has some banking domain intent
  but not that combination; ``None`` when it has no domain intent (bare "yes", "tomorrow", ...: the
  meaning depends on context the data does not have) and for every hotels utterance (the data
  cannot tell a first booking from an extra sale). The annotation was not made for upsell: it is a
  noisy signal (e.g. "open my savings" vs. "open a savings account");
* outcome and sentiment are not in the source and stay ``None``;
* the raw intents and slots are kept in ``metadata["intents"]`` / ``metadata["slots"]``, with the
  domain and fold.

The 20 folds are the paper's cross-validation units, not a train/test split: the split is seeded
and stratified by domain, reason and upsell.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from dispo.contact import Contact, Labels, Turn
from dispo.errors import ConfigError
from dispo.io import InputFormatError
from dispo.taxonomy import Taxonomy
from training.sources.common import Converted, iter_json_array, record_error, require_file, stratified_split

NAME = "nlupp"
DOMAINS = ("banking", "hotels")
MAKE = "make_open_apply_setup_get_activate"
SOLD_PRODUCTS = frozenset({"account", "savings", "current", "business", "credit", "loan", "mortgage", "overdraft"})
MONEY_MOVEMENT = frozenset({"transfer_payment_deposit", "withdrawal", "refund"})
ACCOUNT_TYPES = frozenset({"savings", "current", "business"})
_FOLD = re.compile(r"^fold(\d+)\.json$")


def load(path: Path, *, seed: int, test_size: float, domain: str = "all") -> Converted:
    root, domains = _resolve(path, domain)
    ontology = _ontology(require_file(root / "ontology.json", "NLU++ ontology.json"))
    topics = {d: [i for i, doms in ontology.items() if d in doms] for d in domains}
    contacts: list[Contact] = []
    for dom in domains:
        folder = root / dom
        folds = (
            sorted(
                ((int(m.group(1)), p) for p in folder.glob("fold*.json") if (m := _FOLD.match(p.name))),
            )
            if folder.is_dir()
            else []
        )
        if not folds:
            raise InputFormatError(f"NLU++: no fold*.json files in {folder}")
        for fold, file in folds:
            for index, (line, raw) in enumerate(iter_json_array(file)):
                contacts.append(_contact(file, line, raw, dom, fold, index, ontology, set(topics[dom])))
    train, test = stratified_split(
        contacts,
        lambda c: (c.metadata["domain"], c.labels.reason, c.labels.upsell) if c.labels else None,
        seed,
        test_size,
    )
    taxonomy = Taxonomy.from_reasons(
        "nlupp" if len(domains) > 1 else f"nlupp-{domains[0]}",
        {dom.upper(): [f"{dom}.{i}" for i in topics[dom]] for dom in domains},
    )
    with_reason = sum(1 for c in contacts if c.labels and c.labels.reason)
    notes = [
        f"domains: {', '.join(domains)}; reasons = the ontology's domain intents as '<domain>.<intent>'",
        "reason set only when an utterance has exactly one domain intent ('account' folded into savings/"
        f"current/business when present): {with_reason} of {len(contacts)} utterances have one",
        f"upsell (banking only) = true when {MAKE} + a sold product ({', '.join(sorted(SOLD_PRODUCTS))}) "
        f"and no money movement ({', '.join(sorted(MONEY_MOVEMENT))}); false for other utterances with a "
        "banking domain intent; null without a domain intent and for hotels. Noisy: the source does not "
        "annotate upsell",
        "raw intents and slots kept in metadata; outcome and sentiment left empty",
        "the 20 folds are cross-validation units: seeded split stratified by domain, reason and upsell",
    ]
    return Converted(train, test, taxonomy, "stratified by domain, reason and upsell", notes, {})


def reason_for(intents: set[str], domain_topics: set[str]) -> str | None:
    found = intents & domain_topics
    if "account" in found and found & ACCOUNT_TYPES:
        found.discard("account")
    return next(iter(found)) if len(found) == 1 else None


def upsell_for(intents: set[str], domain: str, domain_topics: set[str]) -> bool | None:
    if domain != "banking" or not intents & domain_topics:
        return None
    return MAKE in intents and bool(intents & SOLD_PRODUCTS) and not intents & MONEY_MOVEMENT


def _contact(
    file: Path,
    line: int,
    raw: Any,
    domain: str,
    fold: int,
    index: int,
    ontology: dict[str, list[str]],
    domain_topics: set[str],
) -> Contact:
    if not isinstance(raw, dict):
        raise record_error(file, line, "<record>", "a JSON object", type(raw).__name__)
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise record_error(file, line, "text", "a non-empty string", text)
    intents = raw.get("intents", [])
    if not isinstance(intents, list) or not all(isinstance(i, str) for i in intents):
        raise record_error(file, line, "intents", "a list of intent names", intents)
    for intent in intents:
        if intent not in ontology:
            raise record_error(file, line, "intents", "intents of ontology.json", intent)
        if domain not in ontology[intent] and "general" not in ontology[intent]:
            raise record_error(file, line, "intents", f"a general or {domain} intent", intent)
    slots = raw.get("slots", {})
    if not isinstance(slots, dict):
        raise record_error(file, line, "slots", "an object", type(slots).__name__)
    intent_set = set(intents)
    reason = reason_for(intent_set, domain_topics)
    return Contact(
        contact_id=f"nlupp-{domain}-fold{fold:02d}-{index:04d}",
        turns=[Turn(speaker="customer", text=text)],
        labels=Labels(
            reason=None if reason is None else f"{domain}.{reason}",
            upsell=upsell_for(intent_set, domain, domain_topics),
        ),
        metadata={
            "source": NAME,
            "domain": domain,
            "fold": fold,
            "source_line": line,
            "intents": list(intents),
            "slots": slots,
        },
    )


def _resolve(path: Path, domain: str) -> tuple[Path, list[str]]:
    if domain not in (*DOMAINS, "all"):
        raise ConfigError(f"nlupp: domain must be one of {', '.join(DOMAINS)}, all; got {domain!r}")
    domains = list(DOMAINS) if domain == "all" else [domain]
    if (path / "data" / "ontology.json").is_file():
        return path / "data", domains
    if (path / "ontology.json").is_file():
        return path, domains
    if path.name in DOMAINS and (path.parent / "ontology.json").is_file():
        if domain not in ("all", path.name):
            raise ConfigError(f"nlupp: PATH is the {path.name} folder but domain={domain!r}")
        return path.parent, [path.name]
    raise InputFormatError(f"NLU++: no ontology.json in {path}, {path / 'data'} or the parent folder")


def _ontology(path: Path) -> dict[str, list[str]]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise record_error(path, exc.lineno, "<file>", "valid JSON", exc.msg) from None
    intents = raw.get("intents") if isinstance(raw, dict) else None
    if not isinstance(intents, dict) or not intents:
        raise record_error(path, None, "intents", "a non-empty object of intents", type(intents).__name__)
    out: dict[str, list[str]] = {}
    for name, spec in intents.items():
        doms = spec.get("domain") if isinstance(spec, dict) else None
        if not isinstance(doms, list) or not doms or not all(isinstance(d, str) for d in doms):
            raise record_error(path, None, f"intents.{name}.domain", "a non-empty list of domains", doms)
        out[name] = doms
    return out
