"""The registry on the patient page and the therapy page: real app, real SQLite store, in process."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from calcinosis.api import create_app
from calcinosis.registry import open_registry
from calcinosis.registry.evidence import SMALL_NUMBERS
from calcinosis.registry.records import CourseStart, CourseStop, MeasurementIn, VisitIn
from calcinosis.settings import Settings, load_settings
from tests.web.conftest import ROOT

LOOPBACK = ("127.0.0.1", 50000)
CASES = ROOT / "examples" / "cases"
PID = "reg-1"


def _ago(days: int) -> str:
    return (dt.date.today() - dt.timedelta(days=days)).isoformat()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), client=LOOPBACK) as c:
        yield c


def _token(client: TestClient, pid: str = PID) -> str:
    client.get(f"/patients/{pid}")
    token = client.cookies.get("calcinosis_csrf")
    assert token
    return token


def _seed(settings: Settings, pid: str = PID, facts: bool = True) -> int:
    registry = open_registry(settings)
    try:
        if facts:
            registry.register_patient(
                pid, "test", orjson.loads((CASES / "lcssc-circumscripta-fingertips.json").read_bytes())
            )
        cid = registry.start_course(
            pid,
            CourseStart(therapy="diltiazem", subtype="dystrophic", start=dt.date.fromisoformat(_ago(420))),
            "test",
        ).id
        registry.add_visit(
            pid,
            VisitIn(
                date=dt.date.fromisoformat(_ago(420)),
                measurements=(MeasurementIn(site="hand", count=3, pain_vas=6),),
            ),
            "test",
        )
        return cid
    finally:
        registry.close()


def _visits(settings: Settings, pid: str = PID) -> int:
    registry = open_registry(settings)
    try:
        return len(registry.measurements(pid))
    finally:
        registry.close()


def test_page_shows_the_registry_alone_when_no_assessment_is_recorded(
    client: TestClient, settings: Settings
) -> None:
    _seed(settings)
    r = client.get(f"/patients/{PID}")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert 'class="timeline-chart"' in r.text and 'id="registry-courses"' in r.text
    assert "Assess again with this history" in r.text
    cookie = r.headers["set-cookie"].lower()
    assert "calcinosis_csrf=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/patients/nobody-here").status_code == 404


def test_visit_form_writes_and_the_chart_shows_it_when_posted(client: TestClient, settings: Settings) -> None:
    cid = _seed(settings)
    token = _token(client)
    form = {
        "csrf_token": token,
        "date": _ago(10),
        "course": str(cid),
        "site": "hand",
        "count": "2",
        "pain_vas": "3",
        "ulceration": "no",
    }
    r = client.post(f"/patients/{PID}/registry/visits", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/patients/{PID}#timeline"
    page = client.get(f"/patients/{PID}").text
    svg = page[page.index('<svg class="timeline-chart"') : page.index("</svg>", page.index("timeline-chart"))]
    count_panel = svg[svg.index('data-field="count"') : svg.index("</g>", svg.index('data-field="count"'))]
    assert count_panel.count("<circle") == 2 and "<polyline" in count_panel
    assert f"hand, {_ago(10)}: lesions 2 count" in html.unescape(count_panel)
    assert _visits(settings) == 2


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"date": "{old}", "course": "{cid}", "count": "1"}, 422, "before course"),
        ({"date": "{recent}", "site": "hand", "largest_mm": "-2"}, 422, "largest_mm"),
        ({"date": "{recent}", "pain_vas": "14"}, 422, "pain_vas"),
        ({"date": "{start}", "site": "HAND", "count": "4"}, 422, "already recorded"),
        ({"date": "{recent}", "site": "hand"}, 422, "nothing measured"),
    ],
)
def test_a_refused_visit_comes_back_with_the_reason_and_writes_nothing(
    client: TestClient, settings: Settings, form: dict[str, str], status: int, message: str
) -> None:
    cid = _seed(settings)
    values = {"old": _ago(500), "cid": str(cid), "recent": _ago(5), "start": _ago(420)}
    data = {k: v.format(**values) for k, v in form.items()}
    r = client.post(f"/patients/{PID}/registry/visits", data={"csrf_token": _token(client), **data})
    assert r.status_code == status
    assert 'id="error-visit"' in r.text and message in html.unescape(r.text)
    assert _visits(settings) == 1


def test_forms_without_the_token_or_from_another_site_are_refused(
    client: TestClient, settings: Settings
) -> None:
    _seed(settings)
    token = _token(client)
    form = {"date": _ago(3), "count": "1"}
    url = f"/patients/{PID}/registry/visits"
    assert client.post(url, data=form).status_code == 403
    assert client.post(url, data={**form, "csrf_token": "x" * 43}).status_code == 403
    assert (
        client.post(
            url, data={**form, "csrf_token": token}, headers={"Origin": "https://evil.example"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            url, data={**form, "csrf_token": token}, headers={"Sec-Fetch-Site": "cross-site"}
        ).status_code
        == 403
    )
    assert _visits(settings) == 1
    ok = client.post(
        url,
        data={**form, "csrf_token": token},
        headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and _visits(settings) == 2


def test_forms_are_refused_to_other_machines_unless_the_pages_are_open(settings: Settings) -> None:
    with TestClient(create_app(settings), client=("10.1.2.3", 1234)) as remote:
        r = remote.post(f"/patients/{PID}/registry/visits", data={"date": _ago(1), "count": "1"})
        assert r.status_code == 403 and "loopback" in r.text


def test_failed_course_ranks_the_option_down_when_assessed_again(
    client: TestClient, settings: Settings
) -> None:
    cid = _seed(settings)
    registry = open_registry(settings)
    try:
        before = next(o for o in registry_assessment(registry).therapies if o.id == "diltiazem")
        registry.add_visit(
            PID,
            VisitIn(
                date=dt.date.fromisoformat(_ago(30)),
                course=cid,
                measurements=(MeasurementIn(site="hand", count=3, pain_vas=6),),
            ),
            "test",
        )
        registry.stop_course(
            cid, CourseStop(stop=dt.date.fromisoformat(_ago(20)), reason="ineffective"), "test"
        )
    finally:
        registry.close()
    token = _token(client)
    r = client.post(f"/patients/{PID}/registry/assess", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    page = html.unescape(client.get(f"/patients/{PID}").text)
    order = re.findall(r'<li class="therapy [^"]*" id="therapy-([a-z0-9-]+)"', page)
    assert order.index("diltiazem") + 1 > before.rank
    item = page[page.index('id="therapy-diltiazem"') :]
    assert "Ranked down: an adequate course" in item[: item.index("</ol>")].split('<li class="therapy ')[0]
    assert "web-registry-assess" in page


def registry_assessment(registry: Any) -> Any:
    from calcinosis.registry.summary import next_assessment

    return next_assessment(registry, PID)


def test_course_and_event_forms_write_when_posted(client: TestClient, settings: Settings) -> None:
    _seed(settings)
    token = _token(client)
    r = client.post(
        f"/patients/{PID}/registry/courses",
        data={"csrf_token": token, "therapy": "colchicine", "subtype": "dystrophic", "start": _ago(60)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.post(
        f"/patients/{PID}/registry/adverse-events",
        data={
            "csrf_token": token,
            "course": "2",
            "date": _ago(30),
            "description": "diarrhoea",
            "severity": "mild",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.post(
        f"/patients/{PID}/registry/courses/2/stop",
        data={"csrf_token": token, "stop": _ago(29), "reason": "adverse-event"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = html.unescape(client.get(f"/patients/{PID}").text)
    row = page[page.index('id="registry-course-2"') :]
    row = row[: row.index("</tr>")]
    assert "diarrhoea (mild)" in row and "stopped: adverse-event" in row
    assert page.count('class="adverse-event"') == 1
    bad = client.post(
        f"/patients/{PID}/registry/courses",
        data={"csrf_token": token, "therapy": "snake-oil", "start": _ago(1)},
    )
    assert bad.status_code == 422 and "snake-oil" in html.unescape(bad.text)


def test_therapy_page_shows_local_figures_beside_an_unchanged_level(
    client: TestClient, settings: Settings
) -> None:
    def level(page: str) -> str:
        section = page[
            page.index('id="levels-title"') : page.index("</section>", page.index('id="levels-title"'))
        ]
        return re.sub(r"\s+", " ", section)

    empty = client.get("/evidence/therapies/diltiazem").text
    assert "No course of this therapy is recorded" in empty
    _seed(settings)
    page = client.get("/evidence/therapies/diltiazem").text
    assert level(page) == level(empty)
    local = html.unescape(page[page.index('id="local-evidence"') :])
    local = local[: local.index("</section>")]
    assert 'data-subtype="dystrophic"' in local and "small numbers" in local
    assert f"Fewer than {SMALL_NUMBERS} courses" in local


def test_demo_loads_timelines_once_when_started_with_demo(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, demo=True)
    for _ in range(2):
        with TestClient(create_app(settings), client=LOOPBACK) as c:
            assert "treatment timeline" in c.get("/").text
            page = c.get("/patients/lcssc-circumscripta-fingertips").text
            assert 'class="timeline-chart"' in page
            assert c.get("/patients/jdm-universalis-child").text.count('class="adverse-event"') == 1
    registry = open_registry(settings)
    try:
        assert len(registry.courses("lcssc-circumscripta-fingertips")) == 2  # loaded once, not twice
    finally:
        registry.close()
