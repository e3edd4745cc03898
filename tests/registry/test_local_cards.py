"""CDS Hooks option cards carry "this clinic: N courses, …" when an option has local evidence, beside the
grade and never in it."""

from __future__ import annotations

import datetime as dt

from calcinosis.cdshooks.cards import EXT_GRADE, CardSettings, option_card
from calcinosis.engine import assess
from calcinosis.patient.models import Case
from calcinosis.registry import Registry
from calcinosis.registry.evidence import local_evidence
from calcinosis.registry.records import CourseStart, CourseStop, MeasurementIn, VisitIn
from tests.conftest import load_case
from tests.registry.conftest import BY, days_ago

CS = CardSettings(
    app_base="http://127.0.0.1:8000", patient_page_path="/patients/{patient_id}", patient_id="p"
)


def test_option_card_shows_the_clinics_figures_and_the_same_grade_when_attached(registry: Registry) -> None:
    a = assess(
        Case.model_validate(load_case("lcssc-circumscripta-fingertips")), registry.pack, as_of=dt.date.today()
    )
    option = a.therapies[0]
    for i in range(3):
        pid = f"c{i}"
        registry.add_visit(pid, VisitIn(date=days_ago(200), measurements=(MeasurementIn(pain_vas=8),)), BY)
        cid = registry.start_course(
            pid, CourseStart(therapy=option.id, subtype="dystrophic", start=days_ago(200)), BY
        ).id
        registry.add_visit(
            pid, VisitIn(date=days_ago(20), course=cid, measurements=(MeasurementIn(pain_vas=2),)), BY
        )
        registry.stop_course(cid, CourseStop(stop=days_ago(10), reason="resolved"), BY)
    local = local_evidence(registry, option.id, "dystrophic")
    plain = option_card(option, a, CS)
    with_local = option_card(option.model_copy(update={"local_evidence": local}), a, CS)
    assert "this clinic" not in plain.detail
    assert (
        "**Local registry** (not graded): this clinic: 3 courses in 3 patients; response: 3 partial"
        in with_local.detail
    )
    assert "too few to judge" in with_local.detail  # 3 < the small-numbers threshold
    assert with_local.extension is not None and plain.extension is not None
    assert with_local.extension[EXT_GRADE] == plain.extension[EXT_GRADE]
    assert with_local.summary == plain.summary
