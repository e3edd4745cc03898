"""The registry's SQLAlchemy engine, on the database the audit store uses (``CALCINOSIS_DATABASE_URL``):
the same SQLite file by default, the same PostgreSQL database when one is configured.

SQLite runs as the audit store runs it (WAL, ``synchronous=FULL``, foreign keys on), with real transactions:
a write begins with ``BEGIN IMMEDIATE`` (it holds the write lock from its first read, so the checks it makes
still hold when it commits) and a read with a plain ``BEGIN``. Every write commits before it returns.
"""

from __future__ import annotations

import math
import sqlite3
import time
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import ConnectionPoolEntry

from calcinosis.errors import StoreError
from calcinosis.settings import Settings

READ = "calcinosis_read"


def database_url(settings: Settings) -> str:
    """The SQLAlchemy URL for these settings (psycopg 3 for PostgreSQL)."""
    url = settings.database_url
    if settings.uses_postgres and url:
        scheme, rest = url.split("://", 1)
        return f"postgresql+psycopg://{rest}" if scheme in ("postgresql", "postgres") else url
    if url and not url.startswith("sqlite:///"):
        raise StoreError("store: CALCINOSIS_DATABASE_URL must start with postgresql:// or sqlite:///")
    return f"sqlite:///{settings.sqlite_path}"


def _wal(cursor: Any, attempts: int = 100) -> None:
    """WAL mode (persistent in the file, so usually already set). Switching a new file to WAL needs it to
    itself, and SQLite answers "database is locked" at once, without waiting, while another connection (a
    second server worker starting) holds it: try again for up to five seconds."""
    for attempt in range(attempts):
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05)


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=4)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # the driver issues no BEGIN of its own; see _begin
        cursor = dbapi_connection.cursor()
        _wal(cursor)
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        read = conn.get_execution_options().get(READ, False)
        conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")

    return engine


def make_engine(settings: Settings) -> Engine:
    url = database_url(settings)
    if url.startswith("sqlite:///"):
        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        return _sqlite_engine(url)
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise StoreError("store: PostgreSQL needs psycopg: pip install 'calcinosis-cds[postgres]'") from exc
    wait_s = settings.store_timeout_ms / 1000  # as the audit store: a short wait, then 503 (StoreError)
    return create_engine(
        url,
        pool_size=4,
        max_overflow=4,
        pool_pre_ping=True,  # a connection broken by a server restart is replaced, never used
        pool_timeout=wait_s,
        connect_args={"connect_timeout": max(2, math.ceil(wait_s))},
    )
