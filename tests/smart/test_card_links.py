"""CDS Hooks cards carry a ``smart`` link; the EHR launches it with the card's ``appContext``; the app opens on
the card's patient at the card's subject."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from calcinosis.cdshooks.conformance import check_response
from tests.servicekit.ehr import EXAMPLES, EhrState, belongs, load_examples
from tests.smart.conftest import OTHER, PATIENT, Browser, Pair

PV = "calcinosis-patient-view"


def example_resources(patient: str) -> list[dict[str, Any]]:
    """The patient's resources as the EHR double serves them (ids and references made unique)."""
    state = EhrState("http://ehr.invalid", "http://app.invalid/launch", {})
    load_examples(state, sorted(EXAMPLES.glob("*.json")))
    return [r for (t, _), r in state.resources.items() if belongs(r, patient) or t == "Medication"]


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def patient_view(app_url: str, patient: str) -> dict[str, Any]:
    """The cards the app's patient-view service returns for an example patient (data sent as prefetch)."""
    rs = example_resources(patient)

    def of(t: str) -> list[dict[str, Any]]:
        return [r for r in rs if r["resourceType"] == t]

    observations = of("Observation")
    body = {
        "hook": "patient-view",
        "hookInstance": "5f0b1c2e-1d6c-4d55-9a7b-3b7e2f1a9c10",
        "context": {"userId": "Practitioner/dr-smart", "patientId": patient},
        "prefetch": {
            "patient": of("Patient")[0],
            "conditions": searchset(of("Condition")),
            "labs": searchset([o for o in observations if "valueQuantity" in o]),
            "medications": searchset([*of("MedicationRequest"), *of("Medication")]),
            "findings": searchset([o for o in observations if "valueQuantity" not in o]),
            "procedures": searchset(of("Procedure")),
        },
    }
    response = httpx.post(f"{app_url}/cds-services/{PV}", json=body, trust_env=False, timeout=30)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def smart_link(card: dict[str, Any]) -> dict[str, Any]:
    (link,) = [link for link in card["links"] if link["type"] == "smart"]
    return link  # type: ignore[no-any-return]


def test_every_card_carries_a_smart_link_naming_its_patient_and_subject(pair: Pair) -> None:
    cards = patient_view(pair.app.url, PATIENT)
    assert [v for v in check_response(cards) if v.level == "error"] == []
    therapy_cards = [c for c in cards["cards"] if "org.calcinosis-cds.grade" in (c.get("extension") or {})]
    assert therapy_cards
    for card in cards["cards"]:
        link = smart_link(card)
        assert link["url"] == f"{pair.app.url}/launch"
        context = json.loads(link["appContext"])
        assert context["patient"] == PATIENT
    for card in therapy_cards:
        therapy = card["extension"]["org.calcinosis-cds.grade"]["therapy"]
        assert json.loads(smart_link(card)["appContext"]) == {"patient": PATIENT, "therapy": therapy}


def test_a_cards_smart_link_opens_the_app_on_its_patient_at_its_therapy(pair: Pair, browser: Browser) -> None:
    cards = patient_view(pair.app.url, PATIENT)
    card = next(c for c in cards["cards"] if "org.calcinosis-cds.grade" in (c.get("extension") or {}))
    link = smart_link(card)
    therapy = card["extension"]["org.calcinosis-cds.grade"]["therapy"]
    page = browser.go(pair.ehr.launch_url(PATIENT, app_context=link["appContext"], app=link["url"]))
    assert page.status_code == 200
    location = next(h.location for h in browser.hops if h.location and "/smart/record/" in h.location)
    assert location.endswith(f"#therapy-{therapy}")
    assert f'id="therapy-{therapy}"' in page.text
    assert f'<span class="case-id">{PATIENT}</span>' in page.text


def test_an_alert_cards_link_opens_the_app_at_the_alert(pair: Pair, browser: Browser) -> None:
    cards = patient_view(pair.app.url, OTHER)
    alert_cards = [c for c in cards["cards"] if "alert" in json.loads(smart_link(c)["appContext"])]
    assert alert_cards, [c["summary"] for c in cards["cards"]]
    alert = json.loads(smart_link(alert_cards[0])["appContext"])["alert"]
    page = browser.go(pair.ehr.launch_url(OTHER, app_context=smart_link(alert_cards[0])["appContext"]))
    assert page.status_code == 200
    assert browser.hops[-2].location is not None and browser.hops[-2].location.endswith(f"#alert-{alert}")
    assert re.search(rf'<div class="alert alert-\w+" id="alert-{alert}">', page.text)
