"""Local evidence: the registry's courses of one therapy and subtype, counted with the engine's computed
responses, beside the published level and never in it."""

from __future__ import annotations

import statistics
from collections import Counter

import pytest

from calcinosis.engine.history import course_responses
from calcinosis.engine.rank import evidence_of
from calcinosis.errors import NotFoundError
from calcinosis.pack import load_pack_cached
from calcinosis.registry import Registry
from calcinosis.registry.evidence import SMALL_NUMBERS, local_evidence, local_evidence_by_subtype
from calcinosis.registry.records import AdverseEventIn, CourseStart, CourseStop, MeasurementIn, VisitIn
from tests.registry.conftest import BY, days_ago


def _patient(
    registry: Registry, pid: str, *, therapy: str, subtype: str, pains: tuple[float, float], stop: bool
) -> int:
    """Baseline at the start, one follow-up 200 days later; the pain VAS decides the response."""
    start = 400
    registry.add_visit(
        pid, VisitIn(date=days_ago(start), measurements=(MeasurementIn(pain_vas=pains[0]),)), BY
    )
    cid = registry.start_course(
        pid, CourseStart(therapy=therapy, subtype=subtype, start=days_ago(start)), BY
    ).id
    registry.add_visit(
        pid,
        VisitIn(date=days_ago(start - 200), course=cid, measurements=(MeasurementIn(pain_vas=pains[1]),)),
        BY,
    )
    if stop:
        registry.stop_course(cid, CourseStop(stop=days_ago(start - 210), reason="other"), BY)
    return cid


def _expected(registry: Registry, therapy: str, subtype: str) -> tuple[Counter[str], list[int]]:
    """What the engine says, patient by patient, for the courses of this therapy and subtype."""
    wanted = {c.id for c in registry.courses(therapy=therapy) if c.subtype == subtype}
    categories: Counter[str] = Counter()
    durations: list[int] = []
    for pid in registry.patient_ids():
        for r in course_responses(registry.case_of(pid, with_facts=False), registry.pack):
            if int(r.course_id.removeprefix("course-")) in wanted:
                categories[r.category] += 1
                durations.append(r.duration_days)
    return categories, durations


def test_counts_follow_the_engines_computed_responses_when_tallied(registry: Registry) -> None:
    for i in range(6):
        _patient(registry, f"r{i}", therapy="diltiazem", subtype="dystrophic", pains=(8, 2), stop=i % 2 == 0)
    for i in range(5):
        _patient(registry, f"n{i}", therapy="diltiazem", subtype="dystrophic", pains=(6, 6), stop=True)
    _patient(registry, "other", therapy="diltiazem", subtype="metastatic", pains=(8, 1), stop=True)
    _patient(registry, "drug", therapy="colchicine", subtype="dystrophic", pains=(8, 1), stop=True)

    e = local_evidence(registry, "diltiazem", "dystrophic")
    categories, durations = _expected(registry, "diltiazem", "dystrophic")
    assert (e.courses, e.patients) == (11, 11)
    assert {c.category: c.courses for c in e.responses if c.courses} == dict(categories)
    assert e.count("partial") == 6 and e.count("none") == 5  # pain 8 -> 2 responds (>= 50%), 6 -> 6 does not
    assert e.median_duration_days == statistics.median(durations)
    assert e.running == 3 and not e.small_numbers and e.caution is None
    assert e.text.startswith(
        "this clinic: 11 courses in 11 patients (3 running); response: 6 partial, 5 no response"
    )

    everything = local_evidence(registry, "diltiazem", None)
    assert everything.courses == 12 and everything.subtype is None
    rows = local_evidence_by_subtype(registry, "diltiazem")
    assert [(r.subtype, r.courses) for r in rows] == [("dystrophic", 11), ("metastatic", 1)]


def test_small_numbers_carry_a_caution_when_under_the_threshold(registry: Registry) -> None:
    for i in range(SMALL_NUMBERS - 1):
        _patient(registry, f"p{i}", therapy="colchicine", subtype="dystrophic", pains=(8, 2), stop=True)
    few = local_evidence(registry, "colchicine", "dystrophic")
    assert few.courses == SMALL_NUMBERS - 1 and few.small_numbers
    assert few.caution is not None and str(SMALL_NUMBERS) in few.caution
    assert "too few to judge" in few.text
    _patient(registry, "last", therapy="colchicine", subtype="dystrophic", pains=(8, 2), stop=True)
    enough = local_evidence(registry, "colchicine", "dystrophic")
    assert enough.courses == SMALL_NUMBERS and not enough.small_numbers and enough.caution is None


def test_new_data_changes_the_figures_when_the_cache_is_stale(registry: Registry) -> None:
    cid = _patient(registry, "p1", therapy="diltiazem", subtype="dystrophic", pains=(8, 8), stop=False)
    assert local_evidence(registry, "diltiazem", "dystrophic").count("none") == 1
    registry.add_visit(
        "p1", VisitIn(date=days_ago(100), course=cid, measurements=(MeasurementIn(pain_vas=2),)), BY
    )
    registry.add_adverse_event(
        cid, AdverseEventIn(date=days_ago(90), description="dizziness", severity="mild"), BY
    )
    after = local_evidence(registry, "diltiazem", "dystrophic")
    assert after.count("partial") == 1 and after.count("none") == 0
    assert (after.adverse_events, after.courses_with_adverse_events) == (1, 1)
    registry.delete("course", cid, "entered in error", BY)
    assert local_evidence(registry, "diltiazem", "dystrophic").courses == 0


def test_empty_registry_and_unknown_therapy_when_asked(registry: Registry) -> None:
    e = local_evidence(registry, "diltiazem", "dystrophic")
    assert e.courses == 0 and e.median_duration_days is None and e.text == "this clinic: no courses recorded"
    with pytest.raises(NotFoundError):
        local_evidence(registry, "snake-oil", None)


def test_published_level_is_the_same_whatever_the_registry_holds_when_compared(registry: Registry) -> None:
    pack = load_pack_cached()
    before = evidence_of(pack.therapies["diltiazem"], pack)
    for i in range(12):
        _patient(registry, f"p{i}", therapy="diltiazem", subtype="dystrophic", pains=(8, 1), stop=True)
    assert local_evidence(registry, "diltiazem", "dystrophic").count("partial") == 12
    assert evidence_of(pack.therapies["diltiazem"], pack) == before


def test_the_assessment_carries_local_evidence_beside_the_published_level(registry: Registry) -> None:
    from calcinosis.engine import assess
    from calcinosis.patient.case_json import parse_case
    from calcinosis.registry.evidence import with_local_evidence

    for i in range(3):
        _patient(registry, f"p{i}", therapy="diltiazem", subtype="dystrophic", pains=(8, 1), stop=True)
    case, _ = parse_case(
        {
            "age_years": 50,
            "conditions": ["limited cutaneous systemic sclerosis"],
            "lesions": [{"site": "fingertips", "features": ["nodule"]}],
        }
    )
    plain = assess(case)
    local = with_local_evidence(plain, registry)
    dil_plain = next(t for t in plain.therapies if t.id == "diltiazem")
    dil = next(t for t in local.therapies if t.id == "diltiazem")
    assert dil.local_evidence is not None and dil.local_evidence.courses == 3
    assert dil.local_evidence.small_numbers and dil.local_evidence.caution
    assert dil.local_evidence.text.startswith("this clinic: 3 courses")
    # beside, never in: level, stance and rank are the engine's
    assert (dil.evidence, dil.evidence_level, dil.stance, dil.rank) == (
        dil_plain.evidence,
        dil_plain.evidence_level,
        dil_plain.stance,
        dil_plain.rank,
    )
