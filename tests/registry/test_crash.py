"""SIGKILL the real server in the middle of a burst of registry writes: every acknowledged visit is in the
store, no visit is half-written, and the store is intact (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from pathlib import Path

import httpx
import sqlalchemy as sa

from calcinosis.registry import open_registry
from calcinosis.registry import tables as T
from calcinosis.settings import load_settings
from tests.registry.conftest import fresh_database
from tests.servicekit.server import LiveServer

WORKERS = 6
KILL_AFTER = 60


def _burst(server: LiveServer) -> tuple[set[int], int]:
    """Each worker posts two-site visits for its own patient on successive days."""
    acknowledged: set[int] = set()
    errors = 0
    lock = threading.Lock()
    enough = threading.Event()

    def worker(n: int) -> None:
        nonlocal errors
        day = dt.date(2020, 1, 1)
        with httpx.Client(timeout=30) as client:
            while True:
                body = {
                    "date": day.isoformat(),
                    "measurements": [
                        {"site": "hand", "count": 3, "pain_vas": 5},
                        {"site": "elbow", "count": 1},
                    ],
                }
                try:
                    r = client.post(f"{server.url}/registry/patients/crash-{n}/visits", json=body)
                except httpx.HTTPError:
                    with lock:
                        errors += 1
                    return  # the server is gone
                if r.status_code == 201:
                    with lock:
                        acknowledged.update(m["id"] for m in r.json())
                        if len(acknowledged) >= 2 * KILL_AFTER:
                            enough.set()
                day += dt.timedelta(days=1)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
    for t in threads:
        t.start()
    assert enough.wait(timeout=180), f"burst too slow:\n{server.log()[-2000:]}"
    server.kill()
    for t in threads:
        t.join(timeout=60)
    with lock:
        return set(acknowledged), errors


def _check(url: str, workdir: Path, acknowledged: set[int]) -> None:
    registry = open_registry(load_settings(database_url=url, data_dir=workdir))
    try:
        stored = registry.read(lambda c: set(c.execute(sa.select(T.measurement.c.id)).scalars()))
        assert acknowledged <= stored, f"lost {len(acknowledged - stored)} acknowledged measurements"
        per_visit = registry.read(
            lambda c: Counter(
                c.execute(sa.select(T.measurement.c.patient_id, T.measurement.c.visit_date)).all()
            )
        )
        assert set(per_visit.values()) == {2}, "a visit was half-written"
        if registry.kind == "sqlite":
            problems = registry.read(lambda c: c.exec_driver_sql("PRAGMA integrity_check").scalars().all())
            assert problems == ["ok"]
    finally:
        registry.close()


def _run(tmp_path: Path, url: str) -> None:
    server = LiveServer(tmp_path, env={"CALCINOSIS_DATABASE_URL": url}).start()
    try:
        acknowledged, errors = _burst(server)
    finally:
        server.kill()
    assert len(acknowledged) >= 2 * KILL_AFTER
    assert errors >= 1  # the kill really happened mid-burst
    _check(url, tmp_path, acknowledged)
    with LiveServer(tmp_path, env={"CALCINOSIS_DATABASE_URL": url}) as again:  # serves again after the crash
        r = httpx.post(
            f"{again.url}/registry/patients/crash-0/visits",
            json={"date": "2019-12-31", "measurements": [{"count": 1}]},
        )
        assert r.status_code == 201, r.text


def test_sigkill_during_a_burst_loses_no_acknowledged_visit_when_sqlite(tmp_path: Path) -> None:
    _run(tmp_path, f"sqlite:///{tmp_path / 'crash.db'}")


def test_sigkill_during_a_burst_loses_no_acknowledged_visit_when_postgresql(
    tmp_path: Path, postgres_url: str
) -> None:
    _run(tmp_path, fresh_database(postgres_url, "registry_crash"))
