"""Demo patients: the example cases shipped as package data (``web/demo_cases/*.json``).

They are copies of ``examples/cases/*.json`` (a test keeps the two in step) so that an installed package
shows the same patients without the repository.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import orjson

from calcinosis.errors import NotFoundError


@dataclass(frozen=True)
class DemoPatient:
    id: str
    title: str
    summary: str
    raw: bytes

    @property
    def data(self) -> Any:
        return orjson.loads(self.raw)


ABBREVIATIONS = {"ckd": "CKD", "jdm": "JDM", "ssc": "SSc", "lcssc": "lcSSc", "micc": "MICC", "iv": "IV"}


def _title(case_id: str) -> str:
    words = case_id.split("-")
    text = " ".join(ABBREVIATIONS.get(w, w) for w in words)
    return text if words[0] in ABBREVIATIONS else text[:1].upper() + text[1:]


def summarise(data: dict[str, Any]) -> str:
    """One line a clinician can pick a demo patient by: age, sex, pregnancy, conditions, lesions."""
    parts: list[str] = []
    who = []
    if data.get("age_years") is not None:
        who.append(f"{data['age_years']:g} y")
    if data.get("sex"):
        who.append(str(data["sex"]))
    if data.get("pregnant"):
        who.append("pregnant")
    if who:
        parts.append(", ".join(who))
    conditions = [c.get("text") or c.get("concept") for c in data.get("conditions", [])]
    if conditions:
        parts.append("; ".join(str(c) for c in conditions if c))
    lesions = data.get("lesions", [])
    sites = [str(les["site"]) for les in lesions if les.get("site")]
    if sites:
        parts.append("lesions: " + "; ".join(sites))
    return " — ".join(parts)


@cache
def load_demo_patients() -> tuple[DemoPatient, ...]:
    folder = resources.files("calcinosis.web") / "demo_cases"
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        raw = entry.read_bytes()
        data = orjson.loads(raw)
        case_id = entry.name.removesuffix(".json")
        out.append(DemoPatient(case_id, _title(case_id), summarise(data), raw))
    return tuple(out)


def find_demo(case_id: str) -> DemoPatient:
    for patient in load_demo_patients():
        if patient.id == case_id:
            return patient
    raise NotFoundError(f"no demo patient '{case_id}'")
