"""Benchmark: PII redaction recall and decoy false positives on the synthetic corpus, over several seeds.

Builds ``--contacts`` contacts per seed with ``training.corpus.builder`` (which plants PII and
decoys and reports them as ground truth), redacts every contact with the default
:class:`~dispo.redact.Redactor`, and scores it with :func:`training.redaction_eval.measure_redaction`.
Writes one JSON file with a report per seed and the pooled report, and logs a markdown table
(recall per PII kind, false-positive rate per decoy kind, per seed and pooled) plus throughput.

    python bench/redaction.py --contacts 3000 --seeds 1 2 3 --out bench/results/redaction.json

Targets (issues): recall 100% for cards, emails, SSNs and IBANs; >= 98% for phones and addresses;
>= 85% for names;
false positives < 1% for order numbers, amounts and dates. Throughput is redaction time only
(single process, one core), not corpus building.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dispo.redact import PII_KINDS, Redactor
from dispo.redact.context import _Context
from training.redaction_eval import DECOY_KINDS, RedactionReport, measure_redaction, merge_reports

logger = logging.getLogger("bench.redaction")

#: kind -> (measure, comparison, threshold): what the issue asks of the redactor.
TARGETS: dict[str, tuple[str, str, float]] = {
    "card": ("recall", ">=", 1.0),
    "email": ("recall", ">=", 1.0),
    "ssn": ("recall", ">=", 1.0),
    "iban": ("recall", ">=", 1.0),
    "phone": ("recall", ">=", 0.98),
    "address": ("recall", ">=", 0.98),
    "name": ("recall", ">=", 0.85),
    "order_number": ("false_positive", "<", 0.01),
    "amount": ("false_positive", "<", 0.01),
    "date": ("false_positive", "<", 0.01),
}


def run_seed(n_contacts: int, seed: int, redactor: Redactor, max_examples: int) -> tuple[RedactionReport, float]:
    """Build one corpus and measure ``redactor`` on it; returns the report and the build time."""
    from training.corpus.builder import CorpusBuilder, CorpusConfig

    t0 = time.perf_counter()
    built = list(CorpusBuilder(CorpusConfig(n_contacts=n_contacts, seed=seed)).build())
    build_s = time.perf_counter() - t0
    report = measure_redaction(((b.contact, b.pii) for b in built), redactor, max_examples=max_examples)
    return report, build_s


_INTRO_BEFORE = re.compile(
    r"(?:my name is|name's|this is|it's|it is|i'm|i am|speaking with|call me)\W*$", re.IGNORECASE
)


def name_forms(n_contacts: int, seed: int, redactor: Redactor) -> dict[str, dict[str, int]]:
    """Planted names by the form they were given in, caught or not: ``introduced`` (an introduction
    cue right before it, or the answer to a name question), ``written`` (an email's salutation,
    signature or sign-off), ``other``."""
    from training.corpus.builder import CorpusBuilder, CorpusConfig

    forms: dict[str, dict[str, int]] = {}
    for built in CorpusBuilder(CorpusConfig(n_contacts=n_contacts, seed=seed)).build():
        redacted = redactor.redact_contact(built.contact)
        for item in built.pii:
            if item.kind != "name":
                continue
            index = item.turn if isinstance(item.turn, int) else built.contact.turns.index(item.turn)
            text = built.contact.turns[index].text
            previous = built.contact.turns[index - 1].text if index else ""
            at = text.find(item.value)
            if _INTRO_BEFORE.search(text[max(0, at - 24) : max(0, at)]) or _Context(previous).previous_asks_name():
                form = "introduced"
            elif "\n" in text:
                form = "written"
            else:
                form = "other"
            count = forms.setdefault(form, {"planted": 0, "caught": 0})
            count["planted"] += 1
            count["caught"] += int(item.value not in redacted.turns[index].text)
    return forms


def check_targets(report: RedactionReport) -> dict[str, dict[str, Any]]:
    """Each target with the measured rate and whether it is met."""
    out: dict[str, dict[str, Any]] = {}
    for kind, (measure, op, threshold) in TARGETS.items():
        counts = report.recall if measure == "recall" else report.false_positive
        c = counts[kind]
        met = c.total > 0 and (c.rate >= threshold if op == ">=" else c.rate < threshold)
        out[kind] = {"measure": measure, "target": f"{op} {threshold:.0%}", "rate": round(c.rate, 6), "met": met}
    return out


def combined_table(seeds: list[int], reports: list[RedactionReport], pooled: RedactionReport) -> str:
    """One markdown table: a row per kind, a column per seed and one for the pooled rate."""
    head = ["kind", "measure", "target", *(f"seed {s}" for s in seeds), "pooled", "pooled n", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 3 + "---:|" * (len(seeds) + 2) + "---|"]
    met = check_targets(pooled)
    for kind in (*PII_KINDS, *DECOY_KINDS):
        measure = "recall" if kind in PII_KINDS else "false positives"

        def counts(r: RedactionReport, kind: str = kind) -> tuple[int, int, float]:
            c = r.recall[kind] if kind in PII_KINDS else r.false_positive[kind]
            return c.hits, c.total, c.rate

        cells = [f"{counts(r)[2]:.2%}" for r in reports]
        hits, total, rate = counts(pooled)
        target = met[kind]["target"] if kind in met else "-"
        ok = ("yes" if met[kind]["met"] else "**NO**") if kind in met else "-"
        lines.append(
            f"| {kind} | {measure} | {target} | " + " | ".join(cells) + f" | {rate:.2%} | {hits}/{total} | {ok} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=3000, help="contacts built per seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--out", type=Path, default=Path("bench/results/redaction.json"))
    parser.add_argument("--examples", type=int, default=5, help="misses / false positives kept per kind and seed")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    redactor = Redactor()
    reports: list[RedactionReport] = []
    per_seed: list[dict[str, Any]] = []
    for seed in args.seeds:
        report, build_s = run_seed(args.contacts, seed, redactor, args.examples)
        reports.append(report)
        logger.info("seed %d: built %d contacts in %.1f s\n%s\n", seed, report.contacts, build_s, report.to_markdown())
        per_seed.append({"seed": seed, "build_seconds": round(build_s, 2), **report.to_dict()})
    pooled = merge_reports(reports, max_examples=args.examples)
    targets = check_targets(pooled)

    table = combined_table(args.seeds, reports, pooled)
    logger.info("redaction, %d contacts x seeds %s\n\n%s\n", args.contacts, args.seeds, table)
    logger.info(
        "throughput: %s turns in %.2f s of redaction = %s turns/s (one process, one core)",
        f"{pooled.turns:,}",
        pooled.seconds,
        f"{pooled.turns_per_second:,.0f}",
    )
    forms: dict[str, dict[str, int]] = {}
    for seed in args.seeds:
        for form, count in name_forms(args.contacts, seed, redactor).items():
            pooled_form = forms.setdefault(form, {"planted": 0, "caught": 0})
            pooled_form["planted"] += count["planted"]
            pooled_form["caught"] += count["caught"]
    for form, count in sorted(forms.items()):
        count["recall"] = round(count["caught"] / count["planted"], 4) if count["planted"] else 0.0
        logger.info("names %s: %d of %d (%.2f%%)", form, count["caught"], count["planted"], 100 * count["recall"])
    targets["name_introduced"] = {"measure": "recall", "target": ">= 95%",
                                  "rate": forms.get("introduced", {}).get("recall", 0.0),
                                  "met": forms.get("introduced", {}).get("recall", 0.0) >= 0.95}  # fmt: skip
    missed = [k for k, t in targets.items() if not t["met"]]
    if missed:
        logger.warning("targets not met: %s", ", ".join(missed))

    result = {
        "benchmark": "redaction",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": f"python bench/redaction.py --contacts {args.contacts} --seeds {' '.join(map(str, args.seeds))}",
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpu": platform.processor()},
        "contacts_per_seed": args.contacts,
        "seeds": args.seeds,
        "targets": targets,
        "all_targets_met": not missed,
        "pooled": pooled.to_dict(),
        "names_by_form": forms,
        "per_seed": per_seed,
        "table_markdown": table,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    logger.info("wrote %s", args.out)
    return 0 if not missed else 1


if __name__ == "__main__":
    raise SystemExit(main())
