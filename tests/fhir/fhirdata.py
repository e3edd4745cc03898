"""Small builders for FHIR R4 test input (plain dicts, as an EHR would send them)."""

from __future__ import annotations

from typing import Any

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"


def patient(pid: str = "p1", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "gender": "female", "birthDate": "1970-01-15", **extra}


def subject(pid: str = "p1") -> dict[str, Any]:
    return {"subject": {"reference": f"Patient/{pid}"}}


def condition(
    rid: str, code: str | None = None, text: str | None = None, system: str = ICD10CM, **extra: Any
) -> dict[str, Any]:
    cc: dict[str, Any] = {}
    if code:
        cc["coding"] = [{"system": system, "code": code}]
    if text:
        cc["text"] = text
    return {"resourceType": "Condition", "id": rid, "code": cc, **subject(), **extra}


def status(kind: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": f"http://terminology.hl7.org/CodeSystem/condition-{kind}", "code": code}]}


def lab(
    rid: str, loinc: str, value: float, unit: str, day: str = "2026-10-01", **extra: Any
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "effectiveDateTime": day,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
        **subject(),
        **extra,
    }


def med(
    rid: str, text: str, rx: str | None = None, kind: str = "MedicationRequest", **extra: Any
) -> dict[str, Any]:
    cc: dict[str, Any] = {"text": text}
    if rx:
        cc["coding"] = [{"system": RXNORM, "code": rx, "display": text}]
    body: dict[str, Any] = {
        "resourceType": kind,
        "id": rid,
        "status": "active",
        "medicationCodeableConcept": cc,
    }
    if kind == "MedicationRequest":
        body["intent"] = "order"
    return {**body, **subject(), **extra}


def bundle(*resources: dict[str, Any], kind: str = "collection", urls: bool = True) -> dict[str, Any]:
    entries = []
    for r in resources:
        e: dict[str, Any] = {"resource": r}
        if urls:
            e["fullUrl"] = f"http://ehr.example.org/fhir/{r['resourceType']}/{r['id']}"
        if kind in ("transaction", "batch"):
            e["request"] = {"method": "POST", "url": r["resourceType"]}
        if kind == "searchset":
            e["search"] = {"mode": "match"}
        entries.append(e)
    return {"resourceType": "Bundle", "type": kind, "timestamp": "2026-10-15T09:00:00Z", "entry": entries}
