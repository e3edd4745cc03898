"""One patient's registry record for the CLI, REST and the web page: courses with their adverse events and
computed responses, visits, and the history section and ranking of the next assessment."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict

from calcinosis.casework import assess_case
from calcinosis.engine.results import Assessment, CourseResponse, History, Stance
from calcinosis.patient.models import Case
from calcinosis.registry.evidence import with_local_evidence
from calcinosis.registry.records import AdverseEventRecord, CourseRecord, MeasurementRecord, PatientRecord
from calcinosis.registry.store import Registry, course_number


class View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CourseView(View):
    course: CourseRecord
    adverse_events: tuple[AdverseEventRecord, ...] = ()
    response: CourseResponse | None = None


class OptionWithHistory(View):
    """A therapy option of the next assessment that a recorded course touched, as ranked with it."""

    id: str
    name: str
    rank: int
    stance: Stance
    courses: tuple[str, ...]
    rationale: tuple[str, ...]


class PatientSummary(View):
    patient_id: str
    has_facts: bool
    registered_at: str
    courses: tuple[CourseView, ...]
    visits: tuple[MeasurementRecord, ...]
    history: History | None
    options: tuple[OptionWithHistory, ...]
    as_of: dt.date
    note: str


NO_FACTS = (
    "No case facts are stored for this patient, so the next assessment has no subtype or ranking; the courses' "
    "responses are still computed. Store the facts with `calcinosis patient facts ID FILE` or PUT "
    "/registry/patients/{id}."
)
WITH_FACTS = "The next assessment: the stored case facts with every course and visit, as of today."


def next_case(registry: Registry, patient_id: str) -> tuple[PatientRecord, Case]:
    record = registry.patient(patient_id)
    return record, registry.case_of(patient_id)


def next_assessment(registry: Registry, patient_id: str, as_of: dt.date | None = None) -> Assessment:
    """The assessment the registry's data gives today (the stored facts, courses and visits)."""
    _, case = next_case(registry, patient_id)
    assessed = assess_case(case, registry.pack, as_of=as_of or dt.date.today())
    return with_local_evidence(assessed.assessment, registry)


def patient_summary(registry: Registry, patient_id: str, as_of: dt.date | None = None) -> PatientSummary:
    """Raises NotFoundError for a patient the registry does not have."""
    when = as_of or dt.date.today()
    record, case = next_case(registry, patient_id)
    assessment = with_local_evidence(assess_case(case, registry.pack, as_of=when).assessment, registry)
    responses = {
        course_number(r.course_id): r for r in (assessment.history.courses if assessment.history else ())
    }
    events: dict[int, list[AdverseEventRecord]] = {}
    for e in registry.adverse_events(patient_id):
        events.setdefault(e.course_id, []).append(e)
    courses = tuple(
        CourseView(course=c, adverse_events=tuple(events.get(c.id, ())), response=responses.get(c.id))
        for c in registry.courses(patient_id)
    )
    options = tuple(
        OptionWithHistory(
            id=o.id, name=o.name, rank=o.rank, stance=o.stance, courses=o.courses, rationale=o.rationale
        )
        for o in assessment.therapies
        if o.courses
    )
    return PatientSummary(
        patient_id=patient_id,
        has_facts=record.case is not None,
        registered_at=record.created_at,
        courses=courses,
        visits=tuple(registry.measurements(patient_id)),
        history=assessment.history,
        options=options,
        as_of=when,
        note=WITH_FACTS if record.case is not None else NO_FACTS,
    )
