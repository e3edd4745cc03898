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
import statistics
from collections import Counter
from functools import partial
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Select, and_, delete, insert, or_, select
from sqlalchemy.engine import Connection

from calcinosis.engine.history import course_responses
from calcinosis.engine.results import Assessment, LocalEvidenceOut
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
    return _load(conn, [str(r[0]) for r in conn.execute(query)])


def _load(conn: Connection, pids: list[str]) -> tuple[list[tuple[str, int]], dict[str, Case]]:
    """The patients' versions (read first) and their cases, in one read transaction."""
    versions: dict[str, int] = {
        str(r[0]): int(r[1])
        for r in conn.execute(select(T.patient.c.id, T.patient.c.version).where(T.patient.c.id.in_(pids)))
    }
    return [(pid, versions[pid]) for pid in pids if pid in versions], cases_for(conn, pids)


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


def refresh_patients(registry: Registry, pids: list[str], batch: int = 500) -> None:
    """Recompute the cached responses of these patients' courses."""
    pack, today = registry.pack, _today()
    for i in range(0, len(pids), batch):
        chunk = pids[i : i + batch]
        stale, cases = registry.read(partial(_load, pids=chunk))
        rows = _outcome_rows(stale, cases, pack, today)
        registry.write(partial(_save, pids=[pid for pid, _ in stale], rows=rows), "caching course responses")


def local_evidence(registry: Registry, therapy_id: str, subtype: str | SubtypeCode | None) -> LocalEvidence:
    """This clinic's courses of one therapy for one subtype (None: all subtypes), with their computed
    responses. Raises NotFoundError for a therapy the pack does not have.

    One read gives every matching course with its cached response and what decides whether that is stale;
    stale ones (a patient written to since, another pack, a running course judged before today) are
    recomputed and read again."""
    if therapy_id not in registry.pack.therapies:
        raise NotFoundError(f"no therapy '{therapy_id}' in the knowledge pack")
    sub = subtype.value if isinstance(subtype, SubtypeCode) else subtype
    rows = registry.read(partial(_course_rows, therapy=therapy_id, subtype=sub))
    stale = _stale_patients(rows, registry.pack.content_hash, _today().isoformat())
    if stale:
        refresh_patients(registry, stale)
        rows = registry.read(partial(_course_rows, therapy=therapy_id, subtype=sub))
    return _tally(rows, therapy_id, sub)


def local_evidence_by_subtype(registry: Registry, therapy_id: str) -> list[LocalEvidence]:
    """One row per subtype this therapy was given for in the registry (most courses first)."""
    everything = local_evidence(registry, therapy_id, None)
    if everything.courses == 0:
        return []
    rows = registry.read(partial(_course_rows, therapy=therapy_id, subtype=None))
    subtypes = Counter(str(r[1]) for r in rows)
    ordered = sorted(subtypes, key=lambda s: (-subtypes[s], s))
    return [_tally([r for r in rows if r[1] == s], therapy_id, s) for s in ordered]


# patient_id, subtype, patient version, then the cached response: version, pack hash, running, computed at,
# category, duration, adverse events (all None when there is none yet)
Row = Any


def _course_rows(conn: Connection, therapy: str, subtype: str | None) -> list[Row]:
    c, o, p = T.course, T.course_outcome, T.patient
    query = (
        select(
            c.c.patient_id, c.c.subtype, p.c.version, o.c.patient_version, o.c.pack_hash, o.c.running,
            o.c.computed_at, o.c.category, o.c.duration_days, o.c.adverse_events,
        )
        .select_from(c.join(p, p.c.id == c.c.patient_id).outerjoin(o, o.c.course_id == c.c.id))
        .where(c.c.therapy == therapy, c.c.deleted_at.is_(None))
    )  # fmt: skip
    if subtype is not None:
        query = query.where(c.c.subtype == subtype)
    return list(conn.execute(query).all())


def _stale_patients(rows: list[Row], pack_hash: str, today: str) -> list[str]:
    stale = {
        str(r[0])
        for r in rows
        if r[3] is None or r[3] != r[2] or r[4] != pack_hash or (r[5] and str(r[6]) < today)
    }
    return sorted(stale)


def _tally(rows: list[Row], therapy: str, subtype: str | None) -> LocalEvidence:
    patients = {r[0] for r in rows}
    by_category = Counter(str(r[7]) for r in rows)
    durations = [int(r[8]) for r in rows if r[8] is not None]
    n = len(rows)
    small = n < SMALL_NUMBERS
    evidence = LocalEvidence(
        therapy=therapy,
        subtype=subtype,
        courses=n,
        patients=len(patients),
        running=sum(1 for r in rows if r[5]),
        responses=tuple(CategoryCount(category=k, courses=by_category.get(k, 0)) for k in CATEGORIES),
        median_duration_days=float(statistics.median(durations)) if durations else None,
        adverse_events=sum(int(r[9] or 0) for r in rows),
        courses_with_adverse_events=sum(1 for r in rows if r[9]),
        small_numbers=small,
        caution=CAUTION.format(n=SMALL_NUMBERS) if small else None,
        text="",
        as_of=_today().isoformat(),
    )
    return evidence.model_copy(update={"text": summary_text(evidence)})


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
    "with_local_evidence",
]


def with_local_evidence(assessment: Assessment, registry: Registry) -> Assessment:
    """The assessment with this clinic's figures on each option (per therapy × the called subtype), beside the
    published evidence: the options' levels, stances and order are left as the engine gave them."""
    subtype = assessment.subtype.code.value
    options = []
    for o in assessment.therapies:
        ev = local_evidence(registry, o.id, subtype)
        if ev.courses == 0:
            options.append(o)
            continue
        out = LocalEvidenceOut(
            subtype=ev.subtype,
            courses=ev.courses,
            patients=ev.patients,
            small_numbers=ev.small_numbers,
            text=ev.text,
            caution=ev.caution,
            note=ev.note,
        )
        options.append(o.model_copy(update={"local_evidence": out}))
    return assessment.model_copy(update={"therapies": tuple(options)})
