"""FHIR in: MedicationStatement / MedicationRequest become treatment courses, AdverseEvents attach to them, and
Observations of lesions become visit measurements. What cannot be used is an input issue, never a refusal."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from calcinosis.fhir.facts import case_from_fhir
from calcinosis.patient.models import Case, InputIssue
from tests.fhir.fhirdata import LOINC, RXNORM, SNOMED, UCUM, bundle, med, patient, subject

AS_OF = date(2026, 10, 15)
V2_YES_NO = "http://terminology.hl7.org/CodeSystem/v2-0136"


def read(*resources: dict[str, Any]) -> tuple[Case, list[InputIssue]]:
    return case_from_fhir(bundle(patient(), *resources), as_of=AS_OF)


def messages(issues: list[InputIssue]) -> str:
    return "\n".join(f"{i.severity} {i.location}: {i.message}" for i in issues)


def warnings(issues: list[InputIssue]) -> list[InputIssue]:
    return [i for i in issues if i.severity == "warning"]


def statement(rid: str, text: str, status: str = "active", **extra: Any) -> dict[str, Any]:
    return med(rid, text, kind="MedicationStatement", status=status, **extra)


def period(start: str, end: str | None = None) -> dict[str, Any]:
    return {"effectivePeriod": {"start": start, **({"end": end} if end else {})}}


def reason(text: str) -> dict[str, Any]:
    return {"statusReason": [{"text": text}]}


def obs(
    rid: str, name: str, day: str | None = "2026-05-02", site: str | None = "right index finger", **value: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "Observation", "id": rid, "status": "final", **subject()}
    out["code"] = {"text": name}
    if day:
        out["effectiveDateTime"] = day
    if site:
        out["bodySite"] = {"text": site}
    return {**out, **value}


def loinc_obs(rid: str, code: str, display: str, **extra: Any) -> dict[str, Any]:
    out = obs(rid, display, **extra)
    out["code"] = {"coding": [{"system": LOINC, "code": code, "display": display}]}
    return out


def qty(value: float, unit: str) -> dict[str, Any]:
    return {"valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit}}


# ------------------------------------------------------------------------------------------------ courses


def test_statement_with_a_closed_period_becomes_a_stopped_course_and_stays_a_medication() -> None:
    s = statement("ms1", "Diltiazem 60 mg tablet", "completed", **period("2025-01-10", "2025-07-10"))
    s["statusReason"] = [{"text": "No improvement after six months"}]
    s["dosage"] = [{"text": "60 mg three times daily", "route": {"text": "oral"}}]
    case, issues = read(s)
    (course,) = case.courses
    assert (course.therapy, course.start, course.stop, course.stop_reason) == (
        "diltiazem",
        date(2025, 1, 10),
        date(2025, 7, 10),
        "ineffective",
    )
    assert (course.dose, course.route, course.id) == (
        "60 mg three times daily",
        "oral",
        "MedicationStatement/ms1",
    )
    assert [m.concept for m in case.medications] == ["diltiazem"]
    assert not warnings(issues), messages(issues)


def test_statement_with_an_open_period_is_a_running_course() -> None:
    case, issues = read(statement("ms1", "Minocycline 50 mg", **period("2026-03-01")))
    (course,) = case.courses
    assert (course.therapy, course.agent, course.start, course.stop, course.stop_reason) == (
        "minocycline",
        "minocycline",
        date(2026, 3, 1),
        None,
        None,
    )
    assert not warnings(issues)


def test_active_statement_with_a_planned_end_is_read_as_running_and_says_so() -> None:
    case, issues = read(statement("ms1", "Colchicine", **period("2026-03-01", "2026-12-31")))
    assert case.courses[0].stop is None
    assert "planned end (2026-12-31); read as running" in messages(issues)


def test_request_without_a_period_starts_on_its_authored_date() -> None:
    case, _ = read(med("mr1", "Probenecid 500 mg", authoredOn="2026-02-03"))
    (course,) = case.courses
    assert (course.therapy, course.start, course.stop, course.id) == (
        "probenecid",
        date(2026, 2, 3),
        None,
        "MedicationRequest/mr1",
    )


def test_request_takes_its_dates_from_the_dosage_timing_bounds_when_given() -> None:
    bounds = {"timing": {"repeat": {"boundsPeriod": {"start": "2026-01-05", "end": "2026-04-05"}}}}
    r = med("mr1", "Rituximab", status="completed", authoredOn="2025-12-20", dosageInstruction=[bounds])
    case, _ = read(r)
    assert (case.courses[0].start, case.courses[0].stop) == (date(2026, 1, 5), date(2026, 4, 5))


def test_unknown_drug_stays_a_medication_only() -> None:
    case, issues = read(statement("ms1", "Omeprazole 20 mg", **period("2026-01-01")))
    assert case.courses == ()
    assert case.medications[0].name == "Omeprazole 20 mg"
    assert "course" not in messages(issues)


def test_rxnorm_coded_medication_names_its_therapy_through_the_code_sets() -> None:
    s = statement("ms1", "x", **period("2026-01-01"))
    s["medicationCodeableConcept"] = {"coding": [{"system": RXNORM, "code": "3443"}]}
    case, _ = read(s)
    assert case.courses[0].therapy == "diltiazem"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Stopped: ineffective", "ineffective"),
        ("Side effects (dizziness)", "adverse-event"),
        ("Suspected intolerance", "adverse-event"),
        ("Lesions resolved", "resolved"),
        ("Patient declined further treatment", "patient-choice"),
        ("No side effects, but no improvement", "ineffective"),
        ("Ineffective, and side effects", "other"),
        ("Moved to another clinic", "other"),
    ],
)
def test_stop_reason_is_read_from_the_status_reason_text(text: str, expected: str) -> None:
    s = statement("ms1", "Diltiazem", "stopped", **period("2025-01-10", "2025-07-10"), **reason(text))
    case, _ = read(s)
    assert case.courses[0].stop_reason == expected


def test_reason_code_is_not_read_as_a_stop_reason() -> None:
    s = statement("ms1", "Diltiazem", "completed", **period("2025-01-10", "2025-07-10"))
    s["reasonCode"] = [{"text": "Calcinosis cutis, painful and ineffective previous therapy"}]
    case, _ = read(s)
    assert case.courses[0].stop_reason is None


def test_stopped_course_without_an_end_date_is_reported_not_guessed() -> None:
    case, issues = read(statement("ms1", "Diltiazem", "stopped", effectiveDateTime="2025-01-10"))
    assert case.courses == () and case.medications[0].status == "stopped"
    assert "stopped with no end date" in messages(issues)


def test_medication_without_a_start_date_is_not_a_course() -> None:
    case, issues = read(statement("ms1", "Colchicine 0.5 mg"))
    assert case.courses == () and case.medications[0].concept == "colchicine"
    assert "Colchicine: no start date" in messages(issues)


def test_period_ending_before_it_starts_is_a_warning_and_no_course() -> None:
    case, issues = read(statement("ms1", "Diltiazem", "completed", **period("2025-07-10", "2025-01-10")))
    assert case.courses == () and "ends (2025-01-10) before it starts" in messages(warnings(issues))


def test_unreadable_period_date_is_reported_on_its_element() -> None:
    case, issues = read(statement("ms1", "Diltiazem", **period("10/01/2025")))
    assert case.courses == ()
    assert "(MedicationStatement/ms1).effectivePeriod.start: '10/01/2025' is not a FHIR date" in messages(
        issues
    )


def test_planned_or_unknown_status_is_not_a_course() -> None:
    case, issues = read(statement("ms1", "Diltiazem", "intended", **period("2026-11-01")))
    assert case.courses == () and "status intended" in messages(issues)


@pytest.mark.parametrize(
    ("route", "therapy"),
    [
        ("Intravenous route", "sodium-thiosulfate-intravenous"),
        ("Intralesional", "sodium-thiosulfate-intralesional"),
        ("Topical", "sodium-thiosulfate-topical"),
    ],
)
def test_shared_agent_is_told_apart_by_route(route: str, therapy: str) -> None:
    r = med(
        "mr1",
        "Sodium thiosulfate 25%",
        authoredOn="2026-01-01",
        dosageInstruction=[{"route": {"text": route}}],
    )
    case, _ = read(r)
    assert [c.therapy for c in case.courses] == [therapy]
    assert case.courses[0].route == route and case.courses[0].agent == "sodium thiosulfate"


def test_shared_agent_without_a_route_is_a_warning_not_a_guess() -> None:
    case, issues = read(med("mr1", "Sodium thiosulfate 25%", authoredOn="2026-01-01"))
    assert case.courses == ()
    assert "names several therapies" in messages(warnings(issues))


def test_a_route_the_therapy_is_not_given_by_keeps_it_from_being_a_course() -> None:
    case, issues = read(statement("ms1", "Triamcinolone 0.1% cream", **period("2026-01-01")))
    assert case.courses == ()
    assert "given by another route than Intralesional corticosteroid" in messages(issues)


def test_same_course_in_a_request_and_a_statement_is_read_once() -> None:
    case, issues = read(
        med("mr1", "Diltiazem", authoredOn="2026-01-01"),
        statement("ms1", "Diltiazem", **period("2026-01-01")),
    )
    assert [c.id for c in case.courses] == ["MedicationRequest/mr1"]
    assert "already read from" in messages(issues)


def test_project_therapy_coding_names_the_therapy_and_its_agent() -> None:
    s = statement("ms1", "alendronate", **period("2026-01-01"))
    s["medicationCodeableConcept"]["coding"] = [
        {"system": "https://calcinosis-cds.example/fhir/CodeSystem/pack-item", "code": "bisphosphonates"}
    ]
    case, issues = read(s)
    assert (case.courses[0].therapy, case.courses[0].agent) == ("bisphosphonates", "alendronate")
    assert "not recognised" not in messages(issues)


def test_project_therapy_coding_with_an_unknown_therapy_is_reported() -> None:
    s = statement("ms1", "Unobtainium", **period("2026-01-01"))
    s["medicationCodeableConcept"]["coding"] = [
        {"system": "https://calcinosis-cds.example/fhir/CodeSystem/pack-item", "code": "unobtainium"}
    ]
    case, issues = read(s)
    assert case.courses == () and "'unobtainium' is not a therapy of the knowledge pack" in messages(issues)


# ----------------------------------------------------------------------------------------- adverse events


def adverse_event(rid: str, text: str, *instances: str, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "AdverseEvent", "id": rid, "actuality": "actual", **subject()}
    out["event"] = {"text": text}
    if instances:
        out["suspectEntity"] = [{"instance": {"reference": ref}} for ref in instances]
    return {**out, **extra}


def test_adverse_event_attaches_to_the_course_its_suspect_entity_names() -> None:
    ae = adverse_event("ae1", "Dizziness", "MedicationStatement/ms2", date="2026-02-10")
    ae["severity"] = {
        "coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/adverse-event-severity", "code": "moderate"}
        ]
    }
    case, issues = read(
        ae,
        statement("ms1", "Minocycline", **period("2026-01-01")),
        statement("ms2", "Diltiazem", **period("2026-01-01")),
    )
    by_therapy = {c.therapy: c for c in case.courses}
    (event,) = by_therapy["diltiazem"].adverse_events
    assert (event.description, event.date, event.severity, event.id) == (
        "Dizziness",
        date(2026, 2, 10),
        "moderate",
        "AdverseEvent/ae1",
    )
    assert by_therapy["minocycline"].adverse_events == ()
    assert not warnings(issues), messages(issues)


def test_adverse_event_pointing_at_the_medication_resource_attaches_to_its_course() -> None:
    product = {"resourceType": "Medication", "id": "m1", "code": {"text": "Colchicine 0.5 mg"}}
    s = statement("ms1", "x", **period("2026-01-01"))
    del s["medicationCodeableConcept"]
    s["medicationReference"] = {"reference": "Medication/m1"}
    case, _ = read(product, s, adverse_event("ae1", "Diarrhoea", "Medication/m1"))
    assert case.courses[0].therapy == "colchicine"
    assert [e.description for e in case.courses[0].adverse_events] == ["Diarrhoea"]


def test_adverse_event_naming_the_therapy_attaches_to_the_course_running_on_its_date() -> None:
    first = statement("ms1", "Minocycline", "stopped", **period("2024-01-01", "2024-06-01"))
    second = statement("ms2", "Minocycline", **period("2026-01-01"))
    ae = adverse_event("ae1", "Blue-black pigmentation of the deposits on minocycline", date="2026-04-01")
    ae["seriousness"] = {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness",
                "code": "SeriousIsLifeThreatening",
            }
        ]
    }
    case, _ = read(first, second, ae)
    by_id = {c.id: c for c in case.courses}
    assert by_id["MedicationStatement/ms1"].adverse_events == ()
    assert by_id["MedicationStatement/ms2"].adverse_events[0].severity == "life-threatening"


def test_adverse_event_that_names_no_course_is_a_warning() -> None:
    case, issues = read(
        statement("ms1", "Diltiazem", **period("2026-01-01")), adverse_event("ae1", "Rash after amoxicillin")
    )
    assert case.courses[0].adverse_events == ()
    assert "adverse event 'Rash after amoxicillin' not attached" in messages(warnings(issues))


def test_negated_therapy_in_the_event_text_does_not_attach() -> None:
    case, issues = read(
        statement("ms1", "Diltiazem", **period("2026-01-01")),
        adverse_event("ae1", "Headache, not related to diltiazem"),
    )
    assert case.courses[0].adverse_events == () and "not attached" in messages(issues)


def test_potential_adverse_event_is_not_used() -> None:
    ae = adverse_event("ae1", "Possible hepatotoxicity", "MedicationStatement/ms1", actuality="potential")
    case, issues = read(statement("ms1", "Minocycline", **period("2026-01-01")), ae)
    assert case.courses[0].adverse_events == () and "potential adverse event" in messages(issues)


# ------------------------------------------------------------------------------------------- measurements


def test_size_in_cm_is_converted_to_mm() -> None:
    case, issues = read(obs("o1", "Largest diameter", **qty(2.5, "cm")))
    (m,) = case.measurements
    assert (m.date, m.site, m.largest_mm) == (date(2026, 5, 2), "right index finger", 25.0)
    assert not warnings(issues), messages(issues)


def test_pain_vas_out_of_range_is_an_issue_on_that_observation_not_a_refusal() -> None:
    case, issues = read(
        loinc_obs("o1", "38214-3", "Pain severity [Score] Visual analog score", **qty(14, "{score}")),
        obs("o2", "Lesion count", valueInteger=3),
    )
    assert case.measurements[0].pain_vas is None and case.measurements[0].count == 3
    assert (
        "(Observation/o1).valueQuantity: Pain, visual analogue scale 0-10: 14 is outside 0–10; not used"
        in messages(warnings(issues))
    )


def test_two_observations_of_one_visit_become_one_measurement() -> None:
    case, _ = read(
        obs("o1", "Lesion count", valueInteger=4),
        loinc_obs(
            "o2", "72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported", valueInteger=6
        ),
        obs("o3", "Lesion count", site="left elbow", valueInteger=1),
        obs("o4", "Lesion count", day="2026-08-02", valueInteger=2),
    )
    assert [(m.date, m.site, m.count, m.pain_vas) for m in case.measurements] == [
        (date(2026, 5, 2), "left elbow", 1, None),
        (date(2026, 5, 2), "right index finger", 4, 6.0),
        (date(2026, 8, 2), "right index finger", 2, None),
    ]


def test_site_spelling_in_case_and_spaces_is_the_same_site() -> None:
    case, _ = read(
        obs("o1", "Lesion count", valueInteger=4),
        obs("o2", "Ulceration", site="Right  index finger", valueBoolean=True),
    )
    assert len(case.measurements) == 1 and case.measurements[0].ulceration is True


def test_conflicting_values_at_one_visit_keep_the_first_and_warn() -> None:
    case, issues = read(obs("o1", "Lesion count", valueInteger=4), obs("o2", "Lesion count", valueInteger=5))
    assert case.measurements[0].count == 4
    assert "(Observation/o2): Number of calcinosis lesions: 5 differs from 4" in messages(warnings(issues))


def test_loinc_pain_score_without_a_body_site_is_not_a_lesion_measurement() -> None:
    case, issues = read(loinc_obs("o1", "72514-3", "Pain severity", site=None, valueInteger=6))
    assert case.measurements == () and "without a body site is not read as a lesion measurement" in messages(
        issues
    )


def test_named_measure_without_a_body_site_is_not_read_as_a_measurement() -> None:
    case, _ = read(obs("o1", "Lesion count", site=None, valueInteger=4))
    assert case.measurements == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"valueBoolean": True}, True),
        ({"valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "373066001"}]}}, True),
        ({"valueCodeableConcept": {"coding": [{"system": V2_YES_NO, "code": "N"}]}}, False),
        ({"valueCodeableConcept": {"text": "Present"}}, True),
        ({"valueString": "absent"}, False),
    ],
)
def test_findings_are_read_from_boolean_coded_or_text_values(value: dict[str, Any], expected: bool) -> None:
    case, _ = read(obs("o1", "Inflammation", **value))
    assert case.measurements[0].inflammation is expected


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("Ulceration", {"valueString": "a little"}, "expected yes or no"),
        ("Lesion count", {"valueQuantity": {"value": 2.5}}, "2.5 is not a whole number"),
        ("Lesion count", {"valueInteger": -1}, "-1 is outside at least 0"),
        ("Largest diameter", qty(1, "[in_i]"), "unit '[in_i]' is not a length"),
        ("Largest diameter", {"valueQuantity": {"value": 3, "comparator": "<", "unit": "mm"}}, "is a bound"),
        ("Pain VAS", qty(45, "mm"), "unit 'mm' is not a score or count"),
        ("Lesion count", {"dataAbsentReason": {"text": "Not assessed"}}, "Not assessed; not used"),
    ],
)
def test_unusable_values_are_issues_on_their_observation(
    name: str, value: dict[str, Any], message: str
) -> None:
    case, issues = read(obs("o1", name, **value))
    assert case.measurements == ()
    assert message in messages(issues) and "Observation/o1" in messages(issues)


def test_measurement_without_a_date_is_reported() -> None:
    case, issues = read(obs("o1", "Lesion count", day=None, valueInteger=2))
    assert case.measurements == () and "a measurement needs a date" in messages(warnings(issues))


def test_project_measure_code_is_read_without_a_body_site() -> None:
    o = obs("o1", "x", site=None, **qty(12, "{score}"))
    o["code"] = {
        "coding": [
            {
                "system": "https://calcinosis-cds.example/fhir/CodeSystem/calcinosis-measure",
                "code": "sctc-score",
            }
        ]
    }
    case, _ = read(o)
    assert (case.measurements[0].site, case.measurements[0].sctc_score) == (None, 12.0)


def test_observations_that_are_not_measurements_keep_their_old_meaning() -> None:
    skin = obs("o1", "Skin ulceration", valueString="2 cm ulcer over the elbow")
    case, _ = read(skin)
    assert case.measurements == () and case.lesions[0].site == "right index finger"


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ({"text": "Severe"}, "severe"),
        ({"text": "Life-threatening"}, "life-threatening"),
        ({"text": "grade 2"}, None),
    ],
)
def test_adverse_event_severity_is_read_from_text_when_not_coded(
    severity: dict[str, Any], expected: str | None
) -> None:
    ae = adverse_event("ae1", "Nausea", "MedicationStatement/ms1", severity=severity)
    case, _ = read(statement("ms1", "Colchicine", **period("2026-01-01")), ae)
    assert case.courses[0].adverse_events[0].severity == expected
