"""articles_changed: an index to list articles in the order they changed (the API's list call)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 12:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_articles_changed", "articles", ["modified_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_articles_changed", table_name="articles")
