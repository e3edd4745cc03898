"""Patient facts: the engine's only input. Built from a native case JSON or from FHIR.

Every fact carries an ``id`` (unique within the case) so that assessments can say which facts a rule
read, and a date where one is known.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationInfo, field_validator


class Edge(BaseModel):
    """Input model base: unknown keys are kept aside (reported as input issues), not fatal. A true/false
    where a number is expected is refused (it is never read as 1 or 0)."""

    model_config = ConfigDict(extra="allow", frozen=True, str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_number(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, bool) and info.field_name in NUMERIC_FIELDS:
            raise ValueError("a number is expected, not true/false")
        return value


NUMERIC_FIELDS = frozenset(
    {
        "value",
        "ref_low",
        "ref_high",
        "size_mm",
        "count",
        "largest_mm",
        "sctc_score",
        "pain_vas",
        "patient_global",
        "physician_global",
        "age_years",
    }
)


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

    @field_validator("features", mode="before")
    @classmethod
    def _split(cls, v: object) -> object:
        if isinstance(v, str):
            return [part.strip() for part in v.replace(";", ",").split(",") if part.strip()]
        return v


class Medication(Edge):
    id: str | None = None
    concept: str | None = None
    name: str | None = Field(default=None, validation_alias=AliasChoices("name", "text"))
    codes: tuple[Coding, ...] = ()
    status: Literal["active", "completed", "stopped", "on-hold", "planned", "draft", "unknown"] = "active"
    route: str | None = None
    dose: str | None = None
    start: dt.date | None = None


class Allergy(Edge):
    """A recorded allergy or intolerance (FHIR AllergyIntolerance). The engine shows it, as a warning to check,
    on every option whose drug it names or shares a drug concept of the vocabulary with."""

    id: str | None = None
    concept: str | None = None
    substance: str | None = Field(default=None, validation_alias=AliasChoices("substance", "text", "name"))
    codes: tuple[Coding, ...] = ()
    status: Literal["active", "inactive", "resolved"] = "active"
    verification: Literal["confirmed", "unconfirmed", "presumed", "refuted", "entered-in-error"] = "confirmed"
    criticality: Literal["low", "high", "unable-to-assess"] | None = None
    reaction: str | None = None
    recorded: dt.date | None = None


class Event(Edge):
    """A procedure, exposure, finding or test result that is not a numeric lab (e.g. biopsy result)."""

    id: str | None = None
    concept: str | None = None
    text: str | None = None
    codes: tuple[Coding, ...] = ()
    date: dt.date | None = None
    site: str | None = None
    result: str | None = None


class AdverseEvent(Edge):
    """An adverse event during a treatment course."""

    id: str | None = None
    date: dt.date | None = None
    description: str
    severity: Literal["mild", "moderate", "severe", "life-threatening"] | None = None


class Course(Edge):
    """A treatment course: one pack therapy (``therapy`` is a pack therapy id) given over a period.

    Courses and visit measurements are the product's memory of what was tried; the engine computes each
    course's response from the measurements (never typed in) and ranks options with that history."""

    id: str | None = None
    therapy: str
    agent: str | None = None
    dose: str | None = None
    route: str | None = None
    start: dt.date
    stop: dt.date | None = None
    stop_reason: Literal["ineffective", "adverse-event", "resolved", "patient-choice", "other"] | None = None
    adverse_events: tuple[AdverseEvent, ...] = ()


class Measurement(Edge):
    """What one visit measured, for the whole patient or one lesion or region (``site``)."""

    id: str | None = None
    date: dt.date
    site: str | None = None
    count: Annotated[int, Field(ge=0)] | None = None
    largest_mm: Annotated[float, Field(ge=0)] | None = None
    sctc_score: Annotated[float, Field(ge=0)] | None = None
    pain_vas: Annotated[float, Field(ge=0, le=10)] | None = None
    ulceration: bool | None = None
    inflammation: bool | None = None
    infection: bool | None = None
    new_lesions: bool | None = None
    patient_global: Annotated[float, Field(ge=0, le=10)] | None = None
    physician_global: Annotated[float, Field(ge=0, le=10)] | None = None


def _as_objects(value: object, key: str) -> object:
    """Accept a bare string (or a list of strings) where an object (or a list of objects) is expected."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        return [{key: v} if isinstance(v, str) else v for v in value]
    return value


class Case(Edge):
    """The native case JSON (documented in docs/case-format.md)."""

    id: str | None = None
    age_years: Annotated[float, Field(ge=0, le=130)] | None = Field(
        default=None, validation_alias=AliasChoices("age_years", "age")
    )
    birth_date: dt.date | None = None
    as_of: dt.date | None = None
    sex: Sex = Field(default=Sex.UNKNOWN, validation_alias=AliasChoices("sex", "gender"))
    pregnant: bool | None = None
    breastfeeding: bool | None = Field(
        default=None, validation_alias=AliasChoices("breastfeeding", "lactating")
    )
    conditions: tuple[Condition, ...] = ()
    labs: tuple[Lab, ...] = ()
    lesions: tuple[Lesion, ...] = ()
    medications: tuple[Medication, ...] = ()
    history: tuple[Event, ...] = ()
    allergies: tuple[Allergy, ...] = ()
    courses: tuple[Course, ...] = ()
    measurements: tuple[Measurement, ...] = ()
    notes: str | None = None

    @field_validator("conditions", "medications", "history", "allergies", mode="before")
    @classmethod
    def _texts(cls, v: object) -> object:
        return _as_objects(v, "text")

    @field_validator("lesions", mode="before")
    @classmethod
    def _lesion_texts(cls, v: object) -> object:
        return _as_objects(v, "description")

    @field_validator("sex", mode="before")
    @classmethod
    def _sex(cls, v: object) -> object:
        if isinstance(v, str):
            low = v.strip().lower()
            aliases = {
                "f": "female",
                "m": "male",
                "woman": "female",
                "man": "male",
                "girl": "female",
                "boy": "male",
            }
            return aliases.get(low, low)
        return v


class InputIssue(BaseModel):
    """Something in the input that was ignored or not understood."""

    model_config = ConfigDict(frozen=True)

    location: str
    message: str
    severity: Literal["warning", "information"] = "warning"
