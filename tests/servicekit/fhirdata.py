"""Small FHIR R4 patients for the service tests, and the prefetch a CDS client would send for them."""

from __future__ import annotations

from typing import Any

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"

Resource = dict[str, Any]


def patient(pid: str, gender: str, birth: str) -> Resource:
    return {"resourceType": "Patient", "id": pid, "gender": gender, "birthDate": birth}


def condition(
    pid: str,
    cid: str,
    text: str,
    *,
    site: str | None = None,
    note: str | None = None,
    onset: str | None = None,
) -> Resource:
    res: Resource = {
        "resourceType": "Condition",
        "id": cid,
        "subject": {"reference": f"Patient/{pid}"},
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
        "code": {"text": text},
    }
    if site:
        res["bodySite"] = [{"text": site}]
    if note:
        res["note"] = [{"text": note}]
    if onset:
        res["onsetDateTime"] = onset
    return res


def lab(pid: str, oid: str, loinc: str, value: float, unit: str, date: str) -> Resource:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "subject": {"reference": f"Patient/{pid}"},
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "effectiveDateTime": date,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }


def medication(pid: str, mid: str, text: str, status: str = "active") -> Resource:
    return {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": status,
        "intent": "order",
        "subject": {"reference": f"Patient/{pid}"},
        "medicationCodeableConcept": {"text": text},
    }


def searchset(resources: list[Resource]) -> Resource | None:
    if not resources:
        return None
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def prefetch(resources: list[Resource]) -> dict[str, Any]:
    """Every prefetch key of our services filled from ``resources`` (``null`` where there is no data)."""
    by_type: dict[str, list[Resource]] = {}
    for r in resources:
        by_type.setdefault(r["resourceType"], []).append(r)
    pat = by_type.get("Patient", [None])[0]
    return {
        "patient": pat,
        "conditions": searchset(by_type.get("Condition", [])),
        "labs": searchset([o for o in by_type.get("Observation", []) if "valueQuantity" in o]),
        "medications": searchset(by_type.get("MedicationRequest", [])),
        "findings": None,
        "procedures": searchset(by_type.get("Procedure", [])),
        "administrations": searchset(by_type.get("MedicationAdministration", [])),
        "allergies": searchset(by_type.get("AllergyIntolerance", [])),
    }


def draft_orders(pid: str, *texts: str) -> Resource:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": medication(pid, f"draft-{i}", t, status="draft")} for i, t in enumerate(texts)
        ],
    }


# ------------------------------------------------------------------------------------------- patients
def calciphylaxis_on_dialysis(pid: str = "pt-calciphylaxis") -> list[Resource]:
    return [
        patient(pid, "female", "1962-04-02"),
        condition(pid, "c-esrd", "End-stage renal disease", onset="2019-01-10"),
        condition(pid, "c-hd", "Dependence on renal dialysis (haemodialysis)", onset="2019-02-01"),
        condition(
            pid,
            "c-calci",
            "Calciphylaxis",
            site="left thigh",
            note="Exquisitely painful retiform purpura with a necrotic eschar",
            onset="2026-10-20",
        ),
        lab(pid, "o-ca", "17861-6", 9.9, "mg/dL", "2026-11-01"),
        lab(pid, "o-po4", "2777-1", 7.4, "mg/dL", "2026-11-01"),
        lab(pid, "o-alb", "1751-7", 3.4, "g/dL", "2026-11-01"),
    ]


def ssc_calcinosis(
    pid: str = "pt-ssc", *, birth: str = "1971-06-15", extra: list[Resource] | None = None
) -> list[Resource]:
    return [
        patient(pid, "female", birth),
        condition(pid, "c-ssc", "Limited cutaneous systemic sclerosis", onset="2012-03-01"),
        condition(
            pid,
            "c-cc",
            "Calcinosis cutis",
            site="right index fingertip",
            note="Two firm chalky nodules, 5 mm",
            onset="2025-05-01",
        ),
        lab(pid, "o-ca", "17861-6", 9.3, "mg/dL", "2026-10-01"),
        lab(pid, "o-po4", "2777-1", 3.4, "mg/dL", "2026-10-01"),
        lab(pid, "o-alb", "1751-7", 4.1, "g/dL", "2026-10-01"),
        *(extra or []),
    ]


def jdm_child(pid: str = "pt-jdm", birth: str = "2020-09-01") -> list[Resource]:
    return [
        patient(pid, "male", birth),
        condition(pid, "c-jdm", "Juvenile dermatomyositis", onset="2024-01-01"),
        condition(
            pid, "c-cc", "Calcinosis cutis", site="left elbow", note="Hard nodules", onset="2026-02-01"
        ),
        lab(pid, "o-ca", "17861-6", 9.6, "mg/dL", "2026-10-01"),
        lab(pid, "o-po4", "2777-1", 4.8, "mg/dL", "2026-10-01"),
    ]


def ckd_calcinosis(pid: str = "pt-ckd") -> list[Resource]:
    return [
        patient(pid, "male", "1955-02-11"),
        condition(pid, "c-ckd", "Chronic kidney disease stage 4", onset="2018-05-01"),
        condition(
            pid,
            "c-cc",
            "Calcinosis cutis",
            site="right knee",
            note="Firm periarticular nodules",
            onset="2026-03-01",
        ),
        lab(pid, "o-ca", "17861-6", 10.4, "mg/dL", "2026-10-01"),
        lab(pid, "o-po4", "2777-1", 7.6, "mg/dL", "2026-10-01"),
        lab(pid, "o-egfr", "33914-3", 21, "mL/min/{1.73_m2}", "2026-10-01"),
    ]


def no_calcinosis(pid: str = "pt-none") -> list[Resource]:
    return [
        patient(pid, "male", "1980-01-01"),
        condition(pid, "c-htn", "Essential hypertension", onset="2015-01-01"),
        lab(pid, "o-ca", "17861-6", 9.4, "mg/dL", "2026-10-01"),
        lab(pid, "o-po4", "2777-1", 3.5, "mg/dL", "2026-10-01"),
    ]
