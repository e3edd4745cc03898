"""What the registry takes in and gives back: pydantic models at its edge.

Input models check shape and range (a VAS of 14, a negative size, a stop before the start); the store checks
what needs the database (an unknown therapy, a visit before its course started, a duplicate visit).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from calcinosis.errors import InputError
from calcinosis.pack.models import SubtypeCode

PatientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-.]{1,64}$")]
"""A pseudonymous patient id, shaped like a FHIR ``Patient.id`` (the id assessments carry): no names."""
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80, pattern=r"^[^\x00-\x1f\x7f]*$")
]
Note = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=r"^[^\x00]*$")
]
Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500, pattern=r"^[^\x00]*$")
]
Score10 = Annotated[float, Field(ge=0, le=10)]
StopReason = Literal["ineffective", "adverse-event", "resolved", "patient-choice", "other"]
STOP_REASONS_TEXT = (
    ("ineffective", "Ineffective"),
    ("adverse-event", "Adverse event"),
    ("resolved", "Resolved"),
    ("patient-choice", "Patient choice"),
    ("other", "Other"),
)
Severity = Literal["mild", "moderate", "severe", "life-threatening"]
Entity = Literal["patient", "course", "measurement", "adverse_event"]
FUTURE_SLACK = dt.timedelta(days=1)  # a date "tomorrow" is accepted (time zones); later ones are refused

M = TypeVar("M", bound=BaseModel)


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _not_future(value: dt.date | None, what: str) -> None:
    if value is not None and value > dt.date.today() + FUTURE_SLACK:
        raise ValueError(f"{what} {value} is in the future")


class CourseStart(In):
    """A treatment course: a therapy of the knowledge pack given to one patient from ``start``."""

    therapy: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=64)]
    subtype: SubtypeCode | None = None
    agent: ShortText | None = None
    dose: ShortText | None = None
    route: ShortText | None = None
    start: dt.date
    stop: dt.date | None = None
    stop_reason: StopReason | None = None
    note: Note | None = None

    @model_validator(mode="after")
    def _dates(self) -> CourseStart:
        _not_future(self.start, "start")
        _not_future(self.stop, "stop")
        if self.stop is not None and self.stop < self.start:
            raise ValueError(f"stop {self.stop} is before start {self.start}")
        if self.stop_reason is not None and self.stop is None:
            raise ValueError("stop_reason needs a stop date")
        return self


class CourseStop(In):
    stop: dt.date
    reason: StopReason

    @model_validator(mode="after")
    def _date(self) -> CourseStop:
        _not_future(self.stop, "stop")
        return self


NUMBERS = ("count", "largest_mm", "sctc_score", "pain_vas", "patient_global", "physician_global")
MEASURED = (
    "count",
    "largest_mm",
    "sctc_score",
    "pain_vas",
    "ulceration",
    "inflammation",
    "infection",
    "new_lesions",
    "patient_global",
    "physician_global",
)


class MeasurementIn(In):
    """What one visit measured for one lesion or region (``site``), or for the whole patient (no site)."""

    site: ShortText | None = None
    count: Annotated[int, Field(ge=0, le=10_000)] | None = None
    largest_mm: Annotated[float, Field(ge=0, le=1000)] | None = None
    sctc_score: Annotated[float, Field(ge=0, le=10_000)] | None = None
    pain_vas: Score10 | None = None
    ulceration: bool | None = None
    inflammation: bool | None = None
    infection: bool | None = None
    new_lesions: bool | None = None
    patient_global: Score10 | None = None
    physician_global: Score10 | None = None
    note: Note | None = None

    @field_validator(*NUMBERS, mode="before")
    @classmethod
    def _no_bool(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("a number is expected, not true/false")
        return value

    @model_validator(mode="after")
    def _something(self) -> MeasurementIn:
        if all(getattr(self, name) is None for name in MEASURED):
            raise ValueError("nothing measured (give a count, size, score, pain, a finding or a global)")
        return self


def site_key(site: str | None) -> str:
    """The site as compared for duplicates: case and spacing ignored; '' for the whole patient."""
    return " ".join(site.lower().split()) if site else ""


class VisitIn(In):
    """One visit: its date, the course it follows (if any) and what it measured, per site."""

    date: dt.date
    course: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    measurements: Annotated[tuple[MeasurementIn, ...], Field(min_length=1, max_length=50)]

    @model_validator(mode="after")
    def _check(self) -> VisitIn:
        _not_future(self.date, "visit date")
        keys = [site_key(m.site) for m in self.measurements]
        for key in keys:
            if keys.count(key) > 1:
                raise ValueError(f"site '{key or 'whole patient'}' is measured twice in this visit")
        return self


class AdverseEventIn(In):
    date: dt.date
    description: Note
    severity: Severity | None = None

    @model_validator(mode="after")
    def _date(self) -> AdverseEventIn:
        _not_future(self.date, "adverse event date")
        return self


class Correction(In):
    """New values for some fields of one record, and why (kept in the record's history)."""

    changes: dict[str, Any] = Field(min_length=1)
    reason: Reason


class Deletion(In):
    reason: Reason


def parse(model: type[M], data: Any, what: str) -> M:
    """Validate ``data`` as ``model``; the first problem becomes one InputError line naming the field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err.get("loc", ()))
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        raise InputError(f"{what}{('.' + loc) if loc else ''}: {msg}") from None


class Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Stamps(Out):
    created_at: str
    created_by: str
    updated_at: str | None = None
    deleted_at: str | None = None
    deleted_by: str | None = None


class PatientRecord(Stamps):
    id: str
    case: dict[str, Any] | None = None
    version: int


class CourseRecord(Stamps):
    id: int
    patient_id: str
    therapy: str
    subtype: str
    subtype_basis: str | None = None
    agent: str | None = None
    dose: str | None = None
    route: str | None = None
    start: dt.date
    stop: dt.date | None = None
    stop_reason: StopReason | None = None
    note: str | None = None


class MeasurementRecord(Stamps):
    id: int
    patient_id: str
    date: dt.date
    course_id: int | None = None
    site: str | None = None
    count: int | None = None
    largest_mm: float | None = None
    sctc_score: float | None = None
    pain_vas: float | None = None
    ulceration: bool | None = None
    inflammation: bool | None = None
    infection: bool | None = None
    new_lesions: bool | None = None
    patient_global: float | None = None
    physician_global: float | None = None
    note: str | None = None


class AdverseEventRecord(Stamps):
    id: int
    patient_id: str
    course_id: int
    date: dt.date
    description: str
    severity: Severity | None = None


class Revision(Out):
    """One correction or deletion: the values before and after, who made it, when and why."""

    id: int
    changed_at: str
    changed_by: str
    reason: str
    entity: Entity
    entity_id: str
    patient_id: str
    action: Literal["update", "delete"]
    before: dict[str, Any]
    after: dict[str, Any] | None = None
