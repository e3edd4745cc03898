"""SMART App Launch against the EHR double, step by step over HTTP (every redirect followed by hand)."""

from __future__ import annotations

import html
import json
import time

import httpx
import orjson

from calcinosis.fhir.facts import READERS, REFERENCED_ONLY
from calcinosis.smart.context import app_context_value
from tests.smart.conftest import OTHER, PATIENT, Browser, Pair, example_count, query, read_rows


def launch(pair: Pair, browser: Browser, patient: str = PATIENT, **kw: str) -> httpx.Response:
    return browser.go(pair.ehr.launch_url(patient, app_context=kw.get("app_context")))


def fhir_requests(pair: Pair) -> list[dict[str, object]]:
    return [
        e
        for e in pair.ehr.log()
        if str(e["path"]).startswith("/fhir/") and "well-known" not in str(e["path"])
    ]


def test_ehr_launch_reads_the_patients_record_and_shows_the_result(pair: Pair, browser: Browser) -> None:
    page = launch(pair, browser)
    assert page.status_code == 200, page.text[:500]
    assert browser.hops[-1].url.startswith(f"{pair.app.url}/smart/record/")
    rows = read_rows(page.text)
    for rtype in ("Condition", "Observation", "MedicationStatement", "Procedure"):
        assert rows[rtype][0] == str(example_count(PATIENT, rtype)), (rtype, rows[rtype])
        assert rows[rtype][2] == "read"
    assert rows["Patient"][0] == "1"
    assert rows["Condition"][1] == "2014-03-01 to 2026-10-15"  # earliest and latest clinical dates
    assert 'data-code="dystrophic"' in page.text  # the same engine as every other path
    assert f'<span class="case-id">{PATIENT}</span>' in page.text
    assert "Refresh from EHR" in page.text


def test_search_results_are_read_page_by_page(pair: Pair, browser: Browser) -> None:
    launch(pair, browser)
    observations = [e for e in fhir_requests(pair) if e["path"] == "/fhir/Observation"]
    pages = -(-example_count(PATIENT, "Observation") // 2)  # the double serves two per page
    assert len(observations) == pages >= 3
    assert [e["query"].get("_offset") for e in observations] == [None, *[str(2 * i) for i in range(1, pages)]]  # type: ignore[union-attr]


def test_the_authorization_request_follows_smart_with_pkce_s256_and_reader_derived_scopes(
    pair: Pair, browser: Browser
) -> None:
    launch(pair, browser)
    authorize = next(e for e in pair.ehr.log() if e["path"] == "/auth/authorize")["query"]
    assert isinstance(authorize, dict)
    assert authorize["response_type"] == "code"
    assert authorize["code_challenge_method"] == "S256" and len(authorize["code_challenge"]) == 43
    assert authorize["aud"] == pair.ehr.fhir
    assert len(authorize["state"]) >= 22  # at least 122 bits of entropy
    assert authorize["launch"]
    scopes = authorize["scope"].split()
    assert {"launch", "openid", "fhirUser"} <= set(scopes)
    wanted = {f"patient/{t}.rs" for t in ("Patient", *READERS, *REFERENCED_ONLY)}
    assert {s for s in scopes if s.startswith("patient/")} == wanted
    token = next(e for e in pair.ehr.log() if e["path"] == "/auth/token")
    assert token["form_keys"] == ["client_id", "code", "code_verifier", "grant_type", "redirect_uri"]


def test_every_read_stays_in_the_patients_compartment(pair: Pair, browser: Browser) -> None:
    launch(pair, browser)
    reads = fhir_requests(pair)
    assert reads
    for e in reads:
        assert isinstance(e["query"], dict)
        assert e["path"] == f"/fhir/Patient/{PATIENT}" or e["query"]["patient"] == PATIENT, e
        assert str(e["authorization"]).startswith("Bearer ")


def test_the_audit_records_who_launched_which_patient_and_what_was_read(pair: Pair, browser: Browser) -> None:
    launch(pair, browser)
    iss, who, status, output = pair.db(
        "SELECT caller_iss, caller_client, status, output FROM audit WHERE service = 'smart-launch' "
        "ORDER BY id DESC LIMIT 1"
    )[0]
    assert iss == pair.ehr.fhir
    assert who == f"{pair.ehr.fhir}/Practitioner/dr-smart"  # fhirUser from the verified id_token
    assert status == "complete"
    out = json.loads(output)
    assert out["assessment"]["patient_id"] == PATIENT
    smart = out["smart"]
    assert smart["patient"] == PATIENT and smart["fhirUser"] == who
    assert {t["type"]: t["count"] for t in smart["read"]["types"]}["Observation"] == example_count(
        PATIENT, "Observation"
    )
    assert f"Patient/{PATIENT}" in smart["resources"]
    assert len(smart["resources"]) == sum(
        example_count(PATIENT, t)
        for t in ("Patient", "Condition", "Observation", "MedicationStatement", "Procedure")
    )
    # the patient page (the page CDS Hooks cards link to) now shows this assessment too
    page = httpx.get(f"{pair.app.url}/patients/{PATIENT}", trust_env=False)
    assert page.status_code == 200 and "the latest assessment recorded" in page.text


def test_standalone_launch_asks_the_ehr_to_pick_the_patient(pair: Pair, browser: Browser) -> None:
    pair.ehr.control(standalone_patient=OTHER)
    page = browser.go(f"{pair.app.url}/launch/standalone?iss={pair.ehr.fhir}")
    assert page.status_code == 200, page.text[:400]
    authorize = next(e for e in pair.ehr.log() if e["path"] == "/auth/authorize")["query"]
    assert isinstance(authorize, dict)
    assert "launch" not in authorize and "launch/patient" in authorize["scope"].split()
    assert f'<span class="case-id">{OTHER}</span>' in page.text
    assert read_rows(page.text)["MedicationRequest"][0] == str(example_count(OTHER, "MedicationRequest"))
    assert "Also read: 1 referenced Medication resource." in page.text  # _include, for the reader


def test_standalone_launch_lists_the_ehrs_when_several_are_allowed(pair: Pair, browser: Browser) -> None:
    page = browser.go(f"{pair.app.url}/launch/standalone")
    assert page.status_code == 200
    assert pair.ehr.fhir in page.text and "https://ehr.example.test/fhir" in page.text


def test_an_iss_not_on_the_allow_list_is_refused_and_never_fetched(pair: Pair, browser: Browser) -> None:
    for iss in (f"{pair.ehr.base}/other/fhir", "http://169.254.169.254/fhir"):
        page = browser.go(f"{pair.app.url}/launch?{httpx.QueryParams({'iss': iss, 'launch': 'x'})}")
        assert page.status_code == 403
        assert "not on the list of EHRs" in page.text and "Go to the assess page" in page.text
    assert pair.ehr.log() == []  # nothing was requested from the double's unlisted base
    missing = browser.go(f"{pair.app.url}/launch?launch=x")
    assert missing.status_code == 400 and "no `iss` parameter" in missing.text
    no_launch = browser.go(f"{pair.app.url}/launch?iss={pair.ehr.fhir}")
    assert no_launch.status_code == 400 and "no `launch` parameter" in no_launch.text


def test_a_wrong_state_is_refused_and_no_token_is_asked_for(pair: Pair, browser: Browser) -> None:
    to_app = browser.go(pair.ehr.launch_url(PATIENT), stop_at="/smart/callback")
    callback = str(to_app.headers["location"])
    params = query(callback)
    forged = callback.replace(params["state"], params["state"][::-1])
    page = browser.go(forged)
    assert page.status_code == 400
    assert "does not match a launch started in this browser" in page.text
    assert not [e for e in pair.ehr.log() if e["path"] == "/auth/token"]
    # the right state from another browser (no session cookie) is refused too
    other = Browser()
    try:
        assert other.go(callback).status_code == 400
    finally:
        other.close()
    # and the right state in this browser works once, then not again
    assert browser.go(callback).status_code == 200
    again = browser.go(callback)
    assert again.status_code == 400 and "already used" in again.text


def test_the_ehr_enforces_pkce_and_single_use_codes(pair: Pair, browser: Browser) -> None:
    to_app = browser.go(pair.ehr.launch_url(PATIENT), stop_at="/smart/callback")
    code = query(str(to_app.headers["location"]))["code"]
    token_url = f"{pair.ehr.base}/auth/token"
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": f"{pair.app.url}/smart/callback",
        "client_id": "calcinosis-cds",
    }
    missing = httpx.post(token_url, data=form, trust_env=False)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    assert "code_verifier" in missing.json()["error_description"]
    # the code was spent by that attempt: even the app's own verifier cannot use it now
    page = browser.go(str(to_app.headers["location"]))
    assert page.status_code == 502
    assert "The EHR refused to issue a token: invalid_grant" in page.text
    assert "Try the launch again" not in page.text  # an EHR launch is retried from the EHR


def test_an_ehr_without_pkce_s256_is_not_used(pair: Pair, browser: Browser) -> None:
    pair.ehr.control(pkce_methods=["plain"])
    page = launch(pair, browser)
    assert page.status_code == 502 and "PKCE with S256" in page.text
    assert not [e for e in pair.ehr.log() if e["path"] == "/auth/authorize"]


def test_a_token_for_another_patient_than_the_card_is_refused_before_reading(
    pair: Pair, browser: Browser
) -> None:
    pair.ehr.control(token_patient=OTHER)
    context = app_context_value(PATIENT, therapy="minocycline")
    audited = pair.db("SELECT COUNT(*) FROM audit")
    page = launch(pair, browser, app_context=context)
    assert page.status_code == 409
    assert "different patient than the one the card was about" in page.text
    assert fhir_requests(pair) == []
    assert pair.db("SELECT COUNT(*) FROM audit") == audited  # nothing recorded


def test_resources_of_another_patient_are_left_out(pair: Pair, browser: Browser) -> None:
    pair.ehr.control(leak_types=["Condition"])
    page = launch(pair, browser)
    assert page.status_code == 200
    assert read_rows(page.text)["Condition"][0] == str(example_count(PATIENT, "Condition"))
    assert "1 resource was returned that did not belong to this patient" in page.text


def test_a_scope_the_ehr_refuses_is_reported_and_not_read(pair: Pair, browser: Browser) -> None:
    pair.ehr.control(refuse_scopes=["patient/Procedure.rs"])
    page = launch(pair, browser)
    assert page.status_code == 200
    count, _, status = read_rows(page.text)["Procedure"]
    assert count == "–"
    assert status == "not read: the EHR did not grant the scope patient/Procedure.rs"
    assert not [e for e in fhir_requests(pair) if e["path"] == "/fhir/Procedure"]
    assert "Part of the record could not be read (Procedure)" in page.text


def test_a_403_is_reported_for_its_type_only(pair: Pair, browser: Browser) -> None:
    pair.ehr.control(forbid_types=["AllergyIntolerance"])
    page = launch(pair, browser)
    rows = read_rows(page.text)
    assert rows["AllergyIntolerance"][2] == "not read: the EHR refused the request (HTTP 403)"
    assert rows["Condition"][2] == "read"


def test_a_fhir_server_that_times_out_is_reported_and_the_rest_still_assessed(
    pair: Pair, browser: Browser
) -> None:
    pair.ehr.control(slow_types={"Observation": 4.0})
    started = time.monotonic()
    page = launch(pair, browser)
    assert time.monotonic() - started < 4.0  # the app's 1.5 s timeout, not the server's delay
    assert page.status_code == 200
    rows = read_rows(page.text)
    assert rows["Observation"][2] == "not read: the EHR did not answer within 1.5 s"
    assert rows["Condition"][2] == "read"
    assert "Part of the record could not be read (Observation)" in page.text
    status = pair.db("SELECT status FROM audit WHERE service = 'smart-launch' ORDER BY id DESC LIMIT 1")
    assert status == [("degraded",)]


def test_a_record_the_reader_cannot_use_gets_a_readable_page(pair: Pair, browser: Browser) -> None:
    pair.ehr.control(patient_birth_date="05/09/1972")
    audited = pair.db("SELECT COUNT(*) FROM audit")
    page = launch(pair, browser)
    assert page.status_code == 422
    assert "could not be assessed" in page.text and "birthDate" in page.text
    assert "Go to the assess page" in page.text
    assert pair.db("SELECT COUNT(*) FROM audit") == audited


def test_refresh_reads_the_record_again(pair: Pair, browser: Browser) -> None:
    page = launch(pair, browser)
    record = browser.hops[-1].url
    before = len(pair.db("SELECT id FROM audit WHERE service = 'smart-launch'"))
    pair.ehr.control(forbid_types=["Procedure"])
    again = browser.go(f"{record}/refresh", method="POST")
    assert again.status_code == 200 and browser.hops[-1].url == record
    assert read_rows(again.text)["Procedure"][2].startswith("not read")
    assert read_rows(page.text)["Procedure"][2] == "read"
    assert len(pair.db("SELECT id FROM audit WHERE service = 'smart-launch'")) == before + 1


def test_an_expired_token_is_renewed_with_the_refresh_token(pair: Pair, browser: Browser) -> None:
    pair.ehr.control(token_lifetime_s=9)
    launch(pair, browser)
    record = browser.hops[-1].url
    time.sleep(4.5)  # now within the app's 5 s leeway of the expiry: renewed before reading
    page = browser.go(f"{record}/refresh", method="POST")
    assert page.status_code == 200
    grants = [e["grant_type"] for e in pair.ehr.log() if e["path"] == "/auth/token"]
    assert grants == ["authorization_code", "refresh_token"]


def test_an_expired_token_without_refresh_asks_for_a_new_launch(pair: Pair, browser: Browser) -> None:
    pair.ehr.control(token_lifetime_s=9, grant_refresh=False)
    launch(pair, browser)
    record = browser.hops[-1].url
    time.sleep(4.5)
    reads_before = len(fhir_requests(pair))
    page = browser.go(f"{record}/refresh", method="POST")
    assert page.status_code == 401
    assert "Your access to the EHR record has expired" in page.text
    assert len(fhir_requests(pair)) == reads_before  # an expired token is not sent
    assert browser.go(record).status_code == 401  # that launch is gone


def test_a_token_the_ehr_no_longer_accepts_ends_the_launch(pair: Pair, browser: Browser) -> None:
    launch(pair, browser)
    record = browser.hops[-1].url
    pair.ehr.expire_tokens()  # expired at the server while the app still thinks it valid
    page = browser.go(f"{record}/refresh", method="POST")
    assert page.status_code == 401
    assert "no longer accepts this app's access token" in html.unescape(page.text)


def test_the_session_cookie_is_httponly_lax_and_expiring_and_logout_ends_it(
    pair: Pair, browser: Browser
) -> None:
    response = browser.go(pair.ehr.launch_url(PATIENT), stop_at="/auth/authorize")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("calcinosis_smart=")
    attrs = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "samesite", "max-age", "path"} <= attrs
    assert "samesite=lax" in cookie.lower() and "max-age=3600" in cookie.lower()
    assert "secure" not in attrs  # plain http on loopback; see test_the_cookie_is_secure_over_https
    page = browser.go(str(response.headers["location"]))
    assert page.status_code == 200
    record = browser.hops[-1].url
    out = browser.go(f"{pair.app.url}/smart/logout", method="POST")
    assert out.status_code == 200 and "access tokens and the records read in it were discarded" in out.text
    assert browser.http.cookies.get("calcinosis_smart") is None
    ended = browser.go(record)
    assert ended.status_code == 401 and "Launch the app again" in ended.text


def test_a_record_page_needs_the_session_that_launched_it(pair: Pair, browser: Browser) -> None:
    launch(pair, browser)
    record = browser.hops[-1].url
    stranger = httpx.get(record, trust_env=False)
    assert stranger.status_code == 401
    assert PATIENT not in stranger.text


def test_two_launches_in_one_browser_keep_their_own_patients(pair: Pair, browser: Browser) -> None:
    first = launch(pair, browser, PATIENT)
    first_url = browser.hops[-1].url
    second = launch(pair, browser, OTHER)
    assert f'<span class="case-id">{PATIENT}</span>' in first.text
    assert f'<span class="case-id">{OTHER}</span>' in second.text
    assert f'<span class="case-id">{PATIENT}</span>' in browser.go(first_url).text


def test_the_confidential_client_authenticates_with_a_private_key_jwt(
    confidential: Pair, browser: Browser
) -> None:
    confidential.ehr.reset()
    jwks = httpx.get(f"{confidential.app.url}/.well-known/jwks.json", trust_env=False)
    assert jwks.status_code == 200 and "max-age" in jwks.headers["cache-control"]
    (key,) = jwks.json()["keys"]
    assert (
        key["kid"] == "calcinosis-es384"
        and key["alg"] == "ES384"
        and key["crv"] == "P-384"
        and "d" not in key
    )
    page = browser.go(confidential.ehr.launch_url(PATIENT))
    assert page.status_code == 200, page.text[:400]
    token = next(e for e in confidential.ehr.log() if e["path"] == "/auth/token")
    assert token["form_keys"] == [
        "client_assertion",
        "client_assertion_type",
        "code",
        "code_verifier",
        "grant_type",
        "redirect_uri",
    ]


def test_a_public_client_serves_no_jwks(pair: Pair) -> None:
    response = httpx.get(f"{pair.app.url}/.well-known/jwks.json", trust_env=False)
    assert response.status_code == 404
    assert orjson.loads(response.content)["resourceType"] == "OperationOutcome"
