"""The REST API on a real port: what it serves, how it refuses, and that every assessment is audited."""

from __future__ import annotations

import sqlite3

import httpx
import orjson

from tests.conftest import load_case
from tests.servicekit import fhirdata as F
from tests.servicekit.server import LiveServer


def _outcome(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    body = r.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["severity"] == "error"
    diagnostics: str = body["issue"][0]["diagnostics"]
    assert "Traceback" not in diagnostics
    return diagnostics


def test_health_reports_pack_and_store_when_running(server: LiveServer) -> None:
    body = httpx.get(f"{server.url}/health").json()
    assert body["status"] == "ok" and body["store"] == "sqlite" and body["store_ok"] is True
    assert body["authentication"] == "loopback-unsigned"
    assert len(body["pack_hash"]) == 64


def test_pack_lists_version_hash_sources_and_review_date_when_asked(server: LiveServer) -> None:
    body = httpx.get(f"{server.url}/pack").json()
    assert body["version"] and body["last_reviewed"] and body["grading_system"]
    assert body["sources"] and all(s["citation"] for s in body["sources"])
    assert body["content_hash"] == httpx.get(f"{server.url}/health").json()["pack_hash"]


def test_therapies_list_and_detail_agree_when_read(server: LiveServer) -> None:
    listing = httpx.get(f"{server.url}/therapies").json()
    assert len(listing) == httpx.get(f"{server.url}/pack").json()["therapies"]
    for item in listing[:5]:
        detail = httpx.get(f"{server.url}/therapies/{item['id']}").json()
        assert detail["therapy"]["id"] == item["id"]
        assert detail["evidence"].get("shown") == item["evidence_level"]
        assert detail["sources"]
    assert "no therapy" in _outcome(httpx.get(f"{server.url}/therapies/no-such-therapy"), 404)


def test_native_case_is_assessed_to_json_when_posted(server: LiveServer) -> None:
    r = httpx.post(f"{server.url}/assess", json=load_case("calciphylaxis-dialysis-warfarin"), timeout=30)
    assert r.status_code == 200
    body = r.json()
    assert body["subtype"]["code"] == "calciphylaxis"
    assert body["knowledge"]["content_hash"] == httpx.get(f"{server.url}/pack").json()["content_hash"]
    assert r.headers["X-Request-Id"]


def test_fhir_bundle_in_and_fhir_out_when_accept_asks_for_fhir(server: LiveServer) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in F.calciphylaxis_on_dialysis()],
    }
    r = httpx.post(
        f"{server.url}/assess",
        content=orjson.dumps(bundle),
        timeout=30,
        headers={"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"},
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/fhir+json")
    assert r.json()["resourceType"] == "Bundle"


def test_bad_input_is_a_4xx_operation_outcome_never_a_5xx_when_posted(server: LiveServer) -> None:
    url = f"{server.url}/assess"
    assert "not valid JSON" in _outcome(
        httpx.post(url, content=b"{oops", headers={"Content-Type": "application/json"}), 422
    )
    _outcome(
        httpx.post(url, content=b"age=4", headers={"Content-Type": "application/x-www-form-urlencoded"}), 415
    )
    _outcome(httpx.post(url, content=b"", headers={"Content-Type": "application/json"}), 422)
    _outcome(httpx.post(url, json=[1, 2, 3]), 422)
    _outcome(httpx.post(url, json={"age_years": -4}), 422)
    _outcome(httpx.post(url, json={"resourceType": "Bundle", "type": "searchset", "entry": "x"}), 422)
    _outcome(httpx.post(url, json={"resourceType": "Patient", "birthDate": "not-a-date"}), 422)
    _outcome(httpx.post(url, json={"age_years": 40}, params={"as_of": "yesterday"}), 400)
    _outcome(httpx.delete(url), 405)
    _outcome(httpx.get(f"{server.url}/no-such-page-here.json"), 404)


def test_oversized_bodies_are_refused_when_posted(server: LiveServer) -> None:
    big = b'{"notes": "' + b"x" * 2_100_000 + b'"}'
    assert "larger than" in _outcome(
        httpx.post(f"{server.url}/assess", content=big, headers={"Content-Type": "application/json"}), 413
    )

    def chunks() -> object:
        for _ in range(30):
            yield b"x" * 100_000

    r = httpx.post(f"{server.url}/assess", content=chunks(), headers={"Content-Type": "application/json"})  # type: ignore[arg-type]
    assert r.status_code in (400, 413)


def test_every_assessment_is_audited_before_it_is_acknowledged_when_served(server: LiveServer) -> None:
    r = httpx.post(f"{server.url}/assess", json=load_case("lcssc-circumscripta-fingertips"), timeout=30)
    with sqlite3.connect(server.db_path) as conn:
        row = conn.execute(
            "SELECT channel, service, caller_client, output FROM audit WHERE request_id = ?",
            (r.headers["X-Request-Id"],),
        ).fetchone()
    assert row[:3] == ("rest", "assess", "loopback (unsigned)")
    assert orjson.loads(row[3]) == r.json()


def test_openapi_documents_every_endpoint_when_fetched(server: LiveServer) -> None:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    paths = set(spec["paths"])
    assert {
        "/assess",
        "/therapies",
        "/therapies/{therapy_id}",
        "/pack",
        "/health",
        "/cds-services",
        "/cds-services/{service_id}",
        "/cds-services/{service_id}/feedback",
    } <= paths
    assert "Case" in spec["components"]["schemas"]
    assert httpx.get(f"{server.url}/docs").status_code == 200


def test_demo_patients_are_served_when_started_with_demo(server: LiveServer) -> None:
    patients = httpx.get(f"{server.url}/demo/patients").json()
    assert patients
    first = httpx.get(f"{server.url}{patients[0]['href']}").json()
    assert first["id"] == patients[0]["id"]
    assert httpx.post(f"{server.url}/assess", json=first, timeout=30).status_code == 200
