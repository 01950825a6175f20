"""Pseudonymised identifiers: ``customer_id`` and ``agent_id`` replaced by a keyed hash.

The same id under the same key always gives the same pseudonym, so a customer's contacts still
chain into issues (FCR, repeat contacts) and an agent's into a scorecard row; without the key the
pseudonym cannot be turned back into the id, nor guessed from a list of candidate ids (HMAC-SHA256,
not a plain hash). Keep the key secret and stable: a new key gives new pseudonyms."""

from __future__ import annotations

import hashlib
import hmac

from dispo.contact import Contact
from dispo.errors import ConfigError

PREFIX = "anon-"
KEY_ENV = "DISPO_PSEUDONYM_KEY"  # where commands and the service read the key from
MIN_KEY_CHARS = 16
FIELDS = ("customer_id", "agent_id")


class Pseudonymizer:
    def __init__(self, key: str) -> None:
        if len(key) < MIN_KEY_CHARS:
            raise ConfigError(f"a pseudonym key must be at least {MIN_KEY_CHARS} characters")
        self._key = key.encode("utf-8")

    def pseudonym(self, value: str | None) -> str | None:
        """``value``'s pseudonym (None stays None; a pseudonym is not hashed again)."""
        if value is None or value.startswith(PREFIX):
            return value
        digest = hmac.new(self._key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
        return PREFIX + digest[:24]

    def apply(self, contact: Contact) -> Contact:
        """A copy of ``contact`` with its customer and agent ids pseudonymised."""
        return contact.model_copy(update={name: self.pseudonym(getattr(contact, name)) for name in FIELDS})

    def fingerprint(self) -> str:
        """Which key (not the key): for a resumed job to check it pseudonymises the same way."""
        return hashlib.sha256(b"dispo-pseudonym:" + self._key).hexdigest()[:16]
