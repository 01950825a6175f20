"""QA audit: audit items and the append-only audit decisions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APPEND_ONLY = "audit_decisions is append-only: record a new decision instead"


def upgrade() -> None:
    op.create_table(
        "audit_items",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("contact_id", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("suggestion_id", sa.String(length=36), nullable=True),
        sa.Column("contact", sa.JSON(), nullable=False),
        sa.Column("n_turns", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=200), nullable=True),
        sa.Column("agent_id", sa.String(length=200), nullable=True),
        sa.Column("queue", sa.String(length=200), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("agent_reason", sa.String(length=200), nullable=True),
        sa.Column("agent_outcome", sa.String(length=64), nullable=True),
        sa.Column("agent_code", sa.String(length=200), nullable=True),
        sa.Column("model_version", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("reason_probability", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=True),
        sa.Column("outcome_probability", sa.Float(), nullable=True),
        sa.Column("model_code", sa.String(length=200), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("sentiment", sa.String(length=64), nullable=True),
        sa.Column("upsell_probability", sa.Float(), nullable=True),
        sa.Column("agent_reason_probability", sa.Float(), nullable=True),
        sa.Column("agent_outcome_probability", sa.Float(), nullable=True),
        sa.Column("disagrees", sa.Boolean(), nullable=True),
        sa.Column("suspicion", sa.Float(), nullable=False),
        sa.Column("random_key", sa.Float(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "contact_id", "source", name="uq_audit_items_tenant_contact_source"),
    )
    with op.batch_alter_table("audit_items", schema=None) as batch_op:
        batch_op.create_index("ix_audit_items_tenant_suspicion", ["tenant_id", "suspicion"], unique=False)
        batch_op.create_index("ix_audit_items_tenant_random_key", ["tenant_id", "random_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_items_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "audit_decisions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.Column("analyst_key_id", sa.String(length=36), nullable=False),
        sa.Column("analyst_name", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=True),
        sa.Column("code", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("previous", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["audit_items.id"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_audit_decisions_tenant_item", ["tenant_id", "item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_decisions_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_decisions_created_at"), ["created_at"], unique=False)

    # The log is append-only in the database itself, not only in the code that writes it.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_decisions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_decisions_append_only BEFORE UPDATE OR DELETE ON audit_decisions "
            "FOR EACH ROW EXECUTE FUNCTION audit_decisions_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_decisions_no_{event.lower()} BEFORE {event} ON audit_decisions "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_decisions_append_only ON audit_decisions")
        op.execute("DROP FUNCTION IF EXISTS audit_decisions_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_decisions_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_decisions_no_delete")
    op.drop_table("audit_decisions")
    op.drop_table("audit_items")
