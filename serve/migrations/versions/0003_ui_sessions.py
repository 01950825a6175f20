"""Server-side sessions of the QA-audit UI (the cookie holds a random token, not an API key)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 02:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ui_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("api_key_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_keys.id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_ui_sessions_tenant_id", "ui_sessions", ["tenant_id"])
    op.create_index("ix_ui_sessions_api_key_id", "ui_sessions", ["api_key_id"])


def downgrade() -> None:
    op.drop_index("ix_ui_sessions_api_key_id", table_name="ui_sessions")
    op.drop_index("ix_ui_sessions_tenant_id", table_name="ui_sessions")
    op.drop_table("ui_sessions")
