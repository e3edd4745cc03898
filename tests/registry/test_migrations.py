"""Alembic migrations on both databases: from empty to head, the result matches the models, history is
append-only, and the audit store's tables beside them are left alone."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from calcinosis.registry import migrate, tables
from calcinosis.registry.database import make_engine
from calcinosis.settings import Settings
from calcinosis.store import open_store


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_upgrade_from_empty_creates_every_table_at_head_when_run(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        assert not {t.name for t in tables.TABLES} & _tables(engine)
        before, after = migrate.upgrade(engine)
        assert (before, after) == (None, migrate.head())
        assert {t.name for t in tables.TABLES} <= _tables(engine)
        assert migrate.upgrade(engine) == (after, after)  # again: nothing to do
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models_when_compared(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        migrate.upgrade(engine)
        assert migrate.schema_differences(engine) == []
    finally:
        engine.dispose()


def test_models_differ_from_an_empty_database_when_compared(settings: Settings) -> None:
    """The comparison can fail: before the migration every registry table is reported missing."""
    engine = make_engine(settings)
    try:
        added = {d[1].name for d in migrate.schema_differences(engine) if d[0] == "add_table"}
        assert added == {t.name for t in tables.TABLES}
    finally:
        engine.dispose()


def test_downgrade_removes_only_the_registry_tables_when_the_audit_store_shares_the_database(
    settings: Settings,
) -> None:
    open_store(settings).close()  # the audit store's tables, in the same database
    engine = make_engine(settings)
    try:
        migrate.upgrade(engine)
        migrate.downgrade(engine, "base")
        left = _tables(engine)
        assert not {t.name for t in tables.TABLES} & left
        assert {"audit", "issued_card", "feedback"} <= left
        migrate.upgrade(engine)
        assert migrate.schema_differences(engine) == []
    finally:
        engine.dispose()


def test_revisions_cannot_be_changed_or_removed_when_written(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        migrate.upgrade(engine)
        row = {
            "changed_at": "2026-01-01T00:00:00.000000Z",
            "changed_by": "me",
            "reason": "typo",
            "entity": "course",
            "entity_id": "1",
            "patient_id": "p1",
            "action": "update",
            "values_before": "{}",
            "values_after": "{}",
        }
        with engine.begin() as conn:
            conn.execute(sa.insert(tables.revision).values(**row))
        for statement in (
            sa.update(tables.revision).values(reason="rewritten"),
            sa.delete(tables.revision),
        ):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(statement)
        with engine.connect() as conn:
            assert conn.execute(sa.select(tables.revision.c.reason)).scalars().all() == ["typo"]
    finally:
        engine.dispose()


def test_two_processes_starting_at_once_migrate_once_when_racing(settings: Settings) -> None:
    engines = [make_engine(settings) for _ in range(3)]
    results: list[tuple[str | None, str | None]] = []
    errors: list[BaseException] = []
    gate = threading.Barrier(len(engines))

    def run(engine: sa.Engine) -> None:
        try:
            gate.wait()
            results.append(migrate.upgrade(engine))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    try:
        assert errors == []
        assert sorted(results, key=str) == sorted(
            [(None, migrate.head())] + [(migrate.head(), migrate.head())] * 2, key=str
        )
    finally:
        for e in engines:
            e.dispose()
