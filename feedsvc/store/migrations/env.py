"""Alembic environment: migrations run on the connection feedsvc hands over
(see feedsvc.store.schema)."""

from __future__ import annotations

from alembic import context

from feedsvc.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through 'flask --app wsgi init-db', not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
