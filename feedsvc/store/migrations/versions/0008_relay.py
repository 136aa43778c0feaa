"""relay: the outbox of ``feedsvc relay`` (one row per story and destination) and Zalo tokens

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _key(length: int) -> sa.String:
    return sa.String(length=length).with_variant(
        sa.String(length=length, collation="C"), "postgresql"
    )


def upgrade() -> None:
    op.create_table(
        "relay_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("destination", _key(64), nullable=False),
        sa.Column("story_id", _key(400), nullable=False),
        sa.Column("feed_key", _key(64), nullable=False),
        sa.Column("story", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("relay_outbox", schema=None) as batch_op:
        batch_op.create_index("ux_relay_outbox_story", ["destination", "story_id"], unique=True)
        batch_op.create_index(
            "ix_relay_outbox_due", ["destination", "state", "next_attempt_at"], unique=False
        )
    op.create_table(
        "relay_zalo_tokens",
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("refresh_token", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seed_digest", sa.String(length=64), nullable=False),
        sa.Column("refreshing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("app_id"),
    )


def downgrade() -> None:
    op.drop_table("relay_zalo_tokens")
    with op.batch_alter_table("relay_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_relay_outbox_due")
        batch_op.drop_index("ux_relay_outbox_story")
    op.drop_table("relay_outbox")
