"""The pages in process (real app, real SQLite store): same engine, every caution shown, safe responses."""

from __future__ import annotations

import html
import re
from pathlib import Path

from fastapi.testclient import TestClient

from calcinosis.api import create_app
from calcinosis.engine import Assessment, assess
from calcinosis.inputs import read_patient
from calcinosis.pack import load_pack_cached
from calcinosis.settings import load_settings
from calcinosis.web.chart import StudyPoint, evidence_svg
from calcinosis.web.demo import find_demo, load_demo_patients
from tests.web.conftest import ROOT

DEMO = "ssc-pregnant-inflamed-nodule"


def engine_result(case_id: str) -> Assessment:
    case, issues = read_patient(find_demo(case_id).data)
    return assess(case, load_pack_cached(), issues=issues)


def test_options_are_in_the_engine_order_when_a_demo_patient_is_shown(client: TestClient) -> None:
    page = client.get(f"/assess/demo/{DEMO}").text
    shown = re.findall(r'<li class="therapy [^"]*" id="therapy-([a-z0-9-]+)"', page)
    assert shown == [t.id for t in engine_result(DEMO).therapies]


def test_every_caution_is_on_the_page_when_a_result_is_shown(client: TestClient) -> None:
    page = html.unescape(client.get("/assess/demo/calciphylaxis-dialysis-warfarin").text)
    result = engine_result("calciphylaxis-dialysis-warfarin")
    for t in result.therapies:
        block = page.split(f'id="therapy-{t.id}"', 1)[1].split('<li class="therapy ', 1)[0]
        for c in t.cautions:
            assert c.text in block, (t.id, c.id)
    for al in result.alerts:
        assert al.text in page


def test_patient_cautions_come_before_the_rationale_when_a_therapy_has_them(client: TestClient) -> None:
    page = client.get(f"/assess/demo/{DEMO}").text
    block = page.split('id="therapy-diltiazem"', 1)[1].split('<li class="therapy ', 1)[0]
    assert "For this patient" in block
    assert block.index("caution-patient") < block.index('class="rationale"')


def test_form_is_returned_with_messages_when_values_are_bad(client: TestClient) -> None:
    r = client.post("/assess/form", data={"age": "-3", "lab-calcium": "x"})
    assert r.status_code == 422
    assert 'id="err-age"' in r.text and 'aria-invalid="true"' in r.text
    assert 'value="-3"' in r.text


def test_result_is_shown_when_the_form_describes_a_patient(client: TestClient) -> None:
    r = client.post(
        "/assess/form",
        data={
            "age": "70",
            "sex": "male",
            "condition": ["esrd"],
            "history": ["haemodialysis"],
            "lab-phosphate": "8.1",
        },
    )
    assert r.status_code == 200
    assert "Likely subtype" in r.text
    assert "Cache-Control" in r.headers and r.headers["Cache-Control"] == "no-store"


def test_upload_errors_are_shown_on_the_page_when_the_file_is_not_usable(client: TestClient) -> None:
    r = client.post("/assess/upload", files={"file": ("x.json", b"[1, 2]", "application/json")})
    assert r.status_code == 422
    assert 'id="err-file"' in r.text
    r = client.post("/assess/upload", files={"file": ("x.json", b"", "application/json")})
    assert r.status_code == 422 and "Choose a JSON file" in r.text


def test_pdf_names_the_pack_version_when_the_plan_is_downloaded(client: TestClient) -> None:
    pack = load_pack_cached()
    raw = find_demo(DEMO).raw.decode()
    r = client.post("/plan.pdf", files={"input": (None, raw)})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'attachment; filename="calcinosis-plan-{DEMO}.pdf"'
    assert r.content.startswith(b"%PDF")
    assert f"Knowledge pack {pack.meta.id} {pack.meta.version}".encode() in r.content


def test_assessments_are_audited_when_pages_serve_them(client: TestClient) -> None:
    store = client.app.state.calcinosis.store  # type: ignore[attr-defined]
    before = store.count_audit()
    client.get(f"/assess/demo/{DEMO}")
    assert store.count_audit() == before + 1
    last = store.list_audit(limit=1, after_id=before)[0]
    assert last.service == "web-assess" and last.caller_client == "web-pages"
    assert last.output["patient_id"] == DEMO


def test_pages_send_a_strict_content_policy_when_served(client: TestClient) -> None:
    for path in ("/", "/evidence", "/about", f"/assess/demo/{DEMO}"):
        r = client.get(path)
        assert r.status_code == 200
        assert "default-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY"
        assert "http://" not in r.text.split("<body>", 1)[0]  # nothing in <head> comes from elsewhere


def test_missing_pages_are_shown_as_pages_when_ids_are_unknown(client: TestClient) -> None:
    for path in (
        "/evidence/therapies/no-such-thing",
        "/evidence/settings/no-such-setting",
        "/assess/demo/nobody",
    ):
        r = client.get(path)
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("text/html")


def test_static_files_come_only_from_the_package_when_requested(client: TestClient) -> None:
    assert client.get("/static/app.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/..%2Fviews.py").status_code in (400, 404)
    assert client.get("/static/missing.css").status_code == 404


def test_demo_patients_are_hidden_when_demo_mode_is_off(tmp_path: Path) -> None:
    with TestClient(create_app(load_settings(data_dir=tmp_path, demo=False))) as c:
        assert "Demo patients" not in c.get("/").text
        assert c.get(f"/assess/demo/{DEMO}").status_code == 404


def test_demo_cases_equal_the_examples_when_the_repository_is_present() -> None:
    examples = {p.stem: p.read_bytes() for p in (ROOT / "examples" / "cases").glob("*.json")}
    shipped = {d.id: d.raw for d in load_demo_patients()}
    assert shipped == examples, "copy examples/cases/*.json into src/calcinosis/web/demo_cases/"


def test_ladder_lists_every_therapy_when_no_setting_is_chosen(client: TestClient) -> None:
    page = client.get("/evidence").text
    for t in load_pack_cached().therapies.values():
        assert f'href="/evidence/therapies/{t.id}"' in page


def test_chart_draws_one_circle_per_study_and_escapes_labels_when_built() -> None:
    points = [
        StudyPoint("Trial <A>", 2001, "B", 40, True),
        StudyPoint("Report", None, "E", None, True),
        StudyPoint("Unchecked", 2010, None, 7, False),
    ]
    svg = str(evidence_svg(points, "Evidence for X & Y"))
    assert svg.count("<circle") == 3
    assert "Trial &lt;A&gt;" in svg and "X &amp; Y" in svg
    assert 'class="study unverified"' in svg and 'class="study unsized"' in svg
