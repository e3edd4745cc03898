"""The registry store on SQLite and PostgreSQL: what is written is read back, bad input is refused whole,
and corrections and deletions keep the old values."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from calcinosis.errors import InputError, NotFoundError
from calcinosis.registry import DuplicateRecord, Registry
from calcinosis.registry import tables as T
from calcinosis.registry.records import (
    AdverseEventIn,
    CourseStart,
    CourseStop,
    MeasurementIn,
    VisitIn,
    parse,
)
from tests.registry.conftest import BY, days_ago


def _count(registry: Registry, table: sa.Table) -> int:
    return registry.read(lambda c: int(c.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()))


def _version(registry: Registry, pid: str) -> int:
    return registry.patient(pid).version


def _start(registry: Registry, pid: str = "pt-1", therapy: str = "diltiazem", days: int = 400) -> int:
    return registry.start_course(
        pid, CourseStart(therapy=therapy, subtype="dystrophic", start=days_ago(days), agent="diltiazem"), BY
    ).id


def test_course_visit_and_adverse_event_read_back_when_recorded(registry: Registry) -> None:
    cid = registry.start_course(
        "pt-1",
        CourseStart(
            therapy="diltiazem", subtype="dystrophic", agent="diltiazem", dose="240 mg/day", route="oral",
            start=days_ago(400), note="started in clinic",
        ),
        BY,
    ).id  # fmt: skip
    registry.add_visit(
        "pt-1",
        VisitIn(
            date=days_ago(400),
            measurements=(
                MeasurementIn(site="right hand", count=4, largest_mm=12.5, sctc_score=30, pain_vas=7),
                MeasurementIn(site="left elbow", count=1, ulceration=True),
            ),
        ),
        BY,
    )
    registry.add_visit(
        "pt-1",
        VisitIn(date=days_ago(10), course=cid, measurements=(MeasurementIn(site="right hand", count=4),)),
        BY,
    )
    registry.add_adverse_event(
        cid, AdverseEventIn(date=days_ago(100), description="ankle oedema", severity="mild"), BY
    )
    stopped = registry.stop_course(cid, CourseStop(stop=days_ago(5), reason="ineffective"), BY)

    assert (stopped.stop, stopped.stop_reason, stopped.dose) == (days_ago(5), "ineffective", "240 mg/day")
    [course] = registry.courses("pt-1")
    assert course == stopped and course.created_by == BY and course.subtype_basis == "given"
    visits = registry.measurements("pt-1")
    assert [(m.date, m.site, m.count) for m in visits] == [
        (days_ago(400), "right hand", 4),
        (days_ago(400), "left elbow", 1),
        (days_ago(10), "right hand", 4),
    ]
    assert visits[0].largest_mm == 12.5 and visits[0].pain_vas == 7 and visits[1].ulceration is True
    assert visits[2].course_id == cid
    [event] = registry.adverse_events("pt-1")
    assert (event.course_id, event.description, event.severity) == (cid, "ankle oedema", "mild")

    case = registry.case_of("pt-1")
    assert case.id == "pt-1" and len(case.courses) == 1 and len(case.measurements) == 3
    assert case.courses[0].adverse_events[0].description == "ankle oedema"
    assert case.courses[0].stop_reason == "ineffective"


def test_stored_facts_join_courses_in_the_case_when_the_patient_has_a_case(registry: Registry) -> None:
    registry.register_patient("pt-2", BY, {"age_years": 50, "conditions": [{"text": "systemic sclerosis"}]})
    _start(registry, "pt-2")
    case = registry.case_of("pt-2")
    assert case.age_years == 50 and case.conditions[0].text == "systemic sclerosis"
    assert case.courses[0].therapy == "diltiazem"
    registry.register_patient("pt-2", BY, {"age_years": 51})
    assert registry.case_of("pt-2").age_years == 51
    [revision] = registry.history("pt-2")
    assert revision.before["case"]["age_years"] == 50 and revision.after == {"case": {"age_years": 51}}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"date": "2025-01-01", "measurements": [{"site": "hand", "largest_mm": -3}]}, "largest_mm"),
        ({"date": "2025-01-01", "measurements": [{"pain_vas": 14}]}, "pain_vas"),
        ({"date": "2025-01-01", "measurements": [{"count": True}]}, "not true/false"),
        ({"date": "2025-01-01", "measurements": [{"site": "hand"}]}, "nothing measured"),
        ({"date": "2025-01-01", "measurements": []}, "measurements"),
        ({"date": "2999-01-01", "measurements": [{"count": 1}]}, "in the future"),
        (
            {
                "date": "2025-01-01",
                "measurements": [{"site": "Hand", "count": 1}, {"site": " hand", "count": 2}],
            },
            "measured twice",
        ),
    ],
)
def test_bad_visits_are_refused_with_the_field_named_when_parsed(
    data: dict[str, object], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        parse(VisitIn, data, "visit")


def test_bad_courses_are_refused_when_parsed() -> None:
    with pytest.raises(InputError, match="before start"):
        parse(CourseStart, {"therapy": "diltiazem", "start": "2025-02-01", "stop": "2025-01-01"}, "course")
    with pytest.raises(InputError, match="needs a stop date"):
        parse(CourseStart, {"therapy": "diltiazem", "start": "2025-02-01", "stop_reason": "other"}, "course")
    with pytest.raises(InputError, match="course.dose"):
        parse(CourseStart, {"therapy": "diltiazem", "start": "2025-02-01", "dose": "x\ny"}, "course")


def test_unknown_therapy_is_refused_and_nothing_is_written_when_started(registry: Registry) -> None:
    with pytest.raises(InputError, match="therapy 'snake-oil' is not in the knowledge pack"):
        registry.start_course("pt-1", CourseStart(therapy="snake-oil", start=days_ago(3)), BY)
    assert _count(registry, T.patient) == 0 and _count(registry, T.course) == 0


def test_visit_before_its_course_started_is_refused_and_nothing_is_written_when_added(
    registry: Registry,
) -> None:
    cid = _start(registry, days=30)
    version = _version(registry, "pt-1")
    with pytest.raises(InputError, match=r"before course \d+ started"):
        registry.add_visit(
            "pt-1", VisitIn(date=days_ago(40), course=cid, measurements=(MeasurementIn(count=2),)), BY
        )
    assert _count(registry, T.measurement) == 0
    assert _version(registry, "pt-1") == version  # the whole transaction rolled back


def test_duplicate_visit_is_refused_whole_when_one_site_is_already_recorded(registry: Registry) -> None:
    registry.add_visit(
        "pt-1", VisitIn(date=days_ago(20), measurements=(MeasurementIn(site="hand", count=2),)), BY
    )
    with pytest.raises(DuplicateRecord, match="already recorded"):
        registry.add_visit(
            "pt-1",
            VisitIn(
                date=days_ago(20),
                measurements=(MeasurementIn(site="elbow", count=1), MeasurementIn(site="HAND ", count=3)),
            ),
            BY,
        )
    assert [(m.site, m.count) for m in registry.measurements("pt-1")] == [("hand", 2)]


def test_course_of_another_patient_or_missing_is_refused_when_a_visit_names_it(registry: Registry) -> None:
    cid = _start(registry, "pt-1")
    with pytest.raises(InputError, match="belongs to another patient"):
        registry.add_visit(
            "pt-9", VisitIn(date=days_ago(1), course=cid, measurements=(MeasurementIn(count=1),)), BY
        )
    with pytest.raises(NotFoundError, match="no treatment course 999"):
        registry.add_visit(
            "pt-1", VisitIn(date=days_ago(1), course=999, measurements=(MeasurementIn(count=1),)), BY
        )
    assert registry.patient_ids() == ["pt-1"]


def test_stop_is_refused_when_before_the_start_or_already_stopped(registry: Registry) -> None:
    cid = _start(registry, days=30)
    with pytest.raises(InputError, match="before course"):
        registry.stop_course(cid, CourseStop(stop=days_ago(31), reason="other"), BY)
    registry.stop_course(cid, CourseStop(stop=days_ago(2), reason="resolved"), BY)
    with pytest.raises(InputError, match="already stopped"):
        registry.stop_course(cid, CourseStop(stop=days_ago(1), reason="other"), BY)
    assert registry.course(cid).stop == days_ago(2)


def test_adverse_event_before_the_course_is_refused_when_added(registry: Registry) -> None:
    cid = _start(registry, days=30)
    with pytest.raises(InputError, match="before course"):
        registry.add_adverse_event(cid, AdverseEventIn(date=days_ago(31), description="rash"), BY)
    assert _count(registry, T.adverse_event) == 0


def test_correction_keeps_the_old_values_in_the_history_when_made(registry: Registry) -> None:
    [m] = registry.add_visit(
        "pt-1", VisitIn(date=days_ago(20), measurements=(MeasurementIn(site="hand", pain_vas=8),)), BY
    )
    fixed = registry.correct("measurement", m.id, {"pain_vas": 3}, "VAS typed as 8, patient said 3", "dr-b")
    assert fixed.pain_vas == 3 and fixed.updated_at is not None
    [rev] = registry.history("pt-1")
    assert (rev.action, rev.entity, rev.entity_id, rev.changed_by) == (
        "update",
        "measurement",
        str(m.id),
        "dr-b",
    )
    assert rev.reason == "VAS typed as 8, patient said 3"
    assert rev.before["pain_vas"] == 8 and rev.after is not None and rev.after["pain_vas"] == 3
    assert [x.pain_vas for x in registry.measurements("pt-1")] == [3]


def test_correction_is_checked_like_a_new_record_when_made(registry: Registry) -> None:
    cid = _start(registry, days=30)
    [m] = registry.add_visit(
        "pt-1",
        VisitIn(date=days_ago(10), course=cid, measurements=(MeasurementIn(site="hand", count=2),)),
        BY,
    )
    registry.add_visit(
        "pt-1", VisitIn(date=days_ago(5), measurements=(MeasurementIn(site="hand", count=1),)), BY
    )
    with pytest.raises(InputError, match="pain_vas"):
        registry.correct("measurement", m.id, {"pain_vas": 14}, "wrong", BY)
    with pytest.raises(DuplicateRecord):
        registry.correct("measurement", m.id, {"date": days_ago(5).isoformat()}, "wrong day", BY)
    with pytest.raises(InputError, match="has a visit on"):
        registry.correct("course", cid, {"start": days_ago(8).isoformat()}, "started later", BY)
    with pytest.raises(InputError, match="not in the knowledge pack"):
        registry.correct("course", cid, {"therapy": "snake-oil"}, "wrong drug", BY)
    with pytest.raises(InputError, match="cannot correct"):
        registry.correct("course", cid, {"patient_id": "pt-2"}, "move it", BY)
    assert registry.history("pt-1") == []
    assert registry.measurements("pt-1")[0].count == 2


def test_deletion_keeps_the_record_and_its_values_when_made(registry: Registry) -> None:
    cid = _start(registry)
    registry.add_adverse_event(cid, AdverseEventIn(date=days_ago(100), description="headache"), BY)
    [m] = registry.add_visit(
        "pt-1", VisitIn(date=days_ago(20), measurements=(MeasurementIn(site="hand", count=5),)), BY
    )
    registry.delete("measurement", m.id, "entered for the wrong patient", "dr-c")
    registry.delete("course", cid, "course never started", "dr-c")
    assert registry.measurements("pt-1") == [] and registry.courses("pt-1") == []
    assert registry.adverse_events("pt-1") == []
    [gone] = registry.measurements("pt-1", deleted=True)
    assert gone.count == 5 and gone.deleted_by == "dr-c" and gone.deleted_at is not None
    assert registry.courses("pt-1", deleted=True)[0].id == cid
    history = registry.history("pt-1")
    assert [(r.entity, r.action) for r in history] == [
        ("measurement", "delete"),
        ("course", "delete"),
        ("adverse_event", "delete"),
    ]
    assert history[0].before["count"] == 5 and history[2].before["description"] == "headache"
    # the same date and site may be entered again once the wrong one is deleted
    registry.add_visit(
        "pt-1", VisitIn(date=days_ago(20), measurements=(MeasurementIn(site="hand", count=4),)), BY
    )
    assert [x.count for x in registry.measurements("pt-1")] == [4]
    with pytest.raises(NotFoundError):
        registry.delete("measurement", m.id, "twice", BY)


def test_case_of_leaves_out_deleted_records_when_built(registry: Registry) -> None:
    keep, drop = _start(registry), _start(registry, therapy="colchicine")
    registry.delete("course", drop, "duplicate entry", BY)
    case = registry.case_of("pt-1")
    assert [c.id for c in case.courses] == [f"course-{keep}"]


def test_subtype_defaults_to_the_hint_then_the_previous_course_when_not_given(registry: Registry) -> None:
    first = registry.start_course(
        "pt-1", CourseStart(therapy="diltiazem", start=days_ago(50)), BY, ("metastatic", "latest assessment")
    )
    assert (first.subtype, first.subtype_basis) == ("metastatic", "latest assessment")
    second = registry.start_course("pt-1", CourseStart(therapy="colchicine", start=days_ago(20)), BY)
    assert second.subtype == "metastatic" and second.subtype_basis == "as this patient's previous course"
    third = registry.start_course("pt-3", CourseStart(therapy="colchicine", start=days_ago(20)), BY)
    assert third.subtype == "undetermined"


def test_each_write_bumps_the_patient_version_when_committed(registry: Registry) -> None:
    cid = _start(registry)
    v1 = _version(registry, "pt-1")
    registry.add_visit("pt-1", VisitIn(date=dt.date.today(), measurements=(MeasurementIn(count=1),)), BY)
    v2 = _version(registry, "pt-1")
    registry.stop_course(cid, CourseStop(stop=dt.date.today(), reason="other"), BY)
    assert v1 < v2 < _version(registry, "pt-1")


def test_corrected_subtype_says_so_when_changed(registry: Registry) -> None:
    cid = _start(registry)
    fixed = registry.correct("course", cid, {"subtype": "metastatic"}, "subtype was wrong", BY)
    assert (fixed.subtype, fixed.subtype_basis) == ("metastatic", "corrected")
    assert registry.history("pt-1")[0].before["subtype"] == "dystrophic"
