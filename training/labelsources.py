"""Where each training label comes from: the contact's ``labels``, a QA audit, or the agent's code.

A contact center's history has wrap-up codes (``agent_labels``) and few gold labels. ``dispo train
--labels agent`` trains on the codes; ``--labels labels,audit,agent`` is a priority list (the same
words as ``dispo report --labels``, where ``labels`` is the report's ``model``): per contact and
per task, the first source that has a label wins. Audited labels win wherever they exist unless the
list places ``audit`` itself. The source of every label is kept (:attr:`Resolved.sources`) so that
the noise handling judges agent codes only and the model card counts them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from dispo.contact import Contact, Labels
from dispo.errors import ConfigError
from dispo.model.modeling import TASKS

LABEL_SOURCES: tuple[str, ...] = ("labels", "audit", "agent")
#: ``metadata`` key of a contact that no reason of the taxonomy fits (a public set's out-of-scope
#: request, training/sources/clinc150.py); training may expose the reason head to it.
OUT_OF_SCOPE = "out_of_scope"
#: Tasks a QA audit labels (`dispo audit export` carries the audited reason and outcome).
AUDITED_TASKS: tuple[str, ...] = ("reason", "outcome")


def label_priority(names: Sequence[str], *, audits: bool) -> tuple[str, ...]:
    """The checked priority list; ``audit`` goes first when audits are given and the list omits it.
    ``file`` (what ``dispo report`` calls a contact file's own labels) is ``labels``."""
    names = tuple("labels" if n == "file" else n for n in names)
    if not names:
        raise ConfigError(f"labels: name at least one label source of {', '.join(LABEL_SOURCES)}")
    unknown = [n for n in names if n not in LABEL_SOURCES]
    if unknown:
        raise ConfigError(f"labels: unknown sources {unknown}; known: {', '.join(LABEL_SOURCES)}")
    if len(set(names)) != len(names):
        raise ConfigError(f"labels: {list(names)} names a source twice")
    if audits and "audit" not in names:
        names = ("audit", *names)
    return names


@dataclass
class Resolved:
    contacts: list[Contact]  # ``labels`` holds the resolved label of every task
    sources: list[dict[str, str]]  # per contact: task -> the source its label came from

    def counts(self) -> dict[str, dict[str, int]]:
        """Per task, how many training labels each source gave (the model card's table)."""
        out: dict[str, Counter[str]] = {task: Counter() for task in TASKS}
        for sources in self.sources:
            for task, source in sources.items():
                out[task][source] += 1
        return {task: dict(sorted(c.items())) for task, c in out.items() if c}


def resolve_labels(
    contacts: Iterable[Contact], audited: Iterable[Contact] = (), *, priority: Sequence[str] = ("labels",)
) -> Resolved:
    """Each contact with the first label of ``priority`` per task; audited contacts that are not in
    ``contacts`` are added with their audited labels. Contacts left with no label at all are kept
    (the masked loss skips them) so that nothing is dropped silently; they are counted as unlabelled."""
    order = label_priority(priority, audits=bool(audited := list(audited)))
    by_id = {c.contact_id: c for c in audited}
    out: list[Contact] = []
    sources: list[dict[str, str]] = []
    for contact in contacts:
        audit = by_id.pop(contact.contact_id, None)
        labels, chosen = _first_labels(contact, audit, order)
        update: dict[str, Any] = {"labels": labels}
        if audit is not None:
            update["metadata"] = {**contact.metadata, "audit": audit.metadata.get("audit", {})}
        out.append(contact.model_copy(update=update))
        sources.append(chosen)
    for audit in by_id.values():  # audited contacts the training files do not hold
        labels, chosen = _first_labels(audit.model_copy(update={"labels": None}), audit, order)
        out.append(audit.model_copy(update={"labels": labels}))
        sources.append(chosen)
    return Resolved(out, sources)


def _first_labels(contact: Contact, audit: Contact | None, order: Sequence[str]) -> tuple[Labels, dict[str, str]]:
    values: dict[str, Any] = {}
    chosen: dict[str, str] = {}
    for task in TASKS:
        for source in order:
            value = _label(contact, audit, source, task)
            if value is not None:
                values[task], chosen[task] = value, source
                break
    return Labels(**values), chosen


def _label(contact: Contact, audit: Contact | None, source: str, task: str) -> Any:
    if source == "audit":
        if audit is None or audit.labels is None or task not in AUDITED_TASKS:
            return None
        return getattr(audit.labels, task)
    block = contact.labels if source == "labels" else contact.agent_labels
    return getattr(block, task) if block is not None else None


def is_out_of_scope(contact: Contact) -> bool:
    """Marked as fitting no reason, and without a reason label that would say otherwise."""
    return contact.metadata.get(OUT_OF_SCOPE) is True and (contact.labels is None or contact.labels.reason is None)
