"""The CDS Hooks time budget is kept whatever the input or the FHIR server does: a hook answers by its
budget (plus a margin for the network and the audit write) with a card saying the basis is incomplete and
why; work past the budget is cancelled (engine processes) or left to finish off the request path (threads),
and the service goes on answering."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.api.test_lifecycle import _wait_gone, descendants
from tests.cdshooks.conftest import PV, audit_rows, hook_request
from tests.servicekit import fhirdata as F
from tests.servicekit.fhirserver import FhirState, fhir_server
from tests.servicekit.server import LiveServer

MARGIN_S = 1.0  # network, decoding the body, the audit write, a loaded 2-core machine
WORDS = (
    "painful calcified nodule on the right index finger with chalky white discharge and ulceration after "
    "trauma, history of dermatomyositis and raynaud phenomenon; "
)
TOKEN = "fhir-access-token-budget"


def slow_patient(pid: str = "pt-ssc") -> list[dict[str, Any]]:
    """Within every limit, yet seconds of engine work: 2,000 conditions of 150 characters each."""
    text = (WORDS * 2)[:150]
    return F.ssc_calcinosis(pid, extra=[F.condition(pid, f"x{i}", text) for i in range(2000)])


def _timed_call(url: str, body: Any) -> tuple[httpx.Response, float]:
    raw = orjson.dumps(body)
    start = time.monotonic()
    r = httpx.post(
        f"{url}/cds-services/{PV}", content=raw, headers={"Content-Type": "application/json"}, timeout=120
    )
    return r, time.monotonic() - start


def _incomplete(r: httpx.Response, why: str) -> None:
    assert r.status_code == 200, r.text[:300]
    [card] = r.json()["cards"]
    assert card["extension"]["org.calcinosis-cds.basis"]["complete"] is False
    assert "incomplete" in card["summary"].lower() and why in card["summary"].lower(), card["summary"]


def _is_complete(r: httpx.Response) -> bool:
    assert r.status_code == 200, r.text[:300]
    cards = r.json()["cards"]
    return bool(cards) and all(
        c.get("extension", {}).get("org.calcinosis-cds.basis", {}).get("complete", True) for c in cards
    )


@pytest.mark.parametrize("engine_processes", ["0", "1"])
def test_slow_input_gets_an_incomplete_card_by_the_budget_and_the_service_goes_on(
    tmp_path: Path, engine_processes: str
) -> None:
    budget_ms = 300
    env = {"CALCINOSIS_TIME_BUDGET_MS": str(budget_ms)}
    with LiveServer(tmp_path, env=env, args=["--engine-processes", engine_processes]) as live:
        assert live.proc is not None
        engines = descendants(live.proc.pid)
        body = hook_request("patient-view", slow_patient(), pid="pt-ssc")
        r, took = _timed_call(live.url, body)
        _incomplete(r, "time budget")
        assert took < budget_ms / 1000 + MARGIN_S, took
        [(status,)] = audit_rows(
            live.db_path, "SELECT status FROM audit WHERE request_id = ?", (r.headers["X-Request-Id"],)
        )
        assert status == "degraded"
        if engine_processes != "0":  # the work was cancelled: its engine process was stopped, not left busy
            assert _wait_gone(engines, 5) == set(), "the engine process is still computing"
        # the same call again: not served from a cache of the incomplete answer, still within the budget
        again, took_again = _timed_call(live.url, body)
        _incomplete(again, "time budget")
        assert took_again < budget_ms / 1000 + MARGIN_S, took_again
        start = time.monotonic()  # the server itself is not held by work past the budget
        assert httpx.get(f"{live.url}/health", timeout=5).status_code == 200
        assert time.monotonic() - start < MARGIN_S
        normal = hook_request("patient-view", F.calciphylaxis_on_dialysis(), pid="pt-calciphylaxis")
        deadline = time.monotonic() + 30
        while True:  # and normal calls get complete cards again, each within the budget meanwhile
            ok, took_ok = _timed_call(live.url, normal)
            assert took_ok < budget_ms / 1000 + MARGIN_S, took_ok
            if _is_complete(ok):
                break
            assert time.monotonic() < deadline, "no complete answer within 30 s"
            time.sleep(0.5)
        assert httpx.get(f"{live.url}/health", timeout=5).status_code == 200
        log = live.log()
    assert "Traceback" not in log


def test_a_hanging_fhir_server_gets_an_incomplete_card_by_the_default_budget(tmp_path: Path) -> None:
    state = FhirState(resources=F.calciphylaxis_on_dialysis(), token=TOKEN, delay_s=30.0)
    with fhir_server(state) as base, LiveServer(tmp_path) as live:
        auth = {
            "fhirServer": base,
            "fhirAuthorization": {
                "access_token": TOKEN,
                "token_type": "Bearer",
                "expires_in": 300,
                "scope": "patient/*.read",
                "subject": "cds-service",
            },
        }
        body = hook_request("patient-view", [], pid="pt-calciphylaxis", prefetch=False, **auth)
        r, took = _timed_call(live.url, body)
        _incomplete(r, "not retrieved")
        assert took < 1.5 + MARGIN_S, took


def test_a_fhir_server_that_drips_its_answer_gets_an_incomplete_card_by_the_budget(tmp_path: Path) -> None:
    state = FhirState(resources=F.calciphylaxis_on_dialysis(), token=TOKEN, drip_s=0.2)
    env = {"CALCINOSIS_TIME_BUDGET_MS": "600", "CALCINOSIS_FHIR_TIMEOUT_MS": "1000"}
    with fhir_server(state) as base, LiveServer(tmp_path, env=env) as live:
        auth = {
            "fhirServer": base,
            "fhirAuthorization": {
                "access_token": TOKEN,
                "token_type": "Bearer",
                "expires_in": 300,
                "scope": "patient/*.read",
                "subject": "cds-service",
            },
        }
        body = hook_request("patient-view", [], pid="pt-calciphylaxis", prefetch=False, **auth)
        r, took = _timed_call(live.url, body)
        _incomplete(r, "not retrieved")
        assert took < 0.6 + MARGIN_S, took


def test_a_fhir_server_answer_over_the_byte_limit_is_refused_naming_the_limit(tmp_path: Path) -> None:
    state = FhirState(resources=F.calciphylaxis_on_dialysis(), token=TOKEN, pad_bytes=300_000)
    env = {"CALCINOSIS_MAX_BODY_BYTES": "200000"}
    with fhir_server(state) as base, LiveServer(tmp_path, env=env) as live:
        auth = {
            "fhirServer": base,
            "fhirAuthorization": {
                "access_token": TOKEN,
                "token_type": "Bearer",
                "expires_in": 300,
                "scope": "patient/*.read",
                "subject": "cds-service",
            },
        }
        body = hook_request("patient-view", [], pid="pt-calciphylaxis", prefetch=False, **auth)
        r, _ = _timed_call(live.url, body)
        assert r.status_code == 422, r.text[:300]
        assert "CALCINOSIS_MAX_BODY_BYTES" in r.json()["issue"][0]["diagnostics"]
