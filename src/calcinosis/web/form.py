"""The assess form -> a native case JSON object (docs/case-format.md), with a message per bad field.

Only shape and range are checked here (what the browser's own constraints also check); everything clinical
(unit conversion, what a value means) is the engine's.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from calcinosis.web.choices import (
    CONDITIONS,
    FEATURES,
    HISTORY,
    LABS,
    LESION_SLOTS,
    PREGNANCY,
    QUALITATIVE,
    QUALITATIVE_RESULTS,
    SEXES,
)

MAX_TEXT = 500
MAX_LINES = 30


@dataclass
class FormState:
    """What was entered (to show it again) and what was wrong with it, by field name."""

    values: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def value(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    def checked(self, name: str, value: str) -> bool:
        return value in self.lists.get(name, [])

    def error(self, name: str) -> str | None:
        return self.errors.get(name)


LABELS: dict[str, str] = {
    "label": "Case label",
    "age": "Age",
    "sex": "Sex",
    "pregnant": "Pregnancy",
    "as_of": "Assessment date",
    "lab_date": "Date of the results",
    "other_conditions": "Other conditions",
    "other_history": "Other history",
    "medications": "Current medications",
    "notes": "Notes",
    **{f"lab-{f.analyte}": f.label for f in LABS},
    **{f"unit-{f.analyte}": f"{f.label} unit" for f in LABS},
    **{f"qual-{q.value}": q.label for q in QUALITATIVE},
}
for _i in range(LESION_SLOTS):
    LABELS[f"lesion{_i}-site"] = f"Lesion {_i + 1} site"
    LABELS[f"lesion{_i}-count"] = f"Lesion {_i + 1} count"
    LABELS[f"lesion{_i}-size"] = f"Lesion {_i + 1} size"
    LABELS[f"lesion{_i}-description"] = f"Lesion {_i + 1} description"


class _Reader:
    def __init__(self, form: Mapping[str, Sequence[str]]) -> None:
        self.form = form
        self.state = FormState()

    def text(self, name: str, limit: int = MAX_TEXT) -> str | None:
        raw = (self.form.get(name) or [""])[0]
        value = raw.strip()
        self.state.values[name] = raw
        if len(value) > limit:
            self.state.errors[name] = f"{LABELS.get(name, name)}: at most {limit} characters."
            return None
        return value or None

    def number(self, name: str, low: float, high: float, *, integer: bool = False) -> float | None:
        raw = self.text(name, 40)
        if raw is None:
            return None
        label = LABELS.get(name, name)
        try:
            value = float(raw.replace(",", ".")) if not integer else float(int(raw))
        except ValueError:
            kind = "a whole number" if integer else "a number"
            self.state.errors[name] = f"{label}: enter {kind} (for example {low + 1:g})."
            return None
        if not math.isfinite(value) or value < low or value > high:
            self.state.errors[name] = f"{label}: enter a value from {low:g} to {high:g}."
            return None
        return value

    def choice(self, name: str, allowed: Sequence[str], default: str = "") -> str:
        raw = self.text(name, 100) or default
        if raw not in allowed:
            self.state.errors[name] = f"{LABELS.get(name, name)}: choose one of the options offered."
            return default
        return raw

    def many(self, name: str, allowed: Sequence[str]) -> list[str]:
        picked = [v for v in self.form.get(name, []) if v]
        self.state.lists[name] = picked
        unknown = [v for v in picked if v not in allowed]
        if unknown:
            self.state.errors[name] = f"{LABELS.get(name, name)}: unknown option '{unknown[0]}'."
        return [v for v in picked if v in allowed]

    def date(self, name: str) -> str | None:
        raw = self.text(name, 20)
        if raw is None:
            return None
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            self.state.errors[name] = f"{LABELS.get(name, name)}: enter a date as YYYY-MM-DD."
            return None
        if day.year < 1900:
            self.state.errors[name] = f"{LABELS.get(name, name)}: enter a date after 1900."
            return None
        return day.isoformat()

    def lines(self, name: str) -> list[str]:
        raw = self.text(name, MAX_TEXT * 4) or ""
        out = [ln.strip() for ln in raw.splitlines() if ln.strip()]
        if len(out) > MAX_LINES:
            self.state.errors[name] = f"{LABELS.get(name, name)}: at most {MAX_LINES} lines."
        if any(len(ln) > MAX_TEXT for ln in out):
            self.state.errors[name] = f"{LABELS.get(name, name)}: each line at most {MAX_TEXT} characters."
        return out[:MAX_LINES]


def _labs(r: _Reader, lab_date: str | None) -> list[dict[str, Any]]:
    labs: list[dict[str, Any]] = []
    for f in LABS:
        value = r.number(f"lab-{f.analyte}", 0, 100_000)
        unit = r.choice(f"unit-{f.analyte}", f.units, f.us)
        if value is not None:
            labs.append({"analyte": f.analyte, "value": value, "unit": unit})
    for q in QUALITATIVE:
        result = r.choice(f"qual-{q.value}", [c.value for c in QUALITATIVE_RESULTS])
        if result:
            text = "positive" if result == "POS" else "negative"
            labs.append({"analyte": q.value, "value_text": text, "interpretation": result})
    if lab_date:
        for lab in labs:
            lab["date"] = lab_date
    return labs


def _lesions(r: _Reader) -> list[dict[str, Any]]:
    lesions: list[dict[str, Any]] = []
    words = [c.value for _, c in FEATURES]
    for i in range(LESION_SLOTS):
        p = f"lesion{i}"
        lesion: dict[str, Any] = {}
        if site := r.text(f"{p}-site", 200):
            lesion["site"] = site
        if (count := r.number(f"{p}-count", 1, 10_000, integer=True)) is not None:
            lesion["count"] = int(count)
        if (size := r.number(f"{p}-size", 0, 1000)) is not None:
            lesion["size_mm"] = size
        if features := r.many(f"{p}-feature", words):
            lesion["features"] = features
        if description := r.text(f"{p}-description"):
            lesion["description"] = description
        if lesion:
            lesions.append(lesion)
    return lesions


def read_form(form: Mapping[str, Sequence[str]]) -> tuple[dict[str, Any], FormState]:
    """The case JSON the form describes, and the form's state (errors empty when the case is usable)."""
    r = _Reader(form)
    case: dict[str, Any] = {}
    if label := r.text("label", 100):
        case["id"] = label
    if (age := r.number("age", 0, 130)) is not None:
        case["age_years"] = age
    case["sex"] = r.choice("sex", [c.value for c in SEXES], "unknown")
    pregnant = r.choice("pregnant", [c.value for c in PREGNANCY])
    if pregnant:
        case["pregnant"] = pregnant == "yes"
    if as_of := r.date("as_of"):
        case["as_of"] = as_of
    lab_date = r.date("lab_date")
    conditions = [{"concept": c} for c in r.many("condition", [c.value for c in CONDITIONS])]
    conditions += [{"text": t} for t in r.lines("other_conditions")]
    history = [{"concept": c} for c in r.many("history", [c.value for c in HISTORY])]
    history += [{"text": t} for t in r.lines("other_history")]
    labs = _labs(r, lab_date)
    lesions = _lesions(r)
    medications = [{"name": t} for t in r.lines("medications")]
    for key, items in (
        ("conditions", conditions),
        ("history", history),
        ("labs", labs),
        ("lesions", lesions),
        ("medications", medications),
    ):
        if items:
            case[key] = items
    if notes := r.text("notes", MAX_TEXT * 4):
        case["notes"] = notes
    return case, r.state


def blank_state() -> FormState:
    state = FormState()
    for f in LABS:
        state.values[f"unit-{f.analyte}"] = f.us
    return state
