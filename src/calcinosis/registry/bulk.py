"""Load registry lines (one patient per JSON line, as ``registry/synth.py`` writes them) in batches.

Each line is checked with the same models and rules as a single write (known therapy, visit not before its
course, no duplicate site on a date); a batch of whole patients is one transaction, so a bad line refuses its
batch and names the line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import insert
from sqlalchemy.engine import Connection

from calcinosis.errors import InputError
from calcinosis.registry import tables as T
from calcinosis.registry.records import (
    MEASURED,
    AdverseEventIn,
    CourseStart,
    PatientId,
    VisitIn,
    parse,
    site_key,
)
from calcinosis.registry.store import Registry, now_text, touch_patient
from calcinosis.registry.synth import FILE

BATCH = 500


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open("rb") as f:
        for number, raw in enumerate(f, 1):
            if raw.strip():
                try:
                    yield number, orjson.loads(raw)
                except orjson.JSONDecodeError:
                    raise InputError(f"{path.name}:{number}: not valid JSON") from None


def _checked(
    registry: Registry, where: str, data: dict[str, Any]
) -> tuple[str, list[tuple[int, CourseStart, list[AdverseEventIn]]], list[tuple[int | None, VisitIn]]]:
    from pydantic import TypeAdapter, ValidationError

    pid = data.get("patient_id")
    try:
        TypeAdapter(PatientId).validate_python(pid)
    except ValidationError:
        raise InputError(f"{where}: patient_id missing or not a pseudonymous id") from None
    assert isinstance(pid, str)  # noqa: S101 - validated above
    courses = []
    starts: dict[int, Any] = {}
    for c in data.get("courses", []):
        ref = c.get("ref")
        fields = {k: v for k, v in c.items() if k not in ("ref", "adverse_events")}
        course = parse(CourseStart, fields, f"{where}: course {ref}")
        registry.check_therapy(course.therapy)
        events = [parse(AdverseEventIn, e, f"{where}: adverse event") for e in c.get("adverse_events", [])]
        for e in events:
            if e.date < course.start:
                raise InputError(f"{where}: adverse event {e.date} is before course {ref} started")
        courses.append((int(ref), course, events))
        starts[int(ref)] = course.start
    visits = []
    seen: set[tuple[str, str]] = set()
    for v in data.get("visits", []):
        ref = v.get("course_ref")
        visit = parse(VisitIn, {k: x for k, x in v.items() if k != "course_ref"}, f"{where}: visit")
        if ref is not None and (ref not in starts or visit.date < starts[ref]):
            raise InputError(f"{where}: visit {visit.date} names course {ref}, which it does not follow")
        for m in visit.measurements:
            key = (visit.date.isoformat(), site_key(m.site))
            if key in seen:
                raise InputError(f"{where}: two visits on {visit.date} for the same site")
            seen.add(key)
        visits.append((ref, visit))
    return pid, courses, visits


def _write_batch(conn: Connection, batch: list[Any], by: str) -> dict[str, int]:
    stamp = now_text()
    counts = {"patients": 0, "courses": 0, "measurements": 0, "adverse_events": 0}
    for pid, _, _ in batch:
        touch_patient(conn, pid, by)
        counts["patients"] += 1
    course_rows, plan = [], []
    for pid, courses, _ in batch:
        for ref, c, events in courses:
            course_rows.append(
                {
                    "patient_id": pid, "therapy": c.therapy, "subtype": c.subtype.value if c.subtype else "undetermined",
                    "subtype_basis": "imported", "agent": c.agent, "dose": c.dose, "route": c.route,
                    "start_date": c.start, "stop_date": c.stop, "stop_reason": c.stop_reason, "note": c.note,
                    "created_at": stamp, "created_by": by,
                }
            )  # fmt: skip
            plan.append((pid, ref, events))
    ids: list[int] = []
    if course_rows:
        result = conn.execute(
            insert(T.course).returning(T.course.c.id, sort_by_parameter_order=True), course_rows
        )
        ids = [int(r[0]) for r in result]
    course_id = {(pid, ref): cid for (pid, ref, _), cid in zip(plan, ids, strict=True)}
    event_rows = [
        {"patient_id": pid, "course_id": course_id[(pid, ref)], "event_date": e.date, "description": e.description,
         "severity": e.severity, "created_at": stamp, "created_by": by}
        for pid, ref, events in plan for e in events
    ]  # fmt: skip
    measurement_rows = [
        {"patient_id": pid, "visit_date": v.date, "course_id": course_id.get((pid, ref)) if ref else None,
         "site": m.site, "site_key": site_key(m.site), "note": m.note, "created_at": stamp, "created_by": by,
         **{f: getattr(m, f) for f in MEASURED}}
        for pid, _, visits in batch for ref, v in visits for m in v.measurements
    ]  # fmt: skip
    if event_rows:
        conn.execute(insert(T.adverse_event), event_rows)
    if measurement_rows:
        conn.execute(insert(T.measurement), measurement_rows)
    counts["courses"] = len(course_rows)
    counts["adverse_events"] = len(event_rows)
    counts["measurements"] = len(measurement_rows)
    return counts


def import_lines(
    registry: Registry, lines: Iterable[tuple[str, dict[str, Any]]], by: str, batch: int = BATCH
) -> dict[str, int]:
    totals = {"patients": 0, "courses": 0, "measurements": 0, "adverse_events": 0}
    pending: list[Any] = []

    def flush() -> None:
        if pending:
            counts = registry.write(lambda conn: _write_batch(conn, pending, by), "importing registry lines")
            for k, v in counts.items():
                totals[k] += v
            pending.clear()

    for where, data in lines:
        pending.append(_checked(registry, where, data))
        if len(pending) >= batch:
            flush()
    flush()
    return totals


def import_folder(registry: Registry, folder: Path, by: str) -> dict[str, int]:
    path = folder / FILE if folder.is_dir() else folder
    if not path.is_file():
        raise InputError(f"{path}: no registry lines here (write them with `calcinosis synth --courses`)")
    return import_lines(registry, ((f"{path.name}:{n}", d) for n, d in _lines(path)), by)
