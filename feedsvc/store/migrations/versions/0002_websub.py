"""websub: the built-in hub's subscriptions and pending deliveries

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _slug() -> sa.String:
    return sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "websub_subscriptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("feed_key", _slug(), nullable=False),
        sa.Column("fmt", sa.String(length=16), nullable=False),
        sa.Column("callback", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("lease_seconds", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pending_mode", sa.String(length=16), nullable=True),
        sa.Column("pending_secret", sa.Text(), nullable=True),
        sa.Column("pending_lease", sa.Integer(), nullable=True),
        sa.Column("pending_id", sa.String(length=32), nullable=True),
        sa.Column("verify_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verify_attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("websub_subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            "ux_websub_subscriptions_topic_callback", ["topic", "callback"], unique=True
        )
        batch_op.create_index(
            "ix_websub_subscriptions_feed", ["feed_key", "expires_at"], unique=False
        )
        batch_op.create_index("ix_websub_subscriptions_verify", ["verify_due_at"], unique=False)

    op.create_table(
        "websub_deliveries",
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"], ["websub_subscriptions.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("subscription_id"),
    )
    with op.batch_alter_table("websub_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_websub_deliveries_due", ["next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("websub_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_websub_deliveries_due")
    op.drop_table("websub_deliveries")
    with op.batch_alter_table("websub_subscriptions", schema=None) as batch_op:
        batch_op.drop_index("ix_websub_subscriptions_verify")
        batch_op.drop_index("ix_websub_subscriptions_feed")
        batch_op.drop_index("ux_websub_subscriptions_topic_callback")
    op.drop_table("websub_subscriptions")
