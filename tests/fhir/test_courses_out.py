"""FHIR out: courses as MedicationStatement (+ AdverseEvent) and measurements as Observation, valid R4 (checked
with the fhir.resources R4B models) and read back by the FHIR reader into the same courses and measurements."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from calcinosis.errors import InputError
from calcinosis.fhir.canonical import CS_MEASURE, CS_STOP_REASON, url
from calcinosis.fhir.codesystems import code_systems
from calcinosis.fhir.courses import courses_to_resources
from calcinosis.fhir.facts import case_from_fhir
from calcinosis.fhir.treatment import load_measures
from calcinosis.pack import KnowledgePack
from calcinosis.patient.models import AdverseEvent, Case, Course, Measurement
from tests.fhir.validate import validate_round_trip

COURSES = (
    Course(
        id="c1",
        therapy="diltiazem",
        dose="60 mg three times daily",
        route="oral",
        start=date(2025, 1, 10),
        stop=date(2025, 7, 10),
        stop_reason="ineffective",
    ),
    Course(
        id="c2",
        therapy="sodium-thiosulfate-intralesional",
        agent="sodium thiosulfate",
        start=date(2025, 8, 1),
        adverse_events=(
            AdverseEvent(
                id="ae1", date=date(2025, 8, 20), description="Injection site pain", severity="moderate"
            ),
        ),
    ),
    Course(
        id="c3",
        therapy="minocycline",
        start=date(2024, 1, 1),
        stop=date(2024, 6, 1),
        stop_reason="resolved",
        adverse_events=(AdverseEvent(description="Drug-induced hepatitis", severity="life-threatening"),),
    ),
    Course(
        id="c4", therapy="bisphosphonates", agent="alendronate", start=date(2023, 1, 1), stop=date(2023, 5, 1)
    ),
    Course(
        id="c5",
        therapy="colchicine",
        start=date(2022, 1, 1),
        stop=date(2022, 2, 1),
        stop_reason="patient-choice",
        adverse_events=(AdverseEvent(id="ae5", date=date(2022, 1, 20), description="Diarrhoea"),),
    ),
)
MEASUREMENTS = (
    Measurement(
        id="m1",
        date=date(2025, 1, 10),
        site="right index fingertip",
        count=3,
        largest_mm=6.5,
        pain_vas=7,
        ulceration=True,
        inflammation=False,
    ),
    Measurement(
        date=date(2025, 7, 10),
        sctc_score=12.5,
        patient_global=4,
        physician_global=3.5,
        new_lesions=False,
        infection=False,
    ),
    Measurement(date=date(2025, 7, 10), site="left elbow", largest_mm=0, pain_vas=0),
)
CASE = Case(id="p1", courses=COURSES, measurements=MEASUREMENTS)


def as_bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    entries = [{"resource": {"resourceType": "Patient", "id": "p1"}}] + [{"resource": r} for r in resources]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def without_ids(model: Any) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump()
    data["id"] = None
    for event in data.get("adverse_events", ()):
        event["id"] = None
    return data


def test_every_emitted_resource_validates_as_r4_and_round_trips_through_the_model() -> None:
    resources = courses_to_resources(CASE)
    kinds = [r["resourceType"] for r in resources]
    assert kinds.count("MedicationStatement") == 5 and kinds.count("AdverseEvent") == 3
    assert kinds.count("Observation") == 5 + 5 + 2
    for r in resources:
        validate_round_trip(r)


def test_resources_read_back_into_the_same_courses_and_measurements() -> None:
    back, issues = case_from_fhir(as_bundle(courses_to_resources(CASE)), as_of=date(2026, 1, 1))
    assert [without_ids(c) for c in back.courses] == [without_ids(c) for c in COURSES]
    assert [without_ids(m) for m in back.measurements] == [without_ids(m) for m in MEASUREMENTS]
    assert [c.id for c in back.courses] == [f"MedicationStatement/c{i}" for i in range(1, 6)]
    assert [e.id for e in back.courses[1].adverse_events] == ["AdverseEvent/ae1"]
    assert issues == [], issues


@pytest.mark.parametrize(
    ("index", "status", "reason"),
    [
        (0, "stopped", "ineffective"),
        (1, "active", None),
        (2, "completed", "resolved"),
        (3, "completed", None),
    ],
)
def test_status_and_status_reason_follow_the_course(index: int, status: str, reason: str | None) -> None:
    statement = courses_to_resources(COURSES[index : index + 1], (), "Patient/p1")[0]
    assert statement["status"] == status
    if reason is None:
        assert "statusReason" not in statement
    else:
        assert statement["statusReason"][0]["coding"][0] == {
            "system": url(CS_STOP_REASON),
            "code": reason,
            "display": reason.replace("-", " ").capitalize(),
        }


def test_statement_names_the_agent_and_codes_the_therapy() -> None:
    statement = courses_to_resources(COURSES[3:4], (), "Patient/p1")[0]
    concept = statement["medicationCodeableConcept"]
    assert concept["text"] == "alendronate"
    assert (
        concept["coding"][0]["code"] == "bisphosphonates"
        and concept["coding"][0]["display"] == "Bisphosphonates"
    )
    assert statement["effectivePeriod"] == {"start": "2023-01-01", "end": "2023-05-01"}


def test_adverse_event_points_at_its_course_with_severity_or_seriousness() -> None:
    resources = {r["id"]: r for r in courses_to_resources(CASE)}
    ae = resources["ae1"]
    assert ae["suspectEntity"] == [{"instance": {"reference": "MedicationStatement/c2"}}]
    assert ae["severity"]["coding"][0]["code"] == "moderate" and ae["date"] == "2025-08-20"
    grave = next(r for r in resources.values() if r["resourceType"] == "AdverseEvent" and "seriousness" in r)
    assert grave["seriousness"]["coding"][0]["code"] == "SeriousIsLifeThreatening"


def test_observations_carry_site_date_code_and_ucum_value() -> None:
    obs = [r for r in courses_to_resources(CASE) if r["resourceType"] == "Observation"]
    size = next(o for o in obs if o["code"]["coding"][-1]["code"] == "largest-diameter")
    assert size["valueQuantity"] == {
        "value": 6.5,
        "unit": "mm",
        "system": "http://unitsofmeasure.org",
        "code": "mm",
    }
    assert size["bodySite"] == {"text": "right index fingertip"} and size["effectiveDateTime"] == "2025-01-10"
    pain = next(o for o in obs if o["code"]["coding"][-1]["code"] == "pain-vas")
    assert pain["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "38214-3",
        "display": "Pain severity [Score] Visual analog score",
    }
    count = next(o for o in obs if o["code"]["coding"][-1]["code"] == "lesion-count")
    assert count["valueInteger"] == 3
    whole = [o for o in obs if "bodySite" not in o]
    assert {o["code"]["coding"][-1]["code"] for o in whole} == {
        "sctc-score",
        "patient-global",
        "physician-global",
        "new-lesions",
        "infection",
    }


def test_every_loinc_code_written_is_one_the_code_set_checks() -> None:
    listed = {c.code for m in load_measures().measures for c in m.loinc}
    written = {
        c["code"]
        for r in courses_to_resources(CASE)
        for c in (r.get("code") or {}).get("coding", [])
        if c["system"] == "http://loinc.org"
    }
    assert written and written <= listed


def test_project_codes_written_are_in_the_exported_code_systems(pack: KnowledgePack) -> None:
    systems = {cs["url"]: {c["code"] for c in cs["concept"]} for cs in code_systems(pack)}
    for cs in code_systems(pack):
        validate_round_trip(cs)
    used: dict[str, set[str]] = {}
    for r in courses_to_resources(CASE):
        for cc in [r.get("code"), r.get("medicationCodeableConcept"), *r.get("statusReason", [])]:
            for c in (cc or {}).get("coding", []):
                if "calcinosis-cds" in c["system"]:
                    used.setdefault(c["system"], set()).add(c["code"])
    assert url(CS_MEASURE) in used and url(CS_STOP_REASON) in used
    for system, codes in used.items():
        assert codes <= systems[system], system


def test_courses_and_measurements_may_be_given_apart_from_a_case() -> None:
    resources = courses_to_resources(COURSES[:1], MEASUREMENTS[2:], "Patient/x")
    assert [r["resourceType"] for r in resources] == ["MedicationStatement", "Observation", "Observation"]
    assert all(r["subject"] == {"reference": "Patient/x"} for r in resources)


def test_unknown_therapy_or_missing_subject_is_an_input_error() -> None:
    with pytest.raises(InputError, match="'laser-beam' is not a therapy"):
        courses_to_resources([Course(therapy="laser-beam", start=date(2025, 1, 1))], (), "Patient/p1")
    with pytest.raises(InputError, match="no patient reference"):
        courses_to_resources(COURSES)


def test_ids_that_are_not_fhir_ids_are_replaced_by_stable_ones() -> None:
    odd = Course(id="course #1 (diltiazem)", therapy="diltiazem", start=date(2025, 1, 1))
    first = courses_to_resources([odd], (), "Patient/p1")[0]["id"]
    again = courses_to_resources([odd], (), "Patient/p1")[0]["id"]
    assert first == again and first != odd.id
    validate_round_trip(courses_to_resources([odd], (), "Patient/p1")[0])
