"""The treatment registry in real Chromium against the real server (`calcinosis serve --demo`): entering a
visit, the timeline chart, printing it, and the ranking change after a failed course."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from tests.web.conftest import ROOT, shot

pytestmark = pytest.mark.browser

FINGERTIPS = "lcssc-circumscripta-fingertips"


def _ago(days: int) -> str:
    return (dt.date.today() - dt.timedelta(days=days)).isoformat()


def _points(page: Any, field: str) -> int:
    return int(page.locator(f'svg.timeline-chart g.panel[data-field="{field}"] circle').count())


def test_timeline_draws_visits_courses_and_adverse_events_when_a_demo_patient_is_opened(page: Any) -> None:
    page.goto("/")
    page.get_by_role("link", name="treatment timeline").first.click()
    page.wait_for_url(re.compile(r"/patients/"))
    chart = page.locator("svg.timeline-chart")
    assert chart.get_attribute("role") == "img"
    assert "visit date" in (page.locator("svg.timeline-chart desc").text_content() or "")
    rows = page.locator("#registry-courses tbody tr")
    assert page.locator("svg.timeline-chart g.course").count() == rows.count() >= 1
    visits = page.locator("#registry-visits tbody tr").count()
    assert _points(page, "count") + _points(page, "pain_vas") >= visits  # every visit measured is drawn
    page.goto("/patients/jdm-universalis-child")
    marker = page.locator("svg.timeline-chart path.adverse-event")
    assert marker.count() == 1
    assert "Adverse event" in (marker.locator("title").text_content() or "")
    shot(page, "registry-timeline-jdm")


def test_a_visit_entered_in_the_form_appears_in_the_table_and_the_chart(page: Any) -> None:
    page.goto(f"/patients/{FINGERTIPS}")
    before = _points(page, "count")
    rows = page.locator("#registry-visits tbody tr").count()
    form = page.locator("#visit-form")
    form.get_by_label("Visit date").fill(_ago(2))
    form.get_by_label("Site (lesion or region)").fill("right fingertips")
    form.get_by_label("Follows course").select_option(index=2)
    form.get_by_label("Lesion count").fill("4")
    form.get_by_label("Largest size (mm)").fill("8.5")
    form.get_by_label("Pain (VAS 0–10)").fill("2")
    form.get_by_label("Ulceration").select_option("no")
    form.get_by_role("button", name="Save visit").click()
    page.wait_for_url(re.compile(r"#timeline$"))
    assert page.locator("#registry-visits tbody tr").count() == rows + 1
    assert _points(page, "count") == before + 1
    last = page.locator("#registry-visits tbody tr").last
    assert _ago(2) in last.inner_text() and "8.5" in last.inner_text()
    # the same date and site again: refused, with the reason at the form, nothing added
    form = page.locator("#visit-form")
    form.get_by_label("Visit date").fill(_ago(2))
    form.get_by_label("Site (lesion or region)").fill("Right Fingertips")
    form.get_by_label("Lesion count").fill("9")
    form.get_by_role("button", name="Save visit").click()
    assert "already recorded" in page.locator("#error-visit").inner_text()
    assert page.locator("#registry-visits tbody tr").count() == rows + 1
    shot(page, "registry-visit-added")


def test_timeline_prints_without_the_forms_when_printing(page: Any) -> None:
    page.goto(f"/patients/{FINGERTIPS}")
    page.emulate_media(media="print")
    assert page.locator("svg.timeline-chart").is_visible()
    assert page.locator("#registry-courses").is_visible()
    assert not page.locator("#visit-form").is_visible() and not page.locator("#course-form").is_visible()
    shot(page, "registry-print")


def test_a_failed_course_ranks_its_option_down_when_assessed_again(page: Any) -> None:
    pid = "lupus-panniculitis-dystrophic"
    page.goto(f"/assess/demo/{pid}")  # recorded in the audit: the patient page shows it
    page.goto(f"/patients/{pid}")
    options = page.locator("li.therapy")
    first = options.first.get_attribute("id")
    assert first is not None
    therapy = first.removeprefix("therapy-")
    rank_before = int((options.first.locator(".rank").text_content() or "0").rstrip("."))
    page.locator("#facts-form").get_by_label("Case JSON or FHIR R4 file").set_input_files(
        str(ROOT / "examples" / "cases" / f"{pid}.json")
    )
    page.get_by_role("button", name="Store facts").click()
    course = page.locator("#course-form")
    course.get_by_label("Therapy").select_option(therapy)
    course.get_by_label("Start date").fill(_ago(420))
    course.get_by_role("button", name="Start course").click()
    for days, follows in ((420, False), (30, True)):
        form = page.locator("#visit-form")
        form.get_by_label("Visit date").fill(_ago(days))
        form.get_by_label("Site (lesion or region)").fill("thigh")
        if follows:
            form.get_by_label("Follows course").select_option(index=1)
        form.get_by_label("Lesion count").fill("3")
        form.get_by_label("Pain (VAS 0–10)").fill("6")
        form.get_by_role("button", name="Save visit").click()
    row = page.locator("#registry-courses tbody tr").first
    row.get_by_label("Stop date").fill(_ago(20))
    row.get_by_label("Reason").select_option("ineffective")
    row.get_by_role("button", name=re.compile("Stop course")).click()
    assert "none" in page.locator("#registry-courses .response").first.inner_text()
    page.get_by_role("button", name="Assess again with this history").click()
    page.wait_for_url(re.compile(r"#therapy-title$"))
    item = page.locator(f"#therapy-{therapy}")
    rank_after = int((item.locator(".rank").text_content() or "0").rstrip("."))
    assert rank_after > rank_before
    assert "Ranked down: an adequate course" in item.inner_text()
    assert "web-registry-assess" in page.locator(".result-head .meta").inner_text()
    shot(page, "registry-ranked-down")
