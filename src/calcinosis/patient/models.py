"""Patient facts: the engine's only input. Built from a native case JSON or from FHIR.

Every fact carries an ``id`` (unique within the case) so that assessments can say which facts a rule
read, and a date where one is known.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Edge(BaseModel):
    """Input model base: unknown keys are kept aside (reported as input issues), not fatal."""

    model_config = ConfigDict(extra="allow", frozen=True, str_strip_whitespace=True)


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class Coding(Edge):
    system: str
    code: str
    display: str | None = None


class Condition(Edge):
    """A diagnosis or associated disease. ``concept`` is a vocabulary id (see ``concepts.yaml``)."""

    id: str | None = None
    concept: str | None = None
    text: str | None = None
    codes: tuple[Coding, ...] = ()
    status: Literal["active", "resolved", "inactive", "remission", "recurrence", "relapse"] = "active"
    verification: Literal["confirmed", "provisional", "differential", "unconfirmed"] = "confirmed"
    disease_active: bool | None = None
    onset: dt.date | None = None
    recorded: dt.date | None = None


class Lab(Edge):
    """One lab result. ``analyte`` is an engine analyte id (e.g. calcium); ``loinc`` may stand instead."""

    id: str | None = None
    analyte: str | None = None
    loinc: str | None = None
    text: str | None = None
    value: float | None = None
    value_text: str | None = None
    unit: str | None = None
    date: dt.date | None = None
    interpretation: Literal["H", "L", "N", "HH", "LL", "A", "POS", "NEG"] | None = None
    ref_low: float | None = None
    ref_high: float | None = None


class Lesion(Edge):
    id: str | None = None
    site: str | None = None
    size_mm: Annotated[float, Field(ge=0)] | None = None
    count: Annotated[int, Field(ge=1)] | None = None
    features: tuple[str, ...] = ()
    description: str | None = None
    onset: dt.date | None = None


class Medication(Edge):
    id: str | None = None
    concept: str | None = None
    name: str | None = None
    codes: tuple[Coding, ...] = ()
    status: Literal["active", "completed", "stopped", "on-hold", "planned", "draft", "unknown"] = "active"
    route: str | None = None
    dose: str | None = None
    start: dt.date | None = None


class Event(Edge):
    """A procedure, exposure, finding or test result that is not a numeric lab (e.g. biopsy result)."""

    id: str | None = None
    concept: str | None = None
    text: str | None = None
    codes: tuple[Coding, ...] = ()
    date: dt.date | None = None
    site: str | None = None
    result: str | None = None


class Case(Edge):
    """The native case JSON (documented in docs/case-format.md)."""

    id: str | None = None
    age_years: Annotated[float, Field(ge=0, le=130)] | None = None
    birth_date: dt.date | None = None
    as_of: dt.date | None = None
    sex: Sex = Sex.UNKNOWN
    pregnant: bool | None = None
    conditions: tuple[Condition, ...] = ()
    labs: tuple[Lab, ...] = ()
    lesions: tuple[Lesion, ...] = ()
    medications: tuple[Medication, ...] = ()
    history: tuple[Event, ...] = ()
    notes: str | None = None

    @field_validator("sex", mode="before")
    @classmethod
    def _sex(cls, v: object) -> object:
        if isinstance(v, str):
            low = v.strip().lower()
            return {"f": "female", "m": "male", "woman": "female", "man": "male"}.get(low, low)
        return v


class InputIssue(BaseModel):
    """Something in the input that was ignored or not understood."""

    model_config = ConfigDict(frozen=True)

    location: str
    message: str
    severity: Literal["warning", "information"] = "warning"
