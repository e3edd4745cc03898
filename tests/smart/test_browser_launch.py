"""The whole EHR launch in real Chromium: from a CDS card's smart link, through the EHR double's authorize
step, to the live result page; refresh, sign out, a refused launch; and no token anywhere a browser or a log
could show it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.smart.conftest import PATIENT, Pair
from tests.smart.test_card_links import patient_view, smart_link
from tests.web.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from pathlib import Path

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make system-deps` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Seen:
    """Everything the browser saw: every request URL, every redirect target, every document it rendered."""

    def __init__(self, page: Any) -> None:
        self.urls: list[str] = []
        self.locations: list[str] = []
        self.documents: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda r: self.urls.append(r.url))
        page.on("response", self._response)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _response(self, response: Any) -> None:
        location = response.headers.get("location")
        if location:
            self.locations.append(location)

    def keep(self, page: Any) -> None:
        self.documents.append(page.content())


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def test_a_card_link_launches_the_app_in_chromium_and_no_token_is_ever_exposed(
    public: Pair, chromium: Any
) -> None:
    pair = public
    pair.ehr.reset()
    cards = patient_view(pair.app.url, PATIENT)
    card = next(c for c in cards["cards"] if "org.calcinosis-cds.grade" in (c.get("extension") or {}))
    link = smart_link(card)
    therapy = json.loads(link["appContext"])["therapy"]

    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    seen = Seen(page)

    # The EHR opens the card's smart link: launch -> authorize -> callback -> the live result page
    page.goto(pair.ehr.launch_url(PATIENT, app_context=link["appContext"], app=link["url"]))
    page.wait_for_url(f"{pair.app.url}/smart/record/**")
    assert page.url.endswith(f"#therapy-{therapy}")
    target = page.locator(f"#therapy-{therapy}")
    box = target.bounding_box()
    assert box is not None and -5 <= box["y"] < 900, box  # opened at the card's therapy (scrolled to it)
    assert page.locator(".case-id").inner_text() == PATIENT
    panel = page.get_by_role("region", name="Read from the EHR")
    assert panel.is_visible()
    assert panel.locator('tr[data-type="Condition"] td.count').inner_text() == "3"
    seen.keep(page)
    shot(page, "smart-launch-result")
    record = page.url.split("#")[0]

    # Nothing the page's scripts could read holds a token or the session id
    assert page.evaluate("document.cookie") == ""
    assert page.evaluate("window.localStorage.length + window.sessionStorage.length") == 0
    cookies = context.cookies()
    (session,) = [c for c in cookies if c["name"] == "calcinosis_smart"]
    assert session["httpOnly"] and session["sameSite"] == "Lax" and session["expires"] > 0

    # Refresh from the EHR reads the record again
    audited = pair.db("SELECT COUNT(*) FROM audit WHERE service = 'smart-launch'")[0][0]
    page.get_by_role("button", name="Refresh from EHR").click()
    page.wait_for_load_state()
    assert page.url == record
    assert pair.db("SELECT COUNT(*) FROM audit WHERE service = 'smart-launch'")[0][0] == audited + 1
    seen.keep(page)

    # Sign out ends the session; the record page then says so, with a way back
    page.get_by_role("button", name="Sign out of the EHR session").click()
    page.wait_for_url(f"{pair.app.url}/smart/logout")
    assert "were discarded" in page.locator("#signed-out").inner_text()
    seen.keep(page)
    page.goto(record)
    assert "has ended" in page.locator("h1").inner_text()
    assert page.get_by_role("link", name="Go to the assess page").is_visible()
    seen.keep(page)
    shot(page, "smart-session-ended")

    # A launch from an EHR that is not on the allow-list: a readable page, never a blank or a traceback
    page.goto(f"{pair.app.url}/launch?iss=https%3A%2F%2Fevil.example%2Ffhir&launch=x")
    assert "not on the list of EHRs" in page.locator("#smart-error").inner_text()
    seen.keep(page)
    shot(page, "smart-launch-refused")
    context.close()

    tokens = pair.ehr.issued()
    assert len(tokens) >= 3  # access, refresh and id tokens
    log = pair.app.log()
    store = pair.app.db_path.read_bytes()
    wal = pair.app.db_path.with_name(pair.app.db_path.name + "-wal")
    store += wal.read_bytes() if wal.exists() else b""
    assert seen.urls and seen.locations and len(seen.documents) == 5
    for token in tokens:
        for url in [*seen.urls, *seen.locations]:
            assert token not in url
        for document in seen.documents:
            assert token not in document
        assert token not in log
        assert token.encode() not in store
    assert seen.errors == []
