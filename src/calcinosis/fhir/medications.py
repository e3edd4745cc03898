"""MedicationRequest and MedicationStatement → medications (RxNorm codes, text as fallback)."""

from __future__ import annotations

from typing import Any

from calcinosis.fhir.bundle import Entry
from calcinosis.fhir.context import Context
from calcinosis.fhir.values import codings, concept_text, parse_date, when
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


def _read(ctx: Context, entry: Entry, statuses: dict[str, str | None], dosage_el: str, date_el: str) -> None:
    r = entry.resource
    raw_status = r.get("status")
    if raw_status not in statuses:
        ctx.issue(f"{entry.where}.status", f"unknown status '{raw_status}'; not used")
        return
    status = statuses[raw_status]
    if status is None:
        ctx.issue(f"{entry.where}.status", f"medication is {raw_status}; not used", "information")
        return
    product = _product(ctx, entry)
    if product is None:
        return
    cc, fallback = product
    codes = codings(cc)
    name = concept_text(cc) or fallback
    words = " ; ".join(filter(None, [name, *(c.display or "" for c in codes)]))
    found = ctx.concepts(codes, words, {"medication"})
    dosage = r.get(dosage_el) or []
    first = dosage[0] if isinstance(dosage, list) and dosage and isinstance(dosage[0], dict) else {}
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
    if not found:
        ctx.medications.append(Medication(id=entry.key, **common))
        what = ", ".join(f"{c.system}|{c.code}" for c in codes[:3]) or f"text '{name}'"
        ctx.issue(entry.where, f"medication not recognised ({what}); kept by name only")
    for i, concept in enumerate(found):
        key = entry.key if i == 0 else f"{entry.key}#{concept}"
        ctx.medications.append(Medication(id=key, concept=concept, **common))
    ctx.unused(entry, READ)
