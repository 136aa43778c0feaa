"""articles.revised_at: when a correction readers can see was accepted

A change to what a feed shows that comes without a newer ``updated_at`` moves the item's
updated time to the moment it was accepted (the item's updated time is the later of this and
``updated_at``). Existing rows get NULL: no such correction is known for them, so their feeds
keep their bytes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revised_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_column("revised_at")
