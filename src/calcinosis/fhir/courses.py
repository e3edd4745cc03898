"""Treatment courses and visit measurements → FHIR R4 (MedicationStatement, Observation, AdverseEvent).

:func:`courses_to_resources` writes what :func:`calcinosis.fhir.facts.case_from_fhir` reads back into the
same courses and measurements (ids become resource keys such as ``MedicationStatement/<id>``):

- a course → ``MedicationStatement``: the therapy as a coding of the project's CodeSystem pack-item (display:
  the therapy's name), the agent (or the therapy's name) as text; ``effectivePeriod`` start and stop;
  ``status`` active (no stop), completed (stopped, resolved or no reason) or stopped (any other reason);
  ``statusReason`` coded in the project's CodeSystem course-stop-reason; dose and route as dosage text;
- each adverse event of a course → ``AdverseEvent`` (actual) with ``suspectEntity.instance`` → the course's
  MedicationStatement, ``event.text`` the description, ``severity`` (HL7 adverse-event-severity) or, when
  life-threatening, ``seriousness`` SeriousIsLifeThreatening (HL7 adverse-event-seriousness);
- each measure of a measurement → one ``Observation`` (status final, category exam): the project's measure
  code (CodeSystem calcinosis-measure; pain also LOINC 38214-3), ``bodySite`` text, ``effectiveDateTime``,
  ``valueInteger`` (count), ``valueQuantity`` in UCUM mm or {score}, or ``valueBoolean``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from calcinosis.errors import InputError
from calcinosis.fhir.canonical import BASE, CS_ITEM, CS_MEASURE, CS_STOP_REASON, coding, stable_uuid
from calcinosis.fhir.course_reader import LIFE_THREATENING, SERIOUSNESS_SYSTEM, SEVERITY_SYSTEM
from calcinosis.fhir.measurements import UCUM
from calcinosis.fhir.treatment import STOP_REASON_DISPLAY, Measure, load_measures
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.patient.models import AdverseEvent, Case, Course, Measurement

LOINC = "http://loinc.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
COMPLETED_REASONS = frozenset({None, "resolved"})


def courses_to_resources(
    case_or_courses: Case | Sequence[Course],
    measurements: Sequence[Measurement] | None = None,
    patient_ref: str | None = None,
    *,
    pack: KnowledgePack | None = None,
    base: str = BASE,
) -> list[dict[str, Any]]:
    """MedicationStatement (+ AdverseEvent) per course and one Observation per measure of each measurement.

    Given a Case, its courses and (unless ``measurements`` is given) its measurements are written, and the
    subject is ``Patient/<case id>`` unless ``patient_ref`` is given. Raises InputError for a course whose
    therapy is not in the pack, or when no subject can be named."""
    if isinstance(case_or_courses, Case):
        courses: Sequence[Course] = case_or_courses.courses
        if measurements is None:
            measurements = case_or_courses.measurements
        if patient_ref is None and case_or_courses.id:
            patient_ref = f"Patient/{case_or_courses.id}"
    else:
        courses = case_or_courses
    if patient_ref is None:
        raise InputError("courses_to_resources: no patient reference (give patient_ref or a Case with an id)")
    if pack is None:
        from calcinosis.pack.loader import load_pack_cached

        pack = load_pack_cached()
    out: list[dict[str, Any]] = []
    for course in courses:
        statement = _statement(course, pack, patient_ref, base)
        out.append(statement)
        for event in course.adverse_events:
            out.append(_adverse_event(event, statement["id"], patient_ref))
    for m in measurements or ():
        out.extend(_observations(m, patient_ref, base))
    return out


def _resource_id(given: str | None, *parts: str) -> str:
    """The model's id when it is a valid FHIR id, else a stable one derived from ``parts``."""
    if given and FHIR_ID.match(given):
        return given
    return stable_uuid(*parts)


def _statement(course: Course, pack: KnowledgePack, patient_ref: str, base: str) -> dict[str, Any]:
    therapy = pack.therapies.get(course.therapy)
    if therapy is None:
        raise InputError(
            f"course {course.id or ''}: '{course.therapy}' is not a therapy of the knowledge pack"
        )
    rid = _resource_id(course.id, "course", course.therapy, course.start.isoformat())
    period: dict[str, str] = {"start": course.start.isoformat()}
    if course.stop is not None:
        period["end"] = course.stop.isoformat()
    if course.stop is None:
        status = "active"
    else:
        status = "completed" if course.stop_reason in COMPLETED_REASONS else "stopped"
    out: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "id": rid,
        "status": status,
    }
    if course.stop is not None and course.stop_reason is not None:
        shown = STOP_REASON_DISPLAY[course.stop_reason]
        out["statusReason"] = [
            {"coding": [coding(CS_STOP_REASON, course.stop_reason, shown, base)], "text": shown}
        ]
    out["medicationCodeableConcept"] = {
        "coding": [coding(CS_ITEM, therapy.id, therapy.name, base)],
        "text": course.agent or therapy.name,
    }
    out["subject"] = {"reference": patient_ref}
    out["effectivePeriod"] = period
    dosage: dict[str, Any] = {}
    if course.dose:
        dosage["text"] = course.dose
    if course.route:
        dosage["route"] = {"text": course.route}
    if dosage:
        out["dosage"] = [dosage]
    return out


def _adverse_event(event: AdverseEvent, statement_id: str, patient_ref: str) -> dict[str, Any]:
    day = event.date.isoformat() if event.date else ""
    out: dict[str, Any] = {
        "resourceType": "AdverseEvent",
        "id": _resource_id(event.id, "adverse-event", statement_id, day, event.description),
        "actuality": "actual",
        "event": {"text": event.description},
        "subject": {"reference": patient_ref},
    }
    if event.date is not None:
        out["date"] = day
    if event.severity == "life-threatening":
        out["seriousness"] = {
            "coding": [
                {"system": SERIOUSNESS_SYSTEM, "code": LIFE_THREATENING, "display": "Is Life-threatening"}
            ]
        }
    elif event.severity is not None:
        out["severity"] = {
            "coding": [
                {"system": SEVERITY_SYSTEM, "code": event.severity, "display": event.severity.capitalize()}
            ]
        }
    out["suspectEntity"] = [{"instance": {"reference": f"MedicationStatement/{statement_id}"}}]
    return out


def _observations(m: Measurement, patient_ref: str, base: str) -> list[dict[str, Any]]:
    out = []
    for measure in load_measures().measures:
        value = getattr(m, measure.field)
        if value is None:
            continue
        rid = stable_uuid("measurement", m.date.isoformat(), m.site or "", measure.field, m.id or "")
        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "id": rid,
            "status": "final",
            "category": [{"coding": [{"system": CATEGORY, "code": "exam", "display": "Exam"}]}],
            "code": _code(measure, base),
            "subject": {"reference": patient_ref},
            "effectiveDateTime": m.date.isoformat(),
        }
        obs.update(_value(measure, value))
        if m.site:
            obs["bodySite"] = {"text": m.site}
        out.append(obs)
    return out


def _code(measure: Measure, base: str) -> dict[str, Any]:
    codings = [{"system": LOINC, "code": c.code, "display": c.display} for c in measure.loinc[:1]]
    codings.append(coding(CS_MEASURE, measure.code, measure.display, base))
    return {"coding": codings, "text": measure.display}


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def _value(measure: Measure, value: Any) -> dict[str, Any]:
    if measure.value == "boolean":
        return {"valueBoolean": bool(value)}
    if measure.value == "integer":
        return {"valueInteger": int(value)}
    unit = "mm" if measure.value == "length" else "{score}"
    return {"valueQuantity": {"value": _number(value), "unit": unit, "system": UCUM, "code": unit}}
