"""Store fixtures: the same tests run against SQLite and a real PostgreSQL on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from calcinosis.settings import load_settings
from calcinosis.store import Store, open_store
from tests.servicekit.postgres import postgres_cluster, skip_reason


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    with postgres_cluster() as url:
        yield url


def _fresh_database(admin_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for an empty store of each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.db'}"
    admin: str = request.getfixturevalue("postgres_url")
    return _fresh_database(admin, f"t_{abs(hash(request.node.nodeid)) % 10**10}")


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = open_store(load_settings(database_url=database_url))
    yield s
    s.close()
