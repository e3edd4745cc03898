"""Observation → labs (LOINC, UCUM units), pregnancy status, findings (e.g. biopsy results), lesions and
visit measurements of lesions (:mod:`calcinosis.fhir.measurements`).

Codes first: a LOINC code the code sets list gives the analyte; a coding from a code system the code sets
cover (LOINC, SNOMED CT, ...) that is not listed means "not one of ours", and the Observation's name is then
not read as an analyte or a finding (a urine albumin/creatinine ratio is not serum creatinine). Its name is
read only when it has no such coding. An Observation that cannot be used (unknown analyte, unit or value)
becomes an input issue on that Observation; the rest of the record is still read.
"""

from __future__ import annotations

import re
from typing import Any

from calcinosis.fhir.bundle import Entry
from calcinosis.fhir.conditions import lesion_from
from calcinosis.fhir.context import LESION_CONCEPTS, Context
from calcinosis.fhir.exposures import note_exposures
from calcinosis.fhir.measurements import find_measure, read_measurement
from calcinosis.fhir.values import body_site, codings, concept_text, notes, when
from calcinosis.patient.models import Coding, Event, Lab
from calcinosis.patient.terms import load_lab_vocabulary

UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
NOT_RESULTS = {"entered-in-error", "cancelled", "registered"}
INTERPRETATIONS = {"H", "L", "N", "HH", "LL", "A", "POS", "NEG"}
# Other v3 ObservationInterpretation codes read as the nearest of the above (never more severe).
SAME_AS = {"AA": "A", "HU": "H", "LU": "L", "DET": "POS", "ND": "NEG"}
INTERPRETATION_WORDS = {
    "normal": "N",
    "high": "H",
    "low": "L",
    "abnormal": "A",
    "positive": "POS",
    "negative": "NEG",
    "critical high": "HH",
    "critically high": "HH",
    "critical low": "LL",
    "critically low": "LL",
}
_NEGATIVE = re.compile(r"\b(negative|not detected|non-?reactive|absent)\b", re.I)
_POSITIVE = re.compile(r"\b(positive|detected|reactive|present)\b", re.I)

READ = frozenset(
    {
        "status",
        "code",
        "valueQuantity",
        "valueCodeableConcept",
        "valueString",
        "valueBoolean",
        "valueInteger",
        "valueRatio",
        "interpretation",
        "referenceRange",
        "bodySite",
        "note",
        "dataAbsentReason",
        "hasMember",
        "method",
        "effectiveDateTime",
        "effectivePeriod",
        "effectiveInstant",
    }
)


def read_observation(ctx: Context, entry: Entry) -> None:
    r = entry.resource
    status = r.get("status")
    if status in NOT_RESULTS:
        ctx.issue(f"{entry.where}.status", f"observation is {status}; not used", "information")
        return
    codes = codings(r.get("code"))
    text = concept_text(r.get("code"))
    observed, _ = when(r, "effective")
    # A coding from a covered code system that the code sets do not list: the name is not read against it.
    coded = any(ctx.vocab.known_system(c.system) for c in codes)
    words = "" if coded else _words(codes, text)
    pairs = [(c.system, c.code) for c in codes]
    site = body_site(r)
    if any(ctx.vocab.is_pregnancy_status(c.system, c.code) for c in codes):
        _pregnancy_status(ctx, entry, observed)
    elif analyte := _loinc_analyte(ctx, codes):
        if not _lab(ctx, entry, analyte, codes, text, observed):
            return
    elif (measured := find_measure(ctx, entry, codes, text, site, coded))[1]:
        measure = measured[0]
        if measure is None or not read_measurement(ctx, entry, measure, observed, site):
            return
    elif found := ctx.concepts(codes, words, {"event", "condition"}):
        _finding(ctx, entry, found, codes, text, observed)
    elif ctx.vocab.is_lesion_finding(pairs, words):
        value = _value_text(r)
        ctx.lesions.append(lesion_from(entry.key, r, observed, [value] if value else []))
    elif coded and _result_names_an_event(ctx, r):
        _finding(ctx, entry, [], codes, text, observed)
    elif not coded and (analyte := load_lab_vocabulary().analyte_for_text(words)):
        ctx.issue(
            f"{entry.where}.code",
            f"lab recognised by its name as '{analyte}' (no known LOINC code)",
            "information",
        )
        if not _lab(ctx, entry, analyte, codes, text, observed):
            return
    else:
        what = ", ".join(f"{c.system}|{c.code}" for c in codes[:3]) or f"text '{text}'"
        if coded:  # an analyte or finding of another kind (sodium, blood pressure ...): expected, not a fault
            why = "a code that is not an analyte or finding the assessment reads"
            ctx.issue(f"{entry.where}.code", f"observation with {why} ({what}); not used", "information")
        else:
            ctx.issue(f"{entry.where}.code", f"observation not recognised ({what}); not used")
        return
    note_exposures(ctx, entry, observed, site)
    ctx.unused(entry, READ)


def _result_names_an_event(ctx: Context, r: dict[str, Any]) -> bool:
    """True when a coded report's textual result names a finding (e.g. a pathology report's diagnosis)."""
    result = _value_text(r)
    return any(ctx.vocab.kind_of(c) == "event" for c in ctx.vocab.concepts_in_text(result, "event"))


def _words(codes: tuple[Coding, ...], text: str | None) -> str:
    return " ; ".join(filter(None, [text, *(c.display or "" for c in codes)]))


def _loinc_analyte(ctx: Context, codes: tuple[Coding, ...]) -> str | None:
    for c in codes:
        if ctx.vocab.system_id(c.system) == "loinc" and c.code in ctx.vocab.labs:
            return ctx.vocab.labs[c.code].analyte
    return None


def _pregnancy_status(ctx: Context, entry: Entry, observed: Any) -> None:
    value = entry.resource.get("valueCodeableConcept")
    for c in codings(value):
        answer = ctx.vocab.pregnancy_answer(c.system, c.code)
        if answer is not None:
            ctx.pregnancy.append((observed, answer, entry.key))
            return
    ctx.issue(
        f"{entry.where}.value", f"pregnancy status answer not recognised ({concept_text(value)}); not used"
    )


def _interpretation(r: dict[str, Any], value_text: str | None) -> str | None:
    given = r.get("interpretation")
    items = given if isinstance(given, list) else [given] if isinstance(given, dict) else []
    for cc in items:
        for raw in _interpretation_codes(cc):
            code = raw.strip().upper()
            if code in INTERPRETATIONS:
                return code
            if code in SAME_AS:
                return SAME_AS[code]
        shown = (concept_text(cc) or "").strip().lower()
        if shown in INTERPRETATION_WORDS:
            return INTERPRETATION_WORDS[shown]
    if value_text:
        if _NEGATIVE.search(value_text):
            return "NEG"
        if _POSITIVE.search(value_text):
            return "POS"
    return None


def _interpretation_codes(cc: Any) -> list[str]:
    """The codes of an interpretation, with or without a system (exports often leave it out)."""
    if not isinstance(cc, dict):
        return []
    return [
        c["code"] for c in cc.get("coding") or [] if isinstance(c, dict) and isinstance(c.get("code"), str)
    ]


def _engine_unit(analyte: str, raw: str, ctx: Context) -> str | None:
    """The first spelling of ``raw`` that the engine's unit table converts for ``analyte``."""
    labs = load_lab_vocabulary()
    for spelling in ctx.vocab.unit_spellings(raw):
        if labs.to_canonical(analyte, 1.0, spelling) is not None:
            return spelling
    return None


def _quantity(
    ctx: Context, entry: Entry, analyte: str, q: Any
) -> tuple[float | None, str | None, str | None] | None:
    """(value, unit, value text) from a valueQuantity; None (with an issue on it) when it cannot be used."""
    where = f"{entry.where}.valueQuantity"
    if (
        not isinstance(q, dict)
        or not isinstance(q.get("value"), int | float)
        or isinstance(q.get("value"), bool)
    ):
        ctx.issue(where, f"{analyte}: expected a Quantity with a numeric value; not used")
        return None
    comparator = q.get("comparator") if isinstance(q.get("comparator"), str) else ""
    shown = f"{comparator}{q['value']}" if comparator else None
    raw = q.get("code") if q.get("system") == UCUM and isinstance(q.get("code"), str) else q.get("unit")
    raw = raw.strip() if isinstance(raw, str) else ""
    term = load_lab_vocabulary().terms[analyte]
    if term.unit == "":
        return None, None, f"{shown or q['value']} {raw}".strip()
    unit = _engine_unit(analyte, raw, ctx) if raw else None
    if unit is None:
        expected = ", ".join(sorted({u for u in term.units if u == u.strip()})[:6])
        got = f"unit '{raw}'" if raw else "no unit"
        ctx.issue(where, f"{got} is not a known unit for {analyte} (known: {expected}); not used")
        return None
    return float(q["value"]), unit, shown


def _value_text(r: dict[str, Any]) -> str | None:
    if isinstance(r.get("valueString"), str):
        return str(r["valueString"]).strip() or None
    if "valueCodeableConcept" in r:
        return concept_text(r["valueCodeableConcept"])
    if isinstance(r.get("valueBoolean"), bool):
        return "positive" if r["valueBoolean"] else "negative"
    if isinstance(r.get("valueInteger"), int):
        return str(r["valueInteger"])
    ratio = r.get("valueRatio")
    if isinstance(ratio, dict):
        num = (ratio.get("numerator") or {}).get("value")
        den = (ratio.get("denominator") or {}).get("value")
        if num is not None and den is not None:
            return f"{num}:{den}"
    return None


def _lab(
    ctx: Context, entry: Entry, analyte: str, codes: tuple[Coding, ...], text: str | None, day: Any
) -> bool:
    """Add the lab; False (with an issue) when the Observation gives nothing usable."""
    r = entry.resource
    value: float | None = None
    unit: str | None = None
    shown: str | None = None
    if "valueQuantity" in r:
        read = _quantity(ctx, entry, analyte, r["valueQuantity"])
        if read is None:
            return False
        value, unit, shown = read
    else:
        shown = _value_text(r)
        if shown is None and analyte in ctx.vocab.panels:
            shown = "panel on record"
        # A result reported only as an interpretation ("normal", "high") is kept as that interpretation.
        if shown is None and ("dataAbsentReason" in r or _interpretation(r, None) is None):
            reason = concept_text(r.get("dataAbsentReason")) or "no result value"
            ctx.issue(entry.where, f"{analyte}: {reason}; not used")
            return False
    low, high = _range(r, unit)
    loinc = next((c.code for c in codes if ctx.vocab.system_id(c.system) == "loinc"), None)
    ctx.labs.append(
        Lab(
            id=entry.key,
            analyte=analyte,
            loinc=loinc,
            text=text,
            value=value,
            value_text=shown,
            unit=unit,
            date=day,
            interpretation=_interpretation(r, shown),
            ref_low=low,
            ref_high=high,
        )
    )
    return True


def _range(r: dict[str, Any], unit: str | None) -> tuple[float | None, float | None]:
    ranges = r.get("referenceRange")
    if not isinstance(ranges, list) or not ranges or not isinstance(ranges[0], dict) or unit is None:
        return None, None

    def bound(name: str) -> float | None:
        q = ranges[0].get(name)
        if isinstance(q, dict) and isinstance(q.get("value"), int | float):
            return float(q["value"])
        return None

    return bound("low"), bound("high")


def _finding(
    ctx: Context, entry: Entry, found: list[str], codes: tuple[Coding, ...], text: str | None, day: Any
) -> None:
    r = entry.resource
    result = _value_text(r)
    if set(found) & LESION_CONCEPTS:
        extra = [result] if result else []
        ctx.lesions.append(lesion_from(entry.key, r, day, extra))
        return
    events = ctx.vocab.most_specific(
        {
            c
            for c in set(found) | ctx.vocab.concepts_in_text(result, "event")
            if ctx.vocab.kind_of(c) == "event"
        }
    )
    if not events:
        ctx.issue(
            f"{entry.where}.code",
            f"observation names {', '.join(found)} but is not a finding the engine reads",
        )
        return
    description = "; ".join(filter(None, [result, *notes(r)])) or None
    for i, concept in enumerate(events):
        key = entry.key if i == 0 else f"{entry.key}#{concept}"
        ctx.history.append(
            Event(
                id=key,
                concept=concept,
                text=text,
                codes=codes,
                date=day,
                site=body_site(r),
                result=description,
            )
        )
