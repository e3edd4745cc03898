"""Open the configured store: PostgreSQL when the database URL names one, SQLite otherwise."""

from __future__ import annotations

from calcinosis.errors import StoreError
from calcinosis.settings import Settings
from calcinosis.store.base import Store


def open_store(settings: Settings) -> Store:
    url = settings.database_url
    if settings.uses_postgres and url:
        try:
            from calcinosis.store.postgres import PostgresStore
        except ImportError as exc:
            raise StoreError(
                "store: PostgreSQL needs psycopg: pip install 'calcinosis-cds[postgres]'"
            ) from exc
        return PostgresStore(url, timeout_s=settings.store_timeout_ms / 1000)
    if url and not url.startswith("sqlite:///"):
        raise StoreError("store: CALCINOSIS_DATABASE_URL must start with postgresql:// or sqlite:///")
    from calcinosis.store.sqlite import SqliteStore

    return SqliteStore(settings.sqlite_path)
