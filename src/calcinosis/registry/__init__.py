"""The treatment registry: courses, visit measurements and adverse events per patient, their computed
responses, and the clinic's local evidence (docs/registry.md).

SQLite by default, PostgreSQL when ``CALCINOSIS_DATABASE_URL`` names one (the audit store's database);
the schema is managed by Alembic migrations (``registry/migrations``).
"""

from __future__ import annotations

from calcinosis.errors import StoreError
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.registry.evidence import LocalEvidence, local_evidence
from calcinosis.registry.store import DuplicateRecord, Registry
from calcinosis.settings import Settings


def open_registry(settings: Settings, pack: KnowledgePack | None = None, *, migrate: bool = True) -> Registry:
    """Open the registry on the configured database, migrated to the newest schema (unless ``migrate``
    is false). Raises StoreError when the database cannot be reached or migrated."""
    from sqlalchemy.exc import SQLAlchemyError

    from calcinosis.pack.loader import load_pack_cached
    from calcinosis.registry import migrate as migrations
    from calcinosis.registry.database import make_engine

    engine = make_engine(settings)
    try:
        if migrate:
            migrations.upgrade(engine)
    except (SQLAlchemyError, OSError) as exc:
        engine.dispose()
        raise StoreError(
            f"registry: the database could not be opened or migrated ({type(exc).__name__})"
        ) from exc
    return Registry(engine, pack or load_pack_cached())


__all__ = ["DuplicateRecord", "LocalEvidence", "Registry", "local_evidence", "open_registry"]
