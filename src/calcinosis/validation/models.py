"""Typed models of one published-case corpus file (docs/validation.md) and of the validation report.

A corpus file is strict: an unknown key anywhere in ``report`` or ``expectation`` is an error naming the
file and the field. The ``case`` block is the native case JSON (docs/case-format.md); the loader checks it
with the case reader, and treats a field the reader would ignore as an error too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SubtypeCodeText = Literal[
    "dystrophic", "metastatic", "idiopathic", "iatrogenic", "calciphylaxis", "undetermined"
]
Slug = str

FIELDS: tuple[str, ...] = (
    "subtype",
    "variant",
    "must_include",
    "must_avoid",
    "top_option",
    "workup_missing",
    "workup_not",
)
"""The judged fields, in report order."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Identifiers(_Strict):
    """Only identifiers actually seen on the page read, exactly as seen; the page address is required."""

    pmid: str | None = None
    pmcid: str | None = None
    doi: str | None = None
    url: str = Field(min_length=8)


class ReportRef(_Strict):
    citation: str = Field(min_length=1)
    identifiers: Identifiers
    kind: Literal["case-report", "case-series"]
    patient_in_report: str = Field(min_length=1)
    facts_seen: str = Field(min_length=1)


class Expectation(_Strict):
    """What the sources (not the engine) say the assessment should contain, written before any engine run."""

    written: dt.date
    basis: str = Field(min_length=1)
    subtype: SubtypeCodeText
    variant: str | None = None
    must_include: tuple[str, ...] = ()
    must_avoid: tuple[str, ...] = ()
    top_option: tuple[str, ...] = ()
    workup_missing: tuple[str, ...] = ()
    workup_not: tuple[str, ...] = ()
    disagreement: str | None = None


class CorpusCase(_Strict):
    id: Slug = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    report: ReportRef
    expectation: Expectation
    case: dict[str, Any]


# ------------------------------------------------------------------------------------------ report models


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class FieldResult(_Out):
    """One field of one case: whether it was judged, whether it agreed, and why not."""

    field: str
    judged: bool
    agreed: bool
    items_judged: int = 0
    items_agreed: int = 0
    reasons: tuple[str, ...] = ()


class CaseResult(_Out):
    id: str
    file: str
    expected_subtype: str
    engine_subtype: str | None
    engine_variant: str | None
    fields: tuple[FieldResult, ...]
    disagreement_recorded: str | None = None

    @property
    def disagreeing(self) -> tuple[FieldResult, ...]:
        return tuple(f for f in self.fields if f.judged and not f.agreed)


class FieldSummary(_Out):
    field: str
    judged: int
    agreed: int
    percent: float | None
    items_judged: int
    items_agreed: int


class Note(_Out):
    level: Literal["warning", "information"]
    file: str
    message: str


class ValidationReport(_Out):
    corpus: str
    cases: int
    pack_version: str
    pack_hash: str
    fields: tuple[FieldSummary, ...]
    results: tuple[CaseResult, ...]
    notes: tuple[Note, ...] = ()

    def field(self, name: str) -> FieldSummary:
        for f in self.fields:
            if f.field == name:
                return f
        raise KeyError(name)
