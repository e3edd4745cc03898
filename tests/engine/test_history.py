"""Treatment courses: response computed from visits by the dossier's §6 rules, and the ranking that follows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from calcinosis.engine import Stance, assess
from calcinosis.engine.history import course_responses
from calcinosis.patient.case_json import parse_case

SSC = {
    "age_years": 55,
    "as_of": "2026-09-01",
    "conditions": ["limited cutaneous systemic sclerosis"],
    "labs": [
        {"analyte": "calcium", "value": 9.3, "unit": "mg/dL"},
        {"analyte": "phosphate", "value": 3.4, "unit": "mg/dL"},
    ],
    "lesions": [{"site": "fingertips", "count": 3, "features": ["nodule", "inflamed"]}],
}


def case_with(courses: list[dict[str, Any]], measurements: list[dict[str, Any]], **extra: Any) -> Any:
    case, issues = parse_case({**SSC, "courses": courses, "measurements": measurements, **extra})
    assert not issues
    return case


def visit(day: str, **values: Any) -> dict[str, Any]:
    return {"date": day, "site": "fingertips", **values}


def one(courses: list[dict[str, Any]], measurements: list[dict[str, Any]]) -> Any:
    (response,) = course_responses(case_with(courses, measurements))
    return response


MINO = {"id": "c1", "therapy": "minocycline", "start": "2025-06-01", "stop": "2026-01-10"}


def test_pain_halved_is_a_partial_response() -> None:
    r = one([MINO], [visit("2025-05-20", pain_vas=8), visit("2025-12-01", pain_vas=4)])
    assert r.category == "partial"
    (pain,) = [m for m in r.measures if m.measure == "pain-vas"]
    assert pain.result == "response" and pain.change_percent == -50.0


def test_pain_down_by_a_third_is_no_response() -> None:
    r = one([MINO], [visit("2025-05-20", pain_vas=6), visit("2025-12-01", pain_vas=4)])
    assert r.category == "none"


def test_size_down_a_fifth_without_new_lesions_is_a_radiological_response() -> None:
    r = one([MINO], [visit("2025-05-20", largest_mm=10), visit("2025-12-01", largest_mm=8)])
    assert [m.result for m in r.measures if m.measure == "radiological-size"] == ["response"]
    assert r.category == "partial"


def test_new_lesions_make_it_progression_even_if_size_fell() -> None:
    r = one(
        [MINO],
        [visit("2025-05-20", largest_mm=10), visit("2025-12-01", largest_mm=7, new_lesions=True)],
    )
    assert r.category == "progression"
    assert [m.result for m in r.measures if m.measure == "radiological-size"] == ["no-response"]


def test_sctc_rise_over_a_quarter_in_a_year_is_progression() -> None:
    course = {"id": "c1", "therapy": "diltiazem", "start": "2024-06-01"}
    r = one([course], [visit("2024-05-01", sctc_score=20), visit("2025-06-01", sctc_score=26)])
    assert r.category == "progression"
    assert r.running and r.next_measurement_due == (dt.date(2025, 6, 1) + dt.timedelta(days=90)).isoformat()


def test_sctc_change_within_a_year_is_not_judged() -> None:
    course = {"id": "c1", "therapy": "diltiazem", "start": "2025-06-01"}
    r = one([course], [visit("2025-05-01", sctc_score=20), visit("2025-12-01", sctc_score=30)])
    assert r.category == "not-judged"
    assert "fewer than the 365" in r.measures[0].text


def test_no_baseline_means_not_judged() -> None:
    r = one([MINO], [visit("2025-12-01", pain_vas=2)])
    assert r.category == "not-judged"
    assert "no baseline" in r.measures[0].text


def test_visits_too_close_are_not_judged() -> None:
    r = one([MINO], [visit("2025-05-31", pain_vas=8), visit("2025-06-10", pain_vas=2)])
    assert r.category == "not-judged"


def test_deposits_gone_is_a_complete_response() -> None:
    r = one([MINO], [visit("2025-05-20", count=3), visit("2025-12-01", count=0)])
    assert r.category == "complete"


def test_a_new_inflammation_episode_withholds_a_response() -> None:
    r = one(
        [MINO],
        [
            visit("2025-05-20", pain_vas=8, inflammation=False),
            visit("2025-12-01", pain_vas=2, inflammation=True),
        ],
    )
    assert r.category == "none"
    assert "new inflammation" in r.category_basis


def test_an_adequate_course_without_response_ranks_the_option_down_with_the_reason() -> None:
    measurements = [
        visit("2025-05-20", pain_vas=6, largest_mm=8),
        visit("2025-12-15", pain_vas=6, largest_mm=8),
    ]
    before = assess(case_with([], []))
    after = assess(case_with([MINO], measurements))
    rank_before = next(t.rank for t in before.therapies if t.id == "minocycline")
    mino = next(t for t in after.therapies if t.id == "minocycline")
    assert mino.rank > rank_before
    assert mino.stance is not Stance.RECOMMENDED
    assert mino.courses == ("c1",)
    assert any(r.startswith("Ranked down: an adequate course") for r in mino.rationale)
    assert after.history is not None and after.history.courses[0].category == "none"


def test_a_short_course_without_response_is_not_ranked_down() -> None:
    short = {**MINO, "stop": "2025-07-15"}
    measurements = [visit("2025-05-20", pain_vas=6), visit("2025-07-14", pain_vas=6)]
    a = assess(case_with([short], measurements))
    mino = next(t for t in a.therapies if t.id == "minocycline")
    assert not any(r.startswith("Ranked down") for r in mino.rationale)
    assert a.history is not None and a.history.courses[0].adequate is False


def test_an_adverse_event_makes_the_option_avoid_citing_the_event() -> None:
    course = {
        **MINO,
        "stop_reason": "adverse-event",
        "adverse_events": [
            {"date": "2025-08-01", "description": "drug-induced hepatitis", "severity": "severe"}
        ],
    }
    a = assess(case_with([course], []))
    mino = next(t for t in a.therapies if t.id == "minocycline")
    assert mino.stance is Stance.AVOID
    assert any("drug-induced hepatitis" in r for r in mino.rationale)
    usable = [t.rank for t in a.therapies if t.stance is not Stance.AVOID]
    assert mino.rank > max(usable)


def test_a_course_outside_the_patients_setting_is_still_shown() -> None:
    course = {"id": "c9", "therapy": "rituximab", "start": "2025-01-01", "stop": "2025-12-01"}
    a = assess(case_with([course], []))
    assert any(t.id == "rituximab" and t.courses == ("c9",) for t in a.therapies)


@pytest.mark.parametrize("bad", [{"pain_vas": 14}, {"largest_mm": -1}, {"count": -2}])
def test_out_of_range_measurements_are_refused_at_the_edge(bad: dict[str, Any]) -> None:
    from calcinosis.errors import InputError

    with pytest.raises(InputError):
        parse_case({**SSC, "measurements": [visit("2025-05-20", **bad)]})
