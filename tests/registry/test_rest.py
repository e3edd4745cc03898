"""The registry over REST on a real server: caller rules as for POST /assess, writes answered after commit,
bad input a 4xx OperationOutcome that writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from calcinosis.registry import open_registry
from calcinosis.settings import load_settings
from tests.conftest import load_case
from tests.registry.conftest import days_ago
from tests.servicekit.keys import SigningKey, jwks
from tests.servicekit.server import LiveServer

ISSUER = "https://ehr.example.test"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(tmp_path_factory.mktemp("registry-api")) as live:
        yield live


def _outcome(r: httpx.Response, status: int, match: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    body = r.json()
    assert body["resourceType"] == "OperationOutcome" and body["issue"][0]["severity"] == "error"
    assert match in body["issue"][0]["diagnostics"], body
    assert "Traceback" not in r.text


def _counts(server: LiveServer, pid: str) -> tuple[int, int]:
    """Read the store the server wrote, in this process (what was committed)."""
    registry = open_registry(load_settings(data_dir=server.workdir), migrate=False)
    try:
        return len(registry.courses(pid)), len(registry.measurements(pid))
    finally:
        registry.close()


def test_course_visit_stop_and_summary_when_called(server: LiveServer) -> None:
    base = f"{server.url}/registry"
    r = httpx.post(
        f"{base}/patients/api-1/courses",
        json={"therapy": "diltiazem", "start": days_ago(420).isoformat(), "subtype": "dystrophic"},
    )
    assert r.status_code == 201, r.text
    course = r.json()["id"]
    assert _counts(server, "api-1") == (1, 0)  # acknowledged means committed
    r = httpx.post(
        f"{base}/patients/api-1/visits",
        json={
            "date": days_ago(420).isoformat(),
            "measurements": [{"site": "hand", "count": 3, "pain_vas": 6}, {"site": "elbow", "count": 1}],
        },
    )
    assert r.status_code == 201 and [m["site"] for m in r.json()] == ["hand", "elbow"]
    httpx.post(
        f"{base}/patients/api-1/visits",
        json={
            "date": days_ago(30).isoformat(),
            "course": course,
            "measurements": [{"site": "hand", "count": 3, "pain_vas": 6}],
        },
    ).raise_for_status()
    r = httpx.post(
        f"{base}/courses/{course}/stop", json={"stop": days_ago(25).isoformat(), "reason": "ineffective"}
    )
    assert r.status_code == 200 and r.json()["stop_reason"] == "ineffective"
    r = httpx.put(f"{base}/patients/api-1", json=load_case("lcssc-circumscripta-fingertips"))
    assert r.status_code == 200 and r.json()["case"]["age_years"] == 54
    summary = httpx.get(f"{base}/patients/api-1", timeout=30).json()
    assert summary["courses"][0]["response"]["category"] == "none"
    assert summary["options"][0]["id"] == "diltiazem" and summary["options"][0]["stance"] == "consider"
    evidence = httpx.get(f"{base}/evidence/diltiazem", timeout=30).json()
    assert evidence[0]["subtype"] == "dystrophic" and evidence[0]["courses"] >= 1
    assert evidence[0]["small_numbers"] is True and evidence[0]["source"] == "local-registry"


def test_bad_input_is_a_4xx_outcome_and_writes_nothing_when_posted(server: LiveServer) -> None:
    base = f"{server.url}/registry"
    start = days_ago(100).isoformat()
    course = httpx.post(
        f"{base}/patients/api-2/courses", json={"therapy": "colchicine", "start": start}
    ).json()["id"]
    httpx.post(
        f"{base}/patients/api-2/visits", json={"date": start, "measurements": [{"site": "hand", "count": 2}]}
    ).raise_for_status()
    before = _counts(server, "api-2")
    visit = {"date": start, "measurements": [{"site": "elbow", "count": 1}]}
    cases = [
        (
            f"{base}/patients/api-2/visits",
            {**visit, "date": days_ago(101).isoformat(), "course": course},
            422,
            "before course",
        ),
        (
            f"{base}/patients/api-2/visits",
            {**visit, "measurements": [{"site": "x", "largest_mm": -1}]},
            400,
            "largest_mm",
        ),
        (f"{base}/patients/api-2/visits", {**visit, "measurements": [{"pain_vas": 14}]}, 400, "pain_vas"),
        (f"{base}/patients/api-2/courses", {"therapy": "snake-oil", "start": start}, 422, "snake-oil"),
        (
            f"{base}/patients/api-2/visits",
            {"date": start, "measurements": [{"site": "elbow", "count": 1}, {"site": "Hand", "count": 5}]},
            409,
            "already recorded",
        ),
        (f"{base}/courses/999999/stop", {"stop": start, "reason": "other"}, 404, "no treatment course"),
    ]
    for url, body, status, match in cases:
        _outcome(httpx.post(url, json=body), status, match)
    _outcome(
        httpx.post(
            f"{base}/patients/api-2/visits", content=b"{oops", headers={"Content-Type": "application/json"}
        ),
        400,
        "JSON",
    )
    _outcome(httpx.delete(f"{base}/measurements/1", params={"reason": "x"}), 400, "reason")
    _outcome(httpx.get(f"{base}/patients/nobody"), 404, "no patient")
    assert _counts(server, "api-2") == before


def test_corrections_keep_history_when_patched_and_deleted(server: LiveServer) -> None:
    base = f"{server.url}/registry"
    [m] = httpx.post(
        f"{base}/patients/api-3/visits",
        json={"date": days_ago(5).isoformat(), "measurements": [{"site": "hand", "pain_vas": 9}]},
    ).json()
    r = httpx.patch(
        f"{base}/measurements/{m['id']}", json={"changes": {"pain_vas": 4}, "reason": "VAS mistyped"}
    )
    assert r.status_code == 200 and r.json()["pain_vas"] == 4
    assert (
        httpx.delete(f"{base}/measurements/{m['id']}", params={"reason": "wrong patient"}).status_code == 200
    )
    history = httpx.get(f"{base}/patients/api-3/history").json()
    assert [(h["action"], h["before"]["pain_vas"]) for h in history] == [("update", 9), ("delete", 4)]
    assert httpx.get(f"{base}/patients/api-3/visits").json() == []


def test_openapi_documents_the_registry_routes_when_fetched(server: LiveServer) -> None:
    paths = httpx.get(f"{server.url}/openapi.json").json()["paths"]
    assert {"/registry/patients/{patient_id}/visits", "/registry/patients/{patient_id}/courses",
            "/registry/courses/{course_id}/stop", "/registry/evidence/{therapy_id}"} <= set(paths)  # fmt: skip


def test_signed_callers_only_when_an_issuer_is_trusted(tmp_path: Path) -> None:
    key = SigningKey.ec("ehr-es384")
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_bytes(orjson.dumps(jwks(key)))
    with LiveServer(tmp_path, args=["--trusted-issuer", f"{ISSUER}={jwks_file}"]) as live:
        url = f"{live.url}/registry/patients/jwt-1/courses"
        body = {"therapy": "colchicine", "start": days_ago(3).isoformat()}
        assert httpx.post(url, json=body).status_code == 401  # loopback but unsigned: refused
        assert httpx.get(f"{live.url}/registry/patients/jwt-1").status_code == 401
        token = key.token(ISSUER, url, sub="ehr-client")
        r = httpx.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 201, r.text
        assert r.json()["created_by"] == f"{ISSUER} ehr-client"
        wrong_aud = key.token(ISSUER, f"{live.url}/assess")
        assert httpx.post(url, json=body, headers={"Authorization": f"Bearer {wrong_aud}"}).status_code == 401


def test_facts_are_decoded_strictly_when_put(server: LiveServer) -> None:
    url = f"{server.url}/registry/patients/api-4"
    big = httpx.put(url, content=b'{"": -9223372036854775809}', headers={"Content-Type": "application/json"})
    assert big.status_code == 200  # read as POST /assess reads it (a number beyond 64 bits is a double)
    for raw in (b'{"age_years": NaN}', b'{"a": 1, "a": 2}', b"[1, 2"):
        r = httpx.put(url, content=raw, headers={"Content-Type": "application/json"})
        assert 400 <= r.status_code < 500, (raw, r.status_code, r.text)
        assert r.json()["resourceType"] == "OperationOutcome"
    _outcome(httpx.put(url, content=b"age=3", headers={"Content-Type": "text/plain"}), 415, "JSON")
    assert httpx.put(url).status_code == 200  # no body: registered without facts
