"""order-select and order-sign: a draft medication that conflicts with the assessment gets a card.

The conflicts come from the pack through the engine (the patient assessed with the draft added), so each
case here names the clinical situation of the issue text and checks the card's shape, not its wording.
"""

from __future__ import annotations

from typing import Any

import pytest

from calcinosis.cdshooks.conformance import check_response
from tests.cdshooks.conftest import SELECT, SIGN, call, hook_request
from tests.servicekit import fhirdata as F
from tests.servicekit.server import LiveServer


def _order(
    server: LiveServer, service: str, resources: list[dict[str, Any]], pid: str, *drugs: str
) -> dict[str, Any]:
    hook = "order-sign" if service == SIGN else "order-select"
    extra = {
        "context": {
            "userId": "Practitioner/dr-1",
            "patientId": pid,
            "draftOrders": F.draft_orders(pid, *drugs),
        }
    }
    if hook == "order-select":
        extra["context"]["selections"] = ["MedicationRequest/draft-0"]
    r = call(server.url, service, hook_request(hook, resources, pid=pid, **extra))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert check_response(body) == []
    return body


def _pregnant_ssc() -> list[dict[str, Any]]:
    return F.ssc_calcinosis(
        "pt-preg", birth="1994-02-02", extra=[F.condition("pt-preg", "c-preg", "Pregnancy")]
    )


def _on_colchicine() -> list[dict[str, Any]]:
    return F.ssc_calcinosis("pt-col", extra=[F.medication("pt-col", "m-col", "Colchicine 0.5 mg")])


CONFLICTS = [
    (
        "warfarin with suspected calciphylaxis",
        F.calciphylaxis_on_dialysis,
        "pt-calciphylaxis",
        "Warfarin 1 mg",
        "critical",
    ),
    (
        "calcium with suspected calciphylaxis",
        F.calciphylaxis_on_dialysis,
        "pt-calciphylaxis",
        "Calcium carbonate 500 mg",
        None,
    ),
    (
        "calcitriol with suspected calciphylaxis",
        F.calciphylaxis_on_dialysis,
        "pt-calciphylaxis",
        "Calcitriol 0.25 mcg",
        None,
    ),
    ("aluminium in renal failure", F.ckd_calcinosis, "pt-ckd", "Aluminium hydroxide 500 mg", None),
    ("diltiazem with colchicine", _on_colchicine, "pt-col", "Diltiazem 60 mg", None),
    ("minocycline under 8", F.jdm_child, "pt-jdm", "Minocycline 50 mg", None),
    ("minocycline in pregnancy", _pregnant_ssc, "pt-preg", "Minocycline 100 mg", None),
]


@pytest.mark.parametrize(
    ("name", "patient", "pid", "drug", "indicator"), CONFLICTS, ids=[c[0] for c in CONFLICTS]
)
@pytest.mark.parametrize("service", [SIGN, SELECT])
def test_conflicting_draft_order_gets_a_warning_card_when_signed_or_selected(
    server: LiveServer, service: str, name: str, patient: Any, pid: str, drug: str, indicator: str | None
) -> None:
    body = _order(server, service, patient(), pid, drug)
    cards = body["cards"]
    assert cards, f"{name}: no card"
    assert all(c["indicator"] in ("warning", "critical") for c in cards)
    if indicator:
        assert any(c["indicator"] == indicator for c in cards)
    for c in cards:
        assert c["summary"].startswith("Draft order")
        assert "**Sources**" in c["detail"] and "**Grading system**" in c["detail"]
        assert c["source"]["topic"]["code"] == "order-conflict"


def test_conflict_card_offers_to_remove_the_draft_when_the_order_is_known(server: LiveServer) -> None:
    body = _order(server, SIGN, F.calciphylaxis_on_dialysis(), "pt-calciphylaxis", "Warfarin 1 mg")
    card = next(c for c in body["cards"] if c.get("suggestions"))
    assert card["selectionBehavior"] == "at-most-one"
    [suggestion] = card["suggestions"]
    [action] = suggestion["actions"]
    assert action == {
        "type": "delete",
        "description": action["description"],
        "resourceId": "MedicationRequest/draft-0",
    }
    assert card["extension"]["org.calcinosis-cds.grade"]["therapy"] == "low-dose-warfarin"


def test_no_card_when_the_draft_order_conflicts_with_nothing(server: LiveServer) -> None:
    assert _order(server, SIGN, F.no_calcinosis(), "pt-none", "Amlodipine 5 mg") == {"cards": []}
    assert _order(server, SIGN, F.ssc_calcinosis(), "pt-ssc", "Diltiazem 60 mg") == {"cards": []}


def test_a_draft_already_in_the_prefetched_medications_is_still_checked_when_signing(
    server: LiveServer,
) -> None:
    pid = "pt-calciphylaxis"
    draft = F.medication(pid, "draft-0", "Warfarin 1 mg", status="draft")
    body = _order(server, SIGN, [*F.calciphylaxis_on_dialysis(), draft], pid, "Warfarin 1 mg")
    assert any(c["indicator"] == "critical" for c in body["cards"])


def test_order_context_without_draft_orders_is_refused_when_called(server: LiveServer) -> None:
    body = hook_request("order-sign", F.ssc_calcinosis(), pid="pt-ssc")
    del body["context"]["draftOrders"]
    r = call(server.url, SIGN, body)
    assert r.status_code == 422
    assert "draftOrders" in r.json()["issue"][0]["diagnostics"]


def test_order_select_without_selections_is_refused_when_called(server: LiveServer) -> None:
    pid = "pt-ssc"
    body = hook_request("order-select", F.ssc_calcinosis(), pid=pid)
    r = call(server.url, SELECT, body)
    assert r.status_code == 422
    assert "selections" in r.json()["issue"][0]["diagnostics"]
