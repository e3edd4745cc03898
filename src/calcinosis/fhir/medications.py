"""MedicationRequest, MedicationStatement, MedicationAdministration → medications (RxNorm, text as fallback).

A MedicationRequest or MedicationStatement that names a pack therapy is also a treatment course (see
:mod:`calcinosis.fhir.course_reader`).

A calcium or phosphate salt given (MedicationAdministration) or ordered or taken by the intravenous route is
also an iatrogenic exposure: a history event with its date and site (see :mod:`calcinosis.fhir.exposures`).
An administration is a current medication only while it is in progress or on hold.
"""

from __future__ import annotations

from typing import Any

from calcinosis.fhir.bundle import Entry
from calcinosis.fhir.context import Context
from calcinosis.fhir.course_reader import add_course
from calcinosis.fhir.exposures import add_exposures, iv_exposures, note_exposures
from calcinosis.fhir.values import codings, concept_text, parse_date, site_text, when
from calcinosis.patient.models import Medication

# FHIR status → the case's medication status; None means "not taken: do not use".
REQUEST_STATUS: dict[str, str | None] = {
    "active": "active",
    "on-hold": "on-hold",
    "completed": "completed",
    "stopped": "stopped",
    "draft": "draft",
    "unknown": "unknown",
    "cancelled": None,
    "entered-in-error": None,
}
STATEMENT_STATUS: dict[str, str | None] = {
    "active": "active",
    "on-hold": "on-hold",
    "completed": "completed",
    "stopped": "stopped",
    "intended": "planned",
    "unknown": "unknown",
    "not-taken": None,
    "entered-in-error": None,
}

# MedicationAdministration.status → the case's medication status while it is current; completed or stopped
# administrations are history (exposures), not current medications; None means "not given: do not use".
ADMINISTRATION_STATUS: dict[str, str | None] = {
    "in-progress": "active",
    "on-hold": "on-hold",
    "completed": "completed",
    "stopped": "stopped",
    "unknown": "unknown",
    "not-done": None,
    "entered-in-error": None,
}
CURRENT = frozenset({"active", "on-hold", "unknown"})

READ = frozenset(
    {
        "status",
        "medicationCodeableConcept",
        "medicationReference",
        "dosageInstruction",
        "dosage",
        "authoredOn",
        "effectiveDateTime",
        "effectivePeriod",
        "note",
    }
)


def read_medication_request(ctx: Context, entry: Entry) -> None:
    _read(ctx, entry, REQUEST_STATUS, "dosageInstruction", "authoredOn")


def read_medication_statement(ctx: Context, entry: Entry) -> None:
    _read(ctx, entry, STATEMENT_STATUS, "dosage", "effective")


def _product(ctx: Context, entry: Entry) -> tuple[Any, str | None] | None:
    """(CodeableConcept, fallback text) of the medication, resolving a Medication reference."""
    r = entry.resource
    if "medicationCodeableConcept" in r:
        return r["medicationCodeableConcept"], None
    ref = r.get("medicationReference")
    if ref is None:
        ctx.issue(entry.where, "no medication[x]; not used")
        return None
    target = ctx.resolve(ref, entry)
    display = ref.get("display") if isinstance(ref, dict) and isinstance(ref.get("display"), str) else None
    if target is None or target.get("resourceType") != "Medication":
        shown = ref.get("reference") if isinstance(ref, dict) else ref
        if display:
            ctx.issue(
                f"{entry.where}.medicationReference",
                f"reference '{shown}' does not resolve to a Medication; read its display '{display}'",
            )
            return {"text": display}, display
        ctx.issue(
            f"{entry.where}.medicationReference",
            f"reference '{shown}' does not resolve to a Medication; not used",
        )
        return None
    return target.get("code"), display


def _first_dosage(r: dict[str, Any], element: str) -> dict[str, Any]:
    dosage = r.get(element)
    if isinstance(dosage, dict):
        return dosage
    if isinstance(dosage, list) and dosage and isinstance(dosage[0], dict):
        return dosage[0]
    return {}


def _status(ctx: Context, entry: Entry, statuses: dict[str, str | None]) -> str | None:
    raw_status = entry.resource.get("status")
    if raw_status not in statuses:
        ctx.issue(f"{entry.where}.status", f"unknown status '{raw_status}'; not used")
        return None
    status = statuses[raw_status]
    if status is None:
        ctx.issue(f"{entry.where}.status", f"medication is {raw_status}; not used", "information")
    return status


def _read(ctx: Context, entry: Entry, statuses: dict[str, str | None], dosage_el: str, date_el: str) -> None:
    r = entry.resource
    status = _status(ctx, entry, statuses)
    if status is None:
        return
    product = _product(ctx, entry)
    if product is None:
        return
    cc, fallback = product
    codes = codings(cc)
    name = concept_text(cc) or fallback
    words = " ; ".join(filter(None, [name, *(c.display or "" for c in codes)]))
    found = ctx.concepts(codes, words, {"medication"})
    first = _first_dosage(r, dosage_el)
    route = concept_text(first.get("route"))
    dose = first.get("text") if isinstance(first.get("text"), str) else None
    start = parse_date(r.get(date_el)) if date_el == "authoredOn" else when(r, date_el)[0]
    common: dict[str, Any] = {
        "name": name,
        "codes": codes,
        "status": status,
        "route": route,
        "dose": dose,
        "start": start,
    }
    exposures = iv_exposures(ctx, found, first.get("route"), words)
    if exposures:
        site = site_text(first.get("site"))
        add_exposures(ctx, entry, exposures, text=name, codes=codes, day=start, site=site)
    course = add_course(ctx, entry, codes=codes, name=name, concepts=found, dosage=first)
    if not found:
        ctx.medications.append(Medication(id=entry.key, **common))
        if not course:  # a course names its pack therapy: the medication is known by that
            what = ", ".join(f"{c.system}|{c.code}" for c in codes[:3]) or f"text '{name}'"
            ctx.issue(entry.where, f"medication not recognised ({what}); kept by name only")
    for i, concept in enumerate(found):
        key = entry.key if i == 0 else f"{entry.key}#{concept}"
        ctx.medications.append(Medication(id=key, concept=concept, **common))
    note_exposures(ctx, entry, start, None)
    ctx.unused(entry, READ)


ADMINISTRATION_READ = frozenset(
    {
        "status",
        "medicationCodeableConcept",
        "medicationReference",
        "dosage",
        "effectiveDateTime",
        "effectivePeriod",
        "note",
        "request",
    }
)


def read_medication_administration(ctx: Context, entry: Entry) -> None:
    """A medication given: an exposure if IV calcium or phosphate, a current medication while being given."""
    r = entry.resource
    status = _status(ctx, entry, ADMINISTRATION_STATUS)
    if status is None:
        return
    product = _product(ctx, entry)
    if product is None:
        return
    cc, fallback = product
    codes = codings(cc)
    name = concept_text(cc) or fallback
    words = " ; ".join(filter(None, [name, *(c.display or "" for c in codes)]))
    found = ctx.concepts(codes, words, {"medication"})
    dosage = _first_dosage(r, "dosage")
    given, _ = when(r, "effective")
    exposures = iv_exposures(ctx, found, dosage.get("route"), words)
    add_exposures(
        ctx, entry, exposures, text=name, codes=codes, day=given, site=site_text(dosage.get("site"))
    )
    dose = dosage.get("text") if isinstance(dosage.get("text"), str) else None
    if status in CURRENT:
        common: dict[str, Any] = {
            "name": name,
            "codes": codes,
            "status": status,
            "route": concept_text(dosage.get("route")),
            "dose": dose,
            "start": given,
        }
        named: list[str | None] = list(found) or [None]
        for i, concept in enumerate(named):
            key = entry.key if i == 0 else f"{entry.key}#{concept}"
            ctx.medications.append(Medication(id=key, concept=concept, **common))
    if not found:
        what = ", ".join(f"{c.system}|{c.code}" for c in codes[:3]) or f"text '{name}'"
        kept = "kept by name only" if status in CURRENT else "administration not used"
        ctx.issue(entry.where, f"medication not recognised ({what}); {kept}")
    elif not exposures and status not in CURRENT:
        ctx.issue(
            entry.where,
            f"{name}: {status} administration, not an exposure the assessment reads",
            "information",
        )
    note_exposures(ctx, entry, given, site_text(dosage.get("site")))
    ctx.unused(entry, ADMINISTRATION_READ)
