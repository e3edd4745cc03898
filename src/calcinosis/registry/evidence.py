"""Local evidence: what this clinic's registry shows for one therapy and subtype, beside the published
evidence and never mixed into it (the A–E level is derived from published studies only).

Each course's response is computed by the engine (``calcinosis.engine.history.course_responses``, the
dossier §6 rules) and cached in ``registry_course_outcome``, stamped with the patient's version and the pack
hash. A cached response is stale when the patient's data changed since, the pack changed, or the course is
still running and was judged before today; stale ones are recomputed before counting.

Small numbers: with fewer than ``SMALL_NUMBERS`` courses the figures carry a caution (docs/registry.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import partial
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Select, and_, case, delete, func, insert, or_, select
from sqlalchemy.engine import Connection

from calcinosis.engine.history import course_responses
from calcinosis.errors import NotFoundError
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.models import SubtypeCode
from calcinosis.patient.models import Case
from calcinosis.registry import tables as T
from calcinosis.registry.store import Registry, cases_for, course_number, now_text

SMALL_NUMBERS = 10
"""Fewer courses than this and the local figures carry a small-numbers caution."""
Category = Literal["complete", "partial", "none", "progression", "not-judged"]
CATEGORIES: tuple[Category, ...] = ("complete", "partial", "none", "progression", "not-judged")
CAUTION = (
    "Fewer than {n} courses: too few to judge; one more course can change these figures a lot. "
    "Read them as a tally, not as a response rate."
)
NOT_GRADED = (
    "Local registry figures: not graded, not peer-reviewed and not part of the A–E level, which is derived "
    "from published studies only."
)


class CategoryCount(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    category: Category
    courses: int


class LocalEvidence(BaseModel):
    """One therapy × subtype in this clinic's registry (``subtype`` None: every subtype)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: Literal["local-registry"] = "local-registry"
    therapy: str
    subtype: str | None
    courses: int
    patients: int
    running: int
    responses: tuple[CategoryCount, ...]
    median_duration_days: float | None
    adverse_events: int
    courses_with_adverse_events: int
    small_numbers: bool
    threshold: int = SMALL_NUMBERS
    caution: str | None
    note: str = NOT_GRADED
    text: str
    as_of: str

    def count(self, category: str) -> int:
        return next((c.courses for c in self.responses if c.category == category), 0)


def _today() -> dt.date:
    return dt.date.today()


def _stale(therapy: str | None, subtype: str | None, pack_hash: str, today: str, after: str) -> Select[Any]:
    """Patients (ids above ``after``, in order) with a course whose cached response is stale or missing."""
    o, c, p = T.course_outcome, T.course, T.patient
    query = (
        select(c.c.patient_id)
        .distinct()
        .select_from(c.join(p, p.c.id == c.c.patient_id).outerjoin(o, o.c.course_id == c.c.id))
        .where(
            c.c.deleted_at.is_(None),
            c.c.patient_id > after,
            or_(
                o.c.course_id.is_(None),
                o.c.patient_version != p.c.version,
                o.c.pack_hash != pack_hash,
                and_(o.c.running.is_(True), o.c.computed_at < today),
            ),
        )
    )
    if therapy is not None:
        query = query.where(c.c.therapy == therapy)
    if subtype is not None:
        query = query.where(c.c.subtype == subtype)
    return query.order_by(c.c.patient_id)


def _load_stale(
    conn: Connection,
    therapy: str | None,
    subtype: str | None,
    pack_hash: str,
    today: dt.date,
    after: str,
    batch: int,
) -> tuple[list[tuple[str, int]], dict[str, Case]]:
    query = _stale(therapy, subtype, pack_hash, today.isoformat(), after).limit(batch)
    pids = [str(r[0]) for r in conn.execute(query)]
    versions: dict[str, int] = {
        str(r[0]): int(r[1])
        for r in conn.execute(select(T.patient.c.id, T.patient.c.version).where(T.patient.c.id.in_(pids)))
    }
    return [(pid, versions[pid]) for pid in pids], cases_for(conn, pids)


def _outcome_rows(
    stale: list[tuple[str, int]], cases: dict[str, Case], pack: KnowledgePack, today: dt.date
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    stamp = now_text()
    for pid, version in stale:
        for r in course_responses(cases[pid], pack, as_of=today):
            number = course_number(r.course_id)
            if number is None:
                continue
            rows.append(
                {
                    "course_id": number,
                    "patient_id": pid,
                    "patient_version": version,
                    "pack_hash": pack.content_hash,
                    "category": r.category,
                    "adequate": r.adequate,
                    "running": r.running,
                    "duration_days": r.duration_days,
                    "adverse_events": len(r.adverse_events),
                    "computed_at": stamp,
                }
            )
    return rows


def _save(conn: Connection, pids: list[str], rows: list[dict[str, Any]]) -> None:
    conn.execute(delete(T.course_outcome).where(T.course_outcome.c.patient_id.in_(pids)))
    if rows:
        ids = [row["course_id"] for row in rows]
        conn.execute(delete(T.course_outcome).where(T.course_outcome.c.course_id.in_(ids)))
        conn.execute(insert(T.course_outcome), rows)


def refresh_outcomes(
    registry: Registry, therapy: str | None = None, subtype: str | None = None, batch: int = 500
) -> int:
    """Recompute the stale cached responses (of one therapy and subtype, or all); returns how many
    patients were recomputed. Each batch is read in one transaction, computed outside any and written in
    another (a write that lands in between bumps the patient's version, so its rows stay stale)."""
    pack = registry.pack
    today = _today()
    total, after = 0, ""
    while True:
        stale, cases = registry.read(
            partial(
                _load_stale,
                therapy=therapy,
                subtype=subtype,
                pack_hash=pack.content_hash,
                today=today,
                after=after,
                batch=batch,
            )
        )
        if not stale:
            return total
        rows = _outcome_rows(stale, cases, pack, today)
        registry.write(partial(_save, pids=[pid for pid, _ in stale], rows=rows), "caching course responses")
        total += len(stale)
        if len(stale) < batch:
            return total
        after = stale[-1][0]


def local_evidence(registry: Registry, therapy_id: str, subtype: str | SubtypeCode | None) -> LocalEvidence:
    """This clinic's courses of one therapy for one subtype (None: all subtypes), with their computed
    responses. Raises NotFoundError for a therapy the pack does not have."""
    if therapy_id not in registry.pack.therapies:
        raise NotFoundError(f"no therapy '{therapy_id}' in the knowledge pack")
    sub = subtype.value if isinstance(subtype, SubtypeCode) else subtype
    refresh_outcomes(registry, therapy_id, sub)
    return registry.read(lambda conn: _tally(conn, therapy_id, sub))


def local_evidence_by_subtype(registry: Registry, therapy_id: str) -> list[LocalEvidence]:
    """One row per subtype this therapy was given for in the registry (most courses first)."""
    if therapy_id not in registry.pack.therapies:
        raise NotFoundError(f"no therapy '{therapy_id}' in the knowledge pack")
    refresh_outcomes(registry, therapy_id, None)

    def run(conn: Connection) -> list[LocalEvidence]:
        subtypes = [
            str(r[0])
            for r in conn.execute(
                select(T.course.c.subtype)
                .where(T.course.c.therapy == therapy_id, T.course.c.deleted_at.is_(None))
                .group_by(T.course.c.subtype)
                .order_by(func.count().desc(), T.course.c.subtype)
            )
        ]
        return [_tally(conn, therapy_id, s) for s in subtypes]

    return registry.read(run)


def _tally(conn: Connection, therapy: str, subtype: str | None) -> LocalEvidence:
    c, o = T.course, T.course_outcome
    where = [c.c.therapy == therapy, c.c.deleted_at.is_(None)]
    if subtype is not None:
        where.append(c.c.subtype == subtype)
    joined = c.join(o, o.c.course_id == c.c.id)
    totals = conn.execute(
        select(
            func.count(),
            func.count(c.c.patient_id.distinct()),
            func.coalesce(func.sum(case((o.c.running.is_(True), 1), else_=0)), 0),
            func.coalesce(func.sum(o.c.adverse_events), 0),
            func.coalesce(func.sum(case((o.c.adverse_events > 0, 1), else_=0)), 0),
        )
        .select_from(joined)
        .where(*where)
    ).one()
    by_category: dict[str, int] = dict(
        conn.execute(
            select(o.c.category, func.count()).select_from(joined).where(*where).group_by(o.c.category)
        ).all()
    )
    n = int(totals[0])
    median = _median(conn, where, n)
    responses = tuple(CategoryCount(category=k, courses=int(by_category.get(k, 0))) for k in CATEGORIES)
    small = n < SMALL_NUMBERS
    evidence = LocalEvidence(
        therapy=therapy,
        subtype=subtype,
        courses=n,
        patients=int(totals[1]),
        running=int(totals[2]),
        responses=responses,
        median_duration_days=median,
        adverse_events=int(totals[3]),
        courses_with_adverse_events=int(totals[4]),
        small_numbers=small,
        caution=CAUTION.format(n=SMALL_NUMBERS) if small else None,
        text="",
        as_of=_today().isoformat(),
    )
    return evidence.model_copy(update={"text": summary_text(evidence)})


def _median(conn: Connection, where: Sequence[object], n: int) -> float | None:
    """The median course duration: the middle one or two durations, read in order (both databases)."""
    if n == 0:
        return None
    c, o = T.course, T.course_outcome
    query = (
        select(o.c.duration_days)
        .select_from(c.join(o, o.c.course_id == c.c.id))
        .where(*where)  # type: ignore[arg-type]
        .order_by(o.c.duration_days)
        .offset((n - 1) // 2)
        .limit(2 if n % 2 == 0 else 1)
    )
    values = [float(r[0]) for r in conn.execute(query)]
    return sum(values) / len(values)


def summary_text(e: LocalEvidence) -> str:
    """'this clinic: 12 courses in 9 patients (3 running); response: 1 complete, …; median 200 days; …'"""
    if e.courses == 0:
        return "this clinic: no courses recorded"
    parts = [
        f"this clinic: {e.courses} course{'s' if e.courses != 1 else ''} in {e.patients} "
        f"patient{'s' if e.patients != 1 else ''}" + (f" ({e.running} running)" if e.running else "")
    ]
    counted = [f"{c.courses} {LABELS[c.category]}" for c in e.responses if c.courses]
    parts.append("response: " + ", ".join(counted))
    if e.median_duration_days is not None:
        parts.append(f"median duration {e.median_duration_days:g} days")
    parts.append(
        f"{e.adverse_events} adverse event{'s' if e.adverse_events != 1 else ''}"
        + (
            f" in {e.courses_with_adverse_events} course{'s' if e.courses_with_adverse_events != 1 else ''}"
            if e.adverse_events
            else ""
        )
    )
    text = "; ".join(parts)
    if e.small_numbers:
        text += f" — fewer than {e.threshold} courses: too few to judge"
    return text


LABELS = {
    "complete": "complete",
    "partial": "partial",
    "none": "no response",
    "progression": "progression",
    "not-judged": "not judged",
}


__all__ = [
    "CATEGORIES",
    "SMALL_NUMBERS",
    "CategoryCount",
    "LocalEvidence",
    "local_evidence",
    "local_evidence_by_subtype",
    "refresh_outcomes",
    "summary_text",
]
