"""Schema migrations with Alembic, run on the registry's own engine.

``upgrade`` brings a database to the newest revision in one transaction, serialised between processes
(PostgreSQL: an advisory lock; SQLite: the write lock ``BEGIN IMMEDIATE`` takes), so several server workers
starting at once migrate once. ``schema_differences`` compares the live schema with ``tables.metadata``.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from calcinosis.registry.tables import VERSION_TABLE, include_name, metadata

MIGRATION_LOCK = 7_311_925  # advisory lock id (the audit store uses 7_311_924)


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("calcinosis.registry") / "migrations"))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    script = ScriptDirectory.from_config(alembic_config())
    revision = script.get_current_head()
    if revision is None:  # pragma: no cover - the package ships its migrations
        raise RuntimeError("registry migrations: no head revision")
    return revision


def current(connection: Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def upgrade(engine: Engine, target: str = "head") -> tuple[str | None, str | None]:
    """Migrate to ``target``; returns (revision before, revision after)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        before = current(conn)
        command.upgrade(alembic_config(conn), target)
        after = current(conn)
    return before, after


def downgrade(engine: Engine, target: str) -> None:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        command.downgrade(alembic_config(conn), target)


def schema_differences(engine: Engine) -> list[Any]:
    """What differs between the database and ``tables.metadata`` (empty when they match)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "version_table": VERSION_TABLE,
                "include_name": include_name,
                "compare_type": True,
                "compare_server_default": True,
            },
        )
        return list(compare_metadata(context, metadata))
