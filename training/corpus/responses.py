"""Real agent language for built contacts: the Bitext customer-support responses (CDLA-Sharing-1.0).

``load_agent_lines(path, reasons)`` reads ``bitext_responses_long.csv`` and/or
``bitext_responses_short.csv`` (a file or the folder holding them) and returns, per reason,
lines an agent could say: each response is cut into paragraphs, a numbered list is spoken as
"first ..., then ..., and then ...", long paragraphs keep their first sentences, and duplicates are
dropped. Placeholders become the builder's slots (``{{Order Number}}`` -> ``{order}``, phone and
email -> ``{phone}`` / ``{email}``, site and company names -> ``{company}``); a placeholder that
names a screen or a button (``{{Order History}}``) is written as its name, as an agent says it.

The lines carry the reason's own vocabulary from the agent's side, which the phrase bank's
generic agent lines lack: real agents restate and work the customer's problem.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

from dispo.errors import ConfigError

FILES: tuple[str, ...] = ("bitext_responses_long.csv", "bitext_responses_short.csv")
INTENT_ALIASES = {"check_invoice": "check_invoices"}
MAX_WORDS = 60
MIN_WORDS = 5
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
_LIST_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*\u2022])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_SLOT_RULES: tuple[tuple[str, str], ...] = (
    ("phone", "{phone}"),
    ("email", "{email}"),
    ("order number", "{order}"),
    ("order id", "{order}"),
    ("purchase id", "{order}"),
    ("purchase number", "{order}"),
    ("bill number", "{order}"),
    ("invoice number", "{order}"),
    ("tracking number", "{tracking}"),
    ("website", "{company}"),
    ("company name", "{company}"),
    ("app name", "{company}"),
    ("date", "{date}"),
    ("amount", "{amount}"),
    ("price", "{amount}"),
)
_STEP_WORDS = ("first", "then", "then", "after that", "and then", "and finally")
# Closing boilerplate ("reach our support team at {phone} or via Live Chat") ends responses of
# every intent; it is kept only for the reasons that are about contacting support.
_SUPPORT_BOILERPLATE = re.compile(r"\{phone\}|live chat|support team|customer support|customer service", re.I)
SUPPORT_REASONS = frozenset({"contact_customer_service", "contact_human_agent"})


def response_files(path: str | Path) -> list[Path]:
    """The response CSVs at ``path``: the file itself, or the known files of a folder."""
    path = Path(path)
    if path.is_file():
        return [path]
    if path.is_dir():
        found = [path / name for name in FILES if (path / name).is_file()]
        if found:
            return found
        raise ConfigError(f"{path}: no Bitext response file ({', '.join(FILES)}) in this folder")
    raise ConfigError(f"Bitext responses not found: {path}")


def bitext_rows(file: Path, columns: set[str], *, kind: str, what: str) -> Iterator[dict[str, str]]:
    """The rows of a Bitext CSV with (at least) ``columns``; a ConfigError naming the ``kind`` of
    file when it lacks one, or naming ``what`` was being read when the file cannot be read."""
    try:
        with file.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = columns - set(reader.fieldnames or ())
            if missing:
                raise ConfigError(f"{file}: not a {kind}, missing columns {sorted(missing)}")
            yield from reader
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"cannot read {what} from {file}: {exc}") from None


def placeholder_text(name: str) -> str:
    """A slot for a value placeholder; the placeholder's own words for a screen, button or section.

    Matched on whole words ("Update Order" is a button, not a date); a support line or address of
    the company is said as such, never filled with the customer's own (planted, PII) details."""
    lowered = name.lower()
    if re.search(r"\b(support|service|assistance|complaint|feedback)\b", lowered) and re.search(
        r"\b(phone|number|email)\b", lowered
    ):
        return "our support email" if "email" in lowered else "our support line"
    for key, slot in _SLOT_RULES:
        if re.search(rf"\b{re.escape(key)}\b", lowered):
            return slot
    if re.fullmatch(r"[0-9A-F]{8,}", name) or re.search(r"\b(number|id)\b anonymized", lowered):
        return "{order}"
    return name.replace(" Anonymized", "")


def spoken_paragraphs(response: str) -> list[str]:
    """Paragraphs of a written response as an agent would say them (lists read out as steps)."""
    text = _PLACEHOLDER.sub(lambda m: placeholder_text(m.group(1)), response)
    text = text.replace("{{", "(").replace("}}", ")")
    paragraphs: list[str] = []
    steps: list[str] = []

    def close_steps() -> None:
        if steps:
            spoken = [f"{_STEP_WORDS[min(i, len(_STEP_WORDS) - 1)]} {s[:1].lower()}{s[1:].rstrip('.')}"
                      for i, s in enumerate(steps[:4])]  # fmt: skip
            paragraphs.append(", ".join(spoken) + ".")
            steps.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if _LIST_ITEM.match(line):
            steps.append(_LIST_ITEM.sub("", line).replace("**", "").strip())
            continue
        close_steps()
        paragraphs.append(line.replace("**", ""))
    close_steps()
    out: list[str] = []
    for paragraph in paragraphs:
        words = paragraph.split()
        if len(words) > MAX_WORDS:
            kept: list[str] = []
            for sentence in _SENTENCE_END.split(paragraph):
                if kept and len(" ".join(kept).split()) + len(sentence.split()) > MAX_WORDS:
                    break
                kept.append(sentence)
            paragraph = " ".join(kept)
        if len(paragraph.split()) >= MIN_WORDS:
            out.append(paragraph)
    return out


def load_agent_lines(path: str | Path, reasons: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Agent lines per reason from the Bitext response files; every reason must have some."""
    by_reason: dict[str, dict[str, None]] = {}
    for file in response_files(path):
        for row in bitext_rows(file, {"intent", "response"}, kind="Bitext response file", what="Bitext responses"):
            intent = (row.get("intent") or "").strip()
            reason = INTENT_ALIASES.get(intent, intent)
            if reason not in reasons:
                continue
            lines = by_reason.setdefault(reason, {})
            for paragraph in spoken_paragraphs(row.get("response") or ""):
                if paragraph.endswith(":"):  # announces a list that was cut away
                    continue
                if reason not in SUPPORT_REASONS and _SUPPORT_BOILERPLATE.search(paragraph):
                    continue
                lines[paragraph] = None
    uncovered = [r for r in reasons if not by_reason.get(r)]
    if uncovered:
        raise ConfigError(f"{path}: no agent responses for reasons {uncovered}")
    return {r: tuple(by_reason[r]) for r in reasons}
