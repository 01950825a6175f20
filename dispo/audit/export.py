"""Audited contacts as training data: the analysts' verdict becomes the contact's label.

``labels.reason`` and ``labels.outcome`` come from the latest audit decision, and win over
whatever the contact carried (an agent code used as a label, or an older label); sentiment and
upsell labels the contact already had are kept. The audit trail goes into ``metadata.audit``.
The result is the contact contract, so ``dispo train --data`` reads it as any other file.
"""

from __future__ import annotations

from typing import Any

from dispo.contact import Contact


def audited_contact(contact: dict[str, Any] | Contact, reason: str, outcome: str, audit: dict[str, Any]) -> Contact:
    """``contact`` with the audited reason and outcome as its labels and ``audit`` in its metadata."""
    raw = contact.to_json_dict() if isinstance(contact, Contact) else dict(contact)
    labels = dict(raw.get("labels") or {})
    labels.update({"reason": reason, "outcome": outcome})
    raw["labels"] = labels
    raw["metadata"] = {**(raw.get("metadata") or {}), "audit": audit}
    return Contact.model_validate(raw)
