"""Alembic environment: runs on the connection :func:`serve.db.upgrade` hands over."""

from __future__ import annotations

from alembic import context

import serve.audit.db  # noqa: F401  (registers the audit tables on Base.metadata)
from serve.db import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through serve.db.upgrade (or `dispo db upgrade`), which passes a connection")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
