"""The clinician pages in real Chromium against the real server (`calcinosis serve --demo`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from calcinosis.pack import load_pack_cached
from tests.web.conftest import ROOT, shot

pytestmark = pytest.mark.browser

FHIR_EXAMPLE = ROOT / "examples" / "fhir" / "calciphylaxis-dialysis-warfarin.json"


def small_bundle() -> dict[str, Any]:
    """A FHIR R4 collection Bundle written here: a patient with dermatomyositis and a calcium result."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": "2026-10-01T09:00:00Z",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "id": "p1",
                    "gender": "female",
                    "birthDate": "1980-05-02",
                }
            },
            {
                "resource": {
                    "resourceType": "Condition",
                    "id": "c1",
                    "subject": {"reference": "Patient/p1"},
                    "code": {"text": "Dermatomyositis"},
                }
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "id": "o1",
                    "status": "final",
                    "subject": {"reference": "Patient/p1"},
                    "code": {"coding": [{"system": "http://loinc.org", "code": "17861-6"}]},
                    "valueQuantity": {
                        "value": 9.4,
                        "unit": "mg/dL",
                        "system": "http://unitsofmeasure.org",
                        "code": "mg/dL",
                    },
                    "effectiveDateTime": "2026-09-28",
                }
            },
        ],
    }


def fill_case(page: Any) -> None:
    page.goto("/")
    page.get_by_label("Case label").fill("web-ssc-fingertips")
    page.get_by_label("Age (years)").fill("52")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Limited cutaneous systemic sclerosis").check()
    page.get_by_label("Calcium (total)", exact=True).fill("2.35")
    page.get_by_label("Calcium (total) unit").select_option("mmol/L")
    page.get_by_label("Phosphate", exact=True).fill("1.1")
    page.get_by_label("Phosphate unit").select_option("mmol/L")
    page.get_by_label("Site", exact=True).first.fill("fingertips")
    page.locator("#f-lesion0-count").fill("4")
    lesion = page.get_by_role("group", name="Features of lesion 1")
    lesion.get_by_label("Painful").check()
    lesion.get_by_label("Ulcerated").check()
    page.get_by_label("Medications").fill("diltiazem 120 mg daily\ncolchicine 0.5 mg")


def test_result_shows_subtype_workup_and_ranked_options_when_the_form_is_submitted(page: Any) -> None:
    fill_case(page)
    shot(page, "assess-filled")
    page.get_by_role("button", name="Assess", exact=True).click()
    page.wait_for_url("**/assess/form")
    assert page.get_by_role("heading", name="Likely subtype").is_visible()
    assert page.locator(".subtype-name").get_attribute("data-code") == "dystrophic"
    assert page.locator(".checklist > li").count() > 0
    assert page.locator("ol.therapies > li").count() > 5
    first = page.locator("ol.therapies > li").first
    assert first.locator(".stance").is_visible()
    assert first.locator(".level").is_visible()
    assert page.get_by_text("Decision support — review the basis.").first.is_visible()
    alert = page.locator("#alert-a8-diltiazem-colchicine")
    assert alert.is_visible() and "colchicine" in alert.inner_text().lower()
    shot(page, "result-form")


def test_basis_opens_with_sources_studies_and_conflicts_when_its_summary_is_clicked(page: Any) -> None:
    page.goto("/assess/demo/lcssc-circumscripta-fingertips")
    therapy = page.locator("#therapy-diltiazem")
    body = therapy.locator("details.basis .basis-body").last
    assert not body.is_visible()
    therapy.get_by_text("Basis: sources, studies and conflicts").click()
    assert body.is_visible()
    text = body.inner_text()
    assert "Studies recorded" in text and "Sources" in text
    assert "Vayssairat" in text or "1998" in text
    assert therapy.locator(".cite").first.is_visible()


def test_result_is_shown_when_a_fhir_bundle_is_uploaded(page: Any, tmp_path: Path) -> None:
    if FHIR_EXAMPLE.exists():
        path = FHIR_EXAMPLE
    else:
        path = tmp_path / "bundle.json"
        path.write_text(json.dumps(small_bundle()))
    page.goto("/")
    page.get_by_label("FHIR R4 Bundle or case JSON").set_input_files(str(path))
    page.get_by_role("button", name="Assess file").click()
    page.wait_for_url("**/assess/upload")
    assert page.get_by_role("heading", name="Likely subtype").is_visible()
    assert "uploaded file" in page.locator(".result-head .meta").inner_text()
    shot(page, "result-upload")


def test_small_bundle_written_in_the_test_is_assessed_when_uploaded(page: Any, tmp_path: Path) -> None:
    path = tmp_path / "small.json"
    path.write_text(json.dumps(small_bundle()))
    page.goto("/")
    page.get_by_label("FHIR R4 Bundle or case JSON").set_input_files(str(path))
    page.get_by_role("button", name="Assess file").click()
    facts = page.locator("#facts-title + ul").inner_text().lower()
    assert "dermatomyositis" in facts


def test_upload_error_is_shown_inline_when_the_file_is_not_json(page: Any, tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    page.goto("/")
    page.get_by_label("FHIR R4 Bundle or case JSON").set_input_files(str(path))
    page.get_by_role("button", name="Assess file").click()
    error = page.locator("#err-file")
    assert "not valid JSON" in error.inner_text()
    assert page.get_by_label("FHIR R4 Bundle or case JSON").get_attribute("aria-invalid") == "true"


def test_pdf_plan_names_the_knowledge_version_when_downloaded(page: Any) -> None:
    pack = load_pack_cached()
    page.goto("/assess/demo/calciphylaxis-dialysis-warfarin")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download PDF plan").click()
    download = info.value
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"%PDF")
    assert download.suggested_filename.endswith(".pdf")
    assert f"Knowledge pack {pack.meta.id} {pack.meta.version}".encode() in data


def test_inline_messages_are_shown_when_values_are_out_of_range(page: Any) -> None:
    page.goto("/")
    age = page.get_by_label("Age (years)")
    age.fill("200")
    assert page.evaluate("document.getElementById('f-age').validity.rangeOverflow") is True
    page.get_by_role("button", name="Assess", exact=True).click()
    assert page.url.endswith("/")  # the browser's own constraint stopped the submit
    page.evaluate("document.getElementById('case-form').noValidate = true")
    page.locator("#f-lesion0-count").fill("2.5")
    page.get_by_role("button", name="Assess", exact=True).click()
    page.wait_for_url("**/assess/form")
    assert page.locator("#err-age").inner_text() == "Age: enter a value from 0 to 130."
    assert "whole number" in page.locator("#err-lesion0-count").inner_text()
    assert page.get_by_label("Age (years)").get_attribute("aria-invalid") == "true"
    summary = page.locator("#error-summary")
    assert summary.is_visible()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.get_by_label("Age (years)").input_value() == "200"
    shot(page, "assess-errors")


def test_form_can_be_completed_and_submitted_when_using_only_the_keyboard(page: Any) -> None:
    page.goto("/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Enter the case"
    page.keyboard.press("Enter")  # the in-page link moves the focus start to the form
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.id")
    assert focused == "f-label", focused
    page.keyboard.type("keyboard-case")
    page.keyboard.press("Tab")
    page.keyboard.type("61")
    page.keyboard.press("Tab")
    page.keyboard.press("f")  # select "Female" by typing, as a keyboard user does
    assert page.get_by_label("Sex").input_value() == "female"
    focus_order: list[str] = []
    for _ in range(8):  # a date input takes one Tab per part (day, month, year)
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.id")
        if not focus_order or focus_order[-1] != focused:
            focus_order.append(focused)
        if focused.startswith("f-condition-"):
            break
    assert focus_order == ["f-pregnant", "f-as_of", "f-condition-systemic-sclerosis"]
    page.keyboard.press("Space")
    assert page.get_by_label("Systemic sclerosis (diffuse or unspecified)").is_checked()
    page.keyboard.press("Enter")  # Enter in a form submits it
    page.wait_for_url("**/assess/form")
    assert page.get_by_role("heading", name="Likely subtype").is_visible()
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.tagName") == "SUMMARY":
            break
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.parentElement.open") is True
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"


def test_pages_fit_a_phone_screen_when_the_viewport_is_narrow(browser: Any, live_url: str) -> None:
    context = browser.new_context(
        base_url=live_url, viewport={"width": 390, "height": 844}, device_scale_factor=2
    )
    page = context.new_page()
    try:
        for path, name in (
            ("/", "phone-assess"),
            ("/assess/demo/ssc-pregnant-inflamed-nodule", "phone-result"),
        ):
            page.goto(path)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
            shot(page, name, full_page=False)
        page.goto("/evidence/therapies/sodium-thiosulfate-intravenous")
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        shot(page, "phone-therapy", full_page=False)
    finally:
        context.close()


def test_print_layout_hides_navigation_and_shows_the_plan_when_printing(page: Any) -> None:
    page.goto("/assess/demo/ssc-pregnant-inflamed-nodule")
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    assert not page.locator(".toolbar").is_visible()
    assert page.locator(".print-only").is_visible()
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    closed = page.evaluate(
        "[...document.querySelectorAll('details:not([open])')].filter(d => !d.closest('.no-print')).length"
    )
    assert closed == 0
    shot(page, "print-result")


def test_evidence_pages_show_the_ladder_and_a_therapy_chart_when_browsed(page: Any) -> None:
    page.goto("/evidence")
    rows = page.locator("table.ladder tbody tr")
    assert rows.count() == len(load_pack_cached().therapies)
    shot(page, "evidence-ladder")
    page.get_by_role("link", name="Calciphylaxis (calcific uremic arteriolopathy)").click()
    assert page.locator("h1").inner_text().startswith("Evidence ladder: Calciphylaxis")
    assert 0 < page.locator("table.ladder tbody tr").count() < len(load_pack_cached().therapies)
    page.goto("/evidence")
    page.get_by_role("link", name="Diltiazem").click()
    assert page.locator("h1").inner_text() == "Diltiazem"
    chart = page.locator("svg.evidence-chart")
    assert chart.is_visible()
    assert chart.locator("circle").count() == page.locator("table.studies-table tbody tr").count()
    assert page.get_by_role("heading", name="Cautions").is_visible()
    shot(page, "therapy-diltiazem")


def test_about_page_states_what_the_tool_is_not_and_the_knowledge_version_when_opened(page: Any) -> None:
    pack = load_pack_cached()
    page.goto("/about")
    assert page.get_by_role("heading", name="What it is not").is_visible()
    assert pack.content_hash in page.locator("main").inner_text()
    shot(page, "about")


@pytest.mark.parametrize("case_id", ["ssc-pregnant-inflamed-nodule", "calciphylaxis-dialysis-warfarin"])
def test_demo_patient_result_is_shown_when_picked_from_the_assess_page(page: Any, case_id: str) -> None:
    page.goto("/")
    shot(page, "assess")
    page.locator(f'a[href="/assess/demo/{case_id}"]').click()
    page.wait_for_url(f"**/assess/demo/{case_id}")
    assert page.locator(".case-id").inner_text() == case_id
    assert page.locator(".alert").count() >= 1
    shot(page, f"result-demo-{case_id}")


CONTRAST_JS = """
() => {
  const parse = (c) => { const m = c.match(/[\\d.]+/g).map(Number); return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; };
  const lum = ({r, g, b}) => [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((acc, v, i) => acc + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c.a > 0.5) return c;
    }
    return {r: 255, g: 255, b: 255, a: 1};
  };
  const bad = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.closest("svg") || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || el.closest(".visually-hidden")) continue;
    const fg = parse(style.color), bg = background(el);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < 4.5) bad.push(`${el.tagName}.${el.className}: ${ratio.toFixed(2)} "${el.textContent.trim().slice(0, 30)}"`);
  }
  return bad;
}
"""


@pytest.mark.parametrize(
    "path", ["/", "/assess/demo/calciphylaxis-dialysis-warfarin", "/evidence/therapies/diltiazem"]
)
def test_text_contrast_meets_wcag_aa_when_pages_are_rendered(page: Any, path: str) -> None:
    page.goto(path)
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    assert page.evaluate(CONTRAST_JS) == []
