"""Condition, Procedure and AllergyIntolerance → conditions, lesions and history events."""

from __future__ import annotations

from datetime import date
from typing import Any

from calcinosis.fhir.bundle import Entry
from calcinosis.fhir.context import LESION_CONCEPTS, Context
from calcinosis.fhir.values import (
    bad_date,
    body_site,
    codings,
    concept_text,
    features,
    first_code,
    notes,
    parse_date,
    when,
)
from calcinosis.patient.models import Coding, Condition, Event, Lesion

CLINICAL_STATUS = {"active", "recurrence", "relapse", "inactive", "remission", "resolved"}
VERIFICATION = {"confirmed", "provisional", "differential", "unconfirmed"}
NOT_HELD = {"refuted", "entered-in-error"}
PROCEDURE_DONE = {"completed", "in-progress"}

CONDITION_READ = frozenset(
    {"code", "clinicalStatus", "verificationStatus", "bodySite", "note", "severity", "abatementDateTime"}
    | {f"onset{s}" for s in ("DateTime", "Period", "Age", "String", "Range")}
    | {f"abatement{s}" for s in ("Period", "Age", "String", "Range", "Boolean")}
)


def lesion_from(
    key: str, resource: dict[str, Any], onset: date | None, extra_text: list[str] | None = None
) -> Lesion:
    texts = notes(resource) + (extra_text or [])
    return Lesion(
        id=f"{key}#lesion",
        site=body_site(resource),
        features=features(texts),
        description=" ".join(texts) or None,
        onset=onset,
    )


def add_concept_fact(
    ctx: Context, key: str, concept: str, text: str | None, codes: tuple[Coding, ...], **dated: Any
) -> None:
    """Put one recognised concept where it belongs: a condition or a history event."""
    if ctx.vocab.kind_of(concept) == "event":
        ctx.history.append(
            Event(
                id=key,
                concept=concept,
                text=text,
                codes=codes,
                date=dated.get("onset") or dated.get("recorded"),
            )
        )
    else:
        ctx.conditions.append(Condition(id=key, concept=concept, text=text, codes=codes, **dated))


def read_condition(ctx: Context, entry: Entry) -> None:
    r = entry.resource
    verification = first_code(r.get("verificationStatus"))
    if verification in NOT_HELD:
        ctx.issue(
            f"{entry.where}.verificationStatus", f"condition is {verification}; not used", "information"
        )
        return
    status = first_code(r.get("clinicalStatus"))
    if status is not None and status not in CLINICAL_STATUS:
        ctx.issue(f"{entry.where}.clinicalStatus", f"unknown clinical status '{status}'; condition not used")
        return
    codes = codings(r.get("code"))
    text = concept_text(r.get("code"))
    found = ctx.concepts(codes, " ; ".join(filter(None, [text, *(c.display or "" for c in codes)])))
    onset, onset_el = when(r, "onset")
    if onset_el and bad_date(r.get(onset_el)):
        ctx.issue(f"{entry.where}.{onset_el}", "date not readable; ignored")
    recorded = parse_date(r.get("recordedDate"))
    dated: dict[str, Any] = {
        "status": status or "active",
        "verification": verification if verification in VERIFICATION else "confirmed",
        "onset": onset,
        "recorded": recorded,
    }
    read = set(CONDITION_READ)
    if "pregnancy" in found:
        found.remove("pregnancy")
        held = dated["status"] in {"active", "recurrence", "relapse"}
        ctx.pregnancy.append((recorded or onset, held, entry.key))
        if not found:
            ctx.unused(entry, read - {"bodySite", "note"})
            return
    if not found:
        ctx.conditions.append(Condition(id=entry.key, text=text, codes=codes, **dated))
        ctx.issue(
            f"{entry.where}.code", f"condition not recognised ({_describe(codes, text)}); kept as text only"
        )
        ctx.unused(entry, read - {"bodySite", "note"})
        return
    for i, concept in enumerate(found):
        key = entry.key if i == 0 else f"{entry.key}#{concept}"
        add_concept_fact(ctx, key, concept, text, codes, **dated)
    if LESION_CONCEPTS & set(found) and (r.get("bodySite") or r.get("note")):
        if dated["status"] in {"active", "recurrence", "relapse"}:
            ctx.lesions.append(lesion_from(entry.key, r, onset))
    else:
        read -= {"bodySite", "note"}
    ctx.unused(entry, read)


def read_procedure(ctx: Context, entry: Entry) -> None:
    r = entry.resource
    status = r.get("status")
    if status not in PROCEDURE_DONE:
        ctx.issue(f"{entry.where}.status", f"procedure status '{status}'; not used", "information")
        return
    codes = codings(r.get("code"))
    text = concept_text(r.get("code"))
    performed, _ = when(r, "performed")
    found = ctx.concepts(codes, " ; ".join(filter(None, [text, *(c.display or "" for c in codes)])))
    outcome = concept_text(r.get("outcome"))
    result = "; ".join(filter(None, [outcome, *notes(r)])) or None
    if not found:
        ctx.history.append(Event(id=entry.key, text=text, codes=codes, date=performed, result=result))
        ctx.issue(
            f"{entry.where}.code", f"procedure not recognised ({_describe(codes, text)}); kept as text only"
        )
    for i, concept in enumerate(found):
        key = entry.key if i == 0 else f"{entry.key}#{concept}"
        if ctx.vocab.kind_of(concept) == "event":
            site = body_site(r)
            ctx.history.append(
                Event(
                    id=key, concept=concept, text=text, codes=codes, date=performed, site=site, result=result
                )
            )
        else:
            ctx.conditions.append(Condition(id=key, concept=concept, text=text, codes=codes, onset=performed))
    ctx.unused(
        entry,
        {"status", "code", "bodySite", "outcome", "note"}
        | {f"performed{s}" for s in ("DateTime", "Period", "String", "Age", "Range")},
    )


def read_allergy(ctx: Context, entry: Entry) -> None:
    text = concept_text(entry.resource.get("code")) or "unspecified substance"
    ctx.issue(
        entry.where,
        f"allergy or intolerance recorded ({text}); the assessment does not use allergies: check options",
    )


def _describe(codes: tuple[Coding, ...], text: str | None) -> str:
    if codes:
        return ", ".join(f"{c.system}|{c.code}" for c in codes[:3])
    return f"text '{text}'" if text else "no code or text"
