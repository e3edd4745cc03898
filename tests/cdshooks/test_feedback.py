"""Feedback on cards: stored once however often it is sent, summarised per recommendation and per
evidence level, exportable."""

from __future__ import annotations

import subprocess
import sys

import httpx
import orjson

from tests.cdshooks.conftest import PV, SIGN, call, hook_request
from tests.servicekit import fhirdata as F
from tests.servicekit.server import LiveServer, clean_environ


def _feedback(server: LiveServer, service: str, items: list[dict[str, object]]) -> httpx.Response:
    return httpx.post(f"{server.url}/cds-services/{service}/feedback", json={"feedback": items})


def test_feedback_is_stored_once_and_summarised_when_clinicians_respond(server: LiveServer) -> None:
    cards = call(server.url, PV, hook_request("patient-view", F.ssc_calcinosis(), pid="pt-ssc")).json()[
        "cards"
    ]
    options = [c for c in cards if "org.calcinosis-cds.grade" in c.get("extension", {})]
    first, second = options[0], options[1]
    reason = first["overrideReasons"][0]
    items = [
        {
            "card": first["uuid"],
            "outcome": "overridden",
            "outcomeTimestamp": "2026-11-20T10:00:00Z",
            "overrideReason": {"reason": reason, "userComment": "discussed with patient"},
        },
        {"card": second["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-20T10:01:00Z"},
    ]
    for _ in range(3):  # the EHR may send the same feedback more than once
        r = _feedback(server, PV, items)
        assert (r.status_code, r.json()) == (200, {"received": 2})
    summary = httpx.get(f"{server.url}/cds-services/{PV}/feedback/summary").json()
    by_rec = {row["key"]: row for row in summary["byRecommendation"]}
    first_grade = first["extension"]["org.calcinosis-cds.grade"]
    row = by_rec[first_grade["therapy"]]
    assert (row["overridden"], row["accepted"], row["overrideRate"]) == (1, 0, 1.0)
    levels = {row["key"] for row in summary["byEvidenceLevel"]}
    assert first_grade.get("level", "unknown") in levels


def test_accepted_suggestion_counts_as_accepted_when_the_draft_is_removed(server: LiveServer) -> None:
    pid = "pt-calciphylaxis"
    body = hook_request(
        "order-sign",
        F.calciphylaxis_on_dialysis(),
        pid=pid,
        context={
            "userId": "Practitioner/1",
            "patientId": pid,
            "draftOrders": F.draft_orders(pid, "Warfarin 1 mg"),
        },
    )
    card = next(c for c in call(server.url, SIGN, body).json()["cards"] if c.get("suggestions"))
    item = {
        "card": card["uuid"],
        "outcome": "accepted",
        "outcomeTimestamp": "2026-11-20T11:00:00Z",
        "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
    }
    assert _feedback(server, SIGN, [item]).status_code == 200
    summary = httpx.get(f"{server.url}/cds-services/{SIGN}/feedback/summary").json()
    row = next(r for r in summary["byRecommendation"] if r["key"] == "order-conflict:low-dose-warfarin")
    assert (row["accepted"], row["acceptanceRate"]) == (1, 1.0)


def test_malformed_feedback_is_refused_with_an_operation_outcome_when_posted(server: LiveServer) -> None:
    bad = [
        [],
        [{"card": "x", "outcome": "accepted", "outcomeTimestamp": "2026-11-20T10:00:00Z"}],  # cds-fb-2
        [{"card": "x", "outcome": "ignored", "outcomeTimestamp": "2026-11-20T10:00:00Z"}],  # cds-fb-1
        [
            {
                "card": "x",
                "outcome": "overridden",
                "outcomeTimestamp": "2026-11-20T10:00:00Z",
                "overrideReason": {},
            }
        ],
        [{"card": "x", "outcome": "overridden", "outcomeTimestamp": "yesterday"}],
        [{"card": "x", "outcome": "overridden", "outcomeTimestamp": "2026-11-20T10:00:00"}],  # no time zone
    ]
    for items in bad:
        r = _feedback(server, PV, items)
        assert r.status_code == 400, items
        assert r.json()["resourceType"] == "OperationOutcome"
    assert (
        _feedback(
            server,
            "no-such-service",
            [{"card": "x", "outcome": "overridden", "outcomeTimestamp": "2026-11-20T10:00:00Z"}],
        ).status_code
        == 404
    )


def test_feedback_is_exported_and_summarised_by_the_cli_when_asked(server: LiveServer) -> None:
    cards = call(
        server.url, PV, hook_request("patient-view", F.calciphylaxis_on_dialysis(), pid="pt-calciphylaxis")
    )
    card = cards.json()["cards"][0]
    _feedback(
        server,
        PV,
        [{"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-21T09:00:00Z"}],
    )
    env = {**clean_environ(), "CALCINOSIS_DATA_DIR": str(server.workdir)}
    run = [sys.executable, "-m", "calcinosis", "audit"]
    export = subprocess.run(
        [*run, "export", "--kind", "feedback"], capture_output=True, text=True, env=env, check=True
    )
    rows = [orjson.loads(line) for line in export.stdout.splitlines()]
    assert any(r["card_uuid"] == card["uuid"] and r["outcome"] == "overridden" for r in rows)
    summary = subprocess.run([*run, "feedback"], capture_output=True, text=True, env=env, check=True).stdout
    assert "by recommendation:" in summary and "by evidence level:" in summary
    assert "override rate" in summary
