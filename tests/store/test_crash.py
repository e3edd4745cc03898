"""Kill the real server with SIGKILL in the middle of a burst: every acknowledged request is in the store,
and the store is intact (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import orjson

from calcinosis.settings import load_settings
from calcinosis.store import open_store
from tests.conftest import load_case
from tests.servicekit import fhirdata as F
from tests.servicekit.server import LiveServer

CASES = ["lcssc-circumscripta-fingertips", "calciphylaxis-dialysis-warfarin", "ckd-metastatic-high-phosphate"]
WORKERS = 6
KILL_AFTER = 45


def _burst(server: LiveServer) -> tuple[set[str], int]:
    acknowledged: set[str] = set()
    errors = 0
    lock = threading.Lock()
    enough = threading.Event()
    bodies = [orjson.dumps(load_case(name)) for name in CASES]
    hook = orjson.dumps(
        {
            "hook": "patient-view",
            "hookInstance": "00000000-0000-4000-8000-000000000001",
            "context": {"userId": "Practitioner/1", "patientId": "pt-ssc"},
            "prefetch": F.prefetch(F.ssc_calcinosis()),
        }
    )

    def worker(n: int) -> None:
        nonlocal errors
        with httpx.Client(timeout=30) as client:
            i = n
            while True:
                try:
                    if i % 3 == 0:
                        r = client.post(
                            f"{server.url}/cds-services/calcinosis-patient-view",
                            content=hook,
                            headers={"Content-Type": "application/json"},
                        )
                    else:
                        r = client.post(
                            f"{server.url}/assess",
                            content=bodies[i % len(bodies)],
                            headers={"Content-Type": "application/json"},
                        )
                except httpx.HTTPError:
                    with lock:
                        errors += 1
                    return  # the server is gone
                if r.status_code == 200:
                    with lock:
                        acknowledged.add(r.headers["X-Request-Id"])
                        if len(acknowledged) >= KILL_AFTER:
                            enough.set()
                i += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
    for t in threads:
        t.start()
    assert enough.wait(timeout=180), f"burst too slow:\n{server.log()[-2000:]}"
    server.kill()
    for t in threads:
        t.join(timeout=60)
    with lock:
        return set(acknowledged), errors


def _check(database_url: str, acknowledged: set[str]) -> None:
    store = open_store(load_settings(database_url=database_url))
    try:
        stored = store.request_ids()
        assert acknowledged <= stored, f"lost {len(acknowledged - stored)} acknowledged records"
        assert store.integrity_errors() == []
    finally:
        store.close()


def test_sigkill_during_a_burst_loses_no_acknowledged_request_when_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    server = LiveServer(tmp_path, env={"CALCINOSIS_DATABASE_URL": url}).start()
    try:
        acknowledged, errors = _burst(server)
    finally:
        server.kill()
    assert len(acknowledged) >= KILL_AFTER
    assert errors >= 1  # the kill really happened mid-burst
    _check(url, acknowledged)
    with LiveServer(tmp_path, env={"CALCINOSIS_DATABASE_URL": url}) as again:  # the store serves again
        assert httpx.get(f"{again.url}/health").json()["store_ok"] is True


def test_sigkill_during_a_burst_loses_no_acknowledged_request_when_postgresql(
    tmp_path: Path, postgres_url: str
) -> None:
    from tests.store.conftest import _fresh_database

    url = _fresh_database(postgres_url, "crash")
    server = LiveServer(tmp_path, env={"CALCINOSIS_DATABASE_URL": url}).start()
    try:
        acknowledged, errors = _burst(server)
    finally:
        server.kill()
    assert len(acknowledged) >= KILL_AFTER
    assert errors >= 1
    _check(url, acknowledged)
