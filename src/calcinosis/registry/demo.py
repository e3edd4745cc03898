"""``--demo``: a few of the demo patients with treatment courses and visits, so that their timelines show.

The patients are the fictional example cases (their facts are stored as given); courses, visits and the one
adverse event are fictional too and dated relative to the day they are loaded. Each demo shows one thing:
a failed adequate course ranked down, an adverse event making an option ``avoid``, a running course with its
next measurement due. Loading is idempotent: a demo patient already in the registry is left as it is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from calcinosis.registry.records import AdverseEventIn, CourseStart, CourseStop, MeasurementIn, VisitIn
from calcinosis.registry.store import Registry

BY = "demo"
DEMO_NOTE = "demo data (fictional)"


def _ago(today: dt.date, days: int) -> dt.date:
    return today - dt.timedelta(days=days)


def _fingertips(r: Registry, pid: str, today: dt.date) -> None:
    """Diltiazem for over a year without change (ranked down), then minocycline, running and helping."""
    c1 = r.start_course(
        pid, CourseStart(therapy="diltiazem", subtype="dystrophic", agent="diltiazem", route="oral",
                         start=_ago(today, 560), note=DEMO_NOTE), BY
    ).id  # fmt: skip
    for days, count, size, sctc, pain in (
        (560, 4, 9.0, 24.0, 7.0),
        (470, 4, 9.5, 25.0, 7.0),
        (380, 5, 9.5, 26.0, 6.5),
        (200, 5, 10.0, 27.0, 7.0),
    ):
        r.add_visit(
            pid,
            VisitIn(date=_ago(today, days), course=None if days == 560 else c1,
                    measurements=(MeasurementIn(site="right fingertips", count=count, largest_mm=size,
                                                sctc_score=sctc, pain_vas=pain, ulceration=days == 200),)),
            BY,
        )  # fmt: skip
    r.stop_course(c1, CourseStop(stop=_ago(today, 190), reason="ineffective"), BY)
    c2 = r.start_course(
        pid, CourseStart(therapy="minocycline", subtype="dystrophic", agent="minocycline", route="oral",
                         start=_ago(today, 170), note=DEMO_NOTE), BY
    ).id  # fmt: skip
    for days, pain, ulcer in ((80, 4.0, False), (20, 3.0, False)):
        r.add_visit(
            pid,
            VisitIn(date=_ago(today, days), course=c2,
                    measurements=(MeasurementIn(site="right fingertips", count=5, largest_mm=9.5,
                                                pain_vas=pain, ulceration=ulcer),)),
            BY,
        )  # fmt: skip


def _jdm(r: Registry, pid: str, today: dt.date) -> None:
    """A bisphosphonate course stopped after an adverse event (the option becomes avoid)."""
    c1 = r.start_course(
        pid,
        CourseStart(therapy="bisphosphonates", subtype="dystrophic", start=_ago(today, 300), note=DEMO_NOTE),
        BY,
    ).id
    r.add_visit(
        pid,
        VisitIn(
            date=_ago(today, 300),
            measurements=(MeasurementIn(site="elbows", count=6, largest_mm=18.0, pain_vas=5.0),),
        ),
        BY,
    )
    r.add_visit(
        pid,
        VisitIn(
            date=_ago(today, 230),
            course=c1,
            measurements=(MeasurementIn(site="elbows", count=6, largest_mm=17.0, pain_vas=5.0),),
        ),
        BY,
    )
    r.add_adverse_event(
        c1,
        AdverseEventIn(
            date=_ago(today, 235), description="demo adverse event (fictional)", severity="moderate"
        ),
        BY,
    )
    r.stop_course(c1, CourseStop(stop=_ago(today, 232), reason="adverse-event"), BY)


def _calciphylaxis(r: Registry, pid: str, today: dt.date) -> None:
    """Intravenous sodium thiosulfate running for six weeks; pain falling; next measurement due."""
    c1 = r.start_course(
        pid, CourseStart(therapy="sodium-thiosulfate-intravenous", subtype="calciphylaxis", route="intravenous",
                         start=_ago(today, 42), note=DEMO_NOTE), BY
    ).id  # fmt: skip
    for days, pain, size in ((42, 9.0, 40.0), (21, 6.0, 38.0), (7, 4.0, 35.0)):
        r.add_visit(
            pid,
            VisitIn(date=_ago(today, days), course=None if days == 42 else c1,
                    measurements=(MeasurementIn(site="left thigh", largest_mm=size, pain_vas=pain, ulceration=True),)),
            BY,
        )  # fmt: skip


DEMOS = {
    "lcssc-circumscripta-fingertips": _fingertips,
    "jdm-universalis-child": _jdm,
    "calciphylaxis-dialysis-warfarin": _calciphylaxis,
}


def load_demo(
    registry: Registry, facts: Mapping[str, Mapping[str, Any]], today: dt.date | None = None
) -> list[str]:
    """Load the demo patients that are not in the registry yet; ``facts`` maps demo ids to their case JSON.
    Returns the ids loaded."""
    today = today or dt.date.today()
    loaded = []
    for pid, build in DEMOS.items():
        if pid not in facts or not registry.claim_patient(pid, BY):
            continue  # no such demo case, or already loaded (by this or another server process)
        case = {k: v for k, v in facts[pid].items() if k not in ("id", "courses", "measurements")}
        registry.register_patient(pid, BY, case)
        build(registry, pid, today)
        loaded.append(pid)
    return loaded
