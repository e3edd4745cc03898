"""Two server workers opening a new SQLite audit file at once: the one that does not get to switch the file
to WAL waits for the other instead of failing to start."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from calcinosis.store.sqlite import SqliteStore


def test_a_store_opened_while_another_connection_holds_the_new_file_waits_and_opens(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")  # as a second worker's first transaction on the file would
    released = threading.Event()

    def release() -> None:
        time.sleep(0.5)
        holder.execute("COMMIT")
        released.set()

    threading.Thread(target=release, daemon=True).start()
    store = SqliteStore(path)  # switching to WAL needs the file to itself
    try:
        assert released.is_set()
        mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
        assert str(mode).lower() == "wal"
        assert store.integrity_errors() == []
    finally:
        store.close()
        holder.close()
