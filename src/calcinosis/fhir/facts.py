"""FHIR R4 input (a Bundle of any type, or one resource) → the engine's patient facts (:class:`Case`).

What is read: Patient (birthDate → age, gender → sex), Condition (clinical and verification status),
Observation (LOINC labs with UCUM units, pregnancy status, findings such as biopsy results, lesions),
MedicationRequest / MedicationStatement / MedicationAdministration (RxNorm, text as fallback; Medication
references resolved; IV calcium or phosphate is also a dated exposure at its site), Procedure (dialysis,
parathyroidectomy, biopsy, heel sticks ...), AllergyIntolerance (allergies); exposures
named in notes; treatment courses (MedicationStatement / MedicationRequest naming a pack therapy) with their
AdverseEvents, and visit measurements (Observations of lesions). Everything present but not understood becomes an :class:`InputIssue`, on the resource it is
about; only input that cannot be read as a whole (not a FHIR resource, no or two Patients, references that do
not resolve, an unreadable birth date) raises :class:`~calcinosis.errors.FhirInputError` naming what and
where.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from calcinosis.errors import FhirInputError
from calcinosis.fhir.bundle import Entry, check_patient, open_bundle
from calcinosis.fhir.conditions import read_allergy, read_condition, read_procedure
from calcinosis.fhir.context import ADMINISTRATIVE, Context
from calcinosis.fhir.course_reader import attach_adverse_events, read_adverse_event
from calcinosis.fhir.measurements import assemble_measurements
from calcinosis.fhir.medications import (
    read_medication_administration,
    read_medication_request,
    read_medication_statement,
)
from calcinosis.fhir.observations import read_observation
from calcinosis.fhir.values import bad_date, parse_date
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.patient.codes import load_vocabulary
from calcinosis.patient.models import Case, InputIssue, Sex

Reader = Callable[[Context, Entry], None]

READERS: dict[str, Reader] = {
    "Condition": read_condition,
    "Observation": read_observation,
    "MedicationRequest": read_medication_request,
    "MedicationStatement": read_medication_statement,
    "MedicationAdministration": read_medication_administration,
    "Procedure": read_procedure,
    "AllergyIntolerance": read_allergy,
}
# Resources that only serve others (resolved through references) and need no report of their own.
REFERENCED_ONLY = frozenset({"Medication"})
# Resources read only for the treatment history (attached to the courses read from the rest of the record).
# Kept apart from READERS, which also decides what a SMART launch searches for (``patient=``), a search
# parameter R4 AdverseEvent does not have (it has ``subject``).
HISTORY_READERS: dict[str, Reader] = {"AdverseEvent": read_adverse_event}

PATIENT_READ = frozenset({"birthDate", "gender"})
PATIENT_ADMIN = frozenset(
    {
        "active",
        "name",
        "telecom",
        "address",
        "maritalStatus",
        "contact",
        "communication",
        "generalPractitioner",
        "managingOrganization",
        "link",
        "photo",
        "multipleBirthBoolean",
        "multipleBirthInteger",
    }
)


def _patient(ctx: Context, entry: Entry | None) -> dict[str, Any]:
    if entry is None:
        ctx.issue("Patient", "no Patient resource: age and sex are unknown", "information")
        return {"sex": Sex.UNKNOWN}
    r = entry.resource
    out: dict[str, Any] = {"id": r.get("id") if isinstance(r.get("id"), str) else None}
    if bad_date(r.get("birthDate")):
        raise FhirInputError(f"{entry.where}.birthDate: '{r.get('birthDate')}' is not a FHIR date")
    birth = parse_date(r.get("birthDate"))
    if birth is not None:
        day = ctx.as_of or date.today()
        if birth > day:
            raise FhirInputError(f"{entry.where}.birthDate: {birth} is after the assessment date {day}")
        out["birth_date"] = birth
        out["age_years"] = round((day - birth).days / 365.25, 3)
    gender = r.get("gender")
    if gender is not None and gender not in {s.value for s in Sex}:
        raise FhirInputError(f"{entry.where}.gender: '{gender}' is not a FHIR administrative gender")
    out["sex"] = Sex(gender) if gender else Sex.UNKNOWN
    for dead in ("deceasedBoolean", "deceasedDateTime"):
        if r.get(dead):
            ctx.issue(f"{entry.where}.{dead}", "the patient is recorded as deceased")
    known = PATIENT_READ | PATIENT_ADMIN | ADMINISTRATIVE
    rest = sorted(k for k in r if not k.startswith(("_", "deceased")) and k not in known)
    if rest:
        ctx.issue(entry.where, f"element(s) not used: {', '.join(rest)}", "information")
    return out


def _pregnant(ctx: Context) -> bool | None:
    if not ctx.pregnancy:
        return None
    dated = sorted(ctx.pregnancy, key=lambda p: (p[0] is not None, p[0] or date.min))
    return dated[-1][1]


def _read_one(ctx: Context, entry: Entry, reader: Reader) -> None:
    """Read one resource; one that cannot be read is an input issue on it, never a refusal of the patient."""
    mark = ctx.mark()
    try:
        reader(ctx, entry)
    except FhirInputError as exc:
        ctx.rollback(mark)
        ctx.issue(entry.where, f"{exc}; resource not used")


def case_from_fhir(
    data: Any, as_of: date | None = None, pack: KnowledgePack | None = None
) -> tuple[Case, list[InputIssue]]:
    """Read a FHIR R4 Bundle or single resource into a Case plus the input issues found on the way.

    ``as_of`` (the date ages are computed at) defaults to the Bundle's ``timestamp``, else today. ``pack``
    (whose therapies medications are matched against for treatment courses) defaults to the bundled pack.
    """
    opened = open_bundle(data)
    patient = check_patient(opened)
    if as_of is None and opened.timestamp is not None:
        if bad_date(opened.timestamp):
            raise FhirInputError(f"Bundle.timestamp: '{opened.timestamp}' is not a FHIR instant")
        as_of = parse_date(opened.timestamp)
    ctx = Context(vocab=load_vocabulary(), opened=opened, as_of=as_of, issues=list(opened.issues), pack=pack)
    fields = _patient(ctx, patient)
    for entry in opened.entries:
        if entry.type == "Patient" or entry.type in REFERENCED_ONLY:
            continue
        reader = READERS.get(entry.type) or HISTORY_READERS.get(entry.type)
        if reader is None:
            ctx.issue(entry.where, f"{entry.type} resources are not used by the assessment")
        elif ctx.usable(entry):
            _read_one(ctx, entry, reader)
    case = Case(
        **fields,
        as_of=as_of,
        pregnant=_pregnant(ctx),
        conditions=tuple(ctx.conditions),
        labs=tuple(ctx.labs),
        lesions=tuple(ctx.lesions),
        medications=tuple(ctx.medications),
        history=tuple(ctx.history),
        allergies=tuple(ctx.allergies),
        courses=tuple(attach_adverse_events(ctx)),
        measurements=tuple(assemble_measurements(ctx)),
    )
    return case, ctx.issues
