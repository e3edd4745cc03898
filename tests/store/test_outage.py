"""The database failing softly: a real PostgreSQL cluster stopped and started again under a real server.

While it is down, ``/health`` answers 503 ``degraded``, every request that must write the audit trail gets
503 with ``Retry-After`` and an OperationOutcome (never a 500), quickly; when it is back the service
recovers by itself, without a restart.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import orjson
import pytest

from tests.conftest import load_case
from tests.servicekit import fhirdata as F
from tests.servicekit.postgres import own_cluster, own_skip_reason
from tests.servicekit.server import LiveServer

pytestmark = pytest.mark.postgres
STORE_TIMEOUT_MS = 1000
CASE = orjson.dumps(load_case("lcssc-circumscripta-fingertips"))
HOOK = orjson.dumps(
    {
        "hook": "patient-view",
        "hookInstance": "00000000-0000-4000-8000-000000000011",
        "context": {"userId": "Practitioner/1", "patientId": "pt-ssc"},
        "prefetch": F.prefetch(F.ssc_calcinosis()),
    }
)
JSON = {"Content-Type": "application/json"}


def _calls(server: LiveServer) -> list[tuple[str, httpx.Response, float]]:
    """Every kind of request that writes the store, timed."""
    out = []
    for name, send in (
        ("assess", lambda: httpx.post(f"{server.url}/assess", content=CASE, headers=JSON, timeout=30)),
        (
            "cds",
            lambda: httpx.post(
                f"{server.url}/cds-services/calcinosis-patient-view", content=HOOK, headers=JSON, timeout=30
            ),
        ),
        (
            "feedback",
            lambda: httpx.post(
                f"{server.url}/cds-services/calcinosis-patient-view/feedback",
                json={
                    "feedback": [
                        {
                            "card": "9b3b7c8e-0000-4000-8000-000000000001",
                            "outcome": "overridden",
                            "overrideReason": {"userComment": "not now"},
                            "outcomeTimestamp": "2026-11-20T10:00:00Z",
                        }
                    ]
                },
                timeout=30,
            ),
        ),
        (
            "web-upload",
            lambda: httpx.post(
                f"{server.url}/assess/upload", files={"file": ("case.json", CASE)}, timeout=30
            ),
        ),
    ):
        start = time.monotonic()
        r = send()
        out.append((name, r, time.monotonic() - start))
    return out


def test_postgres_outage_is_503_with_retry_after_and_the_service_recovers_by_itself(tmp_path: Path) -> None:
    reason = own_skip_reason()
    if reason:
        pytest.skip(reason)
    with own_cluster() as cluster:
        env = {"CALCINOSIS_DATABASE_URL": cluster.url, "CALCINOSIS_STORE_TIMEOUT_MS": str(STORE_TIMEOUT_MS)}
        with LiveServer(tmp_path, env=env) as server:
            before = _calls(server)
            assert [r.status_code for _, r, _ in before] == [200, 200, 200, 200], server.log()[-3000:]

            cluster.halt()
            for _ in range(3):  # not only the first request: every one while it is down
                health = httpx.get(f"{server.url}/health", timeout=30)
                assert health.status_code == 503
                assert health.json()["status"] == "degraded" and health.json()["store_ok"] is False
                for name, r, took in _calls(server):
                    assert r.status_code == 503, (name, r.status_code, r.text[:300])
                    assert int(r.headers["Retry-After"]) > 0, name
                    assert took < STORE_TIMEOUT_MS / 1000 + 2.0, (name, took)
                    if name != "web-upload":
                        outcome = r.json()
                        assert outcome["resourceType"] == "OperationOutcome", name
                        assert outcome["issue"][0]["code"] == "transient", name
                    else:
                        assert "text/html" in r.headers["content-type"]

            cluster.resume()
            deadline = time.monotonic() + 60
            while httpx.get(f"{server.url}/health", timeout=30).status_code != 200:
                assert time.monotonic() < deadline, f"no recovery:\n{server.log()[-3000:]}"
                time.sleep(0.5)
            after = _calls(server)
            assert [r.status_code for _, r, _ in after] == [200, 200, 200, 200]
            log = server.log()
        assert "Traceback" not in log
        assert " 500 " not in log  # the access log line of any 500


def test_records_written_after_an_outage_are_in_the_store(tmp_path: Path) -> None:
    reason = own_skip_reason()
    if reason:
        pytest.skip(reason)
    from calcinosis.settings import load_settings
    from calcinosis.store import open_store

    with own_cluster() as cluster:
        env = {"CALCINOSIS_DATABASE_URL": cluster.url, "CALCINOSIS_STORE_TIMEOUT_MS": str(STORE_TIMEOUT_MS)}
        with LiveServer(tmp_path, env=env) as server:
            first = httpx.post(f"{server.url}/assess", content=CASE, headers=JSON, timeout=30)
            cluster.halt()
            down = httpx.post(f"{server.url}/assess", content=CASE, headers=JSON, timeout=30)
            cluster.resume()
            deadline = time.monotonic() + 60
            while (
                again := httpx.post(f"{server.url}/assess", content=CASE, headers=JSON, timeout=30)
            ).status_code != 200:
                assert time.monotonic() < deadline
                time.sleep(0.5)
        store = open_store(load_settings(database_url=cluster.url))
        try:
            ids = store.request_ids()
        finally:
            store.close()
    assert down.status_code == 503 and "X-Request-Id" not in down.headers
    assert {first.headers["X-Request-Id"], again.headers["X-Request-Id"]} <= ids
    assert store.kind == "postgresql"
