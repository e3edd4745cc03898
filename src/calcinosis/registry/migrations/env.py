"""Alembic environment for the registry: always run on a connection the caller opened (see migrate.py)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from calcinosis.registry.tables import VERSION_TABLE, include_name, metadata


def run() -> None:
    connection: Connection | None = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("registry migrations run on a connection given by calcinosis.registry.migrate")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        include_name=include_name,
        transactional_ddl=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run()
