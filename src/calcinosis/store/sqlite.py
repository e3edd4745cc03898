"""The embedded default: SQLite in WAL mode with full synchronous commits (durable once acknowledged)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from calcinosis.store.base import Row, Store, schema, store_error


class SqliteStore(Store):
    kind = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._lock = threading.Lock()
            self._transaction([(ddl, ()) for ddl in schema("INTEGER PRIMARY KEY AUTOINCREMENT")])
        except (sqlite3.Error, OSError) as exc:
            raise store_error(f"opening {path.name}", exc) from exc

    def _transaction(self, statements: Sequence[tuple[str, Sequence[Any]]], returning: bool = False) -> Any:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                first: Any = None
                for i, (sql, params) in enumerate(statements):
                    cur = self._conn.execute(sql, tuple(params))
                    if i == 0 and returning:
                        first = cur.fetchone()[0]
                self._conn.execute("COMMIT")
                return first
            except sqlite3.Error as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise store_error("write", exc) from exc

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._lock:
            try:
                return list(self._conn.execute(sql, tuple(params)).fetchall())
            except sqlite3.Error as exc:
                raise store_error("read", exc) from exc

    def integrity_errors(self) -> list[str]:
        rows = self._query("PRAGMA integrity_check")
        problems = [str(r[0]) for r in rows if str(r[0]) != "ok"]
        problems += [f"foreign key: {tuple(r)}" for r in self._query("PRAGMA foreign_key_check")]
        return problems

    def close(self) -> None:
        with self._lock:
            self._conn.close()
