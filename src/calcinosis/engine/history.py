"""Treatment courses and their response, computed from visit measurements by the rules of ``outcomes.yaml``
(dossier §6). Pure: a Case in, one CourseResponse per course out.

For each course the baseline is the last measurement on or before its start; follow-up is the latest
measurement after the start, up to the stop date plus the pack's window. Measurements are compared per site
(a measurement without a site stands for the whole patient).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from calcinosis.engine.basis import make_basis
from calcinosis.engine.results import Basis, CourseResponse, MeasureResult
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.loader import load_pack_cached
from calcinosis.pack.models import OutcomeMeasure
from calcinosis.patient.models import Case, Course, Measurement

EPISODE_WORDS = {
    "ulceration": "new ulceration",
    "inflammation": "new inflammation",
    "infection": "new infection",
    "new_lesions": "new lesions",
}


def _site(m: Measurement) -> str:
    return (m.site or "").strip().lower()


def _value(m: Measurement, field: str) -> float | None:
    v = getattr(m, field)
    return None if v is None else float(v)


def _fmt(v: float) -> str:
    return f"{v:g}"


def _judge(
    measure: OutcomeMeasure, base: float, latest: float, new_lesions: bool
) -> tuple[str, float | None]:
    if base == 0:
        change = 0.0 if latest == 0 else None
    else:
        change = (latest - base) / base * 100.0
    toward = (latest < base) if measure.better == "lower" else (latest > base)
    away = (latest > base) if measure.better == "lower" else (latest < base)
    size = abs(change) if change is not None else None
    if measure.worsen_percent is not None and away and (size is None or size > measure.worsen_percent):
        return "worse", change
    improved = toward and (size is None or size >= measure.improve_percent)
    if improved and measure.requires_no_new_lesions and new_lesions:
        return "no-response", change
    return ("response" if improved else "no-response"), change


def _window(course: Course, pack: KnowledgePack, as_of: dt.date) -> tuple[dt.date, dt.date]:
    if course.stop is None:
        return course.start, as_of
    return course.start, course.stop + dt.timedelta(days=pack.outcomes.window_after_stop_days)


def _measure_results(
    course: Course,
    measurements: Sequence[Measurement],
    pack: KnowledgePack,
    as_of: dt.date,
    new_lesions: bool,
) -> list[MeasureResult]:
    start, end = _window(course, pack, as_of)
    out: list[MeasureResult] = []
    for measure in pack.outcomes.measures:
        basis = make_basis(pack, rules=[f"outcome:{measure.id}"], sources=measure.sources)
        sites = sorted({_site(m) for m in measurements if _value(m, measure.field) is not None})
        for site in sites:
            series = sorted(
                (m for m in measurements if _site(m) == site and _value(m, measure.field) is not None),
                key=lambda m: m.date,
            )
            before = [m for m in series if m.date <= start]
            after = [m for m in series if start < m.date <= end]
            where = site or None
            if not before or not after:
                missing = (
                    "no baseline on or before the start" if not before else "no measurement since the start"
                )
                out.append(
                    MeasureResult(
                        measure=measure.id, name=measure.name, result="not-judged", site=where,
                        text=f"{measure.name}: not judged ({missing}).", basis=basis,
                    )
                )  # fmt: skip
                continue
            base_m, last_m = before[-1], after[-1]
            gap = (last_m.date - base_m.date).days
            base_v, last_v = _value(base_m, measure.field), _value(last_m, measure.field)
            assert base_v is not None and last_v is not None  # noqa: S101 - filtered above
            if gap < measure.min_follow_up_days:
                out.append(
                    MeasureResult(
                        measure=measure.id, name=measure.name, result="not-judged", site=where,
                        baseline=f"{_fmt(base_v)} ({base_m.date})", latest=f"{_fmt(last_v)} ({last_m.date})",
                        text=(
                            f"{measure.name}: not judged: {gap} days between baseline and follow-up, "
                            f"fewer than the {measure.min_follow_up_days} this measure needs."
                        ),
                        basis=basis,
                    )
                )  # fmt: skip
                continue
            result, change = _judge(measure, base_v, last_v, new_lesions)
            shown = f"{change:+.0f}%" if change is not None else "from zero"
            out.append(
                MeasureResult(
                    measure=measure.id, name=measure.name, result=result,
                    site=where, baseline=f"{_fmt(base_v)} ({base_m.date})", latest=f"{_fmt(last_v)} ({last_m.date})",
                    change_percent=round(change, 1) if change is not None else None,
                    text=f"{measure.name}: {_fmt(base_v)} → {_fmt(last_v)} ({shown}): {result}. {measure.text}",
                    basis=basis,
                )
            )  # fmt: skip
    return out


def _episodes(
    course: Course, measurements: Sequence[Measurement], pack: KnowledgePack, as_of: dt.date
) -> list[str]:
    """Episodes during the course that were not there at baseline (per site)."""
    start, end = _window(course, pack, as_of)
    found: list[str] = []
    for field in pack.outcomes.episodes.fields:
        for m in measurements:
            if not (start < m.date <= end) or getattr(m, field) is not True:
                continue
            if field != "new_lesions":
                base = [b for b in measurements if _site(b) == _site(m) and b.date <= start]
                if base and getattr(base[-1], field) is True:
                    continue  # already there at baseline: not a new episode
            label = f"{EPISODE_WORDS[field]} ({m.date}{', ' + m.site if m.site else ''})"
            if label not in found:
                found.append(label)
    return found


def _category(
    measures: list[MeasureResult], episodes: list[str], latest_counts: list[tuple[float, float]]
) -> tuple[str, str]:
    judged = [m for m in measures if m.result != "not-judged"]
    if not judged:
        return "not-judged", "No measure has a baseline and a follow-up far enough apart to judge."
    worse = [m for m in judged if m.result == "worse"]
    new = [e for e in episodes if e.startswith("new lesions")]
    if worse or new:
        why = "; ".join([*(m.text.split(":")[0] + " worsened" for m in worse), *new])
        return "progression", f"Progression: {why}."
    responded = [m for m in judged if m.result == "response"]
    if latest_counts and all(base > 0 and last == 0 for base, last in latest_counts):
        return "complete", "Complete response: no deposits left at the latest visit."
    if responded and not episodes:
        names = ", ".join(m.name for m in responded)
        return "partial", f"Partial response: {names} responded, no measure progressed and no new episodes."
    if responded:
        return (
            "none",
            f"No response: {', '.join(episodes)} during the course, although {responded[0].name} improved.",
        )
    return "none", "No response: the measures judged did not reach their response thresholds."


def course_responses(
    case: Case, pack: KnowledgePack | None = None, *, as_of: dt.date | None = None
) -> tuple[CourseResponse, ...]:
    """The response of each of the case's courses, with its basis. Pure."""
    pack = pack or load_pack_cached()
    when = as_of or case.as_of or _latest(case) or dt.date.today()
    out: list[CourseResponse] = []
    for i, course in enumerate(case.courses):
        cid = course.id or f"course-{i}"
        running = course.stop is None or course.stop > when
        end = min(course.stop or when, when)
        duration = max((end - course.start).days, 0)
        episodes = _episodes(course, case.measurements, pack, when)
        measures = _measure_results(
            course, case.measurements, pack, when, any(e.startswith("new lesions") for e in episodes)
        )
        start, stop_window = _window(course, pack, when)
        counts = [
            (b, last)
            for m in measures
            if m.measure == "lesion-count" and m.result != "not-judged"
            for b, last in [_pair(case.measurements, m.site, start, stop_window)]
        ]
        category, why = _category(measures, episodes, counts)
        adequate_days = pack.outcomes.adequate_for(course.therapy)
        due = None
        if running:
            seen = [m.date for m in case.measurements if m.date >= course.start]
            last = max(seen) if seen else course.start
            due = (last + dt.timedelta(days=pack.outcomes.review_interval_days)).isoformat()
        out.append(
            CourseResponse(
                course_id=cid,
                therapy=course.therapy,
                agent=course.agent,
                start=course.start.isoformat(),
                stop=course.stop.isoformat() if course.stop else None,
                running=running,
                duration_days=duration,
                category=category,
                category_basis=why
                + (
                    f" New episodes: {', '.join(episodes)}." if episodes and category != "progression" else ""
                ),
                measures=tuple(measures),
                adequate=duration >= adequate_days,
                adequate_days=adequate_days,
                adverse_events=tuple(
                    f"{e.description}{' (' + e.severity + ')' if e.severity else ''}{', ' + str(e.date) if e.date else ''}"
                    for e in course.adverse_events
                ),
                stop_reason=course.stop_reason,
                next_measurement_due=due,
                basis=_course_basis(pack),
            )
        )
    return tuple(out)


def _pair(
    measurements: Sequence[Measurement], site: str | None, start: dt.date, end: dt.date
) -> tuple[float, float]:
    key = (site or "").lower()
    series = sorted(
        (m for m in measurements if _site(m) == key and m.count is not None), key=lambda m: m.date
    )
    base = [m for m in series if m.date <= start][-1]
    last = [m for m in series if start < m.date <= end][-1]
    return float(base.count or 0), float(last.count or 0)


def _course_basis(pack: KnowledgePack) -> Basis:
    o = pack.outcomes
    refs = [*o.categories.sources, *o.episodes.sources, *o.configuration_sources]
    return make_basis(pack, rules=["outcome:categories"], sources=refs)


def _latest(case: Case) -> dt.date | None:
    dates = [m.date for m in case.measurements] + [c.stop or c.start for c in case.courses]
    return max(dates) if dates else None
