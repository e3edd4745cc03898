"""``GET /patients/{id}`` (the page CDS Hooks cards link to): real app, real SQLite store, in process."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from fastapi.testclient import TestClient

from calcinosis.api import create_app
from calcinosis.casework import as_bundle
from calcinosis.settings import load_settings
from calcinosis.store import AuditEntry
from tests.servicekit import fhirdata as F
from tests.web.conftest import ROOT

LOOPBACK = ("127.0.0.1", 50000)
REMOTE = ("10.1.2.3", 1234)
CASES = ROOT / "examples" / "cases"


def app_client(data_dir: Path, host: tuple[str, int] = LOOPBACK, **settings: Any) -> Iterator[TestClient]:
    app = create_app(load_settings(data_dir=data_dir, **settings))
    with TestClient(app, client=host) as c:
        yield c


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    yield from app_client(tmp_path)


def case(name: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((CASES / f"{name}.json").read_bytes())
    return {**data, **changes}


def assess(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/assess", json=body)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def shown_therapies(page: str) -> list[str]:
    return re.findall(r'<li class="therapy [^"]*" id="therapy-([a-z0-9-]+)"', page)


def test_latest_assessment_is_shown_when_the_patient_was_assessed(client: TestClient) -> None:
    result = assess(client, case("ssc-pregnant-inflamed-nodule", id="pt-7"))
    r = client.get("/patients/pt-7")
    assert r.status_code == 200
    page = html.unescape(r.text)
    assert f'data-code="{result["subtype"]["code"]}"' in page
    assert result["subtype"]["name"] in page
    assert shown_therapies(r.text) == [t["id"] for t in result["therapies"]]
    assert "latest assessment recorded for this patient" in page
    assert 'id="pdf-form"' not in page  # no input is kept to re-run for a PDF
    assert r.headers["cache-control"] == "no-store"


def test_newer_assessment_replaces_the_older_when_the_patient_is_assessed_again(client: TestClient) -> None:
    first = assess(client, case("ssc-pregnant-inflamed-nodule", id="pt-8"))
    second = assess(client, case("calciphylaxis-dialysis-warfarin", id="pt-8"))
    assess(client, case("jdm-universalis-child", id="pt-9"))
    assert first["subtype"]["code"] != second["subtype"]["code"]
    page = client.get("/patients/pt-8").text
    assert f'data-code="{second["subtype"]["code"]}"' in page
    assert shown_therapies(page) == [t["id"] for t in second["therapies"]]


def test_card_link_opens_this_page_when_the_ehr_called_patient_view(client: TestClient) -> None:
    resources = F.calciphylaxis_on_dialysis("pt-cv")
    hook = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/dr-1", "patientId": "pt-cv"},
        "prefetch": F.prefetch(resources),
    }
    r = client.post("/cds-services/calcinosis-patient-view", json=hook)
    assert r.status_code == 200, r.text
    cards = r.json()["cards"]
    assert cards
    path = urlsplit(cards[0]["links"][0]["url"]).path
    assert path == "/patients/pt-cv"
    page = client.get(path)  # the hook call alone recorded the assessment behind its cards
    assert page.status_code == 200
    result = assess(client, as_bundle(resources))
    assert result["patient_id"] == "pt-cv"
    assert result["subtype"]["name"] in html.unescape(page.text)
    assert shown_therapies(page.text) == [t["id"] for t in result["therapies"]]
    again = client.get(path)
    assert shown_therapies(again.text) == [t["id"] for t in result["therapies"]]


def test_card_link_works_for_a_repeat_hook_call_answered_from_the_cache(tmp_path: Path) -> None:
    resources = F.calciphylaxis_on_dialysis("pt-rep")
    hook = {
        "hook": "patient-view",
        "hookInstance": "0b7b1d52-6c1e-4c55-9c0e-7f0f3b1f6a10",
        "context": {"userId": "Practitioner/dr-1", "patientId": "pt-rep"},
        "prefetch": F.prefetch(resources),
    }
    for c in app_client(tmp_path):
        for _ in range(2):
            assert c.post("/cds-services/calcinosis-patient-view", json=hook).status_code == 200
        app: Any = c.app
        records = [r for r in app.state.calcinosis.store.list_audit() if r.channel == "cds-hooks"]
        assert len(records) == 2 and all(r.output["assessment"]["patient_id"] == "pt-rep" for r in records)
        assert c.get("/patients/pt-rep").status_code == 200


def test_not_found_page_explains_when_no_assessment_is_recorded(client: TestClient) -> None:
    assess(client, case("ssc-pregnant-inflamed-nodule", id="pt-known"))
    r = client.get("/patients/pt-unknown")
    assert r.status_code == 404
    assert "text/html" in r.headers["content-type"]
    assert "No assessment recorded for this patient yet" in r.text


def test_record_is_not_shown_when_it_is_not_a_valid_assessment(client: TestClient) -> None:
    app: Any = client.app
    entry = AuditEntry(
        request_id="old-format",
        channel="rest",
        service="assess",
        pack_version="0.0.1",
        pack_hash="a" * 64,
        input_hash="b" * 64,
        output={"schema_version": "0", "patient_id": "pt-old", "subtype": "dystrophic"},
    )
    app.state.calcinosis.store.write_audit(entry)
    r = client.get("/patients/pt-old")
    assert r.status_code == 409
    assert "cannot be shown here" in r.text


def test_page_is_refused_when_the_client_is_not_loopback(tmp_path: Path) -> None:
    for local in app_client(tmp_path):  # recorded first, so the refusal is not a 404 in disguise
        assess(local, case("ssc-pregnant-inflamed-nodule", id="pt-7"))
        assert local.get("/patients/pt-7").status_code == 200
    for c in app_client(tmp_path, REMOTE):
        r = c.get("/patients/pt-7")
        assert r.status_code == 403
        assert "only to this machine" in r.text
        assert "CALCINOSIS_PATIENT_PAGES_OPEN" in r.text


def test_page_is_served_to_any_client_when_patient_pages_are_open(tmp_path: Path) -> None:
    for local in app_client(tmp_path):
        result = assess(local, case("ssc-pregnant-inflamed-nodule", id="pt-7"))
    for c in app_client(tmp_path, REMOTE, patient_pages_open=True):
        r = c.get("/patients/pt-7")
        assert r.status_code == 200
        assert shown_therapies(r.text) == [t["id"] for t in result["therapies"]]


def test_patient_id_is_never_logged_when_the_page_is_served(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    assess(client, case("ssc-pregnant-inflamed-nodule", id="pt-secret-42"))
    caplog.set_level(logging.DEBUG)
    assert client.get("/patients/pt-secret-42").status_code == 200
    assert client.get("/patients/pt-secret-43").status_code == 404
    served = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))  # client
    assert "GET /patients/{patient_id} 200" in served  # the access log names the route
    assert "pt-secret-4" not in served
