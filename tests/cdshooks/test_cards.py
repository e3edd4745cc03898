"""patient-view on the real server: which cards, and that each carries its basis exactly per the spec."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from calcinosis.cdshooks.conformance import check_response
from tests.cdshooks.conftest import PV, audit_rows, call, hook_request
from tests.servicekit import fhirdata as F
from tests.servicekit.server import LiveServer


def test_calciphylaxis_patient_gets_critical_cards_that_pass_every_rule_when_chart_opens(
    server: LiveServer,
) -> None:
    r = call(
        server.url, PV, hook_request("patient-view", F.calciphylaxis_on_dialysis(), pid="pt-calciphylaxis")
    )
    assert r.status_code == 200
    body = r.json()
    assert check_response(body) == []
    cards = body["cards"]
    assert cards and {c["indicator"] for c in cards} <= {"info", "warning", "critical"}
    critical = [c for c in cards if c["indicator"] == "critical"]
    assert any("calciphylaxis" in c["summary"].lower() for c in critical)
    for c in cards:
        assert len(c["summary"]) < 140
        assert re.fullmatch(r"[0-9a-f-]{36}", c["uuid"])
        assert c["source"]["label"].startswith("calcinosis-cds knowledge pack v")
        assert c["source"]["url"] == f"{server.url}/pack"
        assert c["links"][0]["url"] == f"{server.url}/patients/pt-calciphylaxis"
        assert c["links"][0]["type"] == "absolute"
        assert all(reason["display"] for reason in c["overrideReasons"])
        detail = c["detail"]
        assert "**Grading system**" in detail and "last reviewed" in detail
        assert "**Inputs missing**" in detail and "**Sources**" in detail
        knowledge = c["extension"]["org.calcinosis-cds.knowledge"]
        assert set(knowledge) == {"pack", "version", "contentHash", "lastReviewed"}


def test_option_cards_carry_the_grade_in_detail_and_extension_when_options_are_shown(
    server: LiveServer,
) -> None:
    body = call(server.url, PV, hook_request("patient-view", F.ssc_calcinosis(), pid="pt-ssc")).json()
    options = [c for c in body["cards"] if "org.calcinosis-cds.grade" in c.get("extension", {})]
    assert options, body
    pack = httpx.get(f"{server.url}/pack").json()
    for c in options:
        grade = c["extension"]["org.calcinosis-cds.grade"]
        assert grade["system"] == "nalluri-coulson-a-e"
        assert grade["stance"] in ("recommended", "consider")
        therapy = httpx.get(f"{server.url}/therapies/{grade['therapy']}").json()
        assert grade.get("level") == therapy["evidence"].get("shown")
        if "level" in grade:
            assert f"Evidence level **{grade['level']}**" in c["detail"]
            assert f"evidence level {grade['level']})" in c["summary"]
        assert c["extension"]["org.calcinosis-cds.knowledge"]["contentHash"] == pack["content_hash"]
        assert c["extension"]["org.calcinosis-cds.knowledge"]["lastReviewed"] == pack["last_reviewed"]


def test_cards_list_the_patient_facts_with_their_dates_when_facts_were_used(server: LiveServer) -> None:
    body = call(server.url, PV, hook_request("patient-view", F.ssc_calcinosis(), pid="pt-ssc")).json()
    subtype = next(c for c in body["cards"] if c["source"]["topic"]["code"] == "classification")
    facts = subtype["detail"].split("**Patient facts used**", 1)[1].split("\n\n", 1)[0]
    assert "Limited cutaneous systemic sclerosis" in facts
    assert "(2012-03-01)" in facts


def test_no_card_is_shown_when_the_record_holds_no_calcinosis_and_no_risk(server: LiveServer) -> None:
    r = call(server.url, PV, hook_request("patient-view", F.no_calcinosis(), pid="pt-none"))
    assert r.status_code == 200
    assert r.json() == {"cards": []}


def test_critical_is_not_used_when_nothing_is_contraindicated_or_calciphylaxis(server: LiveServer) -> None:
    body = call(server.url, PV, hook_request("patient-view", F.ssc_calcinosis(), pid="pt-ssc")).json()
    assert body["cards"]
    assert all(c["indicator"] != "critical" for c in body["cards"])


def test_chart_text_cannot_inject_markup_when_shown_on_a_card(server: LiveServer) -> None:
    resources = F.ssc_calcinosis("pt-x")
    resources[1]["code"]["text"] = (
        "Limited cutaneous systemic sclerosis <img src=x onerror=alert(1)> [link](http://evil)"
    )
    body = call(server.url, PV, hook_request("patient-view", resources, pid="pt-x")).json()
    text = " ".join(c["detail"] for c in body["cards"])
    assert not re.search(r"(?<!\\)<img", text) and not re.search(r"(?<!\\)\]\(http://evil", text)
    assert "\\<img" in text


def test_each_call_is_audited_with_its_cards_when_served(server: LiveServer) -> None:
    before = audit_rows(server.db_path, "SELECT COUNT(*) FROM audit WHERE service = ?", (PV,))[0][0]
    r = call(
        server.url, PV, hook_request("patient-view", F.calciphylaxis_on_dialysis(), pid="pt-calciphylaxis")
    )
    rid = r.headers["X-Request-Id"]
    [(service, iss, client, pack_hash, input_hash, status, audit_id)] = audit_rows(
        server.db_path,
        "SELECT service, caller_iss, caller_client, pack_hash, input_hash, status, id FROM audit WHERE request_id = ?",
        (rid,),
    )
    assert (service, iss, client, status) == (PV, None, "loopback (unsigned)", "complete")
    assert pack_hash == httpx.get(f"{server.url}/pack").json()["content_hash"]
    assert re.fullmatch(r"[0-9a-f]{64}", input_hash)
    cards = {
        row[0]
        for row in audit_rows(server.db_path, "SELECT uuid FROM issued_card WHERE audit_id = ?", (audit_id,))
    }
    assert cards == {c["uuid"] for c in r.json()["cards"]}
    assert (
        audit_rows(server.db_path, "SELECT COUNT(*) FROM audit WHERE service = ?", (PV,))[0][0] == before + 1
    )


def test_same_input_gives_the_same_input_hash_when_called_twice(server: LiveServer) -> None:
    body = hook_request("patient-view", F.ssc_calcinosis(), pid="pt-ssc")
    ids = [call(server.url, PV, body).headers["X-Request-Id"] for _ in range(2)]
    hashes = {
        audit_rows(server.db_path, "SELECT input_hash FROM audit WHERE request_id = ?", (i,))[0][0]
        for i in ids
    }
    assert len(hashes) == 1


def test_malformed_calls_get_an_operation_outcome_when_refused(server: LiveServer) -> None:
    good = hook_request("patient-view", F.ssc_calcinosis(), pid="pt-ssc")
    cases = [
        (PV, {**good, "hook": "order-sign"}, 422),
        (PV, {**good, "context": {"userId": "Practitioner/1"}}, 422),
        (PV, {k: v for k, v in good.items() if k != "hookInstance"}, 400),
        (PV, {**good, "context": {**good["context"], "patientId": "someone-else"}}, 422),
        ("no-such-service", good, 404),
        (
            PV,
            {
                **good,
                "fhirAuthorization": {
                    "access_token": "t",
                    "token_type": "Bearer",
                    "expires_in": 30,
                    "scope": "patient/*.read",
                    "subject": "c",
                },
            },
            400,
        ),
    ]
    for service, body, status in cases:
        r = call(server.url, service, body)
        assert r.status_code == status, (service, r.text)
        outcome = r.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"][0]["severity"] == "error"
    raw = httpx.post(
        f"{server.url}/cds-services/{PV}", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert raw.status_code == 400 and raw.json()["resourceType"] == "OperationOutcome"


def test_a_repeat_call_gets_the_same_cards_with_fresh_uuids_when_the_chart_is_reopened(
    server: LiveServer,
) -> None:
    body = hook_request("patient-view", F.calciphylaxis_on_dialysis(), pid="pt-calciphylaxis")
    first, second = (call(server.url, PV, body).json()["cards"] for _ in range(2))
    assert [c["summary"] for c in first] == [c["summary"] for c in second]
    assert [c["detail"] for c in first] == [c["detail"] for c in second]
    assert not {c["uuid"] for c in first} & {c["uuid"] for c in second}


def test_engine_processes_give_the_same_cards_when_assessing_out_of_process(
    server: LiveServer, tmp_path: Path
) -> None:
    body = hook_request("patient-view", F.calciphylaxis_on_dialysis("pt-proc"), pid="pt-proc")
    in_thread = call(server.url, PV, body).json()["cards"]
    with LiveServer(tmp_path, args=["--engine-processes", "1"]) as pooled:
        out_of_process = call(pooled.url, PV, body).json()["cards"]
    assert [(c["summary"], c["indicator"], c["detail"]) for c in out_of_process] == [
        (c["summary"], c["indicator"], c["detail"]) for c in in_thread
    ]
