"""The offline CDS Hooks 2.0 checker: each rule catches its violation, and `calcinosis cds-hooks check`
passes our service and fails a broken one."""

from __future__ import annotations

import copy
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest

from calcinosis.cdshooks.conformance import check_discovery, check_feedback, check_request, check_response
from tests.cdshooks.conftest import ISSUER, TrustedServer
from tests.servicekit.server import LiveServer, clean_environ

CARD: dict[str, Any] = {
    "uuid": "4e0a3a1e-3283-4575-ab82-028d55fe2719",
    "summary": "Example card",
    "indicator": "warning",
    "source": {"label": "Example", "url": "https://example.test/about"},
    "suggestions": [
        {
            "label": "Remove",
            "uuid": "s1",
            "actions": [{"type": "delete", "description": "Remove it", "resourceId": "MedicationRequest/1"}],
        }
    ],
    "selectionBehavior": "at-most-one",
    "overrideReasons": [{"code": "x", "system": "urn:x", "display": "Not applicable"}],
    "links": [{"label": "App", "url": "https://example.test/app", "type": "smart", "appContext": "{}"}],
}


def _rules(violations: list[Any]) -> set[str]:
    return {v.rule for v in violations if v.level == "error"}


def _mutated(change: Any) -> dict[str, Any]:
    card = copy.deepcopy(CARD)
    change(card)
    return {"cards": [card]}


def test_a_valid_response_has_no_violation_when_checked() -> None:
    assert check_response({"cards": [CARD]}) == []
    assert check_response({"cards": []}) == []


RESPONSE_CASES = [
    (
        "cds-resp-1",
        lambda c: c.update(
            suggestions=[{"label": "a", "isRecommended": True}, {"label": "b", "isRecommended": True}]
        ),
    ),
    ("cds-resp-2", lambda c: c["suggestions"][0]["actions"][0].update(resource={"resourceType": "X"})),
    ("cds-resp-3", lambda c: c["links"][0].update(type="absolute")),
    ("cds-resp-4", lambda c: c["overrideReasons"][0].pop("display")),
    ("cds-resp-5", lambda c: c["suggestions"][0]["actions"][0].pop("description")),
    ("cds-resp-6", lambda c: c.pop("selectionBehavior")),
    ("cds-resp-7", lambda c: c["suggestions"][0].update(actionSelectionBehavior="some")),
    ("card.summary", lambda c: c.update(summary="x" * 140)),
    ("card.indicator", lambda c: c.update(indicator="hard-stop")),
    ("card.source", lambda c: c.update(source={"url": "https://example.test"})),
    ("null-empty", lambda c: c.update(detail="")),
    ("null-empty", lambda c: c.update(links=[])),
    ("link", lambda c: c["links"][0].update(url="/relative")),
]


@pytest.mark.parametrize(
    ("rule", "change"), RESPONSE_CASES, ids=[f"{r}-{i}" for i, (r, _) in enumerate(RESPONSE_CASES)]
)
def test_each_card_rule_catches_its_violation_when_broken(rule: str, change: Any) -> None:
    assert rule in _rules(check_response(_mutated(change)))


def test_feedback_rules_catch_their_violations_when_broken() -> None:
    ok = {"feedback": [{"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-01-01T00:00:00Z"}]}
    assert check_feedback(ok) == []
    assert "cds-fb-1" in _rules(check_feedback({"feedback": [{**ok["feedback"][0], "outcome": "ignored"}]}))
    assert "cds-fb-2" in _rules(check_feedback({"feedback": [{**ok["feedback"][0], "outcome": "accepted"}]}))
    assert "cds-fb-3" in _rules(
        check_feedback({"feedback": [{**ok["feedback"][0], "overrideReason": {"x": 1}}]})
    )
    assert "feedback" in _rules(
        check_feedback({"feedback": [{**ok["feedback"][0], "outcomeTimestamp": "2026-01-01T01:00:00+01:00"}]})
    )


def test_request_and_discovery_rules_catch_their_violations_when_broken() -> None:
    auth = {
        "access_token": "t",
        "token_type": "Bearer",
        "expires_in": 30,
        "scope": "patient/*.read",
        "subject": "s",
    }
    request = {
        "hook": "patient-view",
        "hookInstance": "x",
        "context": {"patientId": "1"},
        "fhirAuthorization": auth,
    }
    assert "cds-r-1" in _rules(check_request(request))
    assert any(v.rule == "cds-r-2" for v in check_request(request))
    assert (
        check_request(
            {
                **request,
                "fhirServer": "https://fhir.test",
                "fhirAuthorization": {**auth, "patient": "1"},
                "prefetch": {"patient": None},
            }
        )
        == []
    )
    assert "discovery" in _rules(check_discovery({"service": []}))
    bad_token = {
        "services": [
            {
                "hook": "patient-view",
                "id": "a",
                "description": "d",
                "title": "t",
                "prefetch": {"p": "Patient/{{context.patient.id}}"},
            }
        ]
    }
    assert "prefetch-token" in _rules(check_discovery(bad_token))
    assert check_discovery({"services": []}) == []


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "calcinosis", "cds-hooks", "check", *args],
        capture_output=True,
        text=True,
        env=clean_environ(),
        timeout=120,
    )


def test_check_passes_our_service_when_run_against_it(server: LiveServer) -> None:
    result = _cli(server.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "conformant:" in result.stdout
    assert "ok   feedback calcinosis-patient-view [200]" in result.stdout
    assert "refuses unknown service [404]" in result.stdout


def test_check_signs_its_calls_when_given_an_issuer_and_key(trusted: TrustedServer, tmp_path: Path) -> None:
    key = tmp_path / "ehr-private.jwk"
    key.write_bytes(orjson.dumps(trusted.es.private_jwk()))
    unsigned = _cli(trusted.url)
    assert unsigned.returncode == 1  # discovery is refused with a bare 401
    signed = _cli(trusted.url, "--issuer", ISSUER, "--key", str(key))
    assert signed.returncode == 0, signed.stdout


class _Broken(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def _json(self, status: int, body: Any) -> None:
        data = orjson.dumps(body)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._json(
            200, {"services": [{"hook": "patient-view", "id": "bad", "description": "d", "title": ""}]}
        )

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path.endswith("/bad"):
            self._json(
                200,
                {
                    "cards": [
                        {
                            "summary": "s" * 150,
                            "indicator": "hard-stop",
                            "source": {},
                            "suggestions": [{"label": "x"}],
                        }
                    ]
                },
            )
        else:
            self._json(500, {})


@pytest.fixture
def broken_service() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Broken)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_check_fails_a_broken_service_and_names_the_rules_when_run_against_it(broken_service: str) -> None:
    result = _cli(broken_service)
    assert result.returncode == 1
    for rule in ("null-empty", "card.summary", "card.indicator", "card.source", "cds-resp-6", "errors"):
        assert f"({rule})" in result.stdout, rule
    assert "NOT conformant" in result.stdout
