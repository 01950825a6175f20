"""The roles an API key can have (one per key), and what each is for."""

from __future__ import annotations

from typing import Literal, get_args

# agent: live suggestions and feedback; analyst: the QA audit; admin: keys, models and batch jobs
# of its tenant; service: system-to-system labelling (batch and one-shot calls).
Role = Literal["agent", "analyst", "admin", "service"]
ROLES: tuple[str, ...] = get_args(Role)
