"""Registry fixtures: every store test runs against SQLite and a real PostgreSQL cluster on loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from calcinosis.registry import Registry, open_registry
from calcinosis.settings import Settings, load_settings
from tests.servicekit.postgres import postgres_cluster, skip_reason

BY = "test@registry"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    with postgres_cluster() as url:
        yield url


def fresh_database(admin_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings naming an empty database of each kind."""
    if request.param == "sqlite":
        return load_settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'registry.db'}")
    admin: str = request.getfixturevalue("postgres_url")
    url = fresh_database(admin, f"r_{abs(hash(request.node.nodeid)) % 10**10}")
    return load_settings(data_dir=tmp_path, database_url=url)


@pytest.fixture
def registry(settings: Settings) -> Iterator[Registry]:
    r = open_registry(settings)
    yield r
    r.close()


def days_ago(n: int) -> dt.date:
    return dt.date.today() - dt.timedelta(days=n)
