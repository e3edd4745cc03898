"""Data the service needs: from prefetch, else fetched from fhirServer (in parallel, with the token);
412 when neither works; within the time budget or a 200 saying the basis is incomplete."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from calcinosis.cdshooks.conformance import check_response
from calcinosis.cdshooks.prefetch import prefetch_templates
from tests.cdshooks.conftest import PV, audit_rows, call, hook_request
from tests.servicekit import fhirdata as F
from tests.servicekit.fhirserver import FhirState, fhir_server
from tests.servicekit.server import LiveServer

TOKEN = "fhir-access-token-7f3a9c"


def _auth(server: str) -> dict[str, Any]:
    return {
        "fhirServer": server,
        "fhirAuthorization": {
            "access_token": TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "calcinosis-cds",
            "patient": "pt-calciphylaxis",
        },
    }


@pytest.fixture
def fhir() -> Iterator[tuple[FhirState, str]]:
    state = FhirState(resources=F.calciphylaxis_on_dialysis(), token=TOKEN, delay_s=0.2)
    with fhir_server(state) as base:
        yield state, base


def test_missing_data_without_a_fhir_server_is_412_when_called(server: LiveServer) -> None:
    body = hook_request("patient-view", [], pid="pt-1", prefetch=False)
    r = call(server.url, PV, body)
    assert r.status_code == 412
    outcome = r.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "patient" in outcome["issue"][0]["diagnostics"]


def test_everything_is_fetched_in_parallel_with_the_token_when_nothing_is_prefetched(
    server: LiveServer, fhir: tuple[FhirState, str]
) -> None:
    state, base = fhir
    r = call(
        server.url,
        PV,
        hook_request("patient-view", [], pid="pt-calciphylaxis", prefetch=False, **_auth(base)),
    )
    assert r.status_code == 200, r.text
    assert check_response(r.json()) == []
    assert any(c["indicator"] == "critical" for c in r.json()["cards"])
    paths = [p for p, _ in state.requests]
    assert len(paths) == len(prefetch_templates())
    assert {auth for _, auth in state.requests} == {f"Bearer {TOKEN}"}
    assert state.max_in_flight >= 2  # the fetches overlapped


def test_only_the_keys_not_prefetched_are_fetched_when_prefetch_is_partial(
    server: LiveServer, fhir: tuple[FhirState, str]
) -> None:
    state, base = fhir
    body = hook_request("patient-view", F.calciphylaxis_on_dialysis(), pid="pt-calciphylaxis", **_auth(base))
    del body["prefetch"]["labs"]
    body["prefetch"]["medications"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout"}],
    }
    r = call(server.url, PV, body)
    assert r.status_code == 200
    fetched = sorted(p.split("?")[0] for p, _ in state.requests)
    assert fetched == ["/fhir/MedicationRequest", "/fhir/Observation"]


def test_null_prefetch_means_no_data_and_nothing_is_fetched_when_sent(
    server: LiveServer, fhir: tuple[FhirState, str]
) -> None:
    state, base = fhir
    body = hook_request("patient-view", F.no_calcinosis(), pid="pt-none", **_auth(base))
    r = call(server.url, PV, body)
    assert r.status_code == 200
    assert state.requests == []


@pytest.mark.parametrize("failure", ["server-error", "bad-token"])
def test_fhir_server_refusing_is_412_when_data_was_not_prefetched(
    server: LiveServer, fhir: tuple[FhirState, str], failure: str
) -> None:
    state, base = fhir
    auth = _auth(base)
    if failure == "server-error":
        state.fail_status = 500
    else:
        auth["fhirAuthorization"]["access_token"] = "wrong"
    r = call(server.url, PV, hook_request("patient-view", [], pid="pt-calciphylaxis", prefetch=False, **auth))
    assert r.status_code == 412
    assert r.json()["resourceType"] == "OperationOutcome"


def test_plain_http_fhir_server_off_loopback_is_not_used_when_data_is_missing(server: LiveServer) -> None:
    body = hook_request(
        "patient-view", [], pid="pt-1", prefetch=False, fhirServer="http://fhir.example.invalid/r4"
    )
    r = call(server.url, PV, body)
    assert r.status_code == 412


def test_slow_fhir_server_gives_200_with_an_incomplete_basis_card_when_budget_runs_out(tmp_path: Any) -> None:
    state = FhirState(resources=F.calciphylaxis_on_dialysis(), token=TOKEN, delay_s=3.0)
    env = {"CALCINOSIS_TIME_BUDGET_MS": "400", "CALCINOSIS_FHIR_TIMEOUT_MS": "2000"}
    with fhir_server(state) as base, LiveServer(tmp_path, env=env) as live:
        r = call(
            live.url,
            PV,
            hook_request("patient-view", [], pid="pt-calciphylaxis", prefetch=False, **_auth(base)),
        )
        assert r.status_code == 200
        body = r.json()
        assert check_response(body) == []
        [card] = body["cards"]
        assert card["indicator"] == "info"
        assert "incomplete" in card["summary"].lower()
        assert card["extension"]["org.calcinosis-cds.basis"]["complete"] is False
        assert "**Not retrieved**" in card["detail"]
        [(status,)] = audit_rows(
            live.db_path, "SELECT status FROM audit WHERE request_id = ?", (r.headers["X-Request-Id"],)
        )
        assert status == "degraded"


def test_discovery_offers_prefetch_for_patient_conditions_labs_and_medications_when_asked(
    server: LiveServer,
) -> None:
    import httpx

    services = httpx.get(f"{server.url}/cds-services").json()["services"]
    assert {s["hook"] for s in services} == {"patient-view", "order-select", "order-sign"}
    for s in services:
        prefetch = s["prefetch"]
        assert prefetch["patient"] == "Patient/{{context.patientId}}"
        assert prefetch["conditions"].startswith("Condition?patient={{context.patientId}}")
        assert prefetch["labs"].startswith("Observation?patient={{context.patientId}}&code=http://loinc.org|")
        assert "17861-6" in prefetch["labs"]  # serum calcium, a code the FHIR reader reads
        assert prefetch["medications"].startswith("MedicationRequest?patient={{context.patientId}}")
