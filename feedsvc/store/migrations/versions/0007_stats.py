"""stats: the audience of each feed per day, per client name, and the daily hashing secrets

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _id(length: int) -> sa.String:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "stats_feed_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("feed", _id(64), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("not_modified", sa.BigInteger(), nullable=False),
        sa.Column("validated", sa.BigInteger(), nullable=False),
        sa.Column("sketch", sa.LargeBinary(), nullable=True),
        sa.Column("direct_clients", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "feed"),
    )
    op.create_table(
        "stats_client_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("feed", _id(64), nullable=False),
        sa.Column("name", _id(64), nullable=False),
        sa.Column("family", sa.String(32), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("not_modified", sa.BigInteger(), nullable=False),
        sa.Column("validated", sa.BigInteger(), nullable=False),
        sa.Column("subscribers", sa.Integer(), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("day", "feed", "name"),
    )
    op.create_table(
        "stats_salts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("salt", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )


def downgrade() -> None:
    op.drop_table("stats_salts")
    op.drop_table("stats_client_days")
    op.drop_table("stats_feed_days")
