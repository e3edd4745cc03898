"""Observations of calcinosis lesions → visit measurements (``Case.measurements``).

An Observation is a lesion measurement when its code is one of the project's measure codes (CodeSystem
calcinosis-measure), a LOINC code the measures list (pain 0-10, with a body site), or, with no coding from a
covered code system, a name the measures list, with a body site (``data/measures.yaml``). Its value is
checked (a count is a whole number, a size is a length in mm or cm, a score is within its range, a finding
is yes or no); one that cannot be used is an input issue on that Observation, never a refusal of the record.
The measures of one visit (same date, same site) become one :class:`Measurement`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from calcinosis.fhir.bundle import Entry
from calcinosis.fhir.canonical import CS_MEASURE, url
from calcinosis.fhir.context import Context, MeasurePart
from calcinosis.fhir.treatment import Measure, MeasureSet, load_measures
from calcinosis.fhir.values import codings, concept_text
from calcinosis.patient.models import Coding, Measurement

UCUM = "http://unitsofmeasure.org"
VALUE_ELEMENTS = ("valueQuantity", "valueInteger", "valueBoolean", "valueCodeableConcept", "valueString")


def find_measure(
    ctx: Context, entry: Entry, codes: tuple[Coding, ...], text: str | None, site: str | None, coded: bool
) -> tuple[Measure | None, bool]:
    """(the measure the Observation records, whether the Observation was dealt with here).

    ``coded``: the Observation has a coding from a code system the code sets cover (then its name is not
    read). A recognised measure that is not read (a pain score without a body site) is reported here."""
    measures = load_measures()
    ours = url(CS_MEASURE)
    for c in codes:
        if c.system == ours:
            measure = measures.by_code(c.code)
            if measure is None:
                ctx.issue(
                    f"{entry.where}.code", f"'{c.code}' is not a measure of CodeSystem calcinosis-measure"
                )
                return None, True
            return measure, True
    for c in codes:
        if ctx.vocab.system_id(c.system) != "loinc":
            continue
        measure = measures.by_loinc(c.code)
        if measure is None:
            continue
        if measure.loinc_needs_site and not site:
            ctx.issue(
                f"{entry.where}.bodySite",
                f"{c.display or measure.display} (LOINC {c.code}) without a body site is not read as a lesion "
                "measurement",
                "information",
            )
            return None, True
        return measure, True
    if coded or not site:
        return None, False
    for name in (text, *(c.display for c in codes)):
        measure = measures.by_name(name)
        if measure is not None:
            return measure, True
    return None, False


def read_measurement(
    ctx: Context, entry: Entry, measure: Measure, day: date | None, site: str | None
) -> bool:
    """Keep one measure of a visit; False (with an issue on the Observation) when it cannot be used."""
    if day is None:
        ctx.issue(f"{entry.where}.effective[x]", f"{measure.display}: a measurement needs a date; not used")
        return False
    value = _value(ctx, entry, measure, load_measures())
    if value is None:
        return False
    ctx.measure_parts.append(MeasurePart(day, site, measure.field, value, entry.key, entry.where))
    return True


def _value(ctx: Context, entry: Entry, measure: Measure, measures: MeasureSet) -> float | bool | None:
    r = entry.resource
    element = next((e for e in VALUE_ELEMENTS if e in r), None)
    where = f"{entry.where}.{element or 'value[x]'}"
    if element is None:
        reason = concept_text(r.get("dataAbsentReason")) or "no value"
        ctx.issue(
            where,
            f"{measure.display}: {reason}; not used",
            "information" if "dataAbsentReason" in r else "warning",
        )
        return None
    if measure.value == "boolean":
        answer = _answer(r, element, measures)
        if answer is None:
            ctx.issue(where, f"{measure.display}: expected yes or no; not used")
        return answer
    number = _number(r, element)
    if number is None:
        ctx.issue(where, f"{measure.display}: expected a number; not used")
        return None
    value, unit, comparator = number
    if comparator:
        ctx.issue(where, f"{measure.display}: '{comparator}{value}' is a bound, not a measurement; not used")
        return None
    if measure.value == "length":
        factor = {k.lower(): v for k, v in measures.length_units.items()}.get(unit.lower())
        if factor is None:
            known = ", ".join(measures.length_units)
            ctx.issue(
                where,
                f"{measure.display}: unit '{unit}' is not a length the reader converts ({known}); not used",
            )
            return None
        value = round(value * factor, 6)
    elif unit.lower() not in {u.lower() for u in measures.dimensionless_units}:
        ctx.issue(where, f"{measure.display}: unit '{unit}' is not a score or count; not used")
        return None
    if measure.value == "integer" and value != int(value):
        ctx.issue(where, f"{measure.display}: {value} is not a whole number; not used")
        return None
    low = 0.0 if measure.low is None else measure.low
    if value < low or (measure.high is not None and value > measure.high):
        span = (
            f"{_shown(low)}–{_shown(measure.high)}" if measure.high is not None else f"at least {_shown(low)}"
        )
        ctx.issue(where, f"{measure.display}: {_shown(value)} is outside {span}; not used")
        return None
    return int(value) if measure.value == "integer" else float(value)


def _shown(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if value == int(value) else str(value)


def _number(r: dict[str, Any], element: str) -> tuple[float, str, str] | None:
    """(value, unit, comparator) of a valueQuantity or valueInteger."""
    raw = r[element]
    if element == "valueInteger":
        return (float(raw), "", "") if isinstance(raw, int) and not isinstance(raw, bool) else None
    if element != "valueQuantity" or not isinstance(raw, dict):
        return None
    number = raw.get("value")
    if not isinstance(number, int | float) or isinstance(number, bool):
        return None
    if raw.get("system") == UCUM and isinstance(raw.get("code"), str):
        unit = raw["code"]
    else:
        unit = raw.get("unit") if isinstance(raw.get("unit"), str) else raw.get("code")
    comparator = raw["comparator"] if isinstance(raw.get("comparator"), str) else ""
    return float(number), unit.strip() if isinstance(unit, str) else "", str(comparator)


def _answer(r: dict[str, Any], element: str, measures: MeasureSet) -> bool | None:
    raw = r[element]
    if element == "valueBoolean":
        return raw if isinstance(raw, bool) else None
    if element == "valueCodeableConcept":
        for c in codings(raw):
            answer = measures.answer(c.system, c.code)
            if answer is not None:
                return answer
        return measures.answer_word(concept_text(raw))
    if element == "valueString" and isinstance(raw, str):
        return measures.answer_word(raw)
    return None


def assemble_measurements(ctx: Context) -> list[Measurement]:
    """One Measurement per visit date and site; a measure given twice with different values keeps the first."""
    groups: dict[tuple[date, str], tuple[MeasurePart, dict[str, MeasurePart]]] = {}
    measures = load_measures()
    for part in ctx.measure_parts:
        key = (part.day, " ".join((part.site or "").lower().split()))
        first, fields = groups.setdefault(key, (part, {}))
        earlier = fields.get(part.field)
        if earlier is None:
            fields[part.field] = part
        elif earlier.value != part.value:
            shown = measures.by_field(part.field).display
            ctx.issue(
                part.where,
                f"{shown}: {_text(part.value)} differs from {_text(earlier.value)} at the same visit and site "
                f"({earlier.where}); the first is kept",
            )
    out = [
        Measurement(
            id=first.key,
            date=day,
            site=first.site,
            **{name: part.value for name, part in fields.items()},
        )
        for (day, _), (first, fields) in groups.items()
    ]
    return sorted(out, key=lambda m: (m.date, m.site or ""))


def _text(value: float | bool) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _shown(value)
