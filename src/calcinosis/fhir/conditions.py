"""Condition, Procedure and AllergyIntolerance → conditions, lesions and history events."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from calcinosis.fhir.bundle import Entry
from calcinosis.fhir.context import LESION_CONCEPTS, Context
from calcinosis.fhir.exposures import note_exposures
from calcinosis.fhir.values import (
    bad_date,
    body_site,
    codings,
    concept_text,
    first_code,
    lesion_description,
    notes,
    parse_date,
    when,
)
from calcinosis.patient.models import Allergy, Coding, Condition, Event, Lesion

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
    count, size_mm, features = lesion_description(texts)
    return Lesion(
        id=f"{key}#lesion",
        site=body_site(resource),
        count=count,
        size_mm=size_mm,
        features=features,
        description=" ".join(texts) or None,
        onset=onset,
    )


_ACTIVE = re.compile(r"\b(active disease|disease (?:is )?active|flare|flaring|relapsing)\b", re.I)
_QUIET = re.compile(r"\b(inactive|quiescent|in remission|burnt[- ]out|disease (?:is )?stable)\b", re.I)


def disease_activity(texts: list[str]) -> bool | None:
    """Disease activity as a note states it ("active disease", "flare" / "inactive", "in remission")."""
    text = " ".join(texts)
    if _QUIET.search(text):
        return False
    if _ACTIVE.search(text):
        return True
    return None


def add_concept_fact(
    ctx: Context, key: str, concept: str, text: str | None, codes: tuple[Coding, ...], dated: dict[str, Any]
) -> None:
    """Put one recognised concept where it belongs: a condition or a history event."""
    if ctx.vocab.kind_of(concept) == "event":
        day = dated["onset"] or dated["recorded"]
        site = dated.get("site")
        ctx.history.append(Event(id=key, concept=concept, text=text, codes=codes, date=day, site=site))
    else:
        fields = {k: v for k, v in dated.items() if k != "site"}
        ctx.conditions.append(Condition(id=key, concept=concept, text=text, codes=codes, **fields))


HELD = {"active", "recurrence", "relapse"}


def _statuses(ctx: Context, entry: Entry, what: str, known: set[str]) -> tuple[str | None, str | None] | None:
    """Verification and clinical status codes, or None (with an issue) when the resource is not to be used:
    refuted or entered in error, or a clinical status that is not one of ``known``."""
    r = entry.resource
    verification = first_code(r.get("verificationStatus"))
    if verification in NOT_HELD:
        ctx.issue(f"{entry.where}.verificationStatus", f"{what} is {verification}; not used", "information")
        return None
    status = first_code(r.get("clinicalStatus"))
    if status is not None and status not in known:
        ctx.issue(f"{entry.where}.clinicalStatus", f"unknown clinical status '{status}'; {what} not used")
        return None
    return verification, status


def read_condition(ctx: Context, entry: Entry) -> None:
    r = entry.resource
    held = _statuses(ctx, entry, "condition", CLINICAL_STATUS)
    if held is None:
        return
    verification, status = held
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
        "disease_active": disease_activity(notes(r)),
        "onset": onset,
        "recorded": recorded,
        "site": body_site(r),
    }
    read = set(CONDITION_READ)
    pregnancy = "pregnancy" in found
    if pregnancy:
        found.remove("pregnancy")
        ctx.pregnancy.append((recorded or onset, dated["status"] in HELD, entry.key))
    pairs = [(c.system, c.code) for c in codes]
    finding = not found and ctx.vocab.is_lesion_finding(pairs, " ; ".join(filter(None, [text])))
    lesion = bool(LESION_CONCEPTS & set(found) or finding) and bool(r.get("bodySite") or r.get("note"))
    if not lesion and not any(ctx.vocab.kind_of(c) == "event" for c in found):
        read.discard("bodySite")
    if not lesion and dated["disease_active"] is None:
        read.discard("note")
    if not found and not pregnancy and not finding:
        fields = {k: v for k, v in dated.items() if k != "site"}
        ctx.conditions.append(Condition(id=entry.key, text=text, codes=codes, **fields))
        what = _describe(codes, text)
        ctx.issue(f"{entry.where}.code", f"condition not recognised ({what}); kept as text only")
    for i, concept in enumerate(found):
        key = entry.key if i == 0 else f"{entry.key}#{concept}"
        add_concept_fact(ctx, key, concept, text, codes, dated)
    if lesion and dated["status"] in HELD:
        ctx.lesions.append(lesion_from(entry.key, r, onset))
    elif finding and not lesion:
        ctx.issue(entry.where, "skin finding without bodySite or note; not used as a lesion")
    if note_exposures(ctx, entry, onset or recorded, dated["site"]):
        read |= {"note", "bodySite"}
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
    note_exposures(ctx, entry, performed, body_site(r))
    ctx.unused(
        entry,
        {"status", "code", "bodySite", "outcome", "note"}
        | {f"performed{s}" for s in ("DateTime", "Period", "String", "Age", "Range")},
    )


ALLERGY_STATUS = {"active", "inactive", "resolved"}
ALLERGY_VERIFICATION = {"confirmed", "unconfirmed", "presumed", "refuted", "entered-in-error"}
CRITICALITY = {"low", "high", "unable-to-assess"}
ALLERGY_READ = frozenset(
    {"code", "clinicalStatus", "verificationStatus", "criticality", "reaction", "recordedDate"}
)


def read_allergy(ctx: Context, entry: Entry) -> None:
    """An allergy or intolerance: the engine shows it on every option whose drug it names."""
    r = entry.resource
    held = _statuses(ctx, entry, "allergy", ALLERGY_STATUS)
    if held is None:
        return
    verification, status = held
    codes = codings(r.get("code"))
    text = concept_text(r.get("code")) or next((c.display for c in codes if c.display), None)
    found = ctx.concepts(codes, text or "", {"medication"}) if codes else []
    criticality = r.get("criticality")
    manifestations = [
        concept_text(m)
        for reaction in (r.get("reaction") or [])
        if isinstance(reaction, dict)
        for m in (reaction.get("manifestation") or [])
    ]
    ctx.allergies.append(
        Allergy(
            id=entry.key,
            concept=found[0] if len(found) == 1 else None,
            substance=text or (found[0] if found else None) or _describe(codes, None),
            codes=codes,
            status=status or "active",
            verification=verification if verification in ALLERGY_VERIFICATION else "confirmed",
            criticality=criticality if isinstance(criticality, str) and criticality in CRITICALITY else None,
            reaction=", ".join(m for m in manifestations if m) or None,
            recorded=parse_date(r.get("recordedDate")),
        )
    )
    ctx.unused(entry, ALLERGY_READ)


def _describe(codes: tuple[Coding, ...], text: str | None) -> str:
    if codes:
        return ", ".join(f"{c.system}|{c.code}" for c in codes[:3])
    return f"text '{text}'" if text else "no code or text"
